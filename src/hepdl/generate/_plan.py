"""The plan of one generation: its chunks, their seeds, its fingerprint and metadata.

The plan depends only on the sample and the settings (and the generator versions), so
every shard, job or resumed run of the same command computes the same plan; the
fingerprint, stored in every part file, proves that parts belong together.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hepdl.errors import GenerationError
from hepdl.generate import event_activity, gen_jets
from hepdl.generate._chunk import ChunkTask, chunk_seed
from hepdl.generate.recipes import PROCESSES, Sample
from hepdl.generate.settings import SampleSettings, jet_selection, pthat_window, pythia_strings


def generator_versions() -> dict[str, Any]:
    """Pythia, FastJet and hepdl versions: a different version gives different events."""
    from importlib import metadata

    import fastjet

    from hepdl import __version__
    from hepdl.generate._pythia import pythia_versions

    return {
        "generator": pythia_versions(),
        "fastjet_version": fastjet.fastjet_version_string().split()[-1],
        "fastjet_package_version": metadata.version("fastjet"),
        "hepdl_version": __version__,
    }


@dataclass(frozen=True)
class Plan:
    """Every chunk of every class, in canonical order (chunk 0 of each class, chunk 1, ...)."""

    sample: Sample
    settings: SampleSettings
    versions: dict[str, Any]

    @cached_property
    def chunks_per_class(self) -> int:
        return -(-self.settings.rows_per_class // self.settings.chunk_rows)

    @cached_property
    def tasks(self) -> list[ChunkTask]:
        rows, size = self.settings.rows_per_class, self.settings.chunk_rows
        return [
            ChunkTask(
                label=label,
                process=process,
                index=index,
                rows=min(size, rows - index * size),
                seed=chunk_seed(self.settings.seed, process, index),
            )
            for index in range(self.chunks_per_class)
            for label, process in enumerate(self.sample.classes)
        ]

    def shard_tasks(self, shard: int, num_shards: int) -> list[ChunkTask]:
        """The chunks of shard ``shard`` of ``num_shards``: every num_shards-th task."""
        if not isinstance(num_shards, int) or num_shards < 1:
            raise GenerationError(
                f"option 'num_shards' must be an integer >= 1, got {num_shards!r}"
            )
        if not isinstance(shard, int) or not 0 <= shard < num_shards:
            raise GenerationError(
                f"option 'shard' must be an integer in [0, {num_shards - 1}] "
                f"(num_shards = {num_shards}), got {shard!r}"
            )
        return self.tasks[shard::num_shards]

    def pythia_strings(self, task: ChunkTask) -> list[str]:
        return pythia_strings(self.sample, task.process, self.settings, task.seed)

    @property
    def event_limit(self) -> int:
        if self.settings.max_events_per_chunk is not None:
            return self.settings.max_events_per_chunk
        return 10_000 + 100 * self.settings.chunk_rows

    def description(self) -> dict[str, Any]:
        """What defines the sample's content: sample, classes, settings, versions."""
        sample = self.sample
        described: dict[str, Any] = {
            "sample": sample.name,
            "kind": sample.kind,
            "class_names": list(sample.classes),
            "processes": {
                name: {
                    "description": PROCESSES[name].description,
                    "pythia": list(PROCESSES[name].pythia),
                    "truth_pid": PROCESSES[name].truth_pid,
                    "slha": PROCESSES[name].slha,
                }
                for name in sample.classes
            },
            "settings": self.settings.as_dict(),
            **self.versions,
        }
        if sample.kind == "jet":
            selection = jet_selection(sample, self.settings)
            described["jets"] = {
                "algorithm": "anti-kt",
                "recombination": "E-scheme",
                "inputs": "final-state particles (status > 0) except neutrinos and "
                "neutralinos (12, 14, 16, 1000022)",
                **dataclasses.asdict(selection),
                "pthat_window": list(pthat_window(selection, self.settings)),
                "truth_matching": "signal jets need the resonance and all its decay quarks "
                "(last copies) within dR < match_radius of the jet axis",
                "units": "GeV",
            }
            if self.settings.reconstructed:
                described["jets"]["particle_level"] = gen_jets.DESCRIPTION
            if self.settings.has_pileup:
                described["event_activity"] = event_activity.DESCRIPTION
        else:
            described["features"] = sample.feature_set
        return described

    @cached_property
    def fingerprint(self) -> str:
        text = json.dumps(self.description(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
