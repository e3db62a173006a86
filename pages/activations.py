"""Activation functions, their derivatives, saturation, and the product of derivatives over depth."""

from stabviz.ui_page import experiment_page

experiment_page("activations")
