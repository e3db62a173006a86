"""RNN vs LSTM vs GRU: gradients through time, the gates, the spectral-radius sweep and the adding problem."""

from stabviz.ui_page import experiment_page

experiment_page("recurrent")
