"""``hepdl predict`` on a 1M-entry ROOT file against reading the same file alone.

    python benchmarks/bench_predict.py [--entries 1000000] [--chunk-rows 100000]
        [--repeats 5] [--model mlp|pfn] [--base-jets 1000] [--folder DIR]

The file: toy jets (``tests/deploy/runs.write_jet_file``: 1 .. 30 massive constituents
per jet, px, py, pz, energy, charge, pid as float32 jagged branches, and flat label,
jet_pt, gen_pt, f1, f2), ``--base-jets`` distinct jets tiled to ``--entries`` entries
and written to one TTree ``Events`` in blocks of ``--chunk-rows`` (uproot ``mktree`` +
``extend``), so the file is never whole in memory. The run: ``tests/deploy/runs.make_run``
on the base jets (hepdl's data path, weights as initialised; a fit would only change the
weights): ``--model mlp`` an MLP (hidden 64 x 3) on the ``substructure`` observables,
``--model pfn`` a PFN (paper's sizes) on ``point_cloud`` (32 particles).

Sides, each in its own subprocess (so its peak RSS is its own: the child's
``getrusage(RUSAGE_SELF).ru_maxrss``, reported back as JSON):

- read: ``hepdl.data.chunked.open_chunked`` + ``iter_chunks`` over the whole file with the
  columns predict reads (the run's: all of them) and the same ``--chunk-rows``;
- predict: ``hepdl predict RUN --data FILE --out OUT --friend --chunk-rows N --overwrite``
  through the command's typer function (``hepdl._cli_predict.register``): read, predict,
  write a friend tree of the predictions.

The sides alternate which goes first in each repeat (``alternate.py``); printed per side:
the subprocess's wall time (interpreter start and imports included), the work time inside
it (from opening the file to the last chunk) and its peak RSS, and the ratio predict/read
of each, median [range] over the repeats.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # tests.deploy.runs

MODELS = {
    "mlp": ({"name": "mlp", "hidden": [64, 64, 64]}, {"name": "substructure"}, True),
    "pfn": ({"name": "pfn"}, {"name": "point_cloud", "max_particles": 32}, False),
}


def write_big_file(path: Path, base: str, *, entries: int, block: int) -> None:
    """``entries`` entries of the jets of ``base`` tiled, written ``block`` at a time."""
    import awkward as ak
    import numpy as np
    import uproot

    from hepdl.data import read_table

    table = read_table(base)
    columns = {
        name: table[name].to_numpy()
        if table[name].ndim == 1
        else ak.values_astype(table[name], np.float32)
        for name in table.fields
    }
    n = len(table)
    with uproot.recreate(path) as rootfile:
        types = {
            k: v.dtype if isinstance(v, np.ndarray) else v.type.content for k, v in columns.items()
        }
        tree = rootfile.mktree("Events", types)
        for start in range(0, entries, block):
            rows = np.arange(start, min(start + block, entries)) % n  # the base jets, tiled
            tree.extend({k: v[rows] for k, v in columns.items()})


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def side_read(run_dir: str, data: str, chunk_rows: int) -> dict:
    """Read every chunk of ``data`` as hepdl predict reads it, and nothing else."""
    import yaml

    from hepdl.data.chunked import iter_chunks, open_chunked

    # The YAML itself: validating the config would import the models, torch with them.
    section = yaml.safe_load((Path(run_dir) / "config.yaml").read_text())["data"]
    start = time.perf_counter()
    source = open_chunked(
        data,
        tree=section.get("tree"),
        mapping=section.get("columns"),
        preset=section.get("preset", "auto"),
    )
    rows = 0
    for _, _, table in iter_chunks(source, columns=None, chunk_rows=chunk_rows):
        rows += len(table)
    return {"seconds": time.perf_counter() - start, "rows": rows}


def side_predict(run_dir: str, data: str, chunk_rows: int, out: str) -> dict:
    """``hepdl predict`` through the command-line app."""
    from hepdl.cli import app

    args = ["predict", run_dir, "--data", data, "--out", out, "--friend", "--overwrite"]
    args += ["--chunk-rows", str(chunk_rows)]
    start = time.perf_counter()
    try:
        app(args=args, standalone_mode=False)
    except SystemExit as stop:  # the command's own exit: an error already printed
        if stop.code:
            raise
    return {"seconds": time.perf_counter() - start, "rows": None}


def run_side(name: str, args: list[str]) -> dict:
    """One side in a fresh interpreter: its wall time, work time and peak RSS."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--side", name, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"side {name} failed:\n{done.stdout}\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {**report, "wall": wall}


def main() -> None:
    from alternate import add_repeats, alternate, check_repeats, ratios, spread

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--base-jets", type=int, default=1000)
    parser.add_argument("--folder", type=Path, default=None, help="keep the files here")
    parser.add_argument("--side", default=None, help=argparse.SUPPRESS)
    parser.add_argument("side_args", nargs="*", help=argparse.SUPPRESS)
    add_repeats(parser)
    args = parser.parse_args()
    if args.side is not None:  # a child: one side, its report as the last line
        run_dir, data, chunk_rows, *rest = args.side_args
        if args.side == "read":
            report = side_read(run_dir, data, int(chunk_rows))
        else:
            report = side_predict(run_dir, data, int(chunk_rows), rest[0])
        print(json.dumps({**report, "peak_rss_mb": _peak_rss_mb()}))
        return
    check_repeats(parser, args.repeats)

    from tests.deploy.runs import make_run, write_jet_file

    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench_predict_"))
    folder.mkdir(parents=True, exist_ok=True)
    base = write_jet_file(folder / "base.parquet", n_jets=args.base_jets, most_particles=30)
    model, representation, standardize = MODELS[args.model]
    run_dir = make_run(
        folder / args.model,
        base,
        model=model,
        representation=representation,
        standardize=standardize,
    )
    big = folder / "big.root"
    start = time.perf_counter()
    write_big_file(big, base, entries=args.entries, block=args.chunk_rows)
    print(
        f"file: {big} ({big.stat().st_size / 1e6:.0f} MB, {args.entries} entries: "
        f"{args.base_jets} toy jets tiled, written in {time.perf_counter() - start:.1f} s)"
    )
    print(f"model: {args.model} on {representation['name']}; chunk rows {args.chunk_rows}")
    common = [str(run_dir), str(big), str(args.chunk_rows)]
    runs = alternate(
        {
            "read": lambda r: run_side("read", common),
            "predict": lambda r: run_side("predict", [*common, str(folder / "friend.root")]),
        },
        repeats=args.repeats,
    )
    assert all(r["rows"] == args.entries for r in runs["read"])
    for name, side in runs.items():
        listed = {
            key: ", ".join(f"{r[key]:.{digits}f}" for r in side)
            for key, digits in (("wall", 1), ("seconds", 1), ("peak_rss_mb", 0))
        }
        print(
            f"{name:8s} wall s: {listed['wall']}; work s: {listed['seconds']}; "
            f"peak RSS MB: {listed['peak_rss_mb']}"
        )
    for label, key in (
        ("wall time", "wall"),
        ("work time", "seconds"),
        ("peak RSS", "peak_rss_mb"),
    ):
        values = ratios(runs["predict"], runs["read"], key=lambda r, k=key: r[k])
        medians = [statistics.median(r[key] for r in runs[s]) for s in ("predict", "read")]
        print(
            f"ratio predict/read {label:9s}: {spread(values)}  "
            f"(median predict {medians[0]:.1f}, read {medians[1]:.1f})"
        )


if __name__ == "__main__":
    main()
