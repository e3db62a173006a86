"""Normalization layers, BatchNorm's batch-size dependence, and skip connections."""

from stabviz.ui_page import experiment_page

experiment_page("normalization")
