"""The regression task: its losses against the formulas, its heads, its target coding and
its config section's checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepdl.config import config_from_dict
from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.tasks import RegressConfig, RegressionTask, create_task, list_tasks
from hepdl.tasks.regress import (
    RegressionTargets,
    decode_outputs,
    fit_regression_targets,
    per_row_loss,
    structured_outputs,
)
from hepdl.train.inputs import LabeledSample

RNG = np.random.default_rng(7)


def naive_loss(name, z_hat, z, *, log_var=None, quantiles=None, q=None, delta=1.0):
    """Per-row losses (B,) written out element by element, as a textbook would."""
    rows = []
    for i in range(len(z)):
        terms = []
        for t in range(z.shape[1]):
            if name == "quantile":
                for k, level in enumerate(q):
                    r = z[i, t] - quantiles[i, t, k]
                    terms.append(level * r if r >= 0 else (level - 1) * r)
                continue
            r = z_hat[i, t] - z[i, t]
            if name == "mse":
                terms.append(r * r)
            elif name == "mae":
                terms.append(abs(r))
            elif name == "huber":
                terms.append(0.5 * r * r if abs(r) < delta else delta * (abs(r) - 0.5 * delta))
            elif name == "log_cosh":
                terms.append(np.log(np.cosh(r)))
            elif name == "gaussian_nll":
                s2 = np.exp(log_var[i, t])
                terms.append(0.5 * (np.log(s2) + r * r / s2))
        rows.append(np.mean(terms))
    return np.array(rows)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "log_cosh", "gaussian_nll"])
def test_point_losses_match_the_formulas(loss):
    b, t = 9, 2
    per_target = 2 if loss == "gaussian_nll" else 1
    raw = torch.tensor(RNG.normal(0, 2, (b, t * per_target)))
    z = torch.tensor(RNG.normal(0, 2, (b, t)))
    outputs = structured_outputs(raw, n_targets=t, loss=loss)
    ours = per_row_loss(outputs, z, loss=loss, huber_delta=0.7).numpy()
    log_var = outputs.get("log_var")
    expected = naive_loss(
        loss,
        outputs["point"].numpy(),
        z.numpy(),
        log_var=None if log_var is None else log_var.numpy(),
        delta=0.7,
    )
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_quantile_loss_is_the_pinball_loss_and_quantiles_never_cross():
    q = [0.1, 0.5, 0.9]
    raw = torch.tensor(RNG.normal(0, 3, (50, 2 * 3)))  # two targets, three quantiles
    outputs = structured_outputs(raw, n_targets=2, loss="quantile")
    levels = outputs["quantiles"]  # (B, T, Q)
    assert levels.shape == (50, 2, 3)
    assert bool((levels.diff(dim=-1) > 0).all())  # strictly rising whatever the raw outputs
    z = torch.tensor(RNG.normal(0, 2, (50, 2)))
    ours = per_row_loss(outputs, z, loss="quantile", quantiles=q).numpy()
    expected = naive_loss("quantile", None, z.numpy(), quantiles=levels.numpy(), q=q)
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_log_cosh_stays_finite_far_from_the_target():
    outputs = {"point": torch.tensor([[800.0], [-900.0]])}
    values = per_row_loss(outputs, torch.zeros(2, 1), loss="log_cosh")
    # ln cosh r -> |r| - ln 2 for large |r|
    np.testing.assert_allclose(values.numpy(), [800 - np.log(2), 900 - np.log(2)], rtol=1e-6)


def test_decoded_outputs_match_the_torch_heads():
    raw = RNG.normal(size=(4, 6))
    decoded = decode_outputs(raw, n_targets=2, loss="quantile")
    heads = structured_outputs(torch.tensor(raw), n_targets=2, loss="quantile")
    np.testing.assert_allclose(decoded["quantiles"], heads["quantiles"].numpy())


def test_the_regressor_is_registered():
    assert {"classify", "regress"} <= set(list_tasks())


# ---------------------------------------------------------------- config section


def config(**task):
    raw = {"data": {"files": ["jets.parquet"]}, "task": {"kind": "regress", **task}}
    return config_from_dict(raw)


def test_regress_section_is_chosen_by_kind_and_sets_the_early_stopping_mode():
    raw = {
        "data": {"files": ["jets.parquet"]},
        "task": {"kind": "regress", "targets": ["gen_pt"], "loss": "huber"},
        "trainer": {"early_stopping": {"monitor": "val_resolution"}},
    }
    cfg = config_from_dict(raw)
    assert isinstance(cfg.task, RegressConfig) and cfg.task.loss == "huber"
    assert cfg.trainer.early_stopping.mode == "min"
    assert cfg.to_dict()["task"]["targets"] == ["gen_pt"]  # the kind's keys are saved


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({}, "config key 'task.targets': Field required"),
        ({"targets": ["a"], "quantiles": [0.5]}, "task.quantiles needs task.loss: quantile"),
        ({"targets": ["a", "a"]}, "task.targets lists a column twice"),
        ({"targets": ["a"], "ratio_to": "a"}, "task.ratio_to 'a' is also a target"),
        (
            {"targets": ["a"], "loss": "quantile", "quantiles": [0.5, 0.2]},
            r"task.quantiles must rise strictly inside \(0, 1\)",
        ),
        ({"targets": ["a"], "bins": [3, 1]}, "task.bins: edges must rise strictly"),
        ({"targets": ["a"], "loss": "l2"}, "config key 'task.loss'"),
        ({"targets": ["a"], "signal_class": 1}, "unknown config key 'task.signal_class'"),
    ],
)
def test_bad_regress_sections_name_the_key(task, message):
    with pytest.raises(ConfigError, match=message):
        config(**task)


def test_a_key_of_another_kind_says_which_kind_it_belongs_to():
    raw = {"data": {"files": ["jets.parquet"]}, "task": {"kind": "classify", "quantiles": [0.5]}}
    with pytest.raises(
        ConfigError, match=r"'task.quantiles' \(it is a key of task kind 'regress'\)"
    ):
        config_from_dict(raw)


def test_a_misspelt_kind_gets_the_closest_one():
    raw = {"data": {"files": ["jets.parquet"]}, "task": {"kind": "regres"}}
    with pytest.raises(
        ConfigError, match=r"task.kind 'regres' is not a task kind \(did you mean 'regress'\?\)"
    ):
        config_from_dict(raw)


def test_a_monitor_the_regressor_does_not_log_is_refused():
    raw = {
        "data": {"files": ["jets.parquet"]},
        "task": {"kind": "regress", "targets": ["gen_pt"]},
        "trainer": {"early_stopping": {"monitor": "val_auc"}},
    }
    with pytest.raises(ConfigError, match="never logged by task kind 'regress'"):
        config_from_dict(raw)


# ---------------------------------------------------------------- target coding


def sample(columns, n=None):
    n = n or len(next(iter(columns.values())))
    return LabeledSample(
        inputs={"features": np.zeros((n, 1), np.float32)},
        features=None,
        labels=np.zeros(n, dtype=np.int64),
        class_names=[],
        feature_names=["x"],
        representation={},
        source="jets.parquet",
        columns={k: np.asarray(v, dtype=np.float64) for k, v in columns.items()},
    )


def section(**task):
    return RegressConfig(**{"targets": ["gen_pt"], **task})


def test_targets_are_ratios_scaled_on_the_training_rows_only():
    gen = RNG.uniform(50, 500, 200)
    reco = gen * RNG.uniform(0.7, 1.1, 200)
    data = sample({"gen_pt": gen, "jet_pt": reco})
    train = np.arange(100)
    coding = fit_regression_targets(section(ratio_to="jet_pt"), data, train)
    ratio = gen / reco
    np.testing.assert_allclose(coding.mean, [ratio[train].mean()])
    np.testing.assert_allclose(coding.std, [ratio[train].std()])
    encoded = coding.encode(data)  # (N, 1) float32
    assert encoded.shape == (200, 1) and encoded.dtype == np.float32
    np.testing.assert_allclose(encoded[:, 0], (ratio - coding.mean) / coding.std, rtol=1e-6)


def test_saved_coding_rebuilds_the_same_physical_predictions():
    gen = RNG.uniform(50, 500, 50)
    data = sample({"gen_pt": gen, "jet_pt": gen * 0.9})
    coding = fit_regression_targets(section(ratio_to="jet_pt"), data, np.arange(50))
    again = RegressionTargets.from_saved(section(ratio_to="jet_pt"), coding.saved()["targets"])
    raw = coding.encode(data)  # a perfect prediction of the standardised ratio
    for each in (coding, again):
        point = each.physical(raw, data, np.arange(50))["point"][:, 0]
        np.testing.assert_allclose(point, gen, rtol=1e-5)


def test_gaussian_nll_sigma_comes_back_in_physical_units():
    data = sample({"gen_pt": RNG.uniform(10, 20, 30)})
    coding = fit_regression_targets(section(loss="gaussian_nll"), data, np.arange(30))
    raw = np.zeros((30, 2))
    raw[:, 1] = np.log(0.25)  # sigma 0.5 in standardised units
    sigma = coding.physical(raw, data, np.arange(30))["sigma"][:, 0]
    np.testing.assert_allclose(sigma, 0.5 * coding.std[0])


def test_a_constant_target_is_refused():
    data = sample({"gen_pt": np.full(20, 3.0)})
    with pytest.raises(DataError, match=r"task\.targets 'gen_pt' has the same value in every"):
        fit_regression_targets(section(), data, np.arange(20))


def test_a_non_positive_ratio_input_is_refused_with_its_row():
    data = sample({"gen_pt": np.arange(1.0, 6.0), "jet_pt": [1.0, 2.0, 0.0, 4.0, -1.0]})
    with pytest.raises(
        DataError, match=r"task\.ratio_to 'jet_pt' must be > 0 .* 2 row\(s\) .*row 2"
    ):
        fit_regression_targets(section(ratio_to="jet_pt"), data, np.arange(5))


def test_the_head_is_linear_and_sized_by_targets_and_loss():
    data = sample({"a": RNG.normal(size=10), "b": RNG.normal(size=10)})
    coding = fit_regression_targets(
        section(targets=["a", "b"], loss="quantile", quantiles=[0.1, 0.5, 0.9]), data, np.arange(10)
    )
    assert coding.head_options({}) == {"output": "linear", "out_features": 6}
    with pytest.raises(ConfigError, match=r"model\.output 'sigmoid' squashes the outputs"):
        coding.head_options({"output": "sigmoid"})
    with pytest.raises(ConfigError, match=r"model\.out_features is 2, but .* needs 6"):
        coding.head_options({"out_features": 2})


# ---------------------------------------------------------------- training


def test_a_linear_regressor_learns_a_linear_law():
    """A network without hidden layers trained on y = 3 x1 - 2 x2 + 1 recovers the law."""
    import lightning as L

    from hepdl.train.loaders import tensor_loader

    torch.manual_seed(0)
    x = torch.randn(512, 2)
    y = (3 * x[:, 0] - 2 * x[:, 1] + 1)[:, None]  # (N, 1)
    net = create_model("mlp", in_features=2, hidden=[], output="linear", out_features=1)
    task = create_task(section(lr=0.05), net)
    trainer = L.Trainer(
        max_epochs=30,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, tensor_loader(x, y, batch_size=64, shuffle=True, seed=0))
    weight = next(p for p in net.parameters() if p.ndim == 2).detach().numpy()
    bias = [p for p in net.parameters() if p.ndim == 1][-1].detach().numpy()
    np.testing.assert_allclose(weight[0], [3.0, -2.0], atol=0.02)
    np.testing.assert_allclose(bias, [1.0], atol=0.02)
    assert task.history["train_loss"][-1] < 1e-3
    assert isinstance(task, RegressionTask)
