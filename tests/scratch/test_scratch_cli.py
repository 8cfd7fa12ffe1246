from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from hepdl.scratch.cli import app

runner = CliRunner()


def test_gradcheck_prints_the_table_with_every_entry_below_1e_6():
    result = runner.invoke(app, ["gradcheck", "--no-torch"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if re.match(r"^[a-z_]+\s+\d", line)]
    assert [row.split()[0] for row in rows] == [
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "maxout",
        "softmax",
        "linear",
    ]
    errors = [float(v) for row in rows for v in row.split()[1:]]
    assert len(errors) == 8 * 6 and max(errors) < 1e-6
    assert "torch" not in result.output


@pytest.mark.parametrize(
    ("args", "picture", "says"),
    [
        (["linear-regression", "--epochs", "5"], "linear_regression.png", "normal equation: w ="),
        (["logistic-regression", "--epochs", "200"], "logistic_regression.png", "boundary"),
        (["approximation", "--epochs", "300"], "approximation.png", "kinks inside"),
        (["vanishing-gradients", "--depth", "6"], "vanishing_gradients.png", "||dC/db^1||"),
        (
            [
                *("phase-diagram", "--depth", "10", "--width", "20", "--steps", "4"),
                *("--train-depth", "3", "--train-width", "8"),
            ],
            "phase_diagram.png",
            "lowest training loss",
        ),
        (
            ["phase-diagram", "--depth", "10", "--width", "20", "--steps", "0"],
            "phase_diagram.png",
            "chi_1",
        ),
        (["digits", "--epochs", "1", "--fd-parameters", "5"], "digits.png", "extrapolated: "),
    ],
)
def test_each_demonstration_writes_its_plot(tmp_path, args, picture, says):
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert says in result.output
    path = tmp_path / picture
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {path}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approximation", "--hidden", "0"], "error: sizes: expected at least two positive"),
        (["linear-regression", "--samples", "2"], "error: n_samples: expected at least 3 points"),
        (["vanishing-gradients", "--depth", "1"], "error: depth: expected at least 2 hidden"),
        (["phase-diagram", "--steps", "-1"], "error: --steps: expected 0 (no training) or more"),
    ],
)
def test_bad_options_exit_with_one_clear_message(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
    assert not list(tmp_path.iterdir())  # nothing half-written
