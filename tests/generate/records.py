"""Hand-made Pythia event records for the generation tests (no Pythia run).

A record is a list of rows ``(pid, status, daughter1, daughter2, pt, eta, phi, mass)``
with local indices as in Pythia (0 = none); ``mother1`` is derived from the daughters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.generate._pythia import FlatEvents


def momentum(pt: Any, eta: Any, phi: Any, mass: Any = 0.0) -> tuple[Any, ...]:
    """(px, py, pz, E) of (pT, η, φ, m); scalars or arrays."""
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + mass**2)


def flat_events(records: list[list[tuple]]) -> FlatEvents:
    counts = np.array([len(r) for r in records], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    rows = [(start, row) for start, rec in zip(starts, records, strict=True) for row in rec]
    pid = np.array([r[0] for _, r in rows], np.int32)
    status = np.array([r[1] for _, r in rows], np.int32)
    d1 = np.array([r[2] + s if r[2] > 0 else -1 for s, r in rows], np.int64)
    d2 = np.array([r[3] + s if r[3] > 0 else -1 for s, r in rows], np.int64)
    mother1 = np.full(len(rows), -1, np.int64)
    for i in range(len(rows)):  # the first particle listing i among its daughters
        if d1[i] >= 0:
            for child in range(d1[i], max(d2[i], d1[i]) + 1):
                if mother1[child] < 0:
                    mother1[child] = i
    p4 = np.array([momentum(*r[4:8]) for _, r in rows])
    return FlatEvents(
        counts, starts, pid, status, mother1, d1, d2, p4[:, 0], p4[:, 1], p4[:, 2], p4[:, 3]
    )


def top_event(quark_eta: float = 0.3, *, w_daughters: tuple[int, int] = (2, -1)) -> list[tuple]:
    """g g -> t (tbar not listed); t -> (copy) -> W b; b -> b g; W -> (copy) -> q q'.

    The top is at (eta, phi) = (0, 1); the W's daughters are ``w_daughters``.
    """
    return [
        (90, -11, 0, 0, 0.0, 0.0, 0.0, 0.0),  # 0 system
        (21, -21, 3, 3, 0.0, 0.0, 0.0, 0.0),  # 1 incoming gluon
        (21, -21, 3, 3, 0.0, 0.0, 0.0, 0.0),  # 2 incoming gluon
        (6, -22, 4, 4, 600.0, 0.0, 1.0, 173.0),  # 3 top
        (6, -62, 5, 6, 600.0, 0.0, 1.0, 173.0),  # 4 top, last copy
        (24, -22, 7, 7, 350.0, 0.1, 1.1, 80.0),  # 5 W
        (5, -23, 8, 9, 250.0, -0.2, 0.9, 4.8),  # 6 b
        (24, -52, 10, 11, 350.0, 0.1, 1.1, 80.0),  # 7 W, last copy
        (5, -51, 0, 0, 240.0, -0.2, 0.85, 4.8),  # 8 b after emitting a gluon: last copy
        (21, -51, 0, 0, 10.0, -0.5, 0.5, 0.0),  # 9 gluon
        (w_daughters[0], -23, 0, 0, 200.0, quark_eta, 1.3, 0.0),  # 10
        (w_daughters[1], -23, 0, 0, 150.0, -0.1, 1.0, 0.0),  # 11
        (12, 1, 0, 0, 30.0, 0.0, 1.0, 0.0),  # 12 a neutrino
        (211, 1, 0, 0, 30.0, 0.0, 1.0, 0.1396),  # 13 a pion
    ]


def boson_event(pid: int, daughters: tuple[int, int], *, recoil: int = 21) -> list[tuple]:
    """q qbar -> boson + parton ``recoil``; boson at (0, 1) -> daughters; parton at (0, -2)."""
    return [
        (90, -11, 0, 0, 0.0, 0.0, 0.0, 0.0),  # 0 system
        (2, -21, 3, 4, 0.0, 0.0, 0.0, 0.0),  # 1 incoming u
        (-2, -21, 3, 4, 0.0, 0.0, 0.0, 0.0),  # 2 incoming ubar
        (pid, -22, 5, 6, 600.0, 0.0, 1.0, 91.0),  # 3 boson
        (recoil, -23, 0, 0, 600.0, 0.0, -2.0, 0.0),  # 4 recoiling parton
        (daughters[0], -23, 0, 0, 300.0, 0.2, 1.1, 0.0),  # 5
        (daughters[1], -23, 0, 0, 300.0, -0.2, 0.9, 0.0),  # 6
    ]
