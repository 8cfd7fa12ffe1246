"""``hepdl predict``: files read back against the input and against ``Predictor`` on the
whole table; every refused input is one ``error:`` line and leaves no file behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest
import uproot
from tests.deploy.runs import PFN, POINTS, make_run, write_jet_file
from typer.testing import CliRunner

from hepdl import __version__
from hepdl.cli import app
from hepdl.data import read_table
from hepdl.deploy.predict_file import check_entry_count
from hepdl.deploy.predictor import Predictor
from hepdl.errors import DataError

N_JETS = 45
EMPTY = [2, 30]  # jets written without constituents
PREDICTED = ["hepdl_score", "hepdl_p_qcd", "hepdl_p_top", "hepdl_valid"]

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, ["predict", *args])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("predict_file")


@pytest.fixture(scope="module")
def training(folder: Path) -> str:
    return write_jet_file(folder / "train.parquet", n_jets=40)


@pytest.fixture(scope="module")
def run(folder: Path, training: str) -> Path:
    return make_run(folder / "pfn", training, model=PFN, representation=POINTS)


@pytest.fixture(scope="module")
def table(folder: Path) -> ak.Array:
    """Other jets than the training ones, two of them without constituents."""
    jets = read_table(write_jet_file(folder / "source.parquet", n_jets=N_JETS, seed=4))
    records = jets.to_list()
    for i in EMPTY:
        for name in jets.fields:
            if name.startswith("part_"):
                records[i][name] = []
    return ak.Array(records)


@pytest.fixture(scope="module")
def parquet_input(folder: Path, table: ak.Array) -> str:
    path = folder / "jets.parquet"
    pq.write_table(ak.to_arrow_table(table, extensionarray=False), path, row_group_size=10)
    return str(path)


@pytest.fixture(scope="module")
def root_input(folder: Path, table: ak.Array) -> str:
    path = folder / "jets.root"
    with uproot.recreate(path) as rootfile:
        columns = {name: table[name] for name in table.fields}
        columns = {k: v.to_numpy() if v.ndim == 1 else v for k, v in columns.items()}
        types = {
            k: v.dtype if isinstance(v, np.ndarray) else v.type.content for k, v in columns.items()
        }
        rootfile.mktree("Jets", types).extend(columns)
    return str(path)


@pytest.fixture(scope="module")
def expected(run: Path, table: ak.Array) -> dict[str, np.ndarray]:
    """Predictor on the whole table at once, the columns named as hepdl predict names them."""
    found = Predictor.from_run(run).predict(table, source="table")
    return {f"hepdl_{k}": v for k, v in found.items()}


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _assert_predictions(read: dict, expected: dict[str, np.ndarray]) -> None:
    assert np.asarray(read["hepdl_valid"]).tolist() == expected["hepdl_valid"].tolist()
    assert np.flatnonzero(~np.asarray(read["hepdl_valid"], dtype=bool)).tolist() == EMPTY
    for name in PREDICTED[:-1]:
        values = np.asarray(read[name])
        assert np.isnan(values[EMPTY]).all()
        np.testing.assert_allclose(values, expected[name], atol=1e-6)  # NaN == NaN here


def test_parquet_output_keeps_the_entries_order_and_kept_columns(
    tmp_path: Path, run: Path, parquet_input: str, table: ak.Array, expected: dict
) -> None:
    out = tmp_path / "predictions.parquet"
    result = _invoke(
        str(run), "--data", parquet_input, "--out", str(out), "--keep", "jet_pt,part_px,label",
        "--chunk-rows", "8",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"wrote {N_JETS} entries to {out}",
        f"valid: {N_JETS - len(EMPTY)}; without a valid input: {len(EMPTY)} "
        "(NaN predictions, hepdl_valid False)",
        f"columns: jet_pt, part_px, label, {', '.join(PREDICTED)}",
    ]
    written = pq.ParquetFile(out)
    assert written.metadata.num_rows == N_JETS
    # a file bigger than one chunk: one row group per chunk of 8
    assert [written.metadata.row_group(i).num_rows for i in range(6)] == [8, 8, 8, 8, 8, 5]
    read = ak.from_arrow(written.read())
    assert read.fields == ["jet_pt", "part_px", "label", *PREDICTED]
    for name in ("jet_pt", "part_px", "label"):
        assert read[name].to_list() == table[name].to_list()
    assert str(read.hepdl_valid.type) == f"{N_JETS} * bool"
    _assert_predictions({k: read[k].to_numpy() for k in PREDICTED}, expected)
    assert _files(tmp_path) == ["predictions.parquet"]  # no temporary left


def test_root_output_is_a_tree_of_the_inputs_name(
    tmp_path: Path, run: Path, root_input: str, table: ak.Array, expected: dict
) -> None:
    out = tmp_path / "predictions.root"
    result = _invoke(
        str(run), "--data", root_input, "--out", str(out), "--keep", "jet_pt,part_px",
        "--chunk-rows", "10",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {N_JETS} entries to {out} (tree 'Jets')" in result.output
    with uproot.open(out) as rootfile:
        assert rootfile.classnames() == {"Jets;1": "TTree"}
        tree = rootfile["Jets"]
        assert tree.num_entries == N_JETS
        assert tree.keys() == ["jet_pt", "npart_px", "part_px", *PREDICTED]
        read = tree.arrays(library="ak")
    assert read.jet_pt.to_list() == table.jet_pt.to_list()
    assert read.part_px.to_list() == table.part_px.to_list()
    _assert_predictions({k: read[k].to_numpy() for k in PREDICTED}, expected)
    assert _files(tmp_path) == ["predictions.root"]


def test_a_friend_tree_is_aligned_with_the_input_tree(
    tmp_path: Path, run: Path, root_input: str, table: ak.Array, expected: dict
) -> None:
    out = tmp_path / "friend.root"
    result = _invoke(
        str(run), "--data", root_input, "--out", str(out), "--friend", "--chunk-rows", "7"
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"wrote {N_JETS} entries to {out} (tree 'hepdl')"
    assert result.output.splitlines()[-1] == (
        f'attach it in ROOT: tree->AddFriend("hepdl", "{out}");'
    )
    with uproot.open(root_input) as source, uproot.open(out) as friend:
        jets, predictions = source["Jets"], friend["hepdl"]
        assert predictions.keys() == PREDICTED  # only the predictions
        assert predictions.num_entries == jets.num_entries == N_JETS
        # side by side: entry i of the friend is entry i of the input tree
        both = ak.zip(
            {"jet": jets.arrays(["jet_pt"]), "p": predictions.arrays(PREDICTED)}, depth_limit=1
        )
    assert both.jet.jet_pt.to_list() == table.jet_pt.to_list()
    _assert_predictions({k: both.p[k].to_numpy() for k in PREDICTED}, expected)


def test_a_prefix_and_another_tree_name(tmp_path: Path, run: Path, parquet_input: str) -> None:
    out = tmp_path / "p.root"
    result = _invoke(
        str(run), "--data", parquet_input, "--out", str(out), "--prefix", "pfn_", "--tree", "T"
    )
    assert result.exit_code == 0, result.output
    with uproot.open(out) as rootfile:
        assert rootfile["T"].keys() == ["pfn_score", "pfn_p_qcd", "pfn_p_top", "pfn_valid"]
        assert rootfile["T"].num_entries == N_JETS


def test_the_onnx_backend_writes_the_same_predictions(
    tmp_path: Path, run: Path, parquet_input: str, expected: dict, one_thread: None
) -> None:
    from hepdl.cli import app as hepdl_app

    onnx_file = tmp_path / "model.onnx"
    exported = runner.invoke(hepdl_app, ["export", str(run), "--out", str(onnx_file)])
    assert exported.exit_code == 0, exported.output
    out = tmp_path / "onnx.parquet"
    result = _invoke(
        str(run), "--data", parquet_input, "--out", str(out), "--backend", "onnx",
        "--onnx", str(onnx_file), "--chunk-rows", "16",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    read = ak.from_arrow(pq.read_table(out))
    assert read.hepdl_valid.to_list() == expected["hepdl_valid"].tolist()
    np.testing.assert_allclose(read.hepdl_p_top.to_numpy(), expected["hepdl_p_top"], atol=1e-5)


# ---------------------------------------------------------------------------- refused inputs
def _refused(tmp_path: Path, args: list[str], message: str, *, code: int = 2) -> None:
    before = _files(tmp_path)
    result = _invoke(*args)
    assert result.exit_code == code, result.output
    assert result.output == f"error: {message}\n"
    assert _files(tmp_path) == before  # nothing written, no temporary left


def test_a_file_without_the_models_columns(tmp_path: Path, run: Path, training: str) -> None:
    import pyarrow as pa

    flat = tmp_path / "flat.parquet"
    pq.write_table(pa.table({"jet_pt": np.ones(5), "f1": np.ones(5)}), flat)
    _refused(
        tmp_path,
        [str(run), "--data", str(flat), "--out", str(tmp_path / "o.parquet")],
        f"{flat}[0:5]: columns 'part_px', 'part_py', 'part_pz', 'part_energy', 'part_charge', "
        "'part_pid' are not in the table; available columns: jet_pt, f1. The 'point_cloud' "
        "representation needs part_px, part_py, part_pz, part_energy, part_charge, part_pid",
    )


def test_a_run_directory_without_its_weights(tmp_path: Path, run: Path, parquet_input: str) -> None:
    broken = tmp_path / "broken-run"
    shutil.copytree(run, broken)
    (broken / "model.safetensors").unlink()
    _refused(
        tmp_path,
        [str(broken), "--data", parquet_input, "--out", str(tmp_path / "o.parquet")],
        f"{broken}: not a finished hepdl run (model.safetensors is missing)",
    )


def test_a_run_of_another_run_format(tmp_path: Path, run: Path, parquet_input: str) -> None:
    newer = tmp_path / "newer-run"
    shutil.copytree(run, newer)
    record = json.loads((newer / "preprocessing.json").read_text())
    record["written_by"] = {"hepdl": "9.0", "run_format": 99}
    (newer / "preprocessing.json").write_text(json.dumps(record))
    _refused(
        tmp_path,
        [str(newer), "--data", parquet_input, "--out", str(tmp_path / "o.parquet")],
        f"{newer}: written by hepdl 9.0 in run format 99; this hepdl {__version__} reads "
        "run format 1: upgrade hepdl to 9.0 or later",
    )


def test_an_existing_out_needs_overwrite(tmp_path: Path, run: Path, parquet_input: str) -> None:
    out = tmp_path / "o.parquet"
    out.write_bytes(b"old")
    _refused(
        tmp_path,
        [str(run), "--data", parquet_input, "--out", str(out)],
        f"--out {out}: exists already; pass --overwrite to replace it",
    )
    assert out.read_bytes() == b"old"
    result = _invoke(str(run), "--data", parquet_input, "--out", str(out), "--overwrite")
    assert result.exit_code == 0, result.output
    assert pq.ParquetFile(out).metadata.num_rows == N_JETS


def test_out_is_the_input(tmp_path: Path, run: Path, parquet_input: str) -> None:
    copy = tmp_path / "jets.parquet"
    shutil.copy(parquet_input, copy)
    _refused(
        tmp_path,
        [
            str(run),
            "--data",
            str(copy),
            "--out",
            str(tmp_path / "." / "jets.parquet"),
            "--overwrite",
        ],
        f"--out {tmp_path / 'jets.parquet'}: is the input file --data {copy}; choose another name",
    )


def test_an_unknown_out_extension(tmp_path: Path, run: Path, parquet_input: str) -> None:
    out = tmp_path / "o.csv"
    _refused(
        tmp_path,
        [str(run), "--data", parquet_input, "--out", str(out)],
        f"--out {out}: unknown extension '.csv'; expected one of .parquet, .root",
    )


def test_friend_needs_a_root_output(tmp_path: Path, run: Path, root_input: str) -> None:
    out = tmp_path / "o.parquet"
    _refused(
        tmp_path,
        [str(run), "--data", root_input, "--out", str(out), "--friend"],
        f"--out {out}: --friend writes a ROOT friend tree; give a .root output, or drop "
        "--friend (a Parquet output can be joined by row number)",
    )


def test_friend_holds_no_kept_columns(tmp_path: Path, run: Path, root_input: str) -> None:
    _refused(
        tmp_path,
        [
            str(run),
            "--data",
            root_input,
            "--out",
            str(tmp_path / "o.root"),
            "--friend",
            "--keep",
            "jet_pt",
        ],
        "--keep jet_pt: a --friend tree holds only the predictions (the input tree has the "
        "rest); drop --keep or --friend",
    )


def test_a_kept_column_missing_from_the_file(tmp_path: Path, run: Path, root_input: str) -> None:
    _refused(
        tmp_path,
        [str(run), "--data", root_input, "--out", str(tmp_path / "o.root"), "--keep", "jet_ptt"],
        f"{root_input}: branch 'jet_ptt' (did you mean 'jet_pt'?) is not in the file; "
        "available branches: npart_px, part_px, npart_py, part_py, npart_pz, part_pz, "
        "npart_energy, part_energy, npart_charge, part_charge, npart_pid, part_pid, label, "
        "jet_pt, gen_pt, f1, f2. --keep names columns of the input to copy to the output",
    )


def test_a_kept_column_named_as_a_prediction(tmp_path: Path, run: Path, parquet_input: str) -> None:
    _refused(
        tmp_path,
        [
            str(run),
            "--data",
            parquet_input,
            "--out",
            str(tmp_path / "o.parquet"),
            "--keep",
            "jet_pt,hepdl_p_top",
        ],
        "--keep hepdl_p_top: is also the name of a prediction column (hepdl_score, "
        "hepdl_p_qcd, hepdl_p_top, hepdl_valid); drop it from --keep or choose another --prefix",
    )


def test_a_written_entry_count_other_than_the_inputs(
    tmp_path: Path, run: Path, root_input: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hepdl.deploy import table_writers

    real = table_writers.RootChunkWriter.write

    def drop_first_row(self, columns):  # a writer that loses one entry
        return real(self, {k: v[1:] if self.entries == 0 else v for k, v in columns.items()})

    monkeypatch.setattr(table_writers.RootChunkWriter, "write", drop_first_row)
    out = tmp_path / "o.root"
    _refused(
        tmp_path,
        [str(run), "--data", root_input, "--out", str(out), "--friend", "--chunk-rows", "20"],
        f"tree 'hepdl' of {out}: would hold {N_JETS - 1} entries, but {root_input} has "
        f"{N_JETS}; entry i of the output must be entry i of the input, so nothing was written",
    )
    with pytest.raises(DataError, match=r"would hold 3 entries, but in\.root has 4"):
        check_entry_count(Path("o.root"), 3, expected=4, data=Path("in.root"), tree="T")


def test_ctrl_c_leaves_no_file(
    tmp_path: Path, run: Path, parquet_input: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Predictor.predict
    calls = []

    def interrupted(self, table, *, source="table"):
        calls.append(source)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, table, source=source)

    monkeypatch.setattr(Predictor, "predict", interrupted)
    out = tmp_path / "o.parquet"
    _refused(
        tmp_path,
        [str(run), "--data", parquet_input, "--out", str(out), "--chunk-rows", "10"],
        f"interrupted; nothing written to {out}",
        code=130,
    )
    assert calls == [f"{parquet_input}[0:10]", f"{parquet_input}[10:20]"]


@pytest.mark.parametrize("fmt", ["csv", "hdf5", "npz"])
def test_csv_hdf5_and_npz_inputs_give_the_rows_of_the_parquet_file(
    tmp_path: Path, folder: Path, training: str, table: ak.Array, fmt: str
) -> None:
    """CSV and HDF5 are streamed by the chunk reader, .npz is read whole then cut."""
    import h5py
    import pandas as pd

    flat_run = make_run(
        tmp_path / "flat",
        training,
        model={"name": "mlp", "hidden": [8]},
        representation={"name": "columns", "columns": ["f1", "f2"]},
        standardize=True,
    )
    columns = {name: table[name].to_numpy() for name in ("f1", "f2", "jet_pt")}
    path = tmp_path / f"flat.{'h5' if fmt == 'hdf5' else fmt}"
    if fmt == "csv":
        pd.DataFrame(columns).to_csv(path, index=False)
    elif fmt == "hdf5":
        records = np.zeros(N_JETS, dtype=[(k, "f8") for k in columns])
        for k, v in columns.items():
            records[k] = v
        with h5py.File(path, "w") as h5file:
            h5file["jets"] = records
    else:
        np.savez(path, **columns)
    out = tmp_path / "o.parquet"
    result = _invoke(
        str(flat_run), "--data", str(path), "--out", str(out), "--keep", "jet_pt",
        "--chunk-rows", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    read = ak.from_arrow(pq.read_table(out))
    np.testing.assert_array_equal(read.jet_pt.to_numpy(), columns["jet_pt"])
    want = Predictor.from_run(flat_run).predict(columns, source="columns")
    assert read.hepdl_valid.to_numpy().all()  # a flat table: every entry has its input
    np.testing.assert_allclose(read.hepdl_p_top.to_numpy(), want["p_top"], atol=1e-6)


def test_an_out_folder_that_does_not_exist(tmp_path: Path, run: Path, parquet_input: str) -> None:
    out = tmp_path / "missing" / "o.parquet"
    _refused(
        tmp_path,
        [str(run), "--data", parquet_input, "--out", str(out)],
        f"--out {out}: folder {out.parent} does not exist; create it first",
    )


@pytest.mark.parametrize("fmt", ["parquet", "root"])
def test_chunks_of_a_renaming_map_are_the_rows_read_table_reads(
    parquet_input: str, root_input: str, fmt: str
) -> None:
    """The run's data.columns {new name: column of the file}, chunk by chunk; a kept
    column the map does not name is read under its own name."""
    from hepdl.data.chunked import count_entries, iter_chunks, open_chunked, with_own_columns

    path = parquet_input if fmt == "parquet" else root_input
    mapping = {"pt": "jet_pt", "px": "part_px"}
    source = with_own_columns(open_chunked(path, mapping=mapping), ["f1"])
    assert source.columns == ("pt", "px", "f1") and source.n_rows == N_JETS
    assert count_entries(path) == N_JETS
    chunks = list(iter_chunks(source, columns=["px", "f1"], chunk_rows=20))
    assert [(start, stop) for start, stop, _ in chunks] == [(0, 20), (20, 40), (40, 45)]
    whole = read_table(path, columns={**mapping, "f1": "f1"})
    joined = ak.concatenate([table for _, _, table in chunks])
    assert joined.fields == ["px", "f1"]
    assert joined.px.to_list() == whole.px.to_list()
    assert joined.f1.to_list() == whole.f1.to_list()


def test_input_tree_chooses_among_several_trees(
    tmp_path: Path, run: Path, root_input: str, expected: dict
) -> None:
    two = tmp_path / "two.root"
    with uproot.open(root_input) as source:
        arrays = source["Jets"].arrays(library="ak")
    with uproot.recreate(two) as rootfile:
        rootfile.mktree("Other", {"x": np.float64}).extend({"x": np.arange(3.0)})
        columns = {k: arrays[k] for k in ("part_px", "part_py", "part_pz", "part_energy")}
        columns |= {k: arrays[k] for k in ("part_charge", "part_pid")}
        rootfile.mktree("Jets", {k: v.type.content for k, v in columns.items()}).extend(columns)
    out = tmp_path / "o.root"
    _refused(
        tmp_path,
        [str(run), "--data", str(two), "--out", str(out)],
        f"{two}: holds 2 TTrees (Jets, Other); pass tree=... to choose one",
    )
    result = _invoke(str(run), "--data", str(two), "--out", str(out), "--input-tree", "Jets")
    assert result.exit_code == 0, result.output
    with uproot.open(out) as rootfile:
        read = rootfile["Jets"].arrays(library="np")  # the input's tree name
    np.testing.assert_allclose(read["hepdl_p_top"], expected["hepdl_p_top"], atol=1e-6)
