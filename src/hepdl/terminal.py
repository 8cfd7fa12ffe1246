"""Whether output goes to a terminal: progress bars there, printed lines in a log file.

A progress bar redraws itself with carriage returns; written to a log file (``hepdl train
... > train.log``, a batch job's output) the redraws become one unreadable line, or, for
rich's bars, nothing until the end. Training (:mod:`hepdl.train.epoch_log`) and
generation (``hepdl generate``) ask :func:`draws_progress_bars` and print one line per
epoch or per step of progress instead. No heavy import here: the CLI asks it first.
"""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["draws_progress_bars"]


def draws_progress_bars(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default ``sys.stdout``) is a terminal, or a Jupyter kernel's
    output (where tqdm draws a widget, not carriage returns)."""
    stream = sys.stdout if stream is None else stream
    if type(stream).__module__.startswith("ipykernel"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
