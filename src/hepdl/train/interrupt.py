"""A fit stopped by a signal: SIGTERM (a batch system's time limit) or SIGINT (Ctrl-C).

Lightning ends a fit it receives SIGTERM in after the current batch by raising
``SIGTERMException``, a ``SystemExit`` with no code (the process would exit 0, as if the
run had finished), and one it receives SIGINT in with ``sys.exit(1)``. Both become one
:class:`RunInterrupted` naming the run directory and the checkpoint a resumed run
continues from: the one of the last complete epoch, so the resumed run ends with the
weights of an uninterrupted one (``hepdl.train.resume``). The epoch in progress is
trained again; a checkpoint from the middle of an epoch could not be resumed exactly.
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


@contextmanager
def stopped_by_signal(trainer: Any, run_dir: Path) -> Iterator[None]:
    """Turn Lightning's exits on SIGTERM and SIGINT inside the block (``trainer.fit``)
    into :class:`RunInterrupted`; any other exit passes unchanged."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    try:
        yield
    except SIGTERMException:
        raise interrupted(signal.SIGTERM, run_dir) from None
    except SystemExit as err:
        if not isinstance(err.__context__, KeyboardInterrupt):  # Lightning's sys.exit(1)
            raise
        raise interrupted(signal.SIGINT, run_dir) from None
    except KeyboardInterrupt:  # outside Lightning's handler (between its calls)
        raise interrupted(signal.SIGINT, run_dir) from None


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
