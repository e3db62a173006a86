"""stabviz: an interactive lab for the numerical stability of deep learning."""
