"""A fit stopped by a signal: SIGTERM (a batch system's time limit) or SIGINT (Ctrl-C).

Lightning ends a fit it receives SIGTERM in after the current batch by raising
``SIGTERMException``, a ``SystemExit`` with no code (the process would exit 0, as if the
run had finished), and one it receives SIGINT in with ``sys.exit(1)``. Both become one
:class:`RunInterrupted` naming the run directory and the checkpoint a resumed run
continues from: the one of the last complete epoch, so the resumed run ends with the
weights of an uninterrupted one (``hepdl.train.resume``). The epoch in progress is
trained again; a checkpoint from the middle of an epoch could not be resumed exactly.

Outside a fit (reading or generating data, evaluating) the ``hepdl`` command's handlers
(:func:`handle_stop_signals`) turn either signal into :class:`Stopped`, which unwinds
like any error (temporary files removed, run directories marked ``FAILED``) and becomes
one line naming what was stopped (:func:`activity`) and what was kept, exit 143 or 130.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hepdl.errors import HepdlError


class RunInterrupted(HepdlError):
    """Training stopped by ``signum``; ``exit_code`` is the shell's 128 + signal number
    (143 for SIGTERM, 130 for SIGINT)."""

    def __init__(self, message: str, *, signum: int, run_dir: Path) -> None:
        super().__init__(message)
        self.signum = signum
        self.run_dir = Path(run_dir)
        self.exit_code = 128 + signum


class Stopped(BaseException):
    """SIGTERM or SIGINT received outside a fit. A BaseException, so that no ``except
    Exception`` takes it for an error it can handle; what was being done (``activity``)
    and what remains (``kept``: run directories marked failed, ...) are added while it
    unwinds. ``exit_code`` is 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        self.activity: str | None = None
        self.kept: list[str] = []

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        during = f" while {self.activity}" if self.activity else ""
        kept = "; ".join(self.kept) if self.kept else "no file was left half-written"
        return f"stopped by {name}{during}; {kept}"


_FITTING = [0]  # fits in progress (stopped_by_signal blocks): SIGINT is Lightning's there


def _stop(signum: int, frame: Any) -> None:
    """The handler of SIGTERM and SIGINT: raise :class:`Stopped`, except in a fit. There
    Lightning calls it from its own SIGTERM handler (the fit then stops after the batch)
    and takes SIGINT as the KeyboardInterrupt it expects; a SIGTERM before Lightning's
    handler is in place stops the fit at once (stopped_by_signal)."""
    if signum == signal.SIGTERM and signal.getsignal(signal.SIGTERM) is not _stop:
        return  # called by Lightning's handler
    if signum == signal.SIGINT and _FITTING[0]:
        signal.default_int_handler(signum, frame)
    for each in (signal.SIGTERM, signal.SIGINT):  # a second signal must not interrupt the
        signal.signal(each, signal.SIG_IGN)  # clean-up (temporary files, FAILED markers)
    raise Stopped(signum)


def handle_stop_signals() -> None:
    """Install the handler that turns SIGTERM and SIGINT into :class:`Stopped` (the
    ``hepdl`` command, in its main thread)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)


@contextmanager
def activity(what: str, *, kept: str | None = None) -> Iterator[None]:
    """Name what the block does (``"reading data"``) in a :class:`Stopped` raised inside
    it (the innermost block names it), with ``kept``: what a stop there leaves."""
    try:
        yield
    except Stopped as err:
        if err.activity is None:
            err.activity = what
            if kept is not None:
                err.kept.append(kept)
        raise


@contextmanager
def stopped_by_signal(trainer: Any, run_dir: Path) -> Iterator[None]:
    """Turn Lightning's exits on SIGTERM and SIGINT inside the block (``trainer.fit``)
    into :class:`RunInterrupted`; any other exit passes unchanged."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    _FITTING[0] += 1
    try:
        yield
    except SIGTERMException:
        raise interrupted(signal.SIGTERM, run_dir) from None
    except Stopped as err:  # SIGTERM before Lightning's handler was in place
        raise interrupted(err.signum, run_dir) from None
    except SystemExit as err:
        if not isinstance(err.__context__, KeyboardInterrupt):  # Lightning's sys.exit(1)
            raise
        raise interrupted(signal.SIGINT, run_dir) from None
    except KeyboardInterrupt:  # outside Lightning's handler (between its calls)
        raise interrupted(signal.SIGINT, run_dir) from None
    finally:
        _FITTING[0] -= 1


def interrupted(signum: int, run_dir: Path) -> RunInterrupted:
    """The error for a fit in ``run_dir`` stopped by ``signum``: what it kept."""
    from hepdl.errors import DataError
    from hepdl.train.checkpoints import last_checkpoint

    name = signal.Signals(signum).name
    folder = Path(run_dir) / "checkpoints"
    try:
        path, checkpoint = last_checkpoint(folder)
        kept = (
            f"{path} holds epoch {int(checkpoint['epoch'])}, its last complete one; a "
            "resumed run continues from there to the weights of an uninterrupted run"
        )
    except DataError:
        kept = "no epoch was complete, so a resumed run trains from the start"
    return RunInterrupted(
        f"training in {run_dir} stopped by {name}: {kept}", signum=signum, run_dir=run_dir
    )
