"""The parts directory of a generation: finished chunks on disk, and their merge.

``OUT.parts/`` beside the output holds ``plan.json`` (the plan's description and
fingerprint) and one Parquet file per finished chunk, each written atomically with the
fingerprint in its metadata. A chunk file that exists is complete; a killed run leaves
only hidden temporary files, which are ignored and cleaned. Merging streams the parts,
one chunk index at a time, into the output (written atomically too), so memory does not
grow with the sample.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hepdl.atomic import write_text
from hepdl.errors import GenerationError
from hepdl.generate import _parquet
from hepdl.generate._chunk import ChunkResult, ChunkTask
from hepdl.generate._plan import Plan

PLAN_FILE = "plan.json"


def parts_dir(out: Path) -> Path:
    return Path(out).parent / f"{Path(out).name}.parts"


def part_path(out: Path, task: ChunkTask) -> Path:
    return parts_dir(out) / f"{task.key}.parquet"


def prepare(out: Path, plan: Plan) -> Path:
    """Create the parts directory of ``out`` for ``plan``, or check an existing one.

    Raises GenerationError when it holds the parts of different settings."""
    directory = parts_dir(out)
    directory.mkdir(parents=True, exist_ok=True)
    plan_file = directory / PLAN_FILE
    wanted = {"fingerprint": plan.fingerprint, "plan": plan.description()}
    if plan_file.exists():
        try:
            found = json.loads(plan_file.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise GenerationError(f"{str(plan_file)!r} is unreadable ({err}); remove it") from None
        if found.get("fingerprint") != plan.fingerprint:
            raise GenerationError(
                f"{str(directory)!r} holds the parts of a generation with other settings "
                f"({_differences(found.get('plan', {}), _as_json(wanted['plan']))}); run the "
                "original command to finish it, or pass --overwrite to discard it"
            )
        return directory
    write_text(plan_file, json.dumps(wanted, sort_keys=True, indent=1))  # hepdl.atomic
    return directory


def _as_json(value: Any) -> Any:
    """``value`` as the plan file holds it (tuples as lists), so that only real changes
    are listed as differences."""
    return json.loads(json.dumps(value, sort_keys=True))


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> str:
    """'key: old -> new' for the first few keys whose values differ."""
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            inner = _differences(a, b, f"{prefix}{key}.")
            if inner:
                found.append(inner)
        elif a != b:
            found.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return "; ".join(found[:4])


def is_done(out: Path, plan: Plan, task: ChunkTask) -> bool:
    """Whether the part of ``task`` exists, is readable and belongs to ``plan``."""
    path = part_path(out, task)
    if not path.exists():
        return False
    try:
        meta = _parquet.read_metadata(path)
    except Exception:  # unreadable: regenerate it
        path.unlink()
        return False
    return meta.get("fingerprint") == plan.fingerprint and meta.get("rows") == task.rows


def write_part(out: Path, plan: Plan, task: ChunkTask, result: ChunkResult) -> Path:
    """Write one finished chunk atomically, with its provenance."""
    import numpy as np

    table = _parquet.rows_table(result.columns, np.full(task.rows, task.label))
    meta = {
        "fingerprint": plan.fingerprint,
        "process": task.process,
        "label": task.label,
        "chunk": task.index,
        "rows": task.rows,
        "seed": task.seed,
        "events_used": result.events_used,
        "events_generated": result.events_generated,
        "seconds": round(result.seconds, 3),
        "sigma_mb": result.sigma_mb,
    }
    return _parquet.write_atomic(table, part_path(out, task), meta, overwrite=True)


def missing(out: Path, plan: Plan) -> list[ChunkTask]:
    return [task for task in plan.tasks if not is_done(out, plan, task)]


def merge(out: Path, plan: Plan, *, overwrite: bool) -> Path:
    """Stream every part into ``out``, rows interleaved class by class, then drop the parts.

    Chunk ``i`` of every class is read, its rows interleaved (class 0, 1, ..., 0, 1, ...)
    and written as one row group: any leading slice of the file is balanced.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    absent = missing(out, plan)
    if absent:
        raise GenerationError(
            f"cannot merge {str(out)!r}: {len(absent)} of {len(plan.tasks)} chunks are not "
            f"generated yet (first: {absent[0].key}); run the remaining shards first"
        )
    part_meta = {t.key: _parquet.read_metadata(part_path(out, t)) for t in plan.tasks}
    metadata = _file_metadata(plan, part_meta)
    n_classes = len(plan.sample.classes)

    def interleaved() -> Iterator[Any]:
        for start in range(0, len(plan.tasks), n_classes):
            group = plan.tasks[start : start + n_classes]  # one chunk index, every class
            tables = [
                pq.read_table(part_path(out, task), page_checksum_verification=True)
                for task in group
            ]
            table = pa.concat_tables(tables).replace_schema_metadata(None)
            rows = group[0].rows
            order = [c * rows + i for i in range(rows) for c in range(n_classes)]
            yield table.take(pa.array(order))

    _parquet.write_stream(out, interleaved(), metadata, overwrite=overwrite)
    remove_parts(out)
    return Path(out)


def remove_parts(out: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(parts_dir(out))


def _file_metadata(plan: Plan, part_meta: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The output's metadata: the plan's description plus per-class event counts."""
    per_class: dict[str, dict[str, Any]] = {}
    for task in plan.tasks:
        meta = part_meta[task.key]
        entry = per_class.setdefault(
            task.process, {"events_used": 0, "events_generated": 0, "sigma_weighted": 0.0}
        )
        entry["events_used"] += meta["events_used"]
        entry["events_generated"] += meta["events_generated"]
        entry["sigma_weighted"] += meta["sigma_mb"] * meta["events_generated"]
    return {
        **plan.description(),
        "fingerprint": plan.fingerprint,
        "label_column": "label",
        "seed": plan.settings.seed,
        "rows_per_class": {name: plan.settings.rows_per_class for name in plan.sample.classes},
        "events_per_class": {name: e["events_used"] for name, e in per_class.items()},
        "events_generated_per_class": {
            name: e["events_generated"] for name, e in per_class.items()
        },
        # Pythia's sigmaGen of each chunk, averaged weighted by events generated.
        "cross_section_mb": {
            name: e["sigma_weighted"] / max(e["events_generated"], 1)
            for name, e in per_class.items()
        },
        "chunks": {
            "rows": plan.settings.chunk_rows,
            "per_class": plan.chunks_per_class,
            "seeds": {
                name: [t.seed for t in plan.tasks if t.process == name]
                for name in plan.sample.classes
            },
            "seed_rule": "sha256('hepdl/{process}/{seed}/{chunk}') mod 900000000 + 1",
        },
        "pythia_settings": {
            name: plan.pythia_strings(next(t for t in plan.tasks if t.process == name))
            for name in plan.sample.classes
        },
        "order": "rows interleave the classes (0, 1, ..., 0, 1, ...); constituents by "
        "decreasing pT",
    }
