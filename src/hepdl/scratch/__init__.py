"""The lectures' neural network in NumPy: what ``loss.backward()`` really does.

:class:`MLP` implements the four backpropagation equations over mini-batches as matrix
products, with every activation of the lectures (:mod:`.activations`), the costs MSE,
binary and categorical cross-entropy (:mod:`.losses`), Gaussian, Xavier and He
initialisations (:mod:`.initializers`) and batch, stochastic and mini-batch gradient descent
with momentum and learning-rate decay (:func:`fit`). :mod:`.gradcheck` checks backprop
against finite differences, :mod:`.torch_twin` against torch.autograd, and
:mod:`hepdl.scratch.demos` holds the lectures' demonstrations (``hepdl scratch ...``).

Importing this package loads NumPy only; torch and matplotlib are imported where used.
"""

from __future__ import annotations

from hepdl.scratch.activations import ACTIVATIONS, Activation, get_activation
from hepdl.scratch.gradcheck import (
    finite_difference_gradients,
    gradient_check,
    gradient_check_table,
    relative_error,
)
from hepdl.scratch.initializers import INITIALIZATIONS
from hepdl.scratch.losses import LOSSES, Loss, get_loss, one_hot
from hepdl.scratch.network import MLP, ForwardPass, Gradients
from hepdl.scratch.optimizers import GradientDescent, History, fit

__all__ = [
    "ACTIVATIONS",
    "INITIALIZATIONS",
    "LOSSES",
    "MLP",
    "Activation",
    "ForwardPass",
    "GradientDescent",
    "Gradients",
    "History",
    "Loss",
    "finite_difference_gradients",
    "fit",
    "get_activation",
    "get_loss",
    "gradient_check",
    "gradient_check_table",
    "one_hot",
    "relative_error",
]
