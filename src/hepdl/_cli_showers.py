"""The calorimeter commands of ``hepdl``: ``showers`` (simulate single-particle showers),
``validate-showers`` (the model against textbook numbers) and ``calorimeters`` (list the
geometries, particles and samples)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail
from hepdl.errors import HepdlError


def showers(
    sample: Annotated[
        str,
        typer.Argument(
            help="Particles, comma-separated (e-,gamma,pi+,...), or a sample "
            "(eg_vs_pu); see `hepdl calorimeters`."
        ),
    ],
    count: Annotated[int, typer.Option("--showers", help="Showers of EACH class.")],
    out: Annotated[Path, typer.Option(help="Output file: .parquet, or .h5 for HDF5.")],
    geometry: Annotated[str, typer.Option(help="Calorimeter geometry.")] = "cms_ecal",
    energy: Annotated[
        str, typer.Option(metavar="LO:HI", help="Incident energy range in GeV, or one energy.")
    ] = "10:100",
    log_energy: Annotated[
        bool, typer.Option(help="Energies flat in ln E instead of flat in E.")
    ] = False,
    angle: Annotated[float, typer.Option(help="Axis tilt from the normal, degrees.")] = 0.0,
    pileup: Annotated[
        float, typer.Option(help="Mean pile-up collisions overlaid on each window (cms_ecal).")
    ] = 0.0,
    pileup_library: Annotated[
        int, typer.Option(metavar="N", help="Minimum-bias events generated per chunk.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same file.")] = 1,
    chunk_rows: Annotated[int, typer.Option(help="Showers per chunk.")] = 500,
    jobs: Annotated[int, typer.Option(help="Processes simulating chunks at once.")] = 1,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
) -> None:
    """Simulate single particles shot at a segmented calorimeter into Parquet or HDF5.

    Interrupted? Run the same command again: it resumes from the finished chunks.
    """
    from hepdl.generate.showers import ShowerSettings, generate_showers, parse_energy
    from hepdl.paths import output_folder

    try:
        output_folder(out.parent, option=f"--out {out}: its folder")
        settings = ShowerSettings(
            count,
            geometry=geometry,
            energy=parse_energy(energy),
            spectrum="log" if log_energy else "flat",
            angle_deg=angle,
            pileup_mu=pileup,
            pileup_library=pileup_library,
            seed=seed,
            chunk_rows=chunk_rows,
        )

        def progress(done: int, total: int) -> None:
            typer.echo(f"chunks: {done}/{total}", err=True)

        path, generated, reused = generate_showers(
            sample, settings, out, jobs=jobs, overwrite=overwrite, progress=progress
        )
    except HepdlError as err:
        fail(err)
    if generated == 0 and reused:
        typer.echo(f"{path} is complete ({reused} chunks)")
    else:
        resumed = f" (resumed: {reused} chunks were done)" if reused else ""
        typer.echo(f"wrote {path}{resumed}")


def validate_showers(
    file: Annotated[
        Path | None,
        typer.Argument(help="A file written by hepdl showers; none: simulate at fixed energies."),
    ] = None,
    geometry: Annotated[
        str | None, typer.Option(help="Geometry to simulate (default cms_ecal).")
    ] = None,
    count: Annotated[int, typer.Option("--showers", help="Showers per particle and energy.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Folder for the figures and JSON.")] = None,
) -> None:
    """Check the shower model against textbook numbers: shower maximum vs ln E, lateral
    containment, a/sqrt(E) (+) b/E (+) c, e/pi. Exits with code 1 when a check fails."""
    from hepdl._cli_generation import print_checks
    from hepdl.generate.shower_validation import validate_showers as run

    if out is None:
        out = file.parent / f"{file.name}.validation" if file else Path("shower_validation")

    def progress(what: str) -> None:
        typer.echo(f"simulating {what}", err=True)

    try:
        results = run(file, out, geometry=geometry, showers=count, seed=seed, progress=progress)
    except HepdlError as err:
        fail(err)
    print_checks(results, title="shower model vs textbook", out=out)


def calorimeters() -> None:
    """List the calorimeter geometries, particles and shower samples."""
    from hepdl.generate.calo_geometry import GEOMETRIES
    from hepdl.generate.shower_model import PARTICLES
    from hepdl.generate.showers import SHOWER_SAMPLES

    typer.echo("geometries:")
    for geometry in GEOMETRIES.values():
        layers = ", ".join(
            f"{layer.name} {layer.shape[0]}x{layer.shape[1]}" for layer in geometry.layers
        )
        typer.echo(f"  {geometry.name}: {geometry.description} [{layers}]")
    typer.echo("particles: " + ", ".join(PARTICLES))
    typer.echo("samples:")
    for sample in SHOWER_SAMPLES.values():
        typer.echo(f"  {sample.name}: {sample.description}")


def register(app: typer.Typer) -> None:
    app.command()(showers)
    app.command("validate-showers")(validate_showers)
    app.command()(calorimeters)
