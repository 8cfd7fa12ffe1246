"""Pile-up overlay and detector response of one chunk, between Pythia and the clustering."""

from __future__ import annotations

import numpy as np

from hepdl.generate._chunk import chunk_seed
from hepdl.generate._jets import Particles
from hepdl.generate.settings import SampleSettings


class ChunkResponse:
    """Overlays pile-up (``settings.pileup_mean > 0`` or a ``settings.pileup_range``),
    then applies the detector (if ``settings.detector``), to each batch of one chunk.

    Its random numbers (pile-up means and counts, smearing) and its minimum-bias Pythia
    are seeded from the chunk's identity, so a chunk's rows stay independent of who runs
    it. Per-event columns come with the particles: with pile-up, ``pileup_mu`` and
    ``n_pileup`` (the drawn mean and the collisions overlaid) and the event activity of
    :mod:`hepdl.generate.event_activity`; without, none (samples keep their columns).
    With ``settings.pileup_library = N``, the chunk's first batch generates N
    minimum-bias events and every batch draws from them (a :class:`PileupLibrary`).
    """

    def __init__(self, settings: SampleSettings, process: str, chunk: int) -> None:
        from hepdl.generate.pileup import PileupSource

        self.detector = settings.detector
        self.pileup_mean = settings.pileup_mean
        self.pileup_range = settings.pileup_range
        self.rng = np.random.default_rng(chunk_seed(settings.seed, f"{process}/response", chunk))
        self.source = None
        self.library_size = settings.pileup_library
        self.library = None  # made at the first batch: a chunk with no row pays nothing
        most = self.pileup_range[1] if self.pileup_range is not None else self.pileup_mean
        if most > 0:  # a range 0:0 overlays nothing: no minimum-bias Pythia to start
            self.source = PileupSource(
                sqrt_s=settings.sqrt_s,
                seed=chunk_seed(settings.seed, f"{process}/pileup", chunk),
                pythia_settings=settings.pythia_settings,
            )

    @property
    def has_pileup(self) -> bool:
        return self.pileup_mean > 0 or self.pileup_range is not None

    def __call__(self, particles: Particles) -> tuple[Particles, EventColumns]:
        """The particles to cluster, and the function giving columns of chosen events."""
        from hepdl.generate.detector import detector_response
        from hepdl.generate.pileup import PileupLibrary, overlay_pileup, pileup_draws

        drawn: dict[str, np.ndarray] = {}
        if self.has_pileup:
            mu, counts = pileup_draws(
                self.rng,
                particles.n_events,
                mean=self.pileup_mean if self.pileup_range is None else None,
                mu_range=self.pileup_range,
            )
            if self.source is not None and self.library_size:
                if self.library is None:
                    self.library = PileupLibrary(self.source.take(self.library_size))
                minbias = self.library.draw(self.rng, int(counts.sum()))
                particles = overlay_pileup(particles, minbias, counts)
            elif self.source is not None:
                particles = overlay_pileup(particles, self.source.take(int(counts.sum())), counts)
            drawn = {"pileup_mu": mu, "n_pileup": counts}
        if self.detector is not None:
            particles = detector_response(particles, self.detector, self.rng)
        return particles, EventColumns(particles, drawn, activity=self.has_pileup)


class EventColumns:
    """Per-event columns of one transformed batch, computed for the events asked only.

    ``self(events)`` gives (len(events),) columns of the batch events ``events`` (the event
    of each row, ascending): the pile-up draws and, with pile-up, the event activity,
    which is computed once per distinct event and only for those events (most events of
    a batch give no row, and ρ is the slowest step of a pile-up sample).
    """

    def __init__(
        self, particles: Particles, drawn: dict[str, np.ndarray], *, activity: bool
    ) -> None:
        self.particles = particles
        self.drawn = drawn
        self.activity = activity

    def __call__(self, events: np.ndarray) -> dict[str, np.ndarray]:
        from hepdl.generate.event_activity import event_activity

        columns = {name: values[events] for name, values in self.drawn.items()}
        if self.activity:
            distinct, row_event = np.unique(events, return_inverse=True)
            activity = event_activity(self.particles, distinct)
            columns.update({name: values[row_event] for name, values in activity.items()})
        return columns
