"""Loss pairing: sigmoid/softmax outputs with cross-entropy against MSE, and the numerics of the loss."""

from stabviz.ui_page import experiment_page

experiment_page("loss_pairing")
