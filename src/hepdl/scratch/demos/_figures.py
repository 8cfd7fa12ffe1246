"""One figure per demonstration: HEP style, Agg canvas, written atomically by hepdl.plots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def drawing(
    path: str | os.PathLike[str], *, ncols: int = 1, figsize: tuple[float, float] | None = None
) -> Iterator[list[Any]]:
    """Yield ``ncols`` side-by-side axes; on leaving, save the figure to ``path``.

    matplotlib is imported here, so the demonstrations' computations stay NumPy-only.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from hepdl.plots import hep_style, save_figure

    with hep_style():
        fig = Figure(figsize=figsize or (7.0 * ncols, 6.0), layout="constrained")
        FigureCanvasAgg(fig)  # a canvas of its own: no pyplot, no global figure registry
        axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
        yield axes
        save_figure(fig, path)
