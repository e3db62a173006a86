"""Deep MLP gradients: gradient flow over depth, random-matrix products, b^k in four dtypes, a training run."""

from stabviz.ui_page import experiment_page

experiment_page("deep_mlp")
