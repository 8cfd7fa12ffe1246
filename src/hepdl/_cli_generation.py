"""The generation commands of ``hepdl``: generate, merge, datasets (and their progress bar).

Kept apart from cli.py so each file stays small; ``register(app)`` adds them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hepdl._cli_common import fail
from hepdl.errors import GenerationError, HepdlError


class ProgressLines:
    """For output that is not a terminal: one flushed line per class each time it passes
    another tenth of its rows (and when it is done), instead of a bar that a log file
    would only receive at the end.

        gluon jets: 2800/28000 (10%), 11.2 jets/s, 80.4 events/s, 4:10 elapsed
    """

    def __init__(self, unit: str, steps: int = 10) -> None:
        self.unit, self.steps = unit, steps
        self.started: dict[str, float] = {}
        self.printed: dict[str, int] = {}  # the last tenth printed, per class

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, class_name: str, done: int, wanted: int, events: int) -> None:
        import time

        now = time.perf_counter()
        started = self.started.setdefault(class_name, now)
        step = self.steps * done // max(wanted, 1)
        if step <= self.printed.get(class_name, 0) or done == 0:
            return
        self.printed[class_name] = step
        seconds = max(now - started, 1e-9)
        minutes, rest = divmod(int(seconds), 60)
        typer.echo(
            f"{class_name} {self.unit}: {done}/{wanted} ({100 * done // max(wanted, 1)}%), "
            f"{done / seconds:.1f} {self.unit}/s, {events / seconds:.1f} events/s, "
            f"{minutes}:{rest:02d} elapsed"
        )
        sys.stdout.flush()


def generation_progress(unit: str = "jets") -> tuple[Any, Any]:
    """A rich progress bar per class on a terminal: rows done, rows/s, events/s and time
    left; elsewhere (a log file) :class:`ProgressLines`.

    Returns ``(progress, update)``; ``update(class_name, rows_done, rows_wanted, events)``
    is the callback of :func:`hepdl.generate.generate`.
    """
    from hepdl.terminal import draws_progress_bars

    if not draws_progress_bars():
        lines = ProgressLines(unit)
        return lines, lines
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rates(ProgressColumn):
        def render(self, task) -> Text:  # task.speed is None until two updates arrived
            seconds = task.elapsed or 0.0
            events = task.fields.get("events", 0)
            rows = f"{task.speed:7.1f} {unit}/s" if task.speed else f"   -- {unit}/s"
            rate = f"{events / seconds:7.1f} events/s" if seconds > 0 and events else ""
            return Text(f"{rows} {rate}")

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        Rates(),
        TimeRemainingColumn(),
    )
    tasks: dict[str, int] = {}

    def update(class_name: str, done: int, wanted: int, events: int) -> None:
        if class_name not in tasks:
            tasks[class_name] = progress.add_task(f"{class_name} {unit}", total=wanted)
        progress.update(tasks[class_name], completed=done, events=events)

    return progress, update


def generate(
    sample: Annotated[
        str, typer.Argument(help="Sample (see `hepdl datasets`) or processes: qcd,top,w.")
    ],
    jets: Annotated[
        int, typer.Option("--jets", "--events", help="Rows (jets, or events) of EACH class.")
    ],
    out: Annotated[Path, typer.Option(help="Output Parquet file.")],
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same file.")] = 1,
    pt_min: Annotated[float | None, typer.Option(help="Jet pT lower edge [GeV].")] = None,
    pt_max: Annotated[float | None, typer.Option(help="Jet pT upper edge [GeV].")] = None,
    eta_max: Annotated[float | None, typer.Option(help="Jet |eta| cut.")] = None,
    rapidity_max: Annotated[float | None, typer.Option(help="Jet |y| cut instead.")] = None,
    radius: Annotated[float | None, typer.Option(help="Anti-kT jet radius R.")] = None,
    pythia: Annotated[
        list[str] | None,
        typer.Option(help="Extra Pythia setting 'Name = value', applied last (repeatable)."),
    ] = None,
    detector: Annotated[
        bool, typer.Option(help="Apply the detector response (CMS-like, see docs).")
    ] = False,
    pileup: Annotated[
        float | None, typer.Option(help="Mean pile-up collisions overlaid (Poisson).")
    ] = None,
    pileup_range: Annotated[
        str | None,
        typer.Option(
            metavar="LO:HI",
            help="Instead of --pileup: each event draws mu uniformly in [LO, HI], then "
            "Poisson(mu) pile-up collisions.",
        ),
    ] = None,
    pileup_library: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="With pile-up: draw it from N minimum-bias events generated once per chunk "
            "(faster, collisions reused; 0: fresh events).",
        ),
    ] = 0,
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk (one Pythia run).")] = 1000,
    jobs: Annotated[int, typer.Option(help="Processes generating chunks at once.")] = 1,
    shard: Annotated[int | None, typer.Option(help="This shard's number, 0 .. n-1.")] = None,
    num_shards: Annotated[int | None, typer.Option(help="Number of shards n.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    validate: Annotated[
        bool, typer.Option(help="Then write the physics checks to OUT.validation/.")
    ] = False,
) -> None:
    """Generate labelled jets or events with Pythia 8 + FastJet into a Parquet file.

    Interrupted? Run the same command again: it resumes from the finished chunks.
    """
    from hepdl.generate import SampleSettings, resolve_sample
    from hepdl.generate import generate as run
    from hepdl.generate.detector import DetectorSettings
    from hepdl.paths import output_folder

    try:
        if pileup is not None and pileup_range is not None:
            raise GenerationError(
                f"options --pileup ({pileup:g}) and --pileup-range ({pileup_range}) conflict: "
                "give one (a fixed mean, or a range of means drawn per event)"
            )
        unit = "events" if resolve_sample(sample).kind == "event" else "jets"
        output_folder(out.parent, option=f"--out {out}: its folder")  # before any event
        settings = SampleSettings(
            jets,
            seed=seed,
            pt_min=pt_min,
            pt_max=pt_max,
            eta_max=eta_max,
            rapidity_max=rapidity_max,
            jet_radius=radius,
            pythia_settings=tuple(pythia or ()),
            chunk_rows=chunk_rows,
            detector=DetectorSettings() if detector else None,
            pileup_mean=pileup if pileup is not None else 0.0,
            pileup_range=parse_pileup_range(pileup_range),
            pileup_library=pileup_library,
        )
        progress, update = generation_progress(unit)
        with progress:
            outcome = run(
                sample,
                settings,
                out,
                jobs=jobs,
                shard=shard,
                num_shards=num_shards,
                overwrite=overwrite,
                progress=update,
            )
    except HepdlError as err:
        fail(err)
    if outcome.path is None:
        typer.echo(
            f"shard {shard} of {num_shards}: {outcome.generated} chunks generated, "
            f"{outcome.reused} already done; when every shard is done: hepdl merge {out}"
        )
    elif outcome.generated == 0:
        typer.echo(f"{outcome.path} is already complete: nothing to do")
    else:
        resumed = f" (resumed: {outcome.reused} chunks were done)" if outcome.reused else ""
        typer.echo(f"wrote {outcome.path}{resumed}")
    if validate and outcome.path is not None:
        _validate(outcome.path, outcome.path.parent / f"{outcome.path.name}.validation")


def parse_pileup_range(text: str | None) -> tuple[float, float] | None:
    """``"LO:HI"`` -> (LO, HI); the bounds are checked by SampleSettings."""
    if text is None:
        return None
    low, sep, high = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return float(low), float(high)
    except ValueError:
        raise GenerationError(
            f"option --pileup-range must be LO:HI, two numbers (e.g. 0:60), got {text!r}"
        ) from None


def _validate(path: Path, out: Path) -> None:
    from hepdl.generate.validation import validate as run

    try:
        results = run(path, out)
    except HepdlError as err:
        fail(err)
    print_checks(results, title=f"physics checks of {path.name}", out=out)


def print_checks(results: list, *, title: str, out: Path) -> None:
    """The table of check results (check, measured, expected, pass); exit 1 if one failed."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("check", "measured", "expected", "pass"):
        table.add_column(column)
    for r in results:
        table.add_row(r.check, f"{r.measured:.4g}", r.expected, "yes" if r.passed else "NO")
    Console().print(table)
    typer.echo(f"figures and validation.json in {out}")
    if not all(r.passed for r in results):
        raise typer.Exit(code=1)


def validate(
    file: Annotated[Path, typer.Argument(help="A file written by hepdl generate.")],
    out: Annotated[Path | None, typer.Option(help="Folder for plots and JSON.")] = None,
) -> None:
    """Check a generated file's physics: mass peaks, tau ratios, multiplicities, MET.

    Exits with code 1 when a check fails."""
    _validate(file, out if out is not None else file.parent / f"{file.name}.validation")


def merge(
    out: Annotated[Path, typer.Argument(help="The --out of the sharded generation.")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
) -> None:
    """Merge the chunks of a sharded generation (--shard i --num-shards n) into OUT."""
    from hepdl.generate import merge as run

    try:
        path = run(out, overwrite=overwrite)
    except HepdlError as err:
        fail(err)
    typer.echo(f"wrote {path}")


def datasets() -> None:
    """List the samples hepdl can generate, with their classes, cuts and Pythia settings."""
    from rich.console import Console
    from rich.table import Table

    from hepdl.generate import describe

    table = Table(title="hepdl generate SAMPLE (or jet processes joined by commas)")
    for column in ("sample", "classes (label 0, 1, ...)", "selection", "description"):
        table.add_column(column)
    pythia: dict[str, str] = {}
    for row in describe():
        jets = row["jets"]
        if jets is not None:
            cut = (
                f"|y| < {jets['rapidity_max']}"
                if jets["rapidity_max"]
                else (f"|eta| < {jets['eta_max']}")
            )
            selection = (
                f"anti-kT R = {jets['radius']}, {jets['pt_min']:g}-{jets['pt_max']:g} GeV, {cut}"
                + (", leading jet" if jets["leading_only"] else "")
            )
        else:
            selection = f"event-level: {row['features']} features"
        table.add_row(row["sample"], ", ".join(row["classes"]), selection, row["description"])
        for name, strings in row["pythia"].items():
            pythia[name] = "; ".join(strings)
    console = Console()
    console.print(table)
    console.print("Pythia settings of each process (beams, pTHat window and seed are added):")
    for name, strings in sorted(pythia.items()):
        console.print(f"  {name}: {strings}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command()(merge)
    app.command()(datasets)
    app.command()(validate)
