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
    net = create_model(
        "rnn", in_features=3, hidden_size=5, bidirectional=True, hidden=[], input_norm=False
    )
    lengths = [6, 2, 4]
    x, mask = padded_jets(lengths, 6)
    expected = []
    for i, n in enumerate(lengths):
        forward = naive_elman(x[i, :n], net.recurrent, "")
        backward = naive_elman(x[i, :n].flip(0), net.recurrent, "_reverse")
        expected.append(net.head(torch.cat([forward, backward])[None]))
    torch.testing.assert_close(net(x, mask), torch.cat(expected))


def test_input_norm_standardises_over_real_particles_only():
    """Training mode: (x - mean) / sqrt(var + eps) per feature, mean and biased var over
    the real particles alone (loop below); padded slots are 0 and the garbage in them, of
    scale 100, does not enter; the running mean moves 10% of the way to the batch mean."""
    net = create_model("lstm", in_features=3, hidden_size=4)
    lengths = [3, 1, 5]
    x, mask = padded_jets(lengths, 6)
    x = 50.0 + 20.0 * x  # GeV-like scale
    real = torch.stack([x[i, t] for i, n in enumerate(lengths) for t in range(n)])  # (9, 3)
    mean = real.sum(0) / len(real)
    var = ((real - mean) ** 2).sum(0) / len(real)
    out = net._standardise(x, mask)
    for i, n in enumerate(lengths):
        for t in range(6):
            expected = (x[i, t] - mean) / torch.sqrt(var + 1e-5) if t < n else torch.zeros(3)
            torch.testing.assert_close(out[i, t], expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(net.input_norm.running_mean, 0.1 * mean)
    net.eval()  # running statistics: a jet's result no longer depends on the batch
    torch.testing.assert_close(net(x, mask)[1:2], net(x[1:2, :1]))
    unnormed = create_model("lstm", in_features=3, hidden_size=4, input_norm=False)
    assert unnormed.input_norm is None
    torch.testing.assert_close(unnormed._standardise(x, mask), torch.where(mask[..., None], x, 0))


def test_input_norm_lets_the_lstm_learn_at_gev_scale():
    """Class 1 jets have a 1.5x larger spread of particle energies ~ 300 GeV; with input_norm
    Adam separates the classes within 30 steps, without it the saturated gates do not."""
    torch.manual_seed(6)
    labels = (torch.arange(128) % 2).float()
    x = 300.0 + 30.0 * (1.0 + 0.5 * labels[:, None, None]) * torch.randn(128, 8, 2)  # (B, P, F)
    mask = torch.ones(128, 8, dtype=torch.bool)
    loss_fn = nn.BCEWithLogitsLoss()
    final = {}
    for input_norm in (True, False):
        torch.manual_seed(7)
        net = create_model("lstm", in_features=2, hidden_size=16, input_norm=input_norm)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(30):
            opt.zero_grad()
            loss = loss_fn(net(x, mask)[:, 0], labels)
            loss.backward()
            opt.step()
        final[input_norm] = loss.item()
    assert final[True] < 0.35 < 0.5 < final[False]


def test_empty_jet_reads_one_zero_particle():
    torch.manual_seed(3)
    net = create_model("gru", in_features=3, hidden_size=4)
    x, mask = padded_jets([0, 2], 5)
    out = net(x, mask)
    assert torch.isfinite(out).all()
    # The zero particle enters after the standardisation: the cell reads zeros directly.
    _, state = net.recurrent(torch.zeros(1, 1, 3))
    torch.testing.assert_close(out[:1], net.head(state[-1]))


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
