"""The timm-style backbone / head split of every registered neural model (the generative
shower models aside: tests/models/test_shower_generators.py):
``forward == forward_head(forward_features)``, ``num_features``, ``reset_head``."""

from __future__ import annotations

import copy
import inspect

import pytest
import torch

from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model, list_models, registered_models
from hepdl.models.inputs import model_inputs

B = 4
F = 4


def _features() -> dict[str, torch.Tensor]:
    return {"features": torch.randn(B, F, generator=torch.Generator().manual_seed(0))}


def _image(channels: int = 2, height: int = 12, width: int = 16):
    def make() -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(0)
        return {"image": torch.rand(B, channels, height, width, generator=generator)}

    return make


def _sequence() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    mask = torch.arange(6) < torch.tensor([6, 1, 3, 4])[:, None]  # (B, P), particles first
    return {"features": torch.randn(B, 6, F, generator=generator), "mask": mask}


def _tree() -> dict[str, dict[str, torch.Tensor]]:
    """Four jets: ((0, 1), 2), (5, 6), a single leaf and an empty jet."""
    children = [[-1, -1]] * 3 + [[0, 1], [3, 2]] + [[-1, -1]] * 2 + [[5, 6], [-1, -1]]
    tree = {
        "features": torch.randn(9, F, generator=torch.Generator().manual_seed(0)),
        "children": torch.tensor(children),
        "level": torch.tensor([0, 0, 0, 1, 2, 0, 0, 1, 0]),
        "roots": torch.tensor([4, 7, 8, -1]),
        "offsets": torch.tensor([0, 5, 8, 9, 9]),
    }
    return {"tree": tree}


def _point_cloud(*, pairwise: bool = False):
    def make() -> dict[str, torch.Tensor | None]:
        generator = torch.Generator().manual_seed(0)
        inputs = {
            "points": torch.randn(B, 8, 2, generator=generator),
            "features": torch.randn(B, 8, F, generator=generator),
            "mask": torch.arange(8) < torch.tensor([8, 3, 5, 2])[:, None],
        }
        if pairwise:
            pairs = torch.randn(B, 8, 8, 4, generator=generator)
            inputs["pairwise"] = pairs + pairs.transpose(1, 2)
        return inputs

    return make


IMAGE = {"in_channels": 2, "image_size": [12, 16]}
# Per registered model: small options (with hidden FC layers and dropout where the model
# has them, so that the backbone's share of the mlp / FC stack is exercised) and inputs.
CASES = {
    "mlp": ({"in_features": F, "hidden": [8, 6], "batch_norm": True, "dropout": 0.2}, _features),
    "lenet": ({**IMAGE, "channels": [4, 6], "hidden": [16], "dropout": 0.2}, _image()),
    "vgg": ({**IMAGE, "blocks": [[4, 4], [8]], "hidden": [16]}, _image()),
    "resnet": ({**IMAGE, "widths": [4, 8], "blocks_per_stage": 1}, _image()),
    "jet_cnn": (
        {
            **IMAGE,
            "filters": [4, 4, 4],
            "kernel_sizes": [5, 3, 3],
            "pool_sizes": [2, 2, 2],
            "hidden": 8,
        },
        _image(),
    ),
    **{
        cell: ({"in_features": F, "hidden_size": 8, "hidden": [6], "dropout": 0.2}, _sequence)
        for cell in ("rnn", "lstm", "gru")
    },
    "recursive": ({"in_features": F, "hidden_size": 6, "gated": True, "hidden": [5]}, _tree),
    "pfn": (
        {"in_features": F, "phi_sizes": [8, 6], "f_sizes": [7], "dropout": 0.2},
        _point_cloud(),
    ),
    "efn": ({"in_features": F, "z_feature": 0, "phi_sizes": [8, 6], "f_sizes": []}, _point_cloud()),
    "particlenet": (
        {
            "in_features": F,
            "k": 3,
            "edge_convs": [[8, 8], [12]],
            "fc_sizes": [8],
            "fusion_channels": 6,
        },
        _point_cloud(),
    ),
    "part": (
        {
            "in_features": F,
            "embed_dims": [12, 8],
            "pair_embed_dims": [6],
            "num_heads": 2,
            "num_layers": 1,
            "num_cls_layers": 1,
            "ffn_ratio": 2,
            "fc_sizes": [5],
        },
        _point_cloud(pairwise=True),
    ),
}
CASES["unet"] = ({"in_channels": 2, "depth": 2, "width": 4, "dropout": 0.2}, _image(2, 9, 14))
# Generative models (showers from incident energies) have no classifier head to split off.
NAMES = [n for n in list_models() if not getattr(registered_models()[n], "generative", False)]


def per_pixel(net) -> bool:
    """A per-pixel model (U-Net): maps (B, D, H, W) and outputs (B, K, H, W) where the
    others have embeddings (B, D) and outputs (B, K)."""
    return bool(getattr(net, "per_pixel", False))


def shape(net, inputs, width: int) -> tuple[int, ...]:
    """(B, width), or (B, width, H, W) for a per-pixel model on images (B, C, H, W)."""
    return (B, width, *inputs["image"].shape[-2:]) if per_pixel(net) else (B, width)


def embeddings(net, z: torch.Tensor) -> torch.Tensor:
    """Embeddings (n, D) as the head of ``net`` takes them: (n, D, 1, 1) per pixel."""
    return z[:, :, None, None] if per_pixel(net) else z


def build(name: str):
    if name not in CASES:
        pytest.fail(f"registered model '{name}' has no backbone/head case in this test: add one")
    options, make_inputs = CASES[name]
    torch.manual_seed(0)
    return create_model(name, **options), make_inputs()


def split(net, inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """forward and forward_head(forward_features), each after the same seed (dropout)."""
    torch.manual_seed(1)
    whole = net(**inputs)
    torch.manual_seed(1)
    return whole, net.forward_head(net.forward_features(**inputs))


def test_every_registered_model_has_a_case():
    assert sorted(CASES) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_forward_is_the_head_of_the_features(name):
    net, inputs = build(name)
    for mode in (True, False):  # training (dropout, batch statistics), then evaluation
        net.train(mode)
        with torch.no_grad():
            whole, parts = split(net, inputs)
        assert torch.equal(whole, parts), (name, mode)
    assert whole.shape == shape(net, inputs, 1)


@pytest.mark.parametrize("name", NAMES)
def test_features_are_num_features_wide_and_take_the_forward_inputs(name):
    net, inputs = build(name)
    assert isinstance(net.num_features, int) and net.num_features > 0
    with torch.no_grad():
        assert net.eval().forward_features(**inputs).shape == shape(net, inputs, net.num_features)

    # forward_features takes what forward takes, so a batch dict feeds either one.
    def arguments(method) -> list[tuple]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]

    assert arguments(net.forward_features) == arguments(net.forward)
    assert set(model_inputs(net, inputs)) <= {name for name, *_ in arguments(net.forward)}


@pytest.mark.parametrize("name", NAMES)
def test_reset_head_keeps_the_backbone(name):
    net, inputs = build(name)
    net.eval()
    before = {key: value.clone() for key, value in net.state_dict().items()}
    with torch.no_grad():
        features = net.forward_features(**inputs)
    assert net.output == "sigmoid"

    net.reset_head(3)
    assert (net.out_features, net.output) == (3, "linear")
    after = net.state_dict()
    assert list(after) == list(before)  # same keys in the same order: checkpoints still load
    changed = [key for key in before if before[key].shape != after[key].shape]
    assert len(changed) == 2 and sorted(k.rsplit(".", 1)[1] for k in changed) == ["bias", "weight"]
    for key in before:
        if key not in changed:
            assert torch.equal(before[key], after[key]), key
    with torch.no_grad():
        assert torch.equal(net.forward_features(**inputs), features)
        logits = net(**inputs)
    assert logits.shape == shape(net, inputs, 3)
    assert torch.equal(net.probabilities(logits), logits)  # linear output
    assert torch.equal(net.forward_head(features), logits)


@pytest.mark.parametrize("name", NAMES)
def test_forward_head_applies_no_activation(name):
    """The head of a sigmoid classifier is affine: its logits leave [0, 1] and
    f(2z) - f(z) = f(z) - f(0)."""
    net, _ = build(name)
    assert net.output == "sigmoid"
    generator = torch.Generator().manual_seed(2)
    z = embeddings(net, 100 * torch.randn(16, net.num_features, generator=generator))
    with torch.no_grad():
        logits, double, zero = (net.forward_head(x) for x in (z, 2 * z, 0 * z))
    assert bool((logits < 0).any()) and bool((logits > 1).any())
    torch.testing.assert_close(double - logits, logits - zero, rtol=1e-4, atol=1e-3)
    probabilities = net.probabilities(logits)
    torch.testing.assert_close(probabilities, torch.sigmoid(logits))


@pytest.mark.parametrize("name", NAMES)
def test_one_backbone_serves_a_classifier_a_regressor_and_an_encoder(name):
    classifier, inputs = build(name)
    regressor = copy.deepcopy(classifier)
    regressor.reset_head(6)  # e.g. T * P = 6 regression targets
    classifier.reset_head(4, "softmax")
    classifier.eval()
    regressor.eval()
    with torch.no_grad():
        encoded = classifier.forward_features(**inputs)
        assert torch.equal(regressor.forward_features(**inputs), encoded)
        probabilities = classifier.probabilities(classifier(**inputs))
        assert regressor(**inputs).shape == shape(regressor, inputs, 6)
    assert probabilities.shape == shape(classifier, inputs, 4)
    total = probabilities.sum(dim=1)  # (B,) or (B, H, W): one distribution per row or pixel
    torch.testing.assert_close(total, torch.ones_like(total))


@pytest.mark.parametrize("name", NAMES)
def test_reset_head_checks_and_follows_the_dtype(name):
    net, _ = build(name)
    with pytest.raises(ConfigError, match=r"model\.output"):
        net.reset_head(3, "tanh")
    with pytest.raises(ConfigError, match="softmax"):
        net.reset_head(1, "softmax")
    assert (net.out_features, net.output) == (1, "sigmoid")  # a refused reset changes nothing
    with pytest.raises(DataError, match="forward_head"):
        net.forward_head(torch.zeros(B, net.num_features + 1))
    net.double().reset_head(2)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    features = embeddings(net, torch.zeros(B, net.num_features, dtype=torch.float64))
    assert net.forward_head(features).shape[:2] == (B, 2)


@pytest.mark.parametrize(("init", "zero_bias"), [("he", True), ("default", False)])
def test_mlp_reset_head_initialises_as_the_model(init, zero_bias):
    net = create_model("mlp", in_features=F, hidden=[8], init=init)
    net.reset_head(5)
    assert bool((net.layers[-1].bias == 0).all()) is zero_bias
