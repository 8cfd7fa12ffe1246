"""A batch of Pythia events -> jet rows: cluster, select, match to truth, tabulate.

Reconstructed samples (pile-up and/or detector between Pythia and the clustering) also
match each selected jet to its particle-level jet (:mod:`hepdl.generate.gen_jets`):
unmatched jets are dropped, and every row carries ``gen_jet_*`` and the per-event
columns of the transform (pile-up). At particle level the jet is its own particle-level
jet: no ``gen_jet_*`` columns, and the columns and bytes of such samples are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepdl.generate import _jets, _truth, gen_jets
from hepdl.generate._pythia import FlatEvents
from hepdl.generate.settings import JetSelection

# What the engine may put between Pythia's visible particles and the clustering (pile-up
# overlay, detector response): particles of a batch in, particles of the batch out, with
# a function giving per-event columns for the batch events of the rows kept, events (R,)
# -> {name: (R,)} (may be empty; computed after the selection because some are costly).
EventColumnsOf = Callable[[np.ndarray], dict[str, np.ndarray]]
ParticleTransform = Callable[[_jets.Particles], tuple[_jets.Particles, EventColumnsOf]]


@dataclass(frozen=True)
class JetRows:
    """Turns events into jet rows for one class.

    truth_pid: the resonance (6, 24, 23, 25) whose hadronic decay must lie in the jet,
        or None (QCD, quark and gluon jets: every selected jet counts).
    transform: pile-up and detector response applied to the visible particles, or None;
        with one, jets are matched to particle-level jets (module docstring).
    """

    selection: JetSelection
    truth_pid: int | None
    charge: Callable[[np.ndarray], np.ndarray]
    transform: ParticleTransform | None = None

    def __call__(self, events: FlatEvents) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Columns of the selected jets and the (R,) batch event of each, ascending."""
        s = self.selection
        particles = generated = _jets.visible_particles(events, self.charge)
        event_columns: EventColumnsOf | None = None
        if self.transform is not None:
            particles, event_columns = self.transform(particles)
        particles = self._reachable(particles)
        jets = _jets.cluster(particles, radius=s.radius, pt_min=s.pt_min)
        keep = _jets.in_window(
            jets, pt_min=s.pt_min, pt_max=s.pt_max, eta_max=s.eta_max, rapidity_max=s.rapidity_max
        )
        if s.leading_only:
            keep &= _jets.leading(jets)
        jets = jets.take(keep)
        if self.truth_pid is not None:
            jets = jets.take(
                _truth.resonance_matched(
                    jets, events, resonance_pid=self.truth_pid, radius=s.match_radius
                )
            )
        gen_columns: dict[str, np.ndarray] = {}
        if self.transform is not None:
            jets, gen_columns = self._matched_to_particle_level(jets, generated)
        columns: dict[str, Any] = _jets.jet_columns(jets, particles)
        columns.update(_truth.matched_parton(jets, events, radius=s.match_radius))
        columns.update(gen_columns)
        if event_columns is not None:
            columns.update(event_columns(jets.event))
        return columns, jets.event

    def _matched_to_particle_level(
        self, jets: _jets.Jets, generated: _jets.Particles
    ) -> tuple[_jets.Jets, dict[str, np.ndarray]]:
        """The jets with a particle-level jet within ΔR < R/2, and its ``gen_jet_*``.

        Only the events with a selected jet are clustered again (most events of a
        resonance-matched class have none).
        """
        radius = self.selection.radius
        generated = self._reachable(generated.take(np.isin(generated.event, jets.event)))
        gen = gen_jets.cluster_gen_jets(generated, radius=radius)
        index, dr = gen_jets.match_gen_jets(jets, gen, max_dr=radius / 2)
        matched = index >= 0
        return jets.take(matched), gen_jets.gen_jet_columns(gen, index[matched], dr[matched])

    def _reachable(self, particles: _jets.Particles) -> _jets.Particles:
        """Drop particles too far forward to belong to a jet inside the window.

        Anti-kT merges two objects only when they are closer than R (d_ij < d_iB needs
        ΔR_ij < R), so a jet's constituents lie within about R of its axis in rapidity;
        a particle with |y| > y_max + 2R cannot be in a selected jet, and leaving it out
        (half of a 14 TeV event lies at |y| > 3.6) makes the clustering faster. Not done
        for leading-jet samples, where a forward jet can decide which jet leads.
        """
        s = self.selection
        window = s.rapidity_max if s.rapidity_max is not None else s.eta_max
        if s.leading_only or window is None:
            return particles
        return particles.take(np.abs(particles.rapidity()) < window + 2 * s.radius)
