"""``Predictor``: one output row per input row, against hepdl's own evaluation path.

The reference is what ``hepdl evaluate`` computes, done naively one row at a time: the
saved representation of that row alone, the Standardizer, ``predict_probabilities``
(classifier) or ``RegressionTargets.physical`` (regression, physical units).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import awkward as ak
import numpy as np
import pytest
from tests.deploy.runs import PFN, POINTS, make_run, write_jet_file
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.data import read_table
from hepdl.deploy.predictor import Predictor
from hepdl.errors import ConfigError

REGRESSION = {
    "kind": "regress",
    "targets": ["gen_pt"],
    "ratio_to": "jet_pt",
    "loss": "gaussian_nll",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("predictor")


@pytest.fixture(scope="module")
def jets(folder: Path) -> str:
    return write_jet_file(folder / "jets.parquet", n_jets=40)


@pytest.fixture(scope="module")
def pfn_run(folder: Path, jets: str) -> Path:
    return make_run(folder / "pfn", jets, model=PFN, representation=POINTS)


@pytest.fixture(scope="module")
def regression_run(folder: Path, jets: str) -> Path:
    return make_run(
        folder / "regress",
        jets,
        model={"name": "mlp", "hidden": [8]},
        representation={"name": "substructure"},
        task=REGRESSION,
        standardize=True,
    )


@pytest.fixture(scope="module")
def flat_run(folder: Path, jets: str) -> Path:
    return make_run(
        folder / "flat",
        jets,
        model={"name": "mlp", "hidden": [8]},
        representation={"name": "columns", "columns": ["f1", "f2"]},
        standardize=True,
    )


def _saved_parts(run_dir: Path):
    from hepdl.data import representation_from_config
    from hepdl.data.scaling import Standardizer
    from hepdl.train.artifacts import load_trained

    _, model, prep = load_trained(run_dir)
    rep = representation_from_config(prep.representation)
    scaler = Standardizer.from_dict(prep.standardizer) if prep.standardizer else None
    return model, rep, scaler, prep


def _naive_outputs(run_dir: Path, table: ak.Array) -> np.ndarray:
    """(N, K) model outputs, one row at a time, as hepdl evaluate computes them."""
    from hepdl.models.inputs import model_inputs
    from hepdl.train.predict import predict_probabilities

    model, rep, scaler, _ = _saved_parts(run_dir)
    rows = []
    for i in range(len(table)):
        arrays = dict(rep(table[i : i + 1], source="row"))
        arrays = {
            k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in arrays.items()
        }
        if scaler is not None:
            arrays["features"] = scaler.transform(arrays["features"])
        rows.append(predict_probabilities(model, model_inputs(model, arrays)))
    return np.concatenate(rows)


def _emptied(table: ak.Array, rows: list[int]) -> ak.Array:
    """``table`` with the constituents of ``rows`` removed (jets without constituents)."""
    records = table.to_list()
    for i in rows:
        for name in table.fields:
            if name.startswith("part_"):
                records[i][name] = []
    return ak.Array(records)


def test_rows_keep_their_order_and_match_a_per_row_evaluation(jets: str, pfn_run: Path) -> None:
    table = read_table(jets)
    predictor = Predictor.from_run(pfn_run)
    found = predictor.predict(table, source="jets")
    naive = _naive_outputs(pfn_run, table)  # (N, 1): P(top) of one sigmoid unit
    assert naive.shape == (len(table), 1)
    assert list(found) == ["score", "p_qcd", "p_top", "valid"]
    assert predictor.output_names() == list(found)
    assert found["valid"].all() and found["p_top"].dtype == np.float64
    np.testing.assert_allclose(found["p_top"], naive[:, 0], atol=1e-6)
    np.testing.assert_allclose(found["p_qcd"], 1 - naive[:, 0], atol=1e-6)
    np.testing.assert_allclose(found["score"], naive[:, 0], atol=1e-6)  # top: the signal
    order = np.random.default_rng(3).permutation(len(table))
    shuffled = predictor.predict(table[order], source="shuffled")
    np.testing.assert_allclose(shuffled["p_top"], found["p_top"][order], atol=1e-6)


def test_jets_without_constituents_are_nan_and_the_rest_unchanged(jets: str, pfn_run: Path) -> None:
    table = read_table(jets)
    empty = [0, 7, 8, 39]
    predictor = Predictor.from_run(pfn_run)
    found = predictor.predict(_emptied(table, empty), source="emptied")
    others = np.setdiff1d(np.arange(len(table)), empty)
    assert np.flatnonzero(~found["valid"]).tolist() == empty
    for name in ("score", "p_qcd", "p_top"):
        assert np.isnan(found[name][empty]).all()
        assert np.isfinite(found[name][others]).all()
    alone = predictor.predict(table[others], source="without them")
    np.testing.assert_allclose(found["p_top"][others], alone["p_top"], atol=1e-6)


@pytest.mark.parametrize("where", ["constituent", "flat feature"])
def test_an_entry_with_a_non_finite_input_is_nan(
    jets: str, pfn_run: Path, flat_run: Path, where: str
) -> None:
    records = read_table(jets).to_list()
    if where == "constituent":
        records[20]["part_px"][0] = float("nan")
    else:
        records[20]["f2"] = float("inf")
    run_dir = pfn_run if where == "constituent" else flat_run
    found = Predictor.from_run(run_dir).predict(ak.Array(records), source="broken")
    assert np.flatnonzero(~found["valid"]).tolist() == [20]
    assert np.isnan(found["p_top"][20])
    others = ak.Array(records[:20] + records[21:])
    alone = Predictor.from_run(run_dir).predict(others, source="the others")
    np.testing.assert_array_equal(np.delete(found["p_top"], 20), alone["p_top"])


def test_regression_columns_are_in_physical_units(jets: str, regression_run: Path) -> None:
    table = read_table(jets)
    predictor = Predictor.from_run(regression_run)
    found = predictor.predict(table, source="jets")
    assert list(found) == ["gen_pt", "gen_pt_sigma", "valid"]
    outputs = _naive_outputs(regression_run, table)  # (N, 2) standardised mean, log variance
    sample = SimpleNamespace(
        columns={"jet_pt": ak.to_numpy(table.jet_pt)}, labels=np.zeros(len(table)), source="x"
    )
    physical = predictor.coding.physical(outputs, sample, np.arange(len(table)))
    np.testing.assert_allclose(found["gen_pt"], physical["point"][:, 0], rtol=1e-5)
    np.testing.assert_allclose(found["gen_pt_sigma"], physical["sigma"][:, 0], rtol=1e-5)
    # physical units: of the order of the jets' pT, not a standardised number near 0
    assert np.median(found["gen_pt"] / ak.to_numpy(table.jet_pt)) > 0.1


def test_a_dataframe_gives_the_rows_of_the_same_table(jets: str, flat_run: Path) -> None:
    import pandas as pd

    table = read_table(jets)
    frame = pd.DataFrame({"f2": ak.to_numpy(table.f2), "f1": ak.to_numpy(table.f1)})
    predictor = Predictor.from_run(flat_run)
    found = predictor.predict(frame, source="frame")
    assert found["valid"].all()
    np.testing.assert_allclose(found["p_top"], _naive_outputs(flat_run, table)[:, 0], atol=1e-6)
    same = predictor.predict(table, source="table")
    np.testing.assert_array_equal(found["p_top"], same["p_top"])


def _export(run_dir: Path, out: Path) -> Path:
    result = CliRunner().invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_onnx_backend_equals_torch(
    folder: Path, jets: str, pfn_run: Path, one_thread: None
) -> None:
    onnx_file = _export(pfn_run, folder / "pfn.onnx")
    table = _emptied(read_table(jets), [3])
    torch_found = Predictor.from_run(pfn_run).predict(table)
    onnx_found = Predictor.from_run(pfn_run, backend="onnx", onnx_file=onnx_file).predict(table)
    assert onnx_found["valid"].tolist() == torch_found["valid"].tolist()
    assert not onnx_found["valid"][3]
    for name in ("score", "p_qcd", "p_top"):
        assert np.isnan(onnx_found[name][3])
        np.testing.assert_allclose(onnx_found[name], torch_found[name], atol=1e-5)


def test_an_onnx_file_of_another_run_is_refused(folder: Path, jets: str, pfn_run: Path) -> None:
    other = make_run(
        folder / "other",
        jets,
        model={**PFN, "phi_sizes": [8, 4]},
        representation=POINTS,
    )
    onnx_file = _export(other, folder / "other.onnx")
    with pytest.raises(ConfigError) as err:
        Predictor.from_run(pfn_run, backend="onnx", onnx_file=onnx_file)
    assert str(err.value) == (
        f"{onnx_file}: is the export of other weights than run {pfn_run}'s (its "
        f"hepdl.weights_sha256 differs); export it again: hepdl export {pfn_run} "
        f"--out {onnx_file} --overwrite"
    )
