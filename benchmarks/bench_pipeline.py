"""A training epoch fed by the streaming pipeline against the same epoch from memory.

    python benchmarks/bench_pipeline.py [--jets 4000] [--batch-size 128] [--chunk-rows 500]
        [--buffer-chunks 4] [--repeats 5] [--threads 1] [--workers 0]

Input: a synthetic JetClass-style Parquet file written here (jagged ``part_px, part_py,
part_pz, part_energy, part_charge, part_pid`` around a jet axis, ``label`` 0/1, row
groups of ``--chunk-rows``), which takes a second, unlike generating with Pythia.

For each of two representations and a small real model defined here (a CNN on
``image`` 1 x 33 x 33, a DeepSets network on ``point_cloud`` with 64 particles):

- pipeline: ``StreamingDataset`` with a ``RepresentationCache`` through
  ``StreamingLoader``; a first, untimed epoch fills the cache, so the timed epochs are
  the cached ones (read .npz chunks, shuffle buffer, batches);
- memory: the same representation computed once into tensors, batches cut from a fresh
  permutation per epoch by one fancy-indexing call per tensor (``ShuffledBatches``).

Both sides train a copy of the same model with Adam on the same number of rows and
batch size. Sides alternate which goes first in each repeat; the ratio printed is the
median of pipeline / memory epoch times. The time to produce an epoch's batches without
a model is printed too: the pipeline's own cost, which the ratio puts beside training.

Denormals are flushed to zero, as a precaution: the two sides see the rows in different
orders, so their weights drift apart, and a side whose activations or gradients reached
denormal floats (image pixels are small fractions of the jet pT) would run slower for a
reason that has nothing to do with the input pipeline. Single repeats on this shared
machine still scatter by +-15 %; read the median.

Clock: this process's CPU time (with one
thread, the work done; it ignores time other processes hold the core), which also
counts the pipeline's reading with ``--workers 0``; with workers (persistent between
epochs) use ``--clock wall``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from torch import nn

from hepdl.data import create_representation, read_table
from hepdl.data.cache import RepresentationCache
from hepdl.data.streaming import StreamingDataset, StreamingLoader
from hepdl.train.loaders import ShuffledBatches

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
PIDS = np.array([22, 130, 211, -211, 321, 11, -13, 2112])


def write_jets(path: Path, *, jets: int, row_group: int, seed: int = 0) -> None:
    """Jets of 10-60 constituents, narrower for label 1; pT in GeV, eta-phi near an axis."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, jets)
    counts = rng.integers(10, 60, jets)
    jet_index = np.repeat(np.arange(jets), counts)  # (M,)
    width = np.where(label == 1, 0.15, 0.3)[jet_index]
    eta = rng.uniform(-2, 2, jets)[jet_index] + rng.normal(0, 1, len(jet_index)) * width
    phi = rng.uniform(-np.pi, np.pi, jets)[jet_index] + rng.normal(0, 1, len(jet_index)) * width
    pt = rng.exponential(10.0, len(jet_index)) + 0.5
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2)
    pid = PIDS[rng.integers(0, len(PIDS), len(jet_index))]
    charge = np.where(np.isin(pid, [211, 321, -13]), 1, np.where(np.isin(pid, [-211, 11]), -1, 0))
    offsets = np.concatenate(([0], np.cumsum(counts)))

    def jagged(values: np.ndarray) -> pa.Array:
        return pa.ListArray.from_arrays(offsets, values)

    table = pa.table(
        {
            "part_px": jagged(px),
            "part_py": jagged(py),
            "part_pz": jagged(pz),
            "part_energy": jagged(energy),
            "part_pid": jagged(pid.astype(np.float64)),
            "part_charge": jagged(charge.astype(np.float64)),
            "label": label,
        }
    )
    meta = {b"hepdl": json.dumps({"class_names": ["qcd", "top"]}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path, row_group_size=row_group)


class JetCNN(nn.Module):
    """image (B, 1, 33, 33) -> logits (B, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 16, 16, 16)
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, 8, 8)
            nn.Flatten(),
            nn.Linear(32 * 8 * 8, 64),
            nn.ReLU(),
            nn.Linear(64, 2),
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["image"])


class DeepSets(nn.Module):
    """(points (B, P, 2), features (B, P, F), mask (B, P)) -> logits (B, 2): rho(sum phi)."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(
            nn.Linear(n_features + 2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU()
        )
        self.rho = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = torch.cat([batch["points"], batch["features"]], dim=-1)  # (B, P, 2 + F)
        per_particle = self.phi(x) * batch["mask"].unsqueeze(-1)  # (B, P, 64)
        return self.rho(per_particle.sum(dim=1))  # (B, 2)


def train_epoch(
    model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable[dict[str, torch.Tensor]]
) -> int:
    rows = 0
    for batch in batches:
        loss = F.cross_entropy(model(batch), batch["label"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        rows += len(batch["label"])
    return rows


def memory_batches(
    tensors: dict[str, torch.Tensor], sampler: ShuffledBatches
) -> Iterable[dict[str, torch.Tensor]]:
    for index in sampler:
        yield {name: t[index] for name, t in tensors.items()}


def measure(
    name: str,
    rep: object,
    model: nn.Module,
    *,
    path: Path,
    cache_root: Path,
    args: argparse.Namespace,
) -> float:
    clock: Callable[[], float] = CLOCKS[args.clock]
    table = read_table(path)
    arrays = rep(table, source=str(path))
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    tensors["label"] = torch.from_numpy(np.asarray(table["label"], dtype=np.int64))
    sampler = ShuffledBatches(len(table), batch_size=args.batch_size, shuffle=True, seed=0)
    cache = RepresentationCache(cache_root)
    dataset = StreamingDataset(
        str(path),
        rep,
        batch_size=args.batch_size,
        chunk_rows=args.chunk_rows,
        buffer_chunks=args.buffer_chunks,
        cache=cache,
        seed=0,
    )
    loader = StreamingLoader(dataset, num_workers=args.workers, persistent_workers=args.workers > 0)
    sides = {
        "pipeline": (copy.deepcopy(model), lambda: loader),
        "memory": (copy.deepcopy(model), lambda: memory_batches(tensors, sampler)),
    }
    optimizers = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, (m, _) in sides.items()}
    for side, (net, batches) in sides.items():  # warm-up; fills the cache on the pipeline side
        assert train_epoch(net, optimizers[side], batches()) == len(table)
    times: dict[str, list[float]] = {"pipeline": [], "memory": []}
    for repeat in range(args.repeats):
        order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
        for side in order:
            net, batches = sides[side]
            start = clock()
            rows = train_epoch(net, optimizers[side], batches())
            times[side].append(clock() - start)
            assert rows == len(table)
    data_only: dict[str, list[float]] = {"pipeline": [], "memory": []}
    for _ in range(args.repeats):  # the batches alone, no model: the pipeline's own cost
        for side, (_, batches) in sides.items():
            start = clock()
            for _batch in batches():
                pass
            data_only[side].append(clock() - start)
    print(
        f"{name:12s} batches only (no model): memory "
        f"{statistics.median(data_only['memory']) * 1e3:.1f} ms, pipeline "
        f"{statistics.median(data_only['pipeline']) * 1e3:.1f} ms per epoch"
    )
    ratios = [p / m for p, m in zip(times["pipeline"], times["memory"], strict=True)]
    ratio = statistics.median(ratios)
    memory, pipeline = statistics.median(times["memory"]), statistics.median(times["pipeline"])
    # The cache counts lookups in this process only; workers count their own.
    counted = (
        f"; cache misses {cache.misses} (warm-up), hits {cache.hits}" if not args.workers else ""
    )
    print(
        f"{name:12s} memory {memory:.3f} s  pipeline {pipeline:.3f} s  ratio median {ratio:.3f}"
        f"  (per repeat: {', '.join(f'{r:.3f}' for r in ratios)}{counted})"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--chunk-rows", type=int, default=500)
    parser.add_argument("--buffer-chunks", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jets.parquet"
        write_jets(path, jets=args.jets, row_group=args.chunk_rows)
        print(
            f"{args.jets} synthetic jets, batch {args.batch_size}, chunks of {args.chunk_rows} "
            f"rows, buffer {args.buffer_chunks} chunks, {args.workers} workers, "
            f"{args.threads} thread(s), clock {args.clock}, {args.repeats} repeats"
        )
        image = create_representation("image", pixels=33)
        measure("image", image, JetCNN(), path=path, cache_root=Path(tmp) / "c1", args=args)
        cloud = create_representation("point_cloud", max_particles=64)
        model = DeepSets(len(cloud.feature_names))
        measure("point_cloud", cloud, model, path=path, cache_root=Path(tmp) / "c2", args=args)


if __name__ == "__main__":
    main()
