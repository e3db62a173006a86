"""Weight initialization: variance of activations and gradients per layer, histograms, the depth x sigma_w sweep."""

from stabviz.ui_page import experiment_page

experiment_page("initialization")
