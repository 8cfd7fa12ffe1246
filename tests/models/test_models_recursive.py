from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.data.test_data_representations_tables import make_table, random_table
from torch import nn

from hepdl.data import create_representation
from hepdl.data.representations import select_jets
from hepdl.data.representations.tree import LOUPPE_FEATURES
from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models.recursive import RecursiveTagger


def as_tensors(tree: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.asarray(value)) for key, value in tree.items()}


def make_trees(table) -> dict[str, np.ndarray]:
    # The paper's node features, fixed so these model checks do not follow the default.
    tree = create_representation("tree", features=list(LOUPPE_FEATURES))(table, source="t")
    # Standardised features, as training feeds them; raw GeV would saturate the ReLUs.
    features = tree["features"]
    tree["features"] = (features - features.mean(0)) / (features.std(0) + 1e-6)
    return tree


def three_trees() -> dict[str, torch.Tensor]:
    """Three small clustering trees (2, 3 and 5 constituents) and an empty jet."""
    table = make_table(
        pt=[[50.0, 20.0], [40.0, 30.0, 5.0], [], [60.0, 25.0, 12.0, 8.0, 3.0]],
        eta=[[0.1, 0.3], [0.0, -0.2, 0.4], [], [0.2, 0.1, -0.1, 0.35, 0.0]],
        phi=[[1.0, 1.2], [2.0, 2.1, 1.8], [], [0.5, 0.7, 0.3, 0.45, 0.6]],
    )
    return as_tensors(make_trees(table))


def naive_merge(net: RecursiveTagger, left, right, u) -> torch.Tensor:
    """The paper's merge formulas for one node, the softmax over the 4 gates spelled out."""
    stacked = torch.cat([left, right, u])
    if not net.gated:
        return torch.relu(net.inner.weight @ stacked + net.inner.bias)
    reset = torch.sigmoid(net.reset.weight @ stacked + net.reset.bias)
    candidate = torch.relu(net.inner.weight @ (reset * stacked) + net.inner.bias)
    options = [candidate, left, right, u]
    a = net.update.weight @ torch.cat(options) + net.update.bias  # (4H,)
    width = net.hidden_size
    weights = [torch.exp(a[i * width : (i + 1) * width]) for i in range(4)]
    total = weights[0] + weights[1] + weights[2] + weights[3]
    return sum(w / total * option for w, option in zip(weights, options, strict=True))


def naive_root_embeddings(net: RecursiveTagger, tree: dict[str, torch.Tensor]) -> torch.Tensor:
    """One Python call per node, recursing from each root down to the leaves."""
    x, children = tree["features"], tree["children"].tolist()

    def embed(k: int) -> torch.Tensor:
        u = torch.relu(net.leaf.weight @ x[k] + net.leaf.bias)
        left, right = children[k]
        return u if left < 0 else naive_merge(net, embed(left), embed(right), u)

    zero = torch.zeros(net.hidden_size)
    return torch.stack([embed(r) if r >= 0 else zero for r in tree["roots"].tolist()])


@pytest.mark.parametrize("gated", [False, True])
def test_level_batching_equals_naive_recursion_values_and_gradients(gated):
    torch.manual_seed(0)
    tree = three_trees()
    assert tree["roots"].tolist()[2] == -1 and int(tree["level"].max()) >= 3
    net = create_model("recursive", in_features=6, hidden_size=7, hidden=[5], gated=gated)
    batched = net.embed(tree)  # (4, 7)
    naive = naive_root_embeddings(net, tree)
    torch.testing.assert_close(batched, naive)
    assert batched[[0, 1, 3]].abs().sum(dim=1).gt(0).all()  # not trivially all zero
    recursion = [p for key, p in net.named_parameters() if not key.startswith("head.")]
    assert len(recursion) == (8 if gated else 4)
    weights = torch.randn(4, 7)
    batched_grads = torch.autograd.grad((batched * weights).sum(), recursion)
    naive_grads = torch.autograd.grad((naive * weights).sum(), recursion)
    for got, want in zip(batched_grads, naive_grads, strict=True):
        torch.testing.assert_close(got, want)


def test_each_jet_alone_gives_the_batched_output():
    torch.manual_seed(1)
    table = random_table(np.random.default_rng(5), n_jets=6, min_particles=1, max_particles=9)
    numpy_tree = make_trees(table)
    net = create_model("recursive", in_features=6, hidden_size=8).eval()
    batched = net(as_tensors(numpy_tree))
    assert batched.shape == (6, 1)
    for row in range(6):
        alone = as_tensors(select_jets(numpy_tree, [row]))
        torch.testing.assert_close(net(alone), batched[row : row + 1])


@pytest.mark.parametrize("gated", [False, True])
def test_finite_gradients_and_probabilities(gated):
    torch.manual_seed(2)
    net = create_model("recursive", in_features=6, out_features=3, output="softmax", gated=gated)
    assert net.consumes == ("tree",)
    logits = net(three_trees())
    assert logits.shape == (4, 3)
    torch.testing.assert_close(net.probabilities(logits).sum(dim=1), torch.ones(4))
    logits.square().sum().backward()
    for key, parameter in net.named_parameters():
        assert parameter.grad is not None, key
        assert torch.isfinite(parameter.grad).all(), key


@pytest.mark.parametrize("gated", [False, True])
def test_adam_steps_lower_the_loss(gated):
    """Label: more than 5 constituents, a property of the whole tree, not of one node."""
    torch.manual_seed(3)
    table = random_table(np.random.default_rng(7), n_jets=40, min_particles=1, max_particles=10)
    numpy_tree = make_trees(table)
    labels = torch.from_numpy(np.diff(numpy_tree["offsets"]) > 9).float()  # 2n - 1 nodes
    assert 5 < labels.sum() < 35
    tree = as_tensors(numpy_tree)
    net = create_model("recursive", in_features=6, hidden_size=16, hidden=[16], gated=gated)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    first = loss_fn(net(tree)[:, 0], labels).item()
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(net(tree)[:, 0], labels)
        loss.backward()
        opt.step()
    assert loss_fn(net(tree)[:, 0], labels).item() < 0.7 * first


def test_bad_trees_and_options():
    net = create_model("recursive", in_features=6)
    tree = three_trees()
    with pytest.raises(DataError, match="RecursiveTagger: tree input lacks level, roots"):
        net({"features": tree["features"], "children": tree["children"]})
    with pytest.raises(DataError, match=r"expected tree features of shape \(nodes, 6\), got"):
        net(tree | {"features": tree["features"][:, :4]})
    flat = tree | {"level": torch.zeros_like(tree["level"])}
    with pytest.raises(DataError, match="tree level and children are inconsistent"):
        net(flat)
    outside = tree | {"roots": tree["roots"] + 100}
    with pytest.raises(DataError, match=r"roots must be node indices in \[0, 17\) or -1"):
        net(outside)
    with pytest.raises(ConfigError, match=r"model\.hidden_size: expected a positive width, got 0"):
        create_model("recursive", in_features=6, hidden_size=0)
