"""Run a generation: plan the chunks, generate the missing ones (in parallel), merge.

``generate(sample, settings, out)`` is the whole command: it resumes from the parts a
killed run left, runs the missing chunks over ``jobs`` processes (or only the chunks of
one shard), and merges the parts into ``out`` once all exist. ``merge(out)`` finishes a
sharded generation. The output never exists half-written: it appears, complete, by an
atomic rename.
"""

from __future__ import annotations

import functools
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepdl.errors import GenerationError
from hepdl.generate import _parquet, _parts
from hepdl.generate._chunk import ChunkTask, run_chunk
from hepdl.generate._plan import Plan, generator_versions
from hepdl.generate.recipes import PROCESSES, Sample, resolve_sample
from hepdl.generate.settings import SampleSettings, jet_selection

log = logging.getLogger(__name__)

# progress(class_name, rows_done, rows_wanted, events_generated), totals per class.
Progress = Callable[[str, int, int, int], None]


@dataclass(frozen=True)
class Outcome:
    """What a call did: the output (None for a shard that did not merge), the chunks
    generated now and those found already done."""

    path: Path | None
    generated: int
    reused: int


def _row_maker(plan: Plan, task: ChunkTask, pythia: Any) -> Any:
    """The function from a batch of events to rows, for one chunk of ``plan``."""
    from hepdl.generate._jet_rows import JetRows
    from hepdl.generate._pythia import ChargeTable
    from hepdl.generate._response import ChunkResponse

    if plan.sample.kind == "event":
        assert plan.sample.rows is not None
        return plan.sample.rows
    settings = plan.settings
    return JetRows(
        selection=jet_selection(plan.sample, settings),
        truth_pid=PROCESSES[task.process].truth_pid,
        charge=ChargeTable(pythia),
        transform=ChunkResponse(settings, task.process, task.index)
        if settings.reconstructed
        else None,
    )


def run_task(out: Path, plan: Plan, task: ChunkTask, report: Callable | None = None) -> int:
    """Generate one chunk and write its part; returns the events generated."""

    def progress(rows: int, events: int) -> None:
        if report is not None:
            report(task.key, rows, events)

    with tempfile.TemporaryDirectory(prefix="hepdl-") as scratch:
        strings = plan.pythia_strings(task)
        spectrum = PROCESSES[task.process].slha
        if spectrum is not None:  # Pythia reads a SUSY spectrum only from a file
            slha_file = Path(scratch) / "spectrum.slha"
            slha_file.write_text(spectrum)
            strings = [f"SLHA:file = {slha_file}", *strings]
        result = run_chunk(
            task,
            strings,
            functools.partial(_row_maker, plan, task),
            event_limit=plan.event_limit,
            progress=progress,
        )
    _parts.write_part(out, plan, task, result)
    return result.events_generated


class _Tally:
    """Per-class totals from per-chunk reports, passed on to the user's progress."""

    def __init__(self, plan: Plan, done: list[ChunkTask], progress: Progress | None) -> None:
        self.plan = plan
        self.progress = progress
        self.chunks: dict[str, tuple[int, int]] = {t.key: (t.rows, 0) for t in done}
        self.process_of = {t.key: t.process for t in plan.tasks}
        for name in plan.sample.classes:
            self._emit(name)

    def __call__(self, key: str, rows: int, events: int) -> None:
        self.chunks[key] = (rows, events)
        self._emit(self.process_of[key])

    def _emit(self, process: str) -> None:
        if self.progress is None:
            return
        keys = [k for k, p in self.process_of.items() if p == process and k in self.chunks]
        rows = sum(self.chunks[k][0] for k in keys)
        events = sum(self.chunks[k][1] for k in keys)
        self.progress(process, rows, self.plan.settings.rows_per_class, events)


def _run_parallel(out: Path, plan: Plan, tasks: list[ChunkTask], jobs: int, tally: _Tally) -> None:
    """Run ``tasks`` on ``jobs`` worker processes; each worker writes its own parts."""
    import multiprocessing
    import queue as queue_module
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # no state shared with the parent
    with context.Manager() as manager:
        reports = manager.Queue()
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [pool.submit(_worker, out, plan, task, reports) for task in tasks]
            try:
                while True:
                    done, pending = wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION)
                    while True:
                        try:
                            tally(*reports.get_nowait())
                        except queue_module.Empty:
                            break
                    failed = [f for f in done if f.exception() is not None]
                    if failed:
                        for future in pending:
                            future.cancel()
                        raise failed[0].exception()  # type: ignore[misc]
                    if not pending:
                        return
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def _worker(out: Path, plan: Plan, task: ChunkTask, reports: Any) -> int:
    return run_task(out, plan, task, lambda *report: reports.put(report))


def generate(
    sample: str | Sample,
    settings: SampleSettings,
    out: Path,
    *,
    jobs: int = 1,
    shard: int | None = None,
    num_shards: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Generate ``settings.rows_per_class`` rows of every class of ``sample`` into ``out``.

    Running the same call again after an interruption resumes it: finished chunks are
    kept, missing ones generated, and the output is the one an uninterrupted run writes.
    With ``shard``/``num_shards`` only that shard's chunks run and nothing is merged
    (finish with :func:`merge`); the union does not depend on the number of shards.
    An existing output with the same content returns at once; with other content it is
    refused unless ``overwrite``. Raises GenerationError naming any bad setting.
    """
    if isinstance(sample, str):
        sample = resolve_sample(sample)
    if not isinstance(settings, SampleSettings):
        raise GenerationError(f"settings must be a SampleSettings, got {type(settings).__name__}")
    if not isinstance(jobs, int) or jobs < 1:
        raise GenerationError(f"option 'jobs' must be an integer >= 1, got {jobs!r}")
    if (shard is None) != (num_shards is None):
        raise GenerationError("options 'shard' and 'num_shards' go together: give both or neither")
    out = Path(out)
    if sample.kind == "jet":
        jet_selection(sample, settings)  # conflicting or impossible windows fail here
    elif settings.reconstructed:
        raise GenerationError(
            f"sample {sample.name!r} is event-level: its features are computed at particle "
            "level, so the settings 'detector' and 'pileup_mean' (or 'pileup_range') apply "
            "to jet samples only"
        )
    plan = Plan(sample, settings, generator_versions())
    if out.exists() and not overwrite and _same_content(out, plan):
        return Outcome(out, 0, len(plan.tasks))
    _parquet.check_output(out, overwrite=overwrite)
    if overwrite:
        _parts.remove_parts(out)
    _parts.prepare(out, plan)
    selected = plan.tasks if shard is None else plan.shard_tasks(shard, num_shards)
    finished = {t.key for t in plan.tasks if _parts.is_done(out, plan, t)}  # one look each
    todo = [t for t in selected if t.key not in finished]
    done = [t for t in plan.tasks if t.key in finished]
    tally = _Tally(plan, done, progress)
    if jobs == 1 or len(todo) <= 1:
        for task in todo:
            run_task(out, plan, task, tally)
    else:
        # Slowest first (resonance-matched classes keep ~1 jet in 4 events, QCD ~1 in 1), so
        # no worker is left with a long chunk at the end; the output does not depend on it.
        slow_first = sorted(todo, key=lambda t: PROCESSES[t.process].truth_pid is None)
        _run_parallel(out, plan, slow_first, min(jobs, len(todo)), tally)
    reused = len(selected) - len(todo)
    if shard is not None:
        return Outcome(None, len(todo), reused)
    return Outcome(_parts.merge(out, plan, overwrite=overwrite), len(todo), reused)


def _same_content(out: Path, plan: Plan) -> bool:
    try:
        return _parquet.read_metadata(out).get("fingerprint") == plan.fingerprint
    except Exception:
        return False


def merge(out: Path, *, overwrite: bool = False) -> Path:
    """Merge the parts a sharded generation left in ``OUT.parts`` into ``out``."""
    directory = _parts.parts_dir(Path(out))
    plan_file = directory / _parts.PLAN_FILE
    if not plan_file.exists():
        raise GenerationError(
            f"nothing to merge for {str(out)!r}: {str(plan_file)!r} does not exist (run the "
            "shards with --shard i --num-shards n and the same --out first)"
        )
    described = json.loads(plan_file.read_text())["plan"]
    version_keys = ("generator", "fastjet_version", "fastjet_package_version", "hepdl_version")
    versions = {key: described[key] for key in version_keys}
    plan = Plan(
        resolve_sample(described["sample"]),
        SampleSettings(**_settings_from_json(described["settings"])),
        versions,
    )
    return _parts.merge(Path(out), plan, overwrite=overwrite)


def _settings_from_json(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    values["pythia_settings"] = tuple(values.get("pythia_settings", ()))
    return values  # a detector dict is turned back into DetectorSettings by SampleSettings
