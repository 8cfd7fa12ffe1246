"""Pile-up: minimum-bias events overlaid on the hard-scattering events.

At a hadron collider each bunch crossing holds, besides the hard collision, a Poisson
number of soft proton-proton collisions (mean μ ≈ 30-60 at the LHC in Run 2-3, 200 at
the HL-LHC). They are simulated as Pythia non-diffractive events at the same sqrt(s)
and appended to the hard event's particles with ``is_pileup = True``, so that
truth-level matching (jets to the hard process's partons) can ignore them. All
collisions share the origin: there is no vertex spread, hence no charged-hadron
subtraction by vertex here (a study can drop ``is_pileup`` charged candidates itself).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate._jets import Particles, visible_particles
from hepdl.generate._pythia import PYTHIA_SEED_MAX, ChargeTable, make_pythia, next_batch
from hepdl.generate.detector import FlaggedParticles, check_particles, pileup_flags

#: Minimum-bias Pythia settings; :func:`minbias_pythia_settings` adds sqrt(s) and the seed.
MINBIAS_PYTHIA_SETTINGS: tuple[str, ...] = (
    "Beams:idA = 2212",
    "Beams:idB = 2212",
    "SoftQCD:nonDiffractive = on",
    # The same stable-particle definition as the hard samples (c·tau > 10 mm is stable).
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 10",
)

# Give up after this many batches in a row in which Pythia produced no event.
_MAX_EMPTY_BATCHES = 10


def pileup_counts(rng: np.random.Generator, mean: float, n_events: int) -> np.ndarray:
    """(n_events,) int64 numbers of pile-up collisions, Poisson distributed with ``mean``."""
    if isinstance(mean, bool) or not isinstance(mean, (int, float, np.number)):
        raise GenerationError(f"pile-up option 'mean' must be a finite number >= 0, got {mean!r}")
    if not (math.isfinite(mean) and mean >= 0):
        raise GenerationError(f"pile-up option 'mean' must be a finite number >= 0, got {mean!r}")
    return rng.poisson(float(mean), _integer("n_events", n_events, 0)).astype(np.int64)


def pileup_draws(
    rng: np.random.Generator,
    n_events: int,
    *,
    mean: float | None = None,
    mu_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(mu (n_events,) float64, counts (n_events,) int64)``: each event's mean pile-up
    and its number of pile-up collisions, for exactly one of ``mean`` and ``mu_range``.

    With ``mean``, mu = mean and the counts are :func:`pileup_counts` (the same draws).
    With ``mu_range = (low, high)``, mu ~ Uniform[low, high] per event, then the count ~
    Poisson(mu): a sample flat in mu, as a calibration across pile-up conditions wants,
    instead of one run's luminosity profile.
    """
    if (mean is None) == (mu_range is None):
        raise GenerationError("pile-up draws need exactly one of 'mean' and 'mu_range'")
    if mean is not None:
        counts = pileup_counts(rng, mean, n_events)
        return np.full(len(counts), float(mean)), counts
    low, high = check_mu_range(mu_range)
    mu = rng.uniform(low, high, _integer("n_events", n_events, 0))
    return mu, rng.poisson(mu).astype(np.int64)


def check_mu_range(mu_range: Any) -> tuple[float, float]:
    """``(low, high)`` as floats; GenerationError unless two finite numbers, 0 <= low <= high."""
    try:
        low, high = mu_range
    except (TypeError, ValueError):
        low = high = None
    numbers = all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)
        for v in (low, high)
    )
    if isinstance(mu_range, (str, bytes)) or not numbers:
        raise GenerationError(
            f"pile-up range must be two finite numbers (low, high), got {mu_range!r}"
        )
    if low < 0 or high < low:
        raise GenerationError(
            f"pile-up range must satisfy 0 <= low <= high, got low = {low}, high = {high}"
        )
    return float(low), float(high)


def overlay_pileup(
    hard: Particles, minbias: Particles, n_per_event: np.ndarray
) -> FlaggedParticles:
    """Append to event k of ``hard`` the particles of the next ``n_per_event[k]`` events of
    ``minbias``, consumed in order (event 0 takes minimum-bias events 0 .. n_0 - 1, ...).

    Within an event the hard particles come first, then the pile-up ones, flagged
    ``is_pileup``. ``minbias`` events beyond sum(n_per_event) are left unused.
    """
    check_particles(hard)
    check_particles(minbias)
    n_per_event = np.asarray(n_per_event)
    if n_per_event.shape != (hard.n_events,) or (
        n_per_event.size and (n_per_event.dtype.kind not in "iu" or n_per_event.min() < 0)
    ):
        raise GenerationError(
            f"n_per_event must hold one integer >= 0 per hard event, shape ({hard.n_events},), "
            f"got a {n_per_event.dtype} array of shape {n_per_event.shape}"
        )
    needed = int(n_per_event.sum())
    if needed > minbias.n_events:
        raise GenerationError(
            f"overlay_pileup needs {needed} minimum-bias events (sum of n_per_event), "
            f"got {minbias.n_events}"
        )
    used = int(np.searchsorted(minbias.event, needed))  # particles of events < needed
    host = np.repeat(np.arange(hard.n_events), n_per_event)  # (needed,) hard event of each
    event = np.concatenate([hard.event, host[minbias.event[:used]]])  # (M_hard + used,)
    order = np.argsort(event, kind="stable")  # hard particles first within each event

    def merged(name: str) -> np.ndarray:
        return np.concatenate([getattr(hard, name), getattr(minbias, name)[:used]])[order]

    return FlaggedParticles(
        n_events=hard.n_events,
        event=event[order],
        px=merged("px"),
        py=merged("py"),
        pz=merged("pz"),
        e=merged("e"),
        pid=merged("pid"),
        charge=merged("charge"),
        is_pileup=np.concatenate([pileup_flags(hard), np.ones(used, bool)])[order],
    )


class PileupLibrary:
    """A fixed set of minimum-bias events from which every hard event draws its pile-up.

    Generating fresh minimum-bias events costs about 5 ms each with Pythia, so at mu = 35
    three quarters of a pile-up sample's time goes into them. The experiments' answer is
    a pile-up library (CMS's "premixing" from a finite minimum-bias file): generate
    ``len(library)`` events once and draw each hard event's ``n`` collisions from them
    uniformly, with replacement. Each drawn copy is rotated by a uniform azimuth and
    reflected in z with probability 1/2, both exact symmetries of a minimum-bias pp
    collision, so a reused event lands elsewhere in (eta, phi).

    The price is correlation: two hard events share on average n^2 / L library events
    (about 1.2 at n = 35, L = 1000), in other places of the detector. Per-event sums
    (multiplicity, scalar pT, rho) are fluctuations of the library's events and stay
    unbiased; what shrinks is the number of distinct minimum-bias collisions a training
    set has seen, so a library much smaller than mu x (events per chunk) should be
    chosen only when generation time matters. ``library_size = 0`` (``SampleSettings``)
    keeps fresh events.
    """

    def __init__(self, events: Particles) -> None:
        check_particles(events)
        if events.n_events < 1:
            raise GenerationError("a pile-up library needs at least one minimum-bias event")
        self.events = events
        # (L + 1,) particle offsets of each library event (events are sorted by number)
        self._offsets = np.searchsorted(events.event, np.arange(events.n_events + 1))

    def __len__(self) -> int:
        return self.events.n_events

    def draw(self, rng: np.random.Generator, n_events: int) -> FlaggedParticles:
        """``n_events`` events drawn from the library, each a rotated (and perhaps
        z-reflected) copy, numbered 0 .. n_events - 1, all flagged ``is_pileup``."""
        n_events = _integer("n_events", n_events, 0)
        chosen = rng.integers(0, len(self), n_events)  # (n_events,) library event of each
        phi = rng.uniform(-np.pi, np.pi, n_events)  # azimuthal rotation of each copy
        flip = np.where(rng.random(n_events) < 0.5, -1.0, 1.0)  # z -> -z for half of them
        start, stop = self._offsets[chosen], self._offsets[chosen + 1]
        sizes = stop - start  # (n_events,) particles of each copy
        copy = np.repeat(np.arange(n_events), sizes)  # (M,) copy of each drawn particle
        # (M,) index into the library: start of its copy + its rank within the copy
        rank = np.arange(len(copy)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        index = start[copy] + rank
        cos, sin = np.cos(phi)[copy], np.sin(phi)[copy]
        px, py = self.events.px[index], self.events.py[index]
        return FlaggedParticles(
            n_events=n_events,
            event=copy.astype(np.int64),
            px=cos * px - sin * py,
            py=sin * px + cos * py,
            pz=flip[copy] * self.events.pz[index],
            e=self.events.e[index],
            pid=self.events.pid[index],
            charge=self.events.charge[index],
            is_pileup=np.ones(len(copy), bool),
        )


def minbias_pythia_settings(*, sqrt_s: float, seed: int, extra: Sequence[str] = ()) -> list[str]:
    """Every Pythia setting string of the minimum-bias source, in the order applied."""
    return [
        *MINBIAS_PYTHIA_SETTINGS,
        f"Beams:eCM = {sqrt_s!r}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        *extra,
    ]


class PileupSource:
    """Minimum-bias events on demand, from a seeded Pythia or any event source.

    ``PileupSource(sqrt_s=14000.0, seed=7)`` owns a Pythia (``SoftQCD:nonDiffractive``)
    seeded with ``seed`` in [1, 900000000]; ``pythia_settings`` (e.g. the hard sample's
    tune) are applied last. Events are generated ``batch_size`` at a time and the unused
    ones kept for the next :meth:`take`, so the events handed out are the same whatever
    the sizes asked. Only their visible final-state particles are kept.
    :meth:`from_generator` wraps another source (events read from a file, a test).
    """

    def __init__(
        self,
        *,
        sqrt_s: float,
        seed: int,
        pythia_settings: Sequence[str] = (),
        batch_size: int = 64,
    ) -> None:
        batch_size = _integer("batch_size", batch_size, 1)  # before the slow Pythia start
        seed = _integer("seed", seed, 1)
        if seed > PYTHIA_SEED_MAX:
            raise GenerationError(
                f"pile-up option 'seed' must be an integer in [1, {PYTHIA_SEED_MAX}], got {seed}"
            )
        if isinstance(sqrt_s, bool) or not isinstance(sqrt_s, (int, float)) or not sqrt_s > 0:
            raise GenerationError(f"pile-up option 'sqrt_s' must be > 0 GeV, got {sqrt_s!r}")
        settings = minbias_pythia_settings(sqrt_s=float(sqrt_s), seed=seed, extra=pythia_settings)
        pythia = make_pythia(settings, sample="minimum-bias")
        charge = ChargeTable(pythia)
        self._setup(lambda n: visible_particles(next_batch(pythia, n), charge), batch_size)
        self.settings = settings

    @classmethod
    def from_generator(
        cls, generate: Callable[[int], Particles], *, batch_size: int = 64
    ) -> PileupSource:
        """A source drawing from ``generate(n) -> Particles`` (up to ``n`` events a call)."""
        source = cls.__new__(cls)
        source._setup(generate, batch_size)
        return source

    def _setup(self, generate: Callable[[int], Particles], batch_size: int) -> None:
        self._batch_size = _integer("batch_size", batch_size, 1)
        self._generate = generate
        self._buffer: list[Particles] = []  # unused events, oldest first
        self.settings: list[str] = []
        self.events_generated = 0

    @property
    def buffered(self) -> int:
        """Events generated and not yet handed out."""
        return sum(part.n_events for part in self._buffer)

    def take(self, n_events: int) -> FlaggedParticles:
        """The next ``n_events`` minimum-bias events, all particles flagged ``is_pileup``."""
        n_events = _integer("n_events", n_events, 0)
        have, empty = self.buffered, 0
        while have < n_events:
            batch = self._generate(self._batch_size)
            check_particles(batch)
            self.events_generated += batch.n_events
            empty = empty + 1 if batch.n_events == 0 else 0
            if empty >= _MAX_EMPTY_BATCHES:
                raise GenerationError(
                    f"the minimum-bias source produced no event in {empty} batches in a row "
                    f"(settings {self.settings!r})"
                )
            self._buffer.append(batch)
            have += batch.n_events
        pool = _concatenate(self._buffer)
        self._buffer = [_events(pool, n_events, pool.n_events)]
        return _events(pool, 0, n_events)


def _events(particles: Particles, start: int, stop: int) -> FlaggedParticles:
    """Events ``start`` .. ``stop`` - 1 of ``particles``, renumbered from 0, flagged pile-up."""
    first, last = np.searchsorted(particles.event, [start, stop])
    return FlaggedParticles(
        n_events=stop - start,
        event=particles.event[first:last] - start,
        px=particles.px[first:last],
        py=particles.py[first:last],
        pz=particles.pz[first:last],
        e=particles.e[first:last],
        pid=particles.pid[first:last],
        charge=particles.charge[first:last],
        is_pileup=np.ones(last - first, bool),
    )


def _concatenate(parts: Sequence[Particles]) -> Particles:
    """The events of ``parts`` one after the other (no part: no event)."""
    offsets = np.cumsum([0] + [part.n_events for part in parts])

    def joined(name: str) -> np.ndarray:
        return np.concatenate([np.zeros(0)] + [getattr(part, name) for part in parts])

    return Particles(
        n_events=int(offsets[-1]),
        event=np.concatenate(
            [np.zeros(0, np.int64)] + [p.event + o for p, o in zip(parts, offsets, strict=False)]
        ),
        px=joined("px"),
        py=joined("py"),
        pz=joined("pz"),
        e=joined("e"),
        pid=joined("pid").astype(np.int32),
        charge=joined("charge"),
    )


def _integer(option: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise GenerationError(
            f"pile-up option {option!r} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)
