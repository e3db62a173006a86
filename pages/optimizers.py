"""Optimizers on 2-D surfaces: trajectories, a learning-rate sweep, and feature scaling."""

from stabviz.ui_page import experiment_page

experiment_page("optimizers")
