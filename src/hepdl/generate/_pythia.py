"""A configured, quiet Pythia and its event record as flat NumPy arrays.

``Pythia.nextBatch(n)`` (pythia8mc >= 8.316) returns ``n`` events as one awkward array,
``events.prt`` (var * particle) with fields ``id, status, mother1, mother2, daughter1,
daughter2, col, acol, p{px, py, pz, e}, m, scale, pol, vProd, tau``. It carries no
``isFinal`` and no ``charge``: a final-state particle is ``status > 0`` and the charge
comes from the particle data table, looked up once per distinct PDG id.

Here the jagged record is flattened into one array per field, with global indices:
the particle ``i`` of event ``k`` is at ``starts[k] + i`` and mother/daughter indices are
made global the same way, so the whole batch is handled with NumPy, no Python loop per
particle.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from hepdl.errors import GenerationError

# Pythia accepts a random seed in [1, 900000000] (Random:seed, 0 would mean "use the clock").
PYTHIA_SEED_MAX = 900_000_000


class _Captured:
    text: str = ""


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - non-POSIX platforms
        pass


@contextlib.contextmanager
def capture_native_stdout() -> Iterator[_Captured]:
    """Catch what C/C++ code prints on file descriptor 1 (Pythia's and FastJet's messages).

    Pythia prints its errors on ``std::cout`` even with ``Print:quiet = on`` and FastJet
    prints a banner on first use; the text is kept (``captured.text``) so that it can go
    into an error message instead of the user's terminal. Everything written to file
    descriptor 1 meanwhile, by any thread, is caught too: keep the block short.
    """
    captured = _Captured()
    sys.stdout.flush()
    _flush_c_stdio()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (a detached process): nothing to catch
        yield captured
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield captured
        finally:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode(errors="replace")


def _pythia_messages(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-6:]) if lines else "no message from Pythia"


def make_pythia(settings: Sequence[str], *, sample: str) -> Any:
    """Return an initialised ``pythia8mc.Pythia`` configured with ``settings``, in order.

    ``Print:quiet = on`` is applied first, then each setting; a setting that
    ``readString`` refuses, or a failing ``init()``, raises GenerationError naming it.
    """
    import pythia8mc

    rejected: str | None = None
    initialised = False
    with capture_native_stdout() as out:
        pythia = pythia8mc.Pythia("", False)
        for setting in ("Print:quiet = on", *settings):
            if not pythia.readString(setting):
                rejected = setting
                break
        else:
            initialised = bool(pythia.init())
    if rejected is not None:
        raise GenerationError(
            f"Pythia rejected the setting {rejected!r} of the {sample!r} sample "
            f"(expected 'Name = value' with a known name and a valid value; "
            f"Pythia says: {_pythia_messages(out.text)})"
        )
    if not initialised:
        raise GenerationError(
            f"Pythia could not initialise the {sample!r} sample with the settings "
            f"{list(settings)!r}; Pythia says: {_init_diagnosis(settings)}"
        )
    return pythia


def _init_diagnosis(settings: Sequence[str]) -> str:
    """Pythia's own reason for a failed ``init()``.

    ``Print:quiet = on`` also silences the reason, so the same settings are tried once
    more without it, with the (long) output caught and only its error lines kept.
    """
    import pythia8mc

    with capture_native_stdout() as out:
        pythia = pythia8mc.Pythia("", False)
        for setting in settings:
            pythia.readString(setting)
        pythia.init()
    errors = [line for line in out.text.splitlines() if "PYTHIA Error" in line or "Abort" in line]
    return _pythia_messages("\n".join(errors))


def pythia_versions() -> dict[str, str]:
    """The Pythia release (``8.317``) and the pythia8mc package version (``8.317.2``)."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    return {
        "name": "Pythia",
        "version": f"{pythia.settings.parm('Pythia:versionNumber'):.3f}",
        "package": "pythia8mc",
        "package_version": metadata.version("pythia8mc"),
    }


@dataclass(frozen=True)
class FlatEvents:
    """One batch of Pythia events, each field flattened over all particles.

    ``n`` events, ``N`` particles in total (event-record entry 0, the system, included).
    Mother and daughter indices are global; -1 where Pythia has 0 (none).
    """

    counts: np.ndarray  # (n,) int64, particles per event
    starts: np.ndarray  # (n,) int64, global index of each event's entry 0
    pid: np.ndarray  # (N,) int32
    status: np.ndarray  # (N,) int32
    mother1: np.ndarray  # (N,) int64
    daughter1: np.ndarray  # (N,) int64
    daughter2: np.ndarray  # (N,) int64
    px: np.ndarray  # (N,) float64
    py: np.ndarray  # (N,) float64
    pz: np.ndarray  # (N,) float64
    e: np.ndarray  # (N,) float64

    @property
    def n_events(self) -> int:
        return len(self.counts)

    @property
    def event_of(self) -> np.ndarray:
        """(N,) the event index of every particle."""
        return np.repeat(np.arange(self.n_events), self.counts)


def next_batch(pythia: Any, n_events: int) -> FlatEvents:
    """Generate ``n_events`` with ``pythia.nextBatch`` and flatten them.

    Events Pythia fails to generate are skipped (``errorMode='skip'``), so a batch
    can be shorter than asked.
    """
    import awkward as ak

    # No output capture here: with Print:quiet on, generation prints nothing, and a long
    # redirection of file descriptor 1 would swallow a progress bar drawn meanwhile.
    batch = pythia.nextBatch(n_events, "skip")
    if len(batch) == 0:
        empty_i = np.zeros(0, np.int64)
        empty_f = np.zeros(0, np.float64)
        return FlatEvents(
            empty_i,
            empty_i,
            empty_i.astype(np.int32),
            empty_i.astype(np.int32),
            empty_i,
            empty_i,
            empty_i,
            empty_f,
            empty_f,
            empty_f,
            empty_f,
        )
    if "prt" not in batch.fields:
        raise GenerationError(
            f"pythia.nextBatch returned fields {batch.fields}, expected 'prt' (the particle "
            "record); this pythia8mc version is not supported"
        )
    prt = batch["prt"]
    counts = ak.to_numpy(ak.num(prt)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    base = np.repeat(starts, counts)

    def flat(array: Any, dtype: type) -> np.ndarray:
        return np.ascontiguousarray(ak.to_numpy(ak.flatten(array)), dtype=dtype)

    def global_index(local: np.ndarray) -> np.ndarray:
        return np.where(local > 0, local + base, -1)

    momentum = prt["p"]
    return FlatEvents(
        counts=counts,
        starts=starts,
        pid=flat(prt["id"], np.int32),
        status=flat(prt["status"], np.int32),
        mother1=global_index(flat(prt["mother1"], np.int64)),
        daughter1=global_index(flat(prt["daughter1"], np.int64)),
        daughter2=global_index(flat(prt["daughter2"], np.int64)),
        px=flat(momentum["px"], np.float64),
        py=flat(momentum["py"], np.float64),
        pz=flat(momentum["pz"], np.float64),
        e=flat(momentum["e"], np.float64),
    )


class ChargeTable:
    """Electric charges (units of e) of PDG ids, asked of Pythia once per distinct id."""

    def __init__(self, pythia: Any) -> None:
        self._data = pythia.particleData
        self._known: dict[int, float] = {}

    def __call__(self, pid: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(pid, return_inverse=True)
        for code in unique.tolist():
            if code not in self._known:
                self._known[code] = float(self._data.charge(code))
        values = np.array([self._known[code] for code in unique.tolist()], dtype=np.float64)
        return values[inverse].reshape(pid.shape)
