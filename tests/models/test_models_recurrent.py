from __future__ import annotations

import pytest
import torch
from torch import nn

from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models.recurrent import GRUTagger, LSTMTagger, RecurrentTagger

CELLS = {
    "rnn": (RecurrentTagger, nn.RNN),
    "lstm": (LSTMTagger, nn.LSTM),
    "gru": (GRUTagger, nn.GRU),
}


def padded_jets(lengths: list[int], width: int, *, features: int = 3, seed: int = 0):
    """Jets with the given particle counts, padded to ``width`` with garbage (not zeros),
    so any leak of padding into the output changes it."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), width, features, generator=generator)
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # (B, P)
    garbage = 100 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed + 1))
    return torch.where(mask[..., None], x, garbage), mask


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes_and_finite_gradients(name, bidirectional):
    torch.manual_seed(0)
    net = create_model(
        name, in_features=3, hidden_size=8, num_layers=2, bidirectional=bidirectional, hidden=[6]
    )
    model_class, cell_class = CELLS[name]
    assert type(net) is model_class and type(net.recurrent) is cell_class
    assert net.consumes == ("features", "mask")
    x, mask = padded_jets([5, 1, 3], 7)
    logits = net(x, mask)
    assert logits.shape == (3, 1)
    torch.testing.assert_close(net.probabilities(logits), torch.sigmoid(logits))
    logits.sum().backward()
    for key, parameter in net.named_parameters():
        assert parameter.grad is not None, key
        assert torch.isfinite(parameter.grad).all(), key


@pytest.mark.parametrize("name", list(CELLS))
def test_padding_does_not_change_the_output(name):
    """The same jets padded to P=20 and P=40, and each jet alone and unpadded, agree."""
    torch.manual_seed(1)
    net = create_model(name, in_features=3, hidden_size=8, num_layers=2, bidirectional=True)
    net.eval()
    lengths = [20, 4, 11, 1]
    short, short_mask = padded_jets(lengths, 20)
    long, long_mask = padded_jets(lengths, 40, seed=5)
    long[:, :20] = torch.where(short_mask[..., None], short, long[:, :20])
    out = net(short, short_mask)
    torch.testing.assert_close(out, net(long, long_mask))
    alone = torch.cat([net(short[i : i + 1, :n]) for i, n in enumerate(lengths)])
    torch.testing.assert_close(out, alone)


def naive_elman(x: torch.Tensor, rnn: nn.RNN, suffix: str) -> torch.Tensor:
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), one particle at a time."""
    w_ih, w_hh = getattr(rnn, f"weight_ih_l0{suffix}"), getattr(rnn, f"weight_hh_l0{suffix}")
    b_ih, b_hh = getattr(rnn, f"bias_ih_l0{suffix}"), getattr(rnn, f"bias_hh_l0{suffix}")
    h = torch.zeros(rnn.hidden_size)
    for x_t in x:
        h = torch.tanh(w_ih @ x_t + b_ih + w_hh @ h + b_hh)
    return h


def test_bidirectional_rnn_matches_a_loop_over_particles():
    torch.manual_seed(2)
    net = create_model("rnn", in_features=3, hidden_size=5, bidirectional=True, hidden=[])
    lengths = [6, 2, 4]
    x, mask = padded_jets(lengths, 6)
    expected = []
    for i, n in enumerate(lengths):
        forward = naive_elman(x[i, :n], net.recurrent, "")
        backward = naive_elman(x[i, :n].flip(0), net.recurrent, "_reverse")
        expected.append(net.head(torch.cat([forward, backward])[None]))
    torch.testing.assert_close(net(x, mask), torch.cat(expected))


def test_empty_jet_reads_one_zero_particle():
    torch.manual_seed(3)
    net = create_model("gru", in_features=3, hidden_size=4)
    x, mask = padded_jets([0, 2], 5)
    out = net(x, mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:1], net(torch.zeros(1, 1, 3)))


@pytest.mark.parametrize("name", list(CELLS))
def test_adam_steps_lower_the_loss(name):
    """Class 1 jets have positive first features; lengths vary so the mask matters."""
    torch.manual_seed(4)
    lengths = torch.randint(1, 10, (64,)).tolist()
    x, mask = padded_jets(lengths, 10)
    labels = (torch.arange(64) % 2).float()
    x[..., 0] = x[..., 0].abs() * (2 * labels[:, None] - 1)
    net = create_model(name, in_features=3, hidden_size=16)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    first = loss_fn(net(x, mask)[:, 0], labels).item()
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(net(x, mask)[:, 0], labels)
        loss.backward()
        opt.step()
    assert loss_fn(net(x, mask)[:, 0], labels).item() < 0.5 * first


def test_bad_input_and_options():
    net = create_model("lstm", in_features=3)
    x, mask = padded_jets([2, 3], 4)
    with pytest.raises(
        DataError, match=r"LSTMTagger: expected features of shape \(batch, particles, 3\), got"
    ):
        net(x[..., :2], mask)
    with pytest.raises(DataError, match=r"mask of shape \(2, 3\) does not match features"):
        net(x, mask[:, :3])
    holes = torch.tensor([[True, False, True, False], [True, True, True, False]])
    with pytest.raises(DataError, match="mask has a real particle after padding"):
        net(x, holes)
    with pytest.raises(
        ConfigError, match=r"model\.hidden_size: expected a positive integer, got 0"
    ):
        create_model("gru", in_features=3, hidden_size=0)
    with pytest.raises(ConfigError, match=r"model.dropout: expected a probability in \[0, 1\)"):
        create_model("rnn", in_features=3, dropout=1.5)
