"""The lectures' neural network in NumPy: what ``loss.backward()`` really does.

:class:`MLP` implements the four backpropagation equations over mini-batches as matrix
products, with every activation of the lectures (:mod:`.activations`), the costs MSE,
binary and categorical cross-entropy (:mod:`.losses`), Gaussian, Xavier and He
initialisations (:mod:`.initializers`) and batch, stochastic and mini-batch gradient descent
with momentum and learning-rate decay (:func:`fit`). :mod:`.gradcheck` checks backprop
against finite differences, :mod:`.torch_twin` against torch.autograd, and
:mod:`hepdl.scratch.demos` holds the lectures' demonstrations (``hepdl scratch ...``).

Importing this package loads nothing; NumPy on first use, torch and matplotlib where used.
"""

from __future__ import annotations

from hepdl.lazy_exports import lazy_exports

# Each name is imported on first use: importing hepdl.scratch loads nothing.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hepdl.scratch.activations": ["ACTIVATIONS", "Activation", "get_activation"],
        "hepdl.scratch.gradcheck": [
            "finite_difference_gradients",
            "gradient_check",
            "gradient_check_table",
            "relative_error",
        ],
        "hepdl.scratch.initializers": ["INITIALIZATIONS"],
        "hepdl.scratch.losses": ["LOSSES", "Loss", "get_loss", "one_hot"],
        "hepdl.scratch.network": ["MLP", "ForwardPass", "Gradients"],
        "hepdl.scratch.optimizers": ["GradientDescent", "History", "fit"],
    },
)
