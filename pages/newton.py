"""Newton's method and saddle points, and Newton's 1-D root finding."""

from stabviz.ui_page import experiment_page

experiment_page("newton")
