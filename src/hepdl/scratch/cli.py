"""``hepdl scratch ...``: the lectures' demonstrations, one command each.

A typer sub-app, mounted on the ``hepdl`` command by :mod:`hepdl.cli`. Each command runs
one demonstration of :mod:`hepdl.scratch.demos`, prints what it shows and writes its plot
to ``--out DIR``. torch and matplotlib are imported only by the commands that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail
from hepdl.errors import ConfigError, HepdlError

app = typer.Typer(
    name="scratch",
    help="The lectures' neural network in NumPy: backprop checks and demonstrations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutDir = Annotated[Path, typer.Option("--out", help="Folder for the plot (created if needed).")]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same numbers.")]


def _wrote(path: Path) -> None:
    typer.echo(f"wrote {path}")


@app.command()
def gradcheck(
    with_torch: Annotated[
        bool, typer.Option("--torch/--no-torch", help="Also compare with torch.autograd.")
    ] = True,
    seed: Seed = 0,
) -> None:
    """Backprop against central finite differences (and torch) for every activation x loss."""
    from hepdl.scratch.gradcheck import gradient_check_table

    typer.echo(gradient_check_table(seed=seed).format())
    if with_torch:
        from hepdl.scratch.torch_twin import torch_check

        typer.echo("")
        table = gradient_check_table(compare=torch_check, method="torch autograd", seed=seed)
        typer.echo(table.format())


@app.command("linear-regression")
def linear_regression(
    out: OutDir,
    samples: Annotated[int, typer.Option(help="Data points.")] = 200,
    epochs: Annotated[int, typer.Option(help="Passes over the data per GD variant.")] = 40,
    seed: Seed = 0,
) -> None:
    """Normal equation against batch, stochastic and mini-batch gradient descent."""
    from hepdl.scratch.demos.regression import linear_regression_demo, plot_linear_regression

    try:
        result = linear_regression_demo(n_samples=samples, epochs=epochs, seed=seed)
        w, b = result.theta_normal
        typer.echo(f"normal equation: w = {w:.5f}, b = {b:.5f}, C = {result.cost_normal:.6f}")
        for name, (w, b) in result.thetas.items():
            cost = result.histories[name].loss[-1]
            typer.echo(f"{name + ' GD:':<16} w = {w:.5f}, b = {b:.5f}, C = {cost:.6f}")
        _wrote(plot_linear_regression(result, out / "linear_regression.png"))
    except HepdlError as err:
        fail(err)


@app.command("logistic-regression")
def logistic_regression(
    out: OutDir,
    points: Annotated[int, typer.Option(help="Points per class.")] = 200,
    epochs: Annotated[int, typer.Option(help="Batch gradient-descent steps.")] = 2000,
    seed: Seed = 0,
) -> None:
    """Logistic regression on two 2-D classes, with its decision boundary."""
    from hepdl.scratch.demos.regression import logistic_regression_demo, plot_logistic_regression

    try:
        result = logistic_regression_demo(n_per_class=points, epochs=epochs, seed=seed)
        (w1, w2), b = result.weights, result.bias
        typer.echo(f"boundary {w1:.4f} x1 + {w2:.4f} x2 + {b:.4f} = 0")
        typer.echo(f"training accuracy {result.accuracy:.4f}, cost {result.history.loss[-1]:.5f}")
        _wrote(plot_logistic_regression(result, out / "logistic_regression.png"))
    except HepdlError as err:
        fail(err)


@app.command()
def approximation(
    out: OutDir,
    hidden: Annotated[int, typer.Option(help="ReLU units in the hidden layer.")] = 30,
    epochs: Annotated[int, typer.Option(help="Batch gradient-descent steps.")] = 4000,
    seed: Seed = 0,
) -> None:
    """A one-hidden-layer ReLU network fitting sin(2x) + 0.3x: kinks at x = -b/w."""
    from hepdl.scratch.demos.approximation import approximation_demo, plot_approximation

    try:
        result = approximation_demo(hidden=hidden, epochs=epochs, seed=seed)
        lo, hi = result.x[0], result.x[-1]
        inside = result.kinks[(result.kinks > lo) & (result.kinks < hi)]
        typer.echo(f"rms error {result.rms_error:.4f}; {inside.size} kinks inside [{lo}, {hi}]:")
        typer.echo("  " + " ".join(f"{k:.3f}" for k in inside))
        _wrote(plot_approximation(result, out / "approximation.png"))
    except HepdlError as err:
        fail(err)


@app.command("vanishing-gradients")
def vanishing_gradients(
    out: OutDir,
    depth: Annotated[int, typer.Option(help="Hidden layers.")] = 15,
    width: Annotated[int, typer.Option(help="Units per hidden layer.")] = 50,
    seed: Seed = 0,
) -> None:
    """Gradient norm per layer: deep sigmoid (vanishing) against ReLU networks."""
    from hepdl.scratch.demos.gradient_flow import (
        plot_vanishing_gradients,
        vanishing_gradients_demo,
    )

    try:
        result = vanishing_gradients_demo(depth=depth, width=width, seed=seed)
        for label in result.norms:
            plain = label.replace("$", "").replace("\\sigma_w^2", "sigma_w^2")
            typer.echo(f"{plain:<24} ||dC/db^1|| / ||dC/db^{depth}|| = {result.ratio(label):.3g}")
        _wrote(plot_vanishing_gradients(result, out / "vanishing_gradients.png"))
    except HepdlError as err:
        fail(err)


@app.command("phase-diagram")
def phase_diagram(
    out: OutDir,
    depth: Annotated[int, typer.Option(help="Layers of the tanh network.")] = 40,
    width: Annotated[int, typer.Option(help="Units per layer.")] = 100,
    steps: Annotated[
        int, typer.Option(help="Training steps per network of the trainability panel; 0: none.")
    ] = 128,
    train_depth: Annotated[int, typer.Option(help="Hidden layers of the trained networks.")] = 30,
    train_width: Annotated[int, typer.Option(help="Units per layer of the trained networks.")] = 32,
    seed: Seed = 0,
) -> None:
    """Order and chaos of a deep tanh network over (sigma_w^2, sigma_b^2), and which train."""
    import numpy as np

    from hepdl.scratch.demos.phase_diagram import mean_field_chi, plot_phase_diagram
    from hepdl.scratch.demos.phase_diagram import phase_diagram as compute
    from hepdl.scratch.demos.trainability import CHANCE_LOSS, trainability

    try:
        if steps < 0:
            raise ConfigError(f"--steps: expected 0 (no training) or more steps, got {steps}")
        result = compute(depth=depth, width=width, seed=seed)
        row = result.measured[0]  # sigma_b^2 = 0
        crossing = result.sigma_w2[np.argmax(row > 1.0)] if (row > 1.0).any() else None
        typer.echo(
            f"sigma_b^2 = {result.sigma_b2[0]:g}: measured chi_1 = {row[0]:.3f} at sigma_w^2 = "
            f"{result.sigma_w2[0]:g}, {row[-1]:.3f} at {result.sigma_w2[-1]:g}; "
            f"first grid point with chi_1 > 1: sigma_w^2 = {crossing}"
        )
        agree = np.mean((result.measured > 1) == (result.theory > 1))
        typer.echo(f"phase (chi_1 > 1 or < 1) as mean-field theory in {agree:.0%} of the grid")
        trained = None
        if steps:
            trained = trainability(depth=train_depth, width=train_width, steps=steps, seed=seed)
            typer.echo(
                f"trained tanh {trained.depth} x {trained.width} on {trained.n_digits} digits, "
                f"{steps} steps each (chance: loss {CHANCE_LOSS:.2f}); lowest training loss"
            )
            for b2, w2, loss in trained.best():
                _, chi = mean_field_chi(w2, b2)
                typer.echo(
                    f"  sigma_b^2 = {b2:.3g}: {loss:.3f} at sigma_w^2 = {w2:.3g} "
                    f"(mean-field chi_1 = {float(chi):.3f}); worst "
                    f"{trained.loss[trained.sigma_b2 == b2].max():.3f}"
                )
        _wrote(plot_phase_diagram(result, out / "phase_diagram.png", trained=trained))
    except HepdlError as err:
        fail(err)


@app.command()
def digits(
    out: OutDir,
    epochs: Annotated[
        int, typer.Option(help="Passes over the training digits (4000, or 60000 with --data).")
    ] = 10,
    fd_parameters: Annotated[
        int, typer.Option(help="Parameters whose finite differences are timed; 0 for all.")
    ] = 300,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder with the full MNIST IDX files (train-images-idx3-ubyte, "
            "train-labels-idx1-ubyte, t10k-..., .gz or not); default: the 5000 shipped digits."
        ),
    ] = None,
    seed: Seed = 0,
) -> None:
    """784 -> 200 -> 80 -> 10 on MNIST digits; finite differences against one backprop step."""
    from hepdl.scratch.demos.digits import digits_demo, fd_label, plot_digits

    try:
        result = digits_demo(
            epochs=epochs, fd_parameters=fd_parameters or None, data=data, seed=seed
        )
        typer.echo(
            f"{result.n_train} training and {result.n_test} held-out digits ({result.source})"
        )
        typer.echo(f"held-out accuracy after {epochs} epochs: {result.test_accuracy[-1]:.4f}")
        typer.echo(
            f"one gradient of P = {result.n_parameters} parameters, batch {result.batch_size}, "
            f"float64: backprop {result.backprop_seconds * 1e3:.2f} ms (measured), finite "
            f"differences {result.fd_seconds:.1f} s ({fd_label(result)}); "
            f"ratio {result.cost_ratio:.3g}"
        )
        typer.echo(
            f"finite differences vs backprop: relative error {result.fd_relative_error:.1e} "
            f"on the {result.fd_parameters_timed} timed parameters"
        )
        _wrote(plot_digits(result, out / "digits.png"))
    except HepdlError as err:
        fail(err)
