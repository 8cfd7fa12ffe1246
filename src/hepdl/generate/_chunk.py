"""One chunk: a fresh, seeded Pythia run until it has given the rows asked for.

A chunk is the unit of work, of parallelism and of resumption. Its rows depend only on
its seed and the sample's settings, never on which process or machine ran it or what
ran before, so any split of the chunks over jobs or shards gives the same union.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate._pythia import PYTHIA_SEED_MAX, make_pythia, next_batch

# Events per nextBatch call: large enough that the per-call overhead vanishes, small
# enough that a batch (~1800 record entries per event) stays in tens of MB.
_MAX_BATCH = 256
_MIN_BATCH = 8

# (rows done, events generated) so far in this chunk.
ChunkProgress = Callable[[int, int], None]
# events -> (columns of the selected rows, (R,) ascending batch event of each row)
RowMaker = Callable[[Any], tuple[dict[str, np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class ChunkTask:
    """Chunk ``index`` of class ``label`` (process ``process``): ``rows`` rows."""

    label: int
    process: str
    index: int
    rows: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.label:02d}-{self.process}-{self.index:06d}"


def chunk_seed(seed: int, process: str, index: int) -> int:
    """The Pythia seed, in [1, 900000000], of chunk ``index`` of ``process``.

    A hash of (user seed, process, chunk), so chunks are independent streams and a chunk's
    seed does not depend on how many chunks there are or who runs them.
    """
    digest = hashlib.sha256(f"hepdl/{process}/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % PYTHIA_SEED_MAX + 1


@dataclass(frozen=True)
class ChunkResult:
    columns: dict[str, np.ndarray]
    events_used: int  # events up to the last one that gave a row
    events_generated: int
    seconds: float
    sigma_mb: float  # Pythia's estimate of the generated cross section


def _batch_size(wanted: int, done: int, events_done: int, previous: int) -> int:
    if events_done == 0:
        size = 4 * wanted  # a first guess: at least 1 row in 4 events
    elif done == 0:
        size = 2 * previous
    else:
        size = math.ceil(1.1 * (wanted - done) * events_done / done) + 4
    return int(min(max(size, _MIN_BATCH), _MAX_BATCH))


def _concatenate(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}


def run_chunk(
    task: ChunkTask,
    pythia_strings: list[str],
    make_rows: Callable[[Any], RowMaker],
    *,
    event_limit: int,
    progress: ChunkProgress | None = None,
) -> ChunkResult:
    """Generate events with ``pythia_strings`` until ``task.rows`` rows are selected.

    ``make_rows(pythia)`` builds the row maker (it may need Pythia's particle data). The
    rows are the first ``task.rows`` in event order. Raises GenerationError after
    ``event_limit`` events without enough rows.
    """
    pythia = make_pythia(pythia_strings, sample=task.process)
    rows_of = make_rows(pythia)
    pieces: list[dict[str, np.ndarray]] = []
    done = events_done = attempted = events_used = size = 0
    started = time.perf_counter()
    while done < task.rows:
        if attempted >= event_limit:
            raise GenerationError(
                f"{task.process!r} chunk {task.index}: only {done} of {task.rows} rows in "
                f"{attempted} events (max_events_per_chunk = {event_limit}); widen the "
                "pt/eta window or raise max_events_per_chunk"
            )
        size = min(_batch_size(task.rows, done, events_done, size), event_limit - attempted)
        events = next_batch(pythia, size)
        attempted += size
        if events.n_events == 0:  # every event of the batch failed in Pythia
            continue
        columns, event = rows_of(events)
        take = min(len(event), task.rows - done)
        if take:
            events_used = events_done + int(event[take - 1]) + 1
            pieces.append(_first_rows(columns, take))
        done += take
        events_done += events.n_events
        if progress is not None:
            progress(done, events_done)
    return ChunkResult(
        columns=_concatenate(pieces),
        events_used=events_used,
        events_generated=events_done,
        seconds=time.perf_counter() - started,
        sigma_mb=float(pythia.infoPython().sigmaGen()),
    )


def _first_rows(columns: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The first ``n`` rows; ``part_*`` columns (flat constituents) cut by ``jet_nparticles``."""
    if "jet_nparticles" not in columns:
        return {name: values[:n] for name, values in columns.items()}
    n_constituents = int(np.sum(columns["jet_nparticles"][:n]))
    return {
        name: values[:n_constituents] if name.startswith("part_") else values[:n]
        for name, values in columns.items()
    }
