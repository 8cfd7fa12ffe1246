"""Batches of clustering trees: hepdl's vectorised jet selection against a per-jet loop,
and its share of a recursive-network training step.

    python benchmarks/bench_tree_batches.py [--jets 2000] [--particles 40] [--batch-size 64]
        [--repeats 5] [--threads 1]

Input: synthetic jets made here (``--particles`` massless constituents each, around
eta = phi = 0 with exponentially falling pT), clustered by the ``tree`` representation
(kT, node features Δη, Δφ, p, pT, E, m). Per epoch (all jets in shuffled batches):

- loop: the baseline, each batch assembled one jet at a time in Python (slice the
  jet's nodes, shift its children and root, concatenate), the obvious implementation;
- hepdl: ``TreeBatches`` (``select_jets``: one vectorised gather and renumbering per
  batch) through the DataLoader ``hepdl train`` uses;
- step: forward, backward and Adam step of ``recursive`` (H = 40, head 64-64) on those
  batches, i.e. the training work the batching feeds.

Printed: loop / hepdl (how much the vectorised selection saves) and hepdl / step (the
share of a training epoch spent assembling batches), each the median over ``--repeats``.
Clock: this process's CPU time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import awkward as ak
import numpy as np
import torch

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.data import create_representation
from hepdl.models import create_model
from hepdl.models.inputs import group_tree
from hepdl.train._tree_batches import batch_loader


def synthetic_table(n_jets: int, n_particles: int, seed: int = 0) -> ak.Array:
    """Jets of ``n_particles`` massless constituents: pT ~ Exp(20 GeV), eta, phi ~ N(0, 0.3)."""
    rng = np.random.default_rng(seed)
    shape = (n_jets, n_particles)
    pt = rng.exponential(20.0, shape) + 1.0
    eta, phi = rng.normal(0.0, 0.3, shape), rng.normal(0.0, 0.3, shape)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = pt * np.cosh(eta)
    columns = {"part_px": px, "part_py": py, "part_pz": pz, "part_energy": energy}
    # Jagged lists (N * var), as read from a file.
    return ak.zip({k: ak.unflatten(v.ravel(), n_particles) for k, v in columns.items()})


def loop_batch(tree: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
    """The baseline: the trees of jets ``rows``, one jet at a time."""
    features, children, level, roots, offsets = [], [], [], [], [0]
    for jet in rows:
        start, stop = tree["offsets"][jet], tree["offsets"][jet + 1]
        shift = offsets[-1] - start
        kids = tree["children"][start:stop]
        features.append(tree["features"][start:stop])
        children.append(np.where(kids >= 0, kids + shift, -1))
        level.append(tree["level"][start:stop])
        roots.append(stop - 1 + shift if stop > start else -1)
        offsets.append(offsets[-1] + stop - start)
    return {
        "features": torch.as_tensor(np.concatenate(features)),
        "children": torch.as_tensor(np.concatenate(children)),
        "level": torch.as_tensor(np.concatenate(level)),
        "roots": torch.as_tensor(np.array(roots)),
        "offsets": torch.as_tensor(np.array(offsets)),
    }


def epoch_orders(n_jets: int, batch_size: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n_jets)
    return [order[i : i + batch_size] for i in range(0, n_jets, batch_size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2000)
    parser.add_argument("--particles", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    add_repeats(parser)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    torch.set_num_threads(args.threads)
    clock = time.process_time

    table = synthetic_table(args.jets, args.particles)
    tree = group_tree(create_representation("tree")(table, source="synthetic"))["tree"]
    labels = np.arange(args.jets) % 2
    model = create_model("recursive", in_features=tree["features"].shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    heights = tree["level"][tree["roots"]]  # (N,) the root's level is the tree's height
    print(
        f"{args.jets} jets x {args.particles} constituents, {len(tree['level'])} nodes, "
        f"median tree height {np.median(heights):g}, batch {args.batch_size}"
    )

    def loop(repeat: int) -> float:  # CPU seconds of one epoch's batches, one jet at a time
        start = clock()
        for rows in epoch_orders(args.jets, args.batch_size, seed=repeat):
            loop_batch(tree, rows)
        return clock() - start

    def hepdl_batches(repeat: int) -> list:
        loader = batch_loader(
            {"tree": tree}, labels, batch_size=args.batch_size, shuffle=True, seed=repeat
        )
        return list(loader)

    def assembly(repeat: int) -> float:  # CPU seconds of hepdl's batches of one epoch
        start = clock()
        hepdl_batches(repeat)
        return clock() - start

    def steps(repeat: int) -> float:  # CPU seconds of the training steps on those batches
        batches = hepdl_batches(repeat)
        start = clock()
        for batch, y in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(**batch)[:, 0], y.float())
            loss.backward()
            optimizer.step()
        return clock() - start

    runs = alternate({"loop": loop, "hepdl": assembly, "steps": steps}, repeats=args.repeats)
    median = {name: statistics.median(times) for name, times in runs.items()}
    print(
        f"per epoch (median of {args.repeats}): loop {median['loop']:.3f} s, hepdl "
        f"{median['hepdl']:.3f} s, training steps {median['steps']:.3f} s"
    )
    print(f"loop / hepdl batch assembly: {spread(ratios(runs['loop'], runs['hepdl']))}")
    print(f"hepdl batch assembly / training steps: {spread(ratios(runs['hepdl'], runs['steps']))}")


if __name__ == "__main__":
    main()
