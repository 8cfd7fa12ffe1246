"""The lectures' demonstrations, each a computation returning its numbers and a plot.

Every ``*_demo`` function is NumPy-only and returns a dataclass of results; every
``plot_*`` function draws that result with matplotlib and writes it to the given path.
The ``hepdl scratch ...`` commands (:mod:`hepdl.scratch.cli`) run both.
"""

from __future__ import annotations

from hepdl.scratch.demos.approximation import approximation_demo, plot_approximation
from hepdl.scratch.demos.digits import digits_demo, load_mnist_digits, plot_digits
from hepdl.scratch.demos.gradient_flow import plot_vanishing_gradients, vanishing_gradients_demo
from hepdl.scratch.demos.phase_diagram import mean_field_chi, phase_diagram, plot_phase_diagram
from hepdl.scratch.demos.regression import (
    linear_regression_demo,
    logistic_regression_demo,
    normal_equation,
    plot_linear_regression,
    plot_logistic_regression,
)
from hepdl.scratch.demos.trainability import trainability

__all__ = [
    "approximation_demo",
    "digits_demo",
    "linear_regression_demo",
    "load_mnist_digits",
    "logistic_regression_demo",
    "mean_field_chi",
    "normal_equation",
    "phase_diagram",
    "plot_approximation",
    "plot_digits",
    "plot_linear_regression",
    "plot_logistic_regression",
    "plot_phase_diagram",
    "plot_vanishing_gradients",
    "trainability",
    "vanishing_gradients_demo",
]
