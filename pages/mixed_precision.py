"""Mixed precision: where float16 and bfloat16 lose the gradient, loss scaling, GradScaler and master weights."""

from stabviz.ui_page import experiment_page

experiment_page("mixed_precision")
