"""HEP plot style, figure creation and atomic saving, without touching global state.

The default style is mplhep's ``ROOT`` style: the typography of the LHC experiments
(TeX Gyre Heros, ticks inside on all four sides, axis labels at the ends of the axes)
without an experiment's name, since a hepdl plot is not an official CMS or ATLAS result.
It is applied with :func:`hep_style`, a context manager, so importing :mod:`hepdl.plots`
changes no ``rcParams``. Figures are made with :class:`matplotlib.figure.Figure` on an Agg
canvas, never through :mod:`matplotlib.pyplot`: nothing is displayed, no backend is
switched, and no figure is left registered with pyplot.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hepdl.errors import DataError

DEFAULT_STYLE = "ROOT"
"""Name of the mplhep style used by every hepdl figure (``mplhep.style.<name>``)."""

SAVE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
"""File suffixes :func:`save_figure` accepts, mapped to matplotlib formats."""

# Colours from the mplhep (Petroff) palette, one meaning each across hepdl figures.
SIGNAL_COLOR = "#e42536"
BACKGROUND_COLOR = "#5790fc"


@contextmanager
def hep_style(name: str = DEFAULT_STYLE) -> Iterator[None]:
    """Apply the mplhep style ``name`` inside the ``with`` block and restore rcParams after."""
    import mplhep  # imported here: it registers its fonts and takes a few tenths of a second

    try:
        style = getattr(mplhep.style, name)
    except AttributeError:
        raise DataError(f"style: unknown mplhep style {name!r}") from None
    with matplotlib.style.context(style):
        yield


def new_figure(*, ncols: int = 1, figsize: tuple[float, float] | None = None):
    """A pyplot-free figure with ``ncols`` side-by-side axes, on an Agg canvas.

    Call inside :func:`hep_style` so that the style reaches every artist. Returns
    ``(fig, axes)`` with ``axes`` a list of length ``ncols``.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def check_path(path: str | os.PathLike[str]) -> Path:
    """The output path as a :class:`~pathlib.Path`, with a suffix :func:`save_figure` writes."""
    out = Path(path)
    if out.suffix.lower() not in SAVE_FORMATS:
        raise DataError(
            f"path: expected a file name ending in {', '.join(SAVE_FORMATS)}, got {str(path)!r}"
        )
    return out


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``path`` atomically and return the path.

    The parent directory is created; the figure is written to a hidden temporary name in
    the same directory and renamed onto ``path`` only when complete, so a reader never sees
    a half-written file. The format follows the suffix (``.png``, ``.pdf`` or ``.svg``).
    """
    out = check_path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as handle:
            fig.savefig(handle, format=SAVE_FORMATS[out.suffix.lower()])
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
