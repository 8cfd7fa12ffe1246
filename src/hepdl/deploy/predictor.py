"""A finished run as a function of tables: the user's columns in, named predictions out.

:class:`Predictor` does for one table (a file's chunk, a DataFrame) what ``hepdl
evaluate`` does for whole files, and keeps one output row per input row:

1. the run's read-time steps (``TableShape``: a flat particle layout unpacked; whole
   events refused as one jet) and its *saved* representation, never the config's;
2. entries without a valid input -- no constituents, or a non-finite input array -- are
   not given to the model: each of their prediction columns is ``NaN`` (``DEFAULT``),
   and ``valid`` is False; every other row gets the model's prediction, in input order;
3. the model: the network in PyTorch (the flat features standardised as in training)
   or its exported ONNX file in ONNX Runtime (standardisation folded in), or the
   scikit-learn baseline; then the run's task names the outputs in physical units
   (``TargetCoding.prediction_columns``: ``score`` and ``p_<class>`` of a classifier,
   ``<target>`` of a regression, ...).

A run that clusters whole events into jets at read time (``data.jet_clustering``) gives
several jets per entry, so it has no one-row-per-entry prediction and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError

BACKENDS = ("torch", "onnx")
DEFAULT = float("nan")  # every prediction column of an entry without a valid input
VALID = "valid"  # the bool column that says which entries were predicted


@dataclass
class Predictor:
    """Predictions of run ``run_dir`` on tables; build it with :meth:`from_run`."""

    run_dir: Path
    config: Any  # the run's ExperimentConfig
    preprocessing: Any  # its Preprocessing (hepdl.train.artifacts)
    coding: Any  # its task's TargetCoding
    model: Any  # an nn.Module, a scikit-learn estimator or an ONNX Runtime session
    backend: str  # "torch" (PyTorch or scikit-learn) or "onnx"
    classical: bool = False
    batch_size: int = 8192

    @classmethod
    def from_run(
        cls,
        run_dir: str | Path,
        *,
        backend: str = "torch",
        onnx_file: str | Path | None = None,
        batch_size: int = 8192,
    ) -> Predictor:
        """The predictor of a finished run. ``backend="onnx"`` runs ``onnx_file``
        (default ``run_dir/model.onnx``, written by ``hepdl export``), which must be the
        export of this run's weights."""
        from hepdl.train.artifacts import load_trained
        from hepdl.train.classical import is_classical_run, load_classical

        if backend not in BACKENDS:
            raise ConfigError(f"backend '{backend}': expected one of {', '.join(BACKENDS)}")
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise ConfigError(f"{run_dir}: no such run directory")
        classical = is_classical_run(run_dir)
        config, model, prep = load_classical(run_dir) if classical else load_trained(run_dir)
        if backend == "onnx" and config.data.jet_clustering is None:  # refused by from_parts
            from hepdl.deploy.onnx_file import open_export

            path = Path(onnx_file) if onnx_file is not None else run_dir / "model.onnx"
            model = open_export(path, run_dir=run_dir, classical=classical)
        return cls.from_parts(
            run_dir,
            config,
            prep,
            model,
            classical=classical,
            backend=backend,
            batch_size=batch_size,
        )

    @classmethod
    def from_parts(
        cls,
        source: str | Path,
        config: Any,
        preprocessing: Any,
        model: Any,
        *,
        classical: bool,
        backend: str = "torch",
        batch_size: int = 8192,
    ) -> Predictor:
        """The predictor of a model loaded elsewhere (a model folder,
        ``hepdl.deploy.pretrained``): its ``config`` (ExperimentConfig), ``preprocessing``
        and ``model`` (a network, a fitted baseline, or an ONNX Runtime session for
        ``backend="onnx"``); ``source`` names it in errors, as a run directory would."""
        from hepdl.tasks import task_class

        if backend not in BACKENDS:
            raise ConfigError(f"backend '{backend}': expected one of {', '.join(BACKENDS)}")
        if config.data.jet_clustering is not None:
            raise ConfigError(
                f"{source}: the run clusters whole events into jets at read time "
                "(data.jet_clustering), several jets per entry: predictions are one row per "
                "entry of the file. Write the clustered jets to a file first "
                "(one row per jet) and predict on that"
            )
        saved = preprocessing.to_dict()
        coding = task_class(config.task.kind).targets_from_saved(config.task, saved)
        return cls(
            run_dir=Path(source),
            config=config,
            preprocessing=preprocessing,
            coding=coding,
            model=model,
            backend=backend,
            classical=classical,
            batch_size=batch_size,
        )

    # ------------------------------------------------------------------ what it reads, writes
    def read_columns(self) -> list[str] | None:
        """The columns to read from a file (None: all): the config's ``data.columns``
        and the columns the task's outputs need (a regression's ``ratio_to``)."""
        columns = self.config.data.columns
        if columns is None:
            return None
        return list(dict.fromkeys([*columns, *self.coding.input_columns()]))

    def output_names(self) -> list[str]:
        """The prediction columns, in order, then ``valid``."""
        width = _output_width(self)
        names = self.coding.prediction_columns(
            np.zeros((1, width)),
            {name: np.ones(1) for name in self.coding.input_columns()},
            source="",
        )
        return [*names, VALID]

    # ------------------------------------------------------------------ predicting
    def predict(self, table: Any, *, source: str = "table") -> dict[str, np.ndarray]:
        """Prediction columns (each (N,), float64) and ``valid`` (N,) bool for the N
        rows of ``table`` (an awkward Array of records, a DataFrame, a dict of arrays)."""
        from hepdl.data.entries import as_table, constituent_counts, flat_column
        from hepdl.data.table_options import TableShape

        table = as_table(table, source=source)
        shape = TableShape.of(self.config.data, representation=self._representation_name())
        table = shape(table, source=source)
        n = len(table)
        counts = constituent_counts(table)
        valid = np.ones(n, dtype=bool) if counts is None else counts > 0
        columns = {
            name: flat_column(table, name, source=source, wanted_by=f"task.{_key(name, self)}")
            for name in self.coding.input_columns()
        }
        rows, arrays = self._represented_rows(table, np.flatnonzero(valid), source=source)
        valid[:] = False
        valid[rows] = True
        named = {name: np.full(n, DEFAULT) for name in self.output_names()[:-1]}
        if len(rows):
            outputs = self._outputs(arrays)
            found = self.coding.prediction_columns(
                outputs, {k: v[rows] for k, v in columns.items()}, source=source
            )
            for name, values in found.items():
                named[name][rows] = values
        return {**named, VALID: valid}

    def _represented_rows(
        self, table: Any, rows: np.ndarray, *, source: str
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """(the rows of ``rows`` with finite inputs, their representation's arrays). The
        representation refuses NaN or inf naming the table rows (NonFiniteInputError):
        those rows are set aside and the rest represented again; each pass removes at
        least one row, and there are as many passes as arrays that can hold a bad value."""
        import awkward as ak

        from hepdl.errors import NonFiniteInputError

        while len(rows):
            try:
                # packed: a sliced table's columns are indexed views, which the
                # representations' flat-column checks do not take as plain numbers
                chosen = ak.to_packed(table[rows]) if len(rows) < len(table) else table
                arrays = self._inputs(chosen, source=source)
            except NonFiniteInputError as err:
                bad = np.asarray(err.rows, dtype=np.int64)
                if not len(bad):
                    raise
                rows = np.delete(rows, bad)
                continue
            finite = _finite_rows(arrays, len(rows))
            if not finite.all():
                rows, arrays = rows[finite], _take(arrays, finite)
            return rows, arrays
        return rows, {}

    def _representation_name(self) -> str:
        return str(self.preprocessing.representation["name"])

    def _inputs(self, table: Any, *, source: str) -> dict[str, Any]:
        """The saved representation's arrays of ``table``'s rows, float arrays float32."""
        from hepdl.data import representation_from_config

        rep = representation_from_config(self.preprocessing.representation)
        arrays = dict(rep(table, source=source))
        names = list(rep.feature_names)
        if names != list(self.preprocessing.feature_names):
            raise DataError(
                f"{source}: gives {len(names)} features {names}, but run {self.run_dir} "
                f"was trained on {len(self.preprocessing.feature_names)}: "
                f"{list(self.preprocessing.feature_names)}"
            )
        return {
            k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in arrays.items()
        }

    def _outputs(self, arrays: dict[str, Any]) -> np.ndarray:
        """What the task's coding reads, (n, K) float64: probabilities or standardised
        regression values."""
        if self.backend == "onnx":
            from hepdl.deploy.onnx_file import run_export

            return run_export(self.model, arrays, batch_size=self.batch_size)
        from hepdl.data.scaling import Standardizer

        inputs = dict(arrays)
        if self.preprocessing.standardizer is not None:
            scaler = Standardizer.from_dict(self.preprocessing.standardizer)
            inputs["features"] = scaler.transform(inputs["features"])
        if self.classical:
            from hepdl.train.classical import classical_outputs

            return classical_outputs(self.model, inputs["features"])
        from hepdl.models.inputs import model_inputs
        from hepdl.train.predict import predict_probabilities

        chosen = model_inputs(self.model, inputs, source=str(self.run_dir))
        return predict_probabilities(self.model, chosen, batch_size=self.batch_size)


def _output_width(predictor: Predictor) -> int:
    """A width K of outputs the task's coding names the same as the model's: a class per
    column for a classifier (its names do not depend on one sigmoid unit or K softmax
    ones), the regression head's width (targets x values per target) for a regressor."""
    coding = predictor.coding
    if predictor.preprocessing.class_names:
        return len(predictor.preprocessing.class_names)
    # A coding without a width (a generative model's) refuses in prediction_columns.
    return int(coding.head_options({}).get("out_features", 1))


def _key(column: str, predictor: Predictor) -> str:
    """The task's config key that names ``column`` (for a missing column's error)."""
    section = predictor.config.task
    return "ratio_to" if getattr(section, "ratio_to", None) == column else "targets"


def _finite_rows(arrays: dict[str, Any], n: int) -> np.ndarray:
    """(n,) bool: rows whose every float input array is finite (a tree's node arrays
    are not per row: they are checked per jet by the representation)."""
    finite = np.ones(n, dtype=bool)
    for values in arrays.values():
        if isinstance(values, np.ndarray) and values.dtype.kind == "f" and len(values) == n:
            finite &= np.isfinite(values.reshape(n, -1)).all(axis=1)
    return finite


def _take(arrays: dict[str, Any], rows: np.ndarray) -> dict[str, Any]:
    return {k: v[rows] for k, v in arrays.items()}
