"""The segment task: its losses against the formulas, its per-epoch sums against the
metric functions, its config section's checks and the target-shape error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepdl.config import config_from_dict
from hepdl.errors import ConfigError, DataError
from hepdl.metrics.segmentation import class_iou, pixel_accuracy
from hepdl.tasks import list_tasks, task_class
from hepdl.tasks.segment_section import SegmentConfig
from hepdl.train.inputs import LabeledSample

RNG = np.random.default_rng(3)


@pytest.fixture(scope="module")
def unet():
    from hepdl.models.unet import UNet  # registered here only: see tests/models/test_unet.py

    return UNet


def make_task(unet, **options):
    from hepdl.tasks.segment import SegmentationTask

    return SegmentationTask(unet(depth=1, width=2), **options)


def batch(b=5, h=6, w=7):
    logits = torch.tensor(RNG.normal(0, 2, (b, 1, h, w)))
    fraction = torch.tensor(RNG.random((b, 1, h, w)))
    energy = torch.tensor(RNG.normal(0.5, 1.0, (b, 1, h, w)))  # some cells negative
    return logits, fraction, energy


def naive_loss(logits, fraction, energy, *, target, loss, energy_weighted, weights=None):
    """Per-image losses written out pixel by pixel, then the (weighted) mean over images."""
    z, f, e = logits.numpy(), fraction.numpy(), energy.numpy()
    per_image = []
    for i in range(len(z)):
        num = den = 0.0
        for zz, ff, ee in zip(z[i].ravel(), f[i].ravel(), e[i].ravel(), strict=True):
            p = 1 / (1 + np.exp(-zz))
            y = float(ff > 0.5) if target == "dominant" else ff
            term = (p - y) ** 2 if loss == "mse" else -(y * np.log(p) + (1 - y) * np.log(1 - p))
            weight = max(ee, 0.0) if energy_weighted else 1.0
            num, den = num + weight * term, den + weight
        per_image.append(num / den)
    per_image = np.array(per_image)
    w = np.ones(len(z)) if weights is None else weights.numpy()
    return (per_image * w).sum() / w.sum()


@pytest.mark.parametrize(
    ("target", "loss", "energy_weighted"),
    [
        ("dominant", "bce", False),
        ("dominant", "bce", True),
        ("fraction", "bce", False),
        ("fraction", "mse", False),
        ("fraction", "mse", True),
    ],
)
def test_losses_match_the_formulas(unet, target, loss, energy_weighted):
    task = make_task(unet, target=target, loss=loss, energy_weighted=energy_weighted)
    logits, fraction, energy = batch()
    ours = task.compute_loss(logits, fraction, energy).item()
    expected = naive_loss(
        logits, fraction, energy, target=target, loss=loss, energy_weighted=energy_weighted
    )
    assert ours == pytest.approx(expected, rel=1e-9)
    weights = torch.tensor([1.0, 0.0, 2.0, 0.5, 1.0])
    weighted = task.compute_loss(logits, fraction, energy, weights).item()
    assert weighted == pytest.approx(
        naive_loss(
            logits, fraction, energy, target=target, loss=loss,
            energy_weighted=energy_weighted, weights=weights,
        ),
        rel=1e-9,
    )  # fmt: skip


def test_an_output_of_another_shape_than_the_target_is_named(unet):
    task = make_task(unet)
    with pytest.raises(DataError) as err:
        task.compute_loss(torch.zeros(2, 1), torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4))
    assert str(err.value) == (
        "segment: the model's output has shape (2, 1), but the per-pixel target has shape "
        "(2, 1, 4, 4); task.kind: segment needs a per-pixel model (e.g. model.name: unet) "
        "with one output channel"
    )


def test_batch_sums_give_the_metric_functions_values():
    from hepdl.tasks.segment import _SUMS, batch_sums

    logits, fraction, energy = batch(b=8)
    sums = dict(zip(_SUMS, batch_sums(logits, fraction, energy).tolist(), strict=True))
    truth, predicted = fraction.numpy() > 0.5, logits.numpy() > 0
    weights = np.clip(energy.numpy(), 0, None)
    assert sums["inter_signal"] / sums["union_signal"] == pytest.approx(class_iou(truth, predicted))
    assert sums["inter_pileup"] / sums["union_pileup"] == pytest.approx(
        class_iou(truth, predicted, cls=0)
    )
    assert sums["energy_inter_signal"] / sums["energy_union_signal"] == pytest.approx(
        class_iou(truth, predicted, weights=weights)
    )
    assert sums["correct"] / sums["pixels"] == pytest.approx(pixel_accuracy(truth, predicted))


def test_the_task_is_registered_with_its_section():
    assert "segment" in list_tasks()
    assert task_class("segment").Config is SegmentConfig


# ---------------------------------------------------------------- config section


def config(task=None, model=None, representation=None, **top):
    raw = {
        "data": {
            "files": ["showers.parquet"],
            "standardize": False,
            "representation": representation
            or {"name": "calo_cells", "layers": ["ecal"], "signal": ["ecal_signal"]},
        },
        "model": model or {"name": "unet", "depth": 2},
        "task": {"kind": "segment", **(task or {})},
        **top,
    }
    return config_from_dict(raw)


def test_a_segment_section_loads_and_early_stopping_maximises_the_iou(unet):
    cfg = config(
        task={"target": "fraction", "loss": "mse", "energy_weighted": True},
        trainer={"early_stopping": {"monitor": "val_energy_iou"}},
    )
    assert isinstance(cfg.task, SegmentConfig) and cfg.task.loss == "mse"
    assert cfg.trainer.early_stopping.mode == "max"


@pytest.mark.parametrize(
    ("task", "model", "representation", "message"),
    [
        (
            {"loss": "mse"}, None, None,
            "task.loss 'mse' needs task.target: fraction; a binary target (dominant) is "
            "learned with loss: bce",
        ),
        ({"target": "mask"}, None, None, "config key 'task.target'"),
        (
            None, {"name": "unet", "out_channels": 2}, None,
            "model.out_channels is 2, but task.kind: segment predicts one signal probability "
            "per pixel (out_channels: 1); remove model.out_channels (the task sets it)",
        ),
        (
            None, {"name": "unet", "output": "linear"}, None,
            "model.output is 'linear', but task.kind: segment predicts one signal",
        ),
        (
            None, None, {"name": "calo_cells", "layers": ["ecal"]},
            "task.kind: segment needs per-pixel truth 'pixel_target', but data.representation "
            "'calo_cells' gives image; use representation calo_cells with option signal",
        ),
    ],
)  # fmt: skip
def test_bad_segment_sections_name_the_key(unet, task, model, representation, message):
    with pytest.raises(ConfigError) as err:
        config(task=task, model=model, representation=representation)
    assert message in str(err.value)


def test_a_monitor_the_task_does_not_log_is_refused(unet):
    with pytest.raises(ConfigError) as err:
        config(trainer={"early_stopping": {"monitor": "val_auc"}})
    assert "val_auc" in str(err.value) and "val_iou" in str(err.value)


# ---------------------------------------------------------------- the target coding


def sample(image_shape, target_shape, *, target=None):
    inputs = {"image": np.ones(image_shape, np.float32)}
    if target_shape is not None:
        inputs["pixel_target"] = (
            np.full(target_shape, 0.7, np.float32) if target is None else target
        )
    return LabeledSample(
        inputs=inputs,
        features=None,
        labels=np.zeros(image_shape[0], dtype=np.int64),
        class_names=[],
        feature_names=["ecal"],
        representation={"name": "calo_cells"},
        source="showers.parquet",
    )


def coding():
    from hepdl.tasks._segment_targets import SegmentationTargets

    return SegmentationTargets(target="dominant", loss="bce", energy_weighted=False)


def test_a_target_of_another_shape_than_the_image_is_one_error_naming_both():
    with pytest.raises(DataError) as err:
        coding().encode(sample((4, 2, 35, 35), (4, 1, 25, 25)))
    assert str(err.value) == (
        "showers.parquet: the segmentation target 'pixel_target' has shape (4, 1, 25, 25), "
        "but the image has shape (4, 2, 35, 35); expected a target of shape (4, 1, 35, 35) "
        "(one value per pixel)"
    )


def test_a_representation_without_the_truth_is_named():
    with pytest.raises(ConfigError) as err:
        coding().encode(sample((4, 1, 5, 5), None))
    assert "needs the per-pixel truth 'pixel_target', but representation 'calo_cells' gives " in (
        str(err.value)
    )


def test_fractions_outside_zero_one_are_refused():
    bad = np.full((2, 1, 3, 3), 1.5, np.float32)
    with pytest.raises(DataError, match="must hold fractions in \\[0, 1\\] in every pixel"):
        coding().encode(sample((2, 1, 3, 3), (2, 1, 3, 3), target=bad))


def test_the_head_is_set_by_the_task_and_the_coding_round_trips():
    from hepdl.tasks._segment_targets import SegmentationTargets

    c = coding()
    assert c.head_options({}) == {"out_channels": 1, "output": "sigmoid"}
    assert c.head_options({"output": "sigmoid"}) == {"out_channels": 1}
    c.baseline_threshold, c.baseline_validation_iou = 0.25, 0.5
    again = SegmentationTargets.from_saved(config().task, c.saved()["targets"])
    assert (again.baseline_threshold, again.baseline_validation_iou) == (0.25, 0.5)


def test_the_pixel_energy_of_a_representation_replaces_the_channel_sum():
    from hepdl.tasks._segment_targets import cell_energy

    image = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    rows = np.array([1])
    np.testing.assert_array_equal(
        cell_energy({"image": image}, rows), image[rows].sum(axis=1, keepdims=True)
    )
    neutral = image[:, 2:3]  # pileup_images: the neutral pT the target is a share of
    inputs = {"image": image, "pixel_energy": neutral}
    np.testing.assert_array_equal(cell_energy(inputs, rows), neutral[rows])
