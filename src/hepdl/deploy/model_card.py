"""The model card (README.md) of a model folder: YAML front matter the Hugging Face Hub
reads (library_name, tags, the test metrics with their uncertainties as ``model-index``)
and the sections a physicist reads: the model, its training data, its metrics, what it is
for and what it is not, and how to load it. Written by ``hepdl.deploy.pretrained``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LIBRARY = "hepdl"
NETWORK, CLASSICAL = "network", "classical"


def model_card(
    predictor: Any, metrics: dict[str, Any], *, run_dir: Path, weights: str, hyper: dict
) -> str:
    """README.md: YAML front matter the Hub reads (library_name, tags, the test metrics as
    a model-index, their uncertainties under ``hepdl``) and the card's sections, for the
    run ``run_dir`` loaded as ``predictor``, its ``metrics`` (metrics.json), the weights
    file's name and the model's hyper-parameters ``hyper``."""
    import yaml

    from hepdl import __version__
    from hepdl.tasks import task_class

    config, prep = predictor.config, predictor.preprocessing
    kind = config.task.kind
    tested = tested_metrics(metrics, task_class(kind).comparison_columns([metrics]))
    front = {
        "library_name": LIBRARY,
        "tags": [
            LIBRARY,
            "particle-physics",
            kind,
            config.model.name,
            str(prep.representation["name"]),
            "scikit-learn" if predictor.classical else "pytorch",
        ],
        "metrics": [entry["key"] for entry in tested],
        "model-index": [
            {
                "name": run_dir.name,
                "results": [
                    {
                        "task": {"type": kind, "name": kind},
                        "dataset": {**_dataset(config), "split": "test"},
                        "metrics": [
                            {"type": e["key"], "value": e["value"], "name": f"test {e['header']}"}
                            for e in tested
                        ],
                    }
                ],
            }
        ],
        "hepdl": {
            "version": __version__,
            "task": kind,
            "confidence_level": (metrics.get("uncertainties") or {}).get("confidence_level"),
            "test_metrics": {
                e["key"]: {"value": e["value"], **(e["uncertainty"] or {})} for e in tested
            },
        },
    }
    sections = [
        f"# {run_dir.name}",
        _summary_line(predictor, __version__),
        "## Model",
        _model_section(predictor, metrics, weights, hyper),
        "## Training data",
        _data_section(config, prep, metrics),
        "## Metrics (test set)",
        _metrics_section(predictor, metrics, tested, run_dir=run_dir),
        "## Intended use and limitations",
        _limitations_section(config, metrics),
        "## How to load it",
        _loading_section(predictor),
    ]
    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    return f"---\n{header}---\n\n" + "\n\n".join(sections) + "\n"


def tested_metrics(
    metrics: dict[str, Any], columns: list[tuple[str, str, str, str | None]]
) -> list:
    """The task's test metrics (``comparison_columns``: key, header, ...) that metrics.json
    records as numbers: key, header, value and the uncertainty it records, or None."""
    tested = []
    for key, header, _fmt, _above in columns:
        value = _entry(metrics, key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            tested.append(
                {"key": key, "header": header, "value": value, "uncertainty": _error(metrics, key)}
            )
    return tested


def _entry(metrics: dict[str, Any], key: str) -> Any:
    """metrics.json's entry ``key`` ("a.b": entry b of entry a, unless ``key`` itself is
    one: ``rejection_at_eps_s_0.3``), None when absent."""
    if key in metrics:
        return metrics[key]
    value: Any = metrics
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _error(metrics: dict[str, Any], key: str) -> dict[str, float] | None:
    """The uncertainty of test metric ``key``: its ``uncertainties`` entry (bootstrap std,
    intervals) or its ``<key>_error`` beside it, None when metrics.json has neither."""
    recorded = (metrics.get("uncertainties") or {}).get(key)
    if isinstance(recorded, dict):
        numbers = {
            k: v
            for k, v in recorded.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        return numbers or None
    error = _entry(metrics, f"{key}_error")
    return {"error": error} if isinstance(error, int | float) else None


def _uncertainty_text(uncertainty: dict[str, float] | None, level: Any) -> str:
    if not uncertainty:
        return "not recorded"
    parts = []
    if "std" in uncertainty:
        parts.append(f"± {uncertainty['std']:.4g} (bootstrap std)")
    if "error" in uncertainty:
        parts.append(f"± {uncertainty['error']:.4g}")
    for prefix, label in (("", "interval"), ("binomial_", "binomial"), ("bootstrap_", "bootstrap")):
        low, high = uncertainty.get(f"{prefix}low"), uncertainty.get(f"{prefix}high")
        if low is not None and high is not None:
            parts.append(f"{label} [{low:.4g}, {high:.4g}]")
    text = "; ".join(parts) or "not recorded"
    ranged = any(k.endswith("low") for k in uncertainty)
    return f"{text} ({level:.2%} CL)" if ranged and isinstance(level, float) else text


def _dataset(config: Any) -> dict[str, str]:
    """The model-index's dataset: a generated sample by name, else the files' names."""
    data = config.data
    if data.generate is not None:
        return {"type": "hepdl-generated", "name": data.generate.sample}
    files = [*data.files, *(p for ps in data.class_files.values() for p in ps)]
    return {"type": "files", "name": ", ".join(Path(f).name for f in files) or "unnamed"}


def _summary_line(predictor: Any, version: str) -> str:
    config, prep = predictor.config, predictor.preprocessing
    kind = "scikit-learn baseline" if predictor.classical else "network"
    if prep.class_names:
        signal = prep.class_names[prep.signal_class] if prep.signal_class is not None else "?"
        does = f"tells {' / '.join(prep.class_names)} apart (signal: {signal})"
    else:
        does = f"regresses {', '.join((prep.targets or {}).get('columns', []))}"
    return (
        f"Model `{config.model.name}`, a {kind} that {does}, trained with hepdl {version} "
        f"(task `{config.task.kind}`)."
    )


def _model_section(predictor: Any, metrics: dict[str, Any], weights: str, hyper: dict) -> str:
    config, prep = predictor.config, predictor.preprocessing
    rep = prep.representation
    options = {k: v for k, v in rep.items() if k != "name"}
    scaled = (
        "standardised with the training rows' mean and std" if prep.standardizer else "as given"
    )
    lines = [
        f"- architecture: `{config.model.name}` ({CLASSICAL if predictor.classical else NETWORK}), "
        f"{metrics.get('n_parameters', 'unknown')} parameters; weights in `{weights}`",
        f"- hyper-parameters: `{json.dumps(hyper)}`",
        f"- input: representation `{rep['name']}` `{json.dumps(options)}`, "
        f"{len(prep.feature_names)} features ({', '.join(prep.feature_names)}), {scaled}",
        f"- output columns: {', '.join(f'`{n}`' for n in predictor.output_names())}",
    ]
    return "\n".join(lines)


def _data_section(config: Any, prep: Any, metrics: dict[str, Any]) -> str:
    data = config.data
    if data.generate is not None:
        settings = json.dumps(data.generate.model_dump(mode="json"))
        source = f"- generated by hepdl (Pythia 8 + FastJet): `{settings}`"
    else:
        named = [*data.files, *(f"{c}: {p}" for c, ps in data.class_files.items() for p in ps)]
        source = "- files: " + ", ".join(f"`{f}`" for f in named)
        if data.val_files or data.test_files:
            source += f"; validation {data.val_files}, test {data.test_files}"
    sizes = (
        f"- rows: {metrics.get('n_train', '?')} training, {metrics.get('n_val', '?')} validation, "
        f"{metrics.get('n_test', '?')} test"
    )
    if prep.class_names:
        signal = prep.class_names[prep.signal_class] if prep.signal_class is not None else "none"
        coded = f"- classes: {', '.join(prep.class_names)}; signal class: {signal}"
    else:
        targets = prep.targets or {}
        ratio = targets.get("ratio_to")
        coded = f"- targets: {', '.join(targets.get('columns', []))}" + (
            f" (as a ratio to `{ratio}`)" if ratio else ""
        )
    return "\n".join([source, sizes, coded])


def _metrics_section(
    predictor: Any, metrics: dict[str, Any], tested: list, *, run_dir: Path
) -> str:
    level = (metrics.get("uncertainties") or {}).get("confidence_level")
    rows = ["| metric (test set) | value | uncertainty |", "| --- | --- | --- |"]
    rows += [
        f"| test {e['header']} | {e['value']:.4g} | {_uncertainty_text(e['uncertainty'], level)} |"
        for e in tested
    ]
    chosen = _kept(predictor, metrics, run_dir=run_dir)
    return (
        f"Measured on the {metrics.get('n_test', '?')} test rows, held out from training "
        f"and from every choice: the model kept is {chosen}.\n\n" + "\n".join(rows)
    )


def _kept(predictor: Any, metrics: dict[str, Any], *, run_dir: Path) -> str:
    """Which epoch (or boosting stages) the run kept, chosen on the validation rows."""
    import numpy as np

    from hepdl.train.artifacts import read_run_json

    if predictor.classical:
        stopping, kept = metrics.get("early_stopping"), metrics.get("stages_kept")
        if stopping == "validation loss":
            return f"{kept} boosting stages, the number with the lowest validation loss"
        if stopping == "off":
            return f"all {kept} boosting stages (early stopping off)"
        return "one fit (no epochs to choose between)"
    stopping = predictor.config.trainer.early_stopping
    monitor, mode = (stopping.monitor, stopping.mode) if stopping else ("val_loss", "min")
    score = metrics.get("best_epoch_score")
    at = f" ({monitor} = {score:.4g})" if isinstance(score, float) else ""
    path = run_dir / "history.json"
    values = read_run_json(path).get(monitor) if path.is_file() else None
    if not values:
        return f"the epoch with the best {monitor} on the validation rows{at}"
    series = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    series[~np.isfinite(series)] = np.nan  # a diverged epoch is never the one kept
    if np.isnan(series).all():
        return f"the epoch with the best {monitor} on the validation rows{at}"
    best = np.nanargmax(series) if mode == "max" else np.nanargmin(series)
    return f"epoch {int(best) + 1} of {len(values)}, the best {monitor} on the validation rows{at}"


def _limitations_section(config: Any, metrics: dict[str, Any]) -> str:
    return "\n".join(
        [
            "- Intended for tables like the training data: the same columns and units, the "
            f"same read-time settings (representation `{config.data.representation.name}`), "
            "jets from the same generator, detector and pile-up conditions and kinematic range.",
            f"- Trained on {metrics.get('n_train', '?')} rows; outside their phase space the "
            "model is not validated, and the test metrics above say nothing there.",
            "- The uncertainties are statistical (bootstrap, binomial) on the test rows of the "
            "training sample; no systematic uncertainty, no comparison with collision data.",
            "- An entry without constituents or with a non-finite input gets NaN predictions and "
            "`valid = False`; whole events are refused where one jet per row is expected.",
        ]
    )


def _loading_section(predictor: Any) -> str:
    return "\n".join(
        [
            "```python",
            "import hepdl",
            "",
            'predictor = hepdl.from_pretrained("path/to/this/folder")  # no pickle is loaded',
            "columns = predictor.predict(table)  # an awkward Array, a DataFrame or a dict",
            f"# {', '.join(predictor.output_names())}: one value per row of table",
            "```",
            "",
            "From the Hugging Face Hub, download the folder first:",
            "",
            "```python",
            "from huggingface_hub import snapshot_download",
            "",
            'predictor = hepdl.from_pretrained(snapshot_download("user/repository"))',
            "```",
            "",
            "The files of a folder are checked against each other on loading (config.json "
            "records the weights' SHA-256 and size); a changed file is refused.",
        ]
    )
