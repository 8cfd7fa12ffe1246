"""weaver-core network config of benchmarks/bench_weaver_particlenet.py: weaver's own
ParticleNet (weaver.nn.model.ParticleNet), as in particle_transformer's
networks/example_ParticleNet.py, with the architecture passed by the benchmark through
``--network-option`` (the same numbers it gives hepdl's ``particlenet``):

    k, edge_convs ((w, w, w), ...), fc_sizes (n, ...), fc_dropout, fusion, trim.

Defaults are ParticleNet-Lite. Loss: cross-entropy over the two classes (QCD, top),
like hepdl's ``cce`` with a 2-unit softmax output.
"""

from __future__ import annotations

from typing import Any

import torch
from weaver.nn.model.ParticleNet import ParticleNet


class ParticleNetWrapper(torch.nn.Module):
    """Maps weaver's input order (pf_points, pf_features, pf_mask) onto ParticleNet."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.mod = ParticleNet(**kwargs)

    def forward(
        self, points: torch.Tensor, features: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        # points (B, 2, P), features (B, F, P), mask (B, 1, P) -> logits (B, 2)
        return self.mod(points, features, mask)


def get_model(data_config: Any, **kwargs: Any) -> tuple[torch.nn.Module, dict[str, Any]]:
    k = kwargs.get("k", 7)
    edge_convs = kwargs.get("edge_convs", ((32, 32, 32), (64, 64, 64)))
    dropout = kwargs.get("fc_dropout", 0.1)
    fc_sizes = kwargs.get("fc_sizes", (128,))
    model = ParticleNetWrapper(
        input_dims=len(data_config.input_dicts["pf_features"]),
        num_classes=len(data_config.label_value),
        conv_params=[(k, tuple(widths)) for widths in edge_convs],
        fc_params=[(width, dropout) for width in fc_sizes],
        use_fusion=kwargs.get("fusion", True),
        use_fts_bn=True,
        use_counts=True,
        trim=kwargs.get("trim", True),
        for_inference=kwargs.get("for_inference", False),
    )
    model_info = {
        "input_names": list(data_config.input_names),
        "input_shapes": {name: (1, *s[1:]) for name, s in data_config.input_shapes.items()},
        "output_names": ["softmax"],
        "dynamic_axes": {
            **{name: {0: "N", 2: "n_" + name.split("_")[0]} for name in data_config.input_names},
            "softmax": {0: "N"},
        },
    }
    return model, model_info


def get_loss(data_config: Any, **kwargs: Any) -> torch.nn.Module:
    return torch.nn.CrossEntropyLoss()
