"""Recurrent networks over pT-ordered particle sequences ``features (B, P, F)`` + ``mask``.

The cells, for input x_t and previous state h_{t-1}:

- ``rnn`` (Elman): h_t = tanh(W_x x_t + W_h h_{t-1} + b);
- ``lstm``: gates i, f, o = sigmoid(...), g = tanh(...), c_t = f * c_{t-1} + i * g,
  h_t = o * tanh(c_t) (Hochreiter and Schmidhuber 1997);
- ``gru``: z, r = sigmoid(...), n = tanh(W_n x_t + r * (U_n h_{t-1}) + b_n),
  h_t = (1 - z) * n + z * h_{t-1} (Cho et al. 2014).

The jet embedding is the last layer's final state, read at each jet's own last particle
(packed sequences), so padding never enters the result; with ``bidirectional`` the
backward direction's final state (at the first particle) is concatenated. The ``mlp`` head
turns it into logits (B, out_features); ``probabilities`` applies the output activation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from hepdl.errors import ConfigError, DataError
from hepdl.models._registry import register_model
from hepdl.models.mlp import MLP

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@register_model("rnn")
class RecurrentTagger(nn.Module):
    """A recurrent network (``cell``: the class's registered name) and an ``mlp`` head.

    Args:
        in_features: particle feature count F (set from the data by the trainer).
        hidden_size: state width H of each direction.
        num_layers: stacked recurrent layers.
        bidirectional: also read the sequence from the softest particle to the hardest.
        dropout: between stacked recurrent layers and in the head.
        hidden: widths of the head's hidden layers (empty: one linear layer).
        out_features, output: as for ``mlp``.

    ``forward(features (B, P, F), mask (B, P) bool)``: the real particles of a jet must come
    first (``mask`` True then False), as the ``sequence`` representation writes them; a jet
    without particles is read as one all-zero particle.
    """

    consumes = ("features", "mask")
    cell = "rnn"

    def __init__(
        self,
        *,
        in_features: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        hidden: Sequence[int] = (64,),
        out_features: int = 1,
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        for option, value in (
            ("in_features", in_features),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if value < 1:
                raise ConfigError(f"model.{option}: expected a positive integer, got {value}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout: expected a probability in [0, 1), got {dropout}")
        self.in_features = in_features
        self.directions = 2 if bidirectional else 1
        self.recurrent = CELLS[self.cell](
            input_size=in_features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # torch warns on dropout with 1 layer
            batch_first=True,
        )
        self.head = MLP(
            in_features=hidden_size * self.directions,
            hidden=hidden,
            out_features=out_features,
            output=output,
            dropout=dropout,
        )

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if features.ndim != 3 or features.shape[2] != self.in_features:
            raise DataError(
                f"{type(self).__name__}: expected features of shape (batch, particles, "
                f"{self.in_features}), got {tuple(features.shape)}"
            )
        if mask is None:
            mask = torch.ones(features.shape[:2], dtype=torch.bool, device=features.device)
        elif mask.shape != features.shape[:2]:
            raise DataError(
                f"{type(self).__name__}: mask of shape {tuple(mask.shape)} does not match "
                f"features {tuple(features.shape)}; expected (batch, particles)"
            )
        mask = mask.bool()
        if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
            raise DataError(
                f"{type(self).__name__}: mask has a real particle after padding; expected "
                "each jet's particles first, then padding (the sequence representation's layout)"
            )
        # Packing stops each jet at its own length; an empty jet is read for one step, of
        # zeros rather than whatever its padding holds.
        features = features.masked_fill(~mask[..., None], 0.0)  # (B, P, F)
        lengths = mask.sum(dim=1).clamp(min=1).cpu()  # (B,)
        packed = pack_padded_sequence(features, lengths, batch_first=True, enforce_sorted=False)
        _, state = self.recurrent(packed)
        final = state[0] if isinstance(state, tuple) else state  # (layers * D, B, H)
        # The last layer's states: forward, then backward when bidirectional.
        embedding = torch.cat(list(final[-self.directions :]), dim=1)  # (B, D * H)
        return self.head(embedding)  # (B, out_features)

    @property
    def output(self) -> str:
        """The head's output activation (sigmoid, softmax or linear)."""
        return self.head.output

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Apply the output activation to logits from ``forward``."""
        return self.head.probabilities(logits)


@register_model("lstm")
class LSTMTagger(RecurrentTagger):
    """``rnn`` with long short-term memory cells."""

    cell = "lstm"


@register_model("gru")
class GRUTagger(RecurrentTagger):
    """``rnn`` with gated recurrent units."""

    cell = "gru"
