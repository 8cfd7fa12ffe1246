"""Pile-up overlay and detector response of one chunk, between Pythia and the clustering."""

from __future__ import annotations

import numpy as np

from hepdl.generate._chunk import chunk_seed
from hepdl.generate._jets import Particles
from hepdl.generate.settings import SampleSettings


class ChunkResponse:
    """Overlays pile-up (if ``settings.pileup_mean > 0``), then applies the detector (if
    ``settings.detector``), to each batch of one chunk.

    Its random numbers (pile-up counts, smearing) and its minimum-bias Pythia are seeded
    from the chunk's identity, so a chunk's rows stay independent of who runs it.
    """

    def __init__(self, settings: SampleSettings, process: str, chunk: int) -> None:
        from hepdl.generate.pileup import PileupSource

        self.detector = settings.detector
        self.pileup_mean = settings.pileup_mean
        self.rng = np.random.default_rng(chunk_seed(settings.seed, f"{process}/response", chunk))
        self.source = None
        if self.pileup_mean > 0:
            self.source = PileupSource(
                sqrt_s=settings.sqrt_s,
                seed=chunk_seed(settings.seed, f"{process}/pileup", chunk),
                pythia_settings=settings.pythia_settings,
            )

    def __call__(self, particles: Particles) -> Particles:
        from hepdl.generate.detector import detector_response
        from hepdl.generate.pileup import overlay_pileup, pileup_counts

        if self.source is not None:
            counts = pileup_counts(self.rng, self.pileup_mean, particles.n_events)
            particles = overlay_pileup(particles, self.source.take(int(counts.sum())), counts)
        if self.detector is not None:
            particles = detector_response(particles, self.detector, self.rng)
        return particles
