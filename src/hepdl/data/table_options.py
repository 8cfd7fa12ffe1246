"""What happens to a table between reading it and representing it: a declared flat
particle layout unpacked (``particle_layout``), whole events clustered into jets
(``jet_clustering``), or refused when they would be read as one jet (``event_check``).

The in-memory path (``hepdl.train.inputs``) and the stream (``StreamingDataset``) both
apply one ``TableShape``, so a file is read the same way however it is trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak


@dataclass(frozen=True)
class TableShape:
    """The read-time steps of ``data``: its ``particle_layout``, ``jet_clustering`` and
    ``event_check`` sections (pydantic models or None), for ``representation``."""

    representation: str
    label_column: str | None = None
    particle_layout: Any = None
    jet_clustering: Any = None
    event_check: bool = True

    @classmethod
    def of(cls, data: Any, *, representation: str | None = None) -> TableShape:
        """The steps of a config's ``data`` section (``representation``: the one used)."""
        return cls(
            representation=representation or data.representation.name,
            label_column=data.label_column,
            particle_layout=data.particle_layout,
            jet_clustering=data.jet_clustering,
            event_check=data.event_check,
        )

    def config(self) -> dict[str, Any]:
        """Everything the shaped table depends on (for the representation cache's key)."""
        steps = {"particle_layout": self.particle_layout, "jet_clustering": self.jet_clustering}
        return {k: v.model_dump() for k, v in steps.items() if v is not None}  # {}: unchanged

    def __call__(self, table: ak.Array, *, source: str) -> ak.Array:
        from hepdl.data.particle_layout import apply_particle_layout
        from hepdl.data.read_time_clustering import cluster_events, refuse_events

        if self.particle_layout is not None:
            exclude = [self.label_column] if self.label_column else []
            table = apply_particle_layout(
                table, self.particle_layout, exclude=exclude, source=source
            )
        if self.jet_clustering is not None:
            return cluster_events(table, self.jet_clustering, source=source)
        if self.event_check and self.representation != "columns":  # columns: event variables
            refuse_events(table, source=source, representation=self.representation)
        return table
