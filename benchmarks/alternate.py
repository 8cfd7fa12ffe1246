"""What every benchmark here shares: the sides measured alternately, the ratio as a median.

A machine shared with other processes drifts: timed once each, two runs of the same
comparison gave ratios of 0.71 and 1.36. So each benchmark measures its sides in every
repeat, rotating which side goes first, takes the ratio within each repeat (the two
numbers saw the same load) and prints the median ratio with its range over the repeats:

    from alternate import add_repeats, alternate, ratios, spread

    add_repeats(parser)  # --repeats, default 5 (at least 5 for a median worth reading)
    runs = alternate({"bare": bare, "hepdl": ours}, repeats=args.repeats)
    print(f"ratio hepdl/bare: {spread(ratios(runs['hepdl'], runs['bare']))}")

Each side is a callable taking the repeat's index (a seed, a file name) and returning what
it measured. Scripts in benchmarks/ import this file as ``alternate`` (their folder is on
``sys.path`` when run as ``python benchmarks/<script>.py``).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
MIN_REPEATS = 5


def add_repeats(parser: argparse.ArgumentParser, *, default: int = MIN_REPEATS) -> None:
    """``--repeats``: measurements per side, alternating (at least 2; 5 by default)."""
    parser.add_argument(
        "--repeats",
        type=int,
        default=default,
        help=f"alternating measurements per side; the ratio is their median (default {default})",
    )


def check_repeats(parser: argparse.ArgumentParser, repeats: int) -> None:
    """A usage error below 2 repeats: a range needs two ratios."""
    if repeats < 2:
        parser.error(f"--repeats must be at least 2 (a median and its range), got {repeats}")


def alternate(sides: Mapping[str, Callable[[int], T]], *, repeats: int) -> dict[str, list[T]]:
    """Run every side once per repeat, repeat r starting with side r mod len(sides) (so
    with two sides: A B, B A, A B, ...); the measurements per side, in repeat order."""
    names = list(sides)
    runs: dict[str, list[T]] = {name: [] for name in names}
    for repeat in range(repeats):
        first = repeat % len(names)
        for name in names[first:] + names[:first]:
            runs[name].append(sides[name](repeat))
    return runs


def ratios(
    numerator: Sequence[Any], denominator: Sequence[Any], key: Callable[[Any], float] = float
) -> list[float]:
    """Per repeat, ``key(numerator[r]) / key(denominator[r])``: the two measured together."""
    return [key(a) / key(b) for a, b in zip(numerator, denominator, strict=True)]


def spread(values: Sequence[float], *, digits: int = 3, width: int = 0) -> str:
    """``median [min-max]`` of the per-repeat ratios, e.g. ``1.021 [0.978-1.102]``,
    right-aligned in ``width`` characters (a table's column)."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]".rjust(width)
