"""Damaged data files, each trained on by ``hepdl train`` (1 epoch, 200 rows).

A case writes the tiny labelled file of ``tests.fuzz.data_files`` in one format, damages
it and trains on it. A damaged file must be refused with one error naming the file (or
the column, for a column's damage); success on it is a silent wrong result, except where
the damage leaves a valid file (``either``: a CSV cut at a row boundary, a big metadata
value that the reader may read).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from tests.fuzz import data_files as files
from tests.fuzz.outcomes import Case, Invocation
from tests.fuzz.shared import Shared, experiment

Damage = Callable[[Path], None]


def _case(
    name: str,
    fmt: str,
    make: Callable[[Path, dict], Path | None],
    names: tuple,
    expect: str = "error",
    file_name: str | None = None,
) -> Case:
    """``make(path, columns)`` writes the damaged file at ``path`` (or returns another)."""

    def build(workspace: Path, shared: Shared) -> Invocation:
        path = workspace / (file_name or f"jets.{fmt}")
        made = make(path, {k: v.copy() for k, v in shared.columns.items()})
        made = made if isinstance(made, Path) else path
        (workspace / "experiment.yaml").write_text(yaml.safe_dump(experiment([str(made.name)])))
        return Invocation(["train", "experiment.yaml"], writable=[workspace / "runs"])

    return Case("data", f"{fmt}:{name}", build, names, expect=expect, timeout_s=60)


def _written_then(fmt: str, damage: Damage) -> Callable[[Path, dict], None]:
    def make(path: Path, data: dict) -> None:
        files.WRITERS[fmt](path, data)
        damage(path)

    return make


def _with_values(fmt: str, change: Callable[[dict], dict]) -> Callable[[Path, dict], None]:
    def make(path: Path, data: dict) -> None:
        files.WRITERS[fmt](path, change(data))

    return make


def _set(column: str, row: int, value: float) -> Callable[[dict], dict]:
    def change(data: dict) -> dict:
        data[column] = data[column].astype(np.float64)
        data[column][row] = value
        return data

    return change


def _directory(path: Path, data: dict) -> None:
    path.mkdir()


def _directory_with_a_file(path: Path, data: dict) -> None:
    path.mkdir()
    files.write_parquet(path / "part-0.parquet", data)


def _empty(path: Path, data: dict) -> None:
    path.write_bytes(b"")


def _common(fmt: str) -> list[Case]:
    """The damage every format gets: truncation, NaN/inf values, a directory, empty."""
    name = f"jets.{fmt}"
    cases = [
        _case(
            f"truncated_{int(f * 100)}pct",
            fmt,
            _written_then(fmt, lambda p, f=f: files.truncate(p, f)),
            (name,),
            expect="either" if fmt == "csv" else "error",
        )
        for f in (0.1, 0.5, 0.9)
    ]
    cases += [
        _case("nan_feature", fmt, _with_values(fmt, _set("f2", 17, np.nan)), ("f2",)),
        _case("inf_feature", fmt, _with_values(fmt, _set("f1", 3, np.inf)), ("f1",)),
        _case("nan_label", fmt, _with_values(fmt, _set("label", 5, np.nan)), ("label",)),
        # a label no class has: refused naming the column, the file or the class it makes
        _case(
            "label_out_of_range",
            fmt,
            _with_values(fmt, _set("label", 5, 7.0)),
            ("label", name, "class 7"),
            expect="either",
        ),
        _case("directory", fmt, _directory, (name,)),
        _case("empty_file", fmt, _empty, (name,)),
    ]
    return cases


def _parquet() -> list[Case]:
    def dup_columns(path: Path, data: dict) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = ["f1", "f2", "noise", "label", "f1"]
        table = pa.Table.from_arrays([pa.array(data[n]) for n in names], names=names)
        pq.write_table(table.replace_schema_metadata(files.CLASS_META), path)

    def metadata(meta: dict[bytes, bytes]) -> Callable[[Path, dict], None]:
        def make(path: Path, data: dict) -> None:
            files.write_parquet(path, data, metadata=meta)

        return make

    many_keys = {f"k{i}".encode(): b"v" * 100 for i in range(20_000)}
    many_keys.update(files.CLASS_META)
    wrong_shape = {b"hepdl": json.dumps({"class_names": 5}).encode()}
    return [
        *_common("parquet"),
        _case(
            "truncated_footer",
            "parquet",
            _written_then("parquet", lambda p: files.truncate(p, 9)),
            ("jets.parquet",),
        ),
        _case("magic_only", "parquet", lambda p, d: p.write_bytes(b"PAR1"), ("jets.parquet",)),
        _case(
            "random_bytes_in_page",
            "parquet",
            _written_then("parquet", lambda p: files.random_bytes_in_page(p, "f2")),
            ("jets.parquet",),
        ),
        _case(
            "zero_bytes_in_page",
            "parquet",
            _written_then("parquet", lambda p: files.zero_bytes_in_page(p, "f2")),
            ("jets.parquet",),
        ),
        _case(
            "random_bytes_in_label_page",
            "parquet",
            _written_then("parquet", lambda p: files.random_bytes_in_page(p, "label")),
            ("jets.parquet",),
        ),
        _case(
            "zero_footer_length",
            "parquet",
            _written_then("parquet", lambda p: files.overwrite(p, p.stat().st_size - 8, b"\0" * 4)),
            ("jets.parquet",),
        ),
        _case("duplicate_columns", "parquet", dup_columns, ("f1",)),
        _case(
            "metadata_bomb_value",
            "parquet",
            metadata({**files.CLASS_META, b"bomb": b"x" * 20_000_000}),
            ("jets.parquet",),
            expect="either",
        ),
        _case(
            "metadata_bomb_keys", "parquet", metadata(many_keys), ("jets.parquet",), expect="either"
        ),
        _case(
            "metadata_not_json",
            "parquet",
            metadata({b"hepdl": b"{not json"}),
            ("jets.parquet", "hepdl"),
        ),
        _case(
            "metadata_wrong_shape",
            "parquet",
            metadata({b"hepdl": json.dumps([1]).encode()}),
            ("jets.parquet", "hepdl"),
        ),
        _case(
            "metadata_class_names_not_a_list",
            "parquet",
            metadata(wrong_shape),
            ("jets.parquet", "class_names"),
        ),
        _case(
            "directory_of_parquet",
            "parquet",
            _directory_with_a_file,
            ("jets.parquet",),
            expect="either",
        ),
    ]


def _csv() -> list[Case]:
    def text(body: Callable[[str], str]) -> Callable[[Path, dict], None]:
        def make(path: Path, data: dict) -> None:
            files.write_csv(path, data)
            path.write_text(body(path.read_text()))

        return make

    def extra_field(t: str) -> str:
        lines = t.splitlines()
        lines[10] += ",1.0"
        return "\n".join(lines) + "\n"

    def missing_field(t: str) -> str:
        lines = t.splitlines()
        lines[10] = lines[10].rsplit(",", 1)[0]
        return "\n".join(lines) + "\n"

    def binary(path: Path, data: dict) -> None:
        files.write_csv(path, data)
        raw = path.read_bytes()
        path.write_bytes(raw[:300] + b"\xff\xfe\x00\xc3\x28" + raw[300:])

    return [
        *_common("csv"),
        _case(
            "duplicate_columns", "csv", text(lambda t: t.replace("f1,f2,", "f1,f1,", 1)), ("f1",)
        ),
        _case("jagged_extra_field", "csv", text(extra_field), ("jets.csv",)),
        _case("jagged_missing_field", "csv", text(missing_field), ("jets.csv", "label")),
        _case(
            "text_in_numbers",
            "csv",
            text(lambda t: t.replace("\n", "\nabc,", 1)),
            ("jets.csv", "f1"),
        ),
        _case("non_utf8_bytes", "csv", binary, ("jets.csv",)),
        _case("header_only", "csv", text(lambda t: t.splitlines()[0] + "\n"), ("jets.csv",)),
    ]


def _hdf5() -> list[Case]:
    def jagged(path: Path, data: dict) -> None:
        data["f2"] = data["f2"][:150]
        files.write_hdf5(path, data)

    def damaged_chunk(path: Path) -> None:
        offset, size = files.hdf5_dataset_bytes(path, "f2")
        files.overwrite(path, offset + size // 2, bytes(range(7, 71)))

    def two_dimensional(path: Path, data: dict) -> None:
        data["f1"] = np.stack([data["f1"], data["f1"]], axis=1)
        files.write_hdf5(path, data, fletcher32=False)

    return [
        *_common("h5"),
        _case("jagged_columns", "h5", jagged, ("f2", "jets.h5")),
        _case(
            "damaged_chunk_fletcher32", "h5", _written_then("h5", damaged_chunk), ("jets.h5", "f2")
        ),
        _case("two_dimensional_column", "h5", two_dimensional, ("f1",), expect="either"),
        _case(
            "zero_superblock",
            "h5",
            _written_then("h5", lambda p: files.overwrite(p, 0, b"\0" * 64)),
            ("jets.h5",),
        ),
    ]


def _root() -> list[Case]:
    return [
        *_common("root"),
        _case(
            "zero_header",
            "root",
            _written_then("root", lambda p: files.overwrite(p, 0, b"\0" * 100)),
            ("jets.root",),
        ),
        _case("not_root", "root", lambda p, d: p.write_bytes(b"root" * 100), ("jets.root",)),
    ]


def data_cases() -> list[Case]:
    return [*_parquet(), *_csv(), *_hdf5(), *_root()]
