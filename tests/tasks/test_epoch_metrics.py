"""Per-epoch physics metrics of the validation set: val_auc and the background rejections."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from hepdl.config import TrainerConfig, config_from_dict
from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask
from hepdl.tasks._epoch_metrics import (
    BASE_NAMES,
    check_monitor,
    gather_rows,
    logged_names,
    physics_metrics,
    signal_score,
)
from hepdl.train.loaders import tensor_loader
from hepdl.train.trainer import build_trainer

EFFS = [0.3, 0.5]


def naive_auc(scores, labels):
    """P(score_sig > score_bkg) + P(=)/2 over all signal-background pairs, by loops."""
    sig = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    bkg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum((a > b) + 0.5 * (a == b) for a in sig for b in bkg)
    return wins / (len(sig) * len(bkg))


def test_metrics_against_naive_counts():
    """10 signal jets with distinct scores: eps_S = 0.3 is exactly the 3 best, so eps_B is
    the count of background jets scoring at least the 3rd best signal score."""
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(1.0, 1.0, 10), rng.normal(0.0, 1.0, 40)]
    labels = np.r_[np.ones(10, int), np.zeros(40, int)]
    values = physics_metrics(scores, labels, signal_class=1, efficiencies=[0.3])
    assert values["val_auc"] == pytest.approx(naive_auc(scores, labels))
    assert values["val_auc"] == pytest.approx(roc_auc_score(labels, scores))
    cut = sorted(scores[:10], reverse=True)[2]
    passing = sum(1 for s in scores[10:] if s >= cut)
    assert passing > 0
    assert values["val_rejection_at_eps_s_0.3"] == pytest.approx(40 / passing)


def test_signal_class_zero_counts_other_labels_as_background():
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.7])
    labels = np.array([0, 0, 1, 2, 1])  # signal = class 0; classes 1 and 2 are background
    values = physics_metrics(scores, labels, signal_class=0, efficiencies=[0.5])
    assert values["val_auc"] == pytest.approx(naive_auc(scores, (labels == 0).astype(int)))


def test_rejection_without_surviving_background_is_capped_at_n_background():
    scores = np.r_[np.linspace(0.6, 1.0, 5), np.linspace(0.0, 0.4, 7)]
    labels = np.r_[np.ones(5, int), np.zeros(7, int)]
    values = physics_metrics(scores, labels, signal_class=1, efficiencies=[0.3, 0.5])
    assert values == {
        "val_auc": 1.0,
        "val_rejection_at_eps_s_0.3": 7.0,
        "val_rejection_at_eps_s_0.5": 7.0,
    }


def test_one_class_validation_set_is_data_error():
    with pytest.raises(
        DataError,
        match=r"^validation set: it holds no background jets, so val_auc and the rejections "
        r"cannot be computed; give a validation set with both$",
    ):
        physics_metrics(np.array([0.1, 0.2]), np.array([1, 1]), signal_class=1, efficiencies=[0.3])


def test_signal_score_sigmoid_softmax_and_float64():
    sigmoid = create_model("mlp", in_features=2, output="sigmoid")
    logits = torch.tensor([[20.0], [25.0], [-1.0]])  # sigmoid(20), sigmoid(25): 1.0 in float32
    p1 = signal_score(logits, sigmoid.probabilities, 1)
    assert p1.dtype == np.float64
    assert p1[0] < p1[1]  # distinct in float64, tied in float32
    np.testing.assert_allclose(signal_score(logits, sigmoid.probabilities, 0), 1.0 - p1)
    softmax = create_model("mlp", in_features=2, output="softmax", out_features=3)
    logits3 = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0]])
    expected = torch.softmax(logits3.double(), dim=1)[:, 2].numpy()
    np.testing.assert_allclose(signal_score(logits3, softmax.probabilities, 2), expected)


def test_gather_rows_drops_the_padding_of_shorter_ranks():
    """Two ranks with 3 and 1 rows: a fake all_gather stacks what each rank sends."""
    ranks = [torch.arange(6.0).reshape(3, 2), torch.tensor([[9.0, 9.5]])]
    sent: list[list[torch.Tensor]] = [[], []]

    def all_gather_from(rank):
        def all_gather(tensor):
            sent[rank].append(tensor)
            # every rank sends the same shape: pad the other rank the way gather_rows does
            other = 1 - rank
            if tensor.ndim == 0:
                theirs = torch.tensor(len(ranks[other]))
            else:
                theirs = tensor.new_zeros(tensor.shape)
                theirs[: len(ranks[other])] = ranks[other]
            return torch.stack([tensor, theirs] if rank == 0 else [theirs, tensor])

        return all_gather

    gathered = gather_rows(ranks[0], all_gather=all_gather_from(0), world_size=2)
    torch.testing.assert_close(gathered, torch.cat(ranks))
    gathered1 = gather_rows(ranks[1], all_gather=all_gather_from(1), world_size=2)
    torch.testing.assert_close(gathered1, torch.cat(ranks))
    assert sent[1][1].shape == (3, 2)  # the short rank padded to the longest
    same = torch.ones(2, 2)
    assert gather_rows(same, all_gather=None, world_size=1) is same


def test_check_monitor_message():
    names = logged_names(EFFS)
    assert names == [
        *BASE_NAMES,
        "val_auc",
        "val_rejection_at_eps_s_0.3",
        "val_rejection_at_eps_s_0.5",
    ]
    check_monitor("val_rejection_at_eps_s_0.5", names, key="k")
    with pytest.raises(
        ConfigError,
        match=r"^k 'val_rejection_at_eps_s_0\.4' is never logged \(did you mean "
        r"'val_rejection_at_eps_s_0\.5'\?\); logged metrics: train_loss, ",
    ):
        check_monitor("val_rejection_at_eps_s_0.4", names, key="k")


# ---------------------------------------------------------------- config at load


def test_monitor_typo_is_config_error_at_load():
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "config: trainer.early_stopping.monitor 'val_acu' is never logged by task kind "
            "'classify' (did you mean 'val_auc'?); it logs: train_loss"
        ),
    ):
        config_from_dict(
            {
                "data": {"files": ["a.parquet"]},
                "trainer": {"early_stopping": {"monitor": "val_acu"}},
            }
        )


@pytest.mark.parametrize(
    ("monitor", "mode"),
    [("val_loss", "min"), ("train_loss", "min"), ("val_auc", "max"), ("val_accuracy", "max")],
)
def test_mode_defaults_by_monitor(monitor, mode):
    def stopping(**given):
        raw = {"data": {"files": ["jets.parquet"], "label_column": "label"}}
        raw["trainer"] = {"early_stopping": {"monitor": monitor, **given}}
        return config_from_dict(raw).trainer.early_stopping

    assert stopping().mode == mode  # the task's direction for the metric
    assert stopping(mode="min").mode == "min"  # given: kept


def test_the_config_knows_what_the_classifier_logs():
    from hepdl.config import EvaluateConfig
    from hepdl.tasks import ClassifyConfig

    evaluate = EvaluateConfig(signal_efficiencies=[0.3])
    metrics = ClassifyConfig().epoch_metrics(evaluate)
    assert set(metrics) == set(logged_names([0.3]))
    assert {*BASE_NAMES, "val_auc"} <= set(metrics)
    assert metrics["val_loss"] == "min" and metrics["val_auc"] == "max" and metrics["lr"] is None


# ---------------------------------------------------------------- in the Trainer


def separable(n, seed, *, gap):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 3, generator=g) + gap * y[:, None].float()
    return x, y


def fit(task, tmp_path, *, monitor, epochs=3, gap=1.0, patience=5):
    stopping = {"monitor": monitor, "patience": patience}
    config = TrainerConfig(max_epochs=epochs, progress_bar=False, early_stopping=stopping)
    trainer, best = build_trainer(config, tmp_path)
    x, y = separable(64, 0, gap=gap)
    xv, yv = separable(40, 1, gap=gap)
    trainer.fit(
        task,
        tensor_loader(x, y, batch_size=16, shuffle=True, seed=2),
        tensor_loader(xv, yv, batch_size=16, shuffle=False),
    )
    return trainer, best, (xv, yv)


def test_val_auc_per_epoch_equals_sklearn_and_picks_the_best_checkpoint(tmp_path):
    """lr 0: the model is fixed, so each epoch's val_auc is sklearn's AUC of its scores."""
    torch.manual_seed(0)
    net = create_model("mlp", in_features=3, hidden=[4])
    task = ClassificationTask(net, lr=0.0, signal_class=1, signal_efficiencies=EFFS)
    _, best, (xv, yv) = fit(task, tmp_path, monitor="val_auc")
    with torch.no_grad():
        scores = torch.sigmoid(net(xv)[:, 0].double()).numpy()
    expected = roc_auc_score(yv.numpy(), scores)
    assert task.history["val_auc"] == pytest.approx([expected] * 3)
    rejection = physics_metrics(scores, yv.numpy(), signal_class=1, efficiencies=EFFS)
    assert task.history["val_rejection_at_eps_s_0.5"] == pytest.approx(
        [rejection["val_rejection_at_eps_s_0.5"]] * 3
    )
    assert float(best.best_model_score) == pytest.approx(expected)
    assert best.mode == "max"
    rows = list(csv.DictReader((tmp_path / "logs" / "metrics.csv").open()))
    logged = [float(r["val_auc"]) for r in rows if r.get("val_auc")]
    assert logged == pytest.approx([expected] * 3)


def test_infinite_rejection_does_not_stop_or_crash(tmp_path):
    """Perfectly separated validation jets: the rejection is the cap N_B = 20 every epoch,
    finite, so early stopping (which stops on non-finite values) runs all epochs."""
    torch.manual_seed(0)
    net = create_model("mlp", in_features=3, hidden=[8])
    task = ClassificationTask(net, lr=0.05, signal_class=1, signal_efficiencies=EFFS)
    trainer, best, _ = fit(
        task, tmp_path, monitor="val_rejection_at_eps_s_0.3", epochs=4, gap=12.0, patience=10
    )
    assert task.history["val_rejection_at_eps_s_0.3"] == [20.0] * 4
    assert trainer.current_epoch == 4
    assert float(best.best_model_score) == 20.0
    json.dumps(task.history, allow_nan=False)  # history.json stays strict JSON


def test_rejection_of_an_efficiency_not_evaluated_is_config_error_at_start(tmp_path):
    net = create_model("mlp", in_features=3)
    task = ClassificationTask(net, signal_class=1, signal_efficiencies=EFFS)
    with pytest.raises(
        ConfigError,
        match=r"^trainer\.early_stopping\.monitor 'val_rejection_at_eps_s_0\.7' is never logged",
    ):
        fit(task, tmp_path, monitor="val_rejection_at_eps_s_0.7", epochs=1)
