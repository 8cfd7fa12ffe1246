"""Pile-up counts, overlay and the minimum-bias source, against loops written here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepdl.errors import GenerationError
from hepdl.generate._jets import Particles
from hepdl.generate.detector import DetectorSettings, FlaggedParticles, detector_response
from hepdl.generate.pileup import (
    MINBIAS_PYTHIA_SETTINGS,
    PileupSource,
    minbias_pythia_settings,
    overlay_pileup,
    pileup_counts,
)


def serial_events(counts: list[int], first_serial: int = 0) -> Particles:
    """Events whose particles carry serial numbers in px: (event serial) * 100 + index."""
    event = np.repeat(np.arange(len(counts)), counts)
    local = np.concatenate([np.arange(c) for c in counts]) if counts else np.zeros(0)
    serial = (event + first_serial) * 100.0 + local
    return Particles(
        n_events=len(counts),
        event=event,
        px=serial,
        py=np.ones(len(event)),
        pz=np.zeros(len(event)),
        e=np.hypot(serial, 1.0),
        pid=np.full(len(event), 211, np.int32),
        charge=np.ones(len(event)),
    )


def test_pileup_counts_are_poisson() -> None:
    n, mean = 100_000, 40.0
    counts = pileup_counts(np.random.default_rng(3), mean, n)
    assert counts.shape == (n,) and counts.dtype == np.int64
    assert counts.mean() == pytest.approx(mean, abs=4 * math.sqrt(mean / n))
    assert counts.var() == pytest.approx(mean, rel=0.03)
    # P(0) of a Poisson of mean 1.5 is exp(-1.5).
    zero = (pileup_counts(np.random.default_rng(4), 1.5, n) == 0).mean()
    p0 = math.exp(-1.5)
    assert zero == pytest.approx(p0, abs=4 * math.sqrt(p0 * (1 - p0) / n))
    np.testing.assert_array_equal(counts, pileup_counts(np.random.default_rng(3), mean, n))
    assert pileup_counts(np.random.default_rng(0), 0.0, 5).tolist() == [0] * 5


@pytest.mark.parametrize(
    ("mean", "n_events", "message"),
    [
        (-1.0, 3, "pile-up option 'mean' must be a finite number >= 0, got -1.0"),
        (float("inf"), 3, "pile-up option 'mean' must be a finite number >= 0, got inf"),
        ("40", 3, "pile-up option 'mean' must be a finite number >= 0, got '40'"),
        (40.0, -2, "pile-up option 'n_events' must be an integer >= 0, got -2"),
        (40.0, 2.0, "pile-up option 'n_events' must be an integer >= 0, got 2.0"),
    ],
)
def test_pileup_counts_bad_options(mean: object, n_events: object, message: str) -> None:
    with pytest.raises(GenerationError) as error:
        pileup_counts(np.random.default_rng(0), mean, n_events)  # type: ignore[arg-type]
    assert str(error.value) == message


def test_overlay_appends_minbias_events_in_order() -> None:
    hard = serial_events([2, 1, 3], first_serial=1000)
    minbias = serial_events([1, 2, 0, 3, 2, 4, 5])  # the last event stays unused
    n_per_event = np.array([2, 0, 4])
    out = overlay_pileup(hard, minbias, n_per_event)
    # Naive: event by event, the hard particles then the next minimum-bias events.
    expected_px, expected_flag, expected_event = [], [], []
    next_minbias = 0
    for k in range(hard.n_events):
        rows = [(x, False) for x in hard.px[hard.event == k]]
        for _ in range(n_per_event[k]):
            rows += [(x, True) for x in minbias.px[minbias.event == next_minbias]]
            next_minbias += 1
        expected_px += [x for x, _ in rows]
        expected_flag += [f for _, f in rows]
        expected_event += [k] * len(rows)
    assert isinstance(out, FlaggedParticles)
    assert out.n_events == 3
    assert out.px.tolist() == expected_px
    assert out.is_pileup.tolist() == expected_flag
    assert out.event.tolist() == expected_event
    assert out.counts.tolist() == [2 + 3, 1, 3 + 0 + 3 + 2 + 4]


def test_overlay_keeps_existing_flags_and_allows_no_pileup() -> None:
    base = serial_events([2, 1])
    hard = FlaggedParticles(
        **{f: getattr(base, f) for f in base.__dataclass_fields__},
        is_pileup=np.array([True, False, False]),
    )
    out = overlay_pileup(hard, serial_events([]), np.zeros(2, np.int64))
    assert out.is_pileup.tolist() == [True, False, False]
    np.testing.assert_array_equal(out.px, base.px)


@pytest.mark.parametrize(
    ("n_per_event", "message"),
    [
        ([2, 2], "overlay_pileup needs 4 minimum-bias events (sum of n_per_event), got 3"),
        (
            [1, 1, 1],
            "n_per_event must hold one integer >= 0 per hard event, shape (2,), got a "
            "int64 array of shape (3,)",
        ),
        (
            [1, -1],
            "n_per_event must hold one integer >= 0 per hard event, shape (2,), got a "
            "int64 array of shape (2,)",
        ),
        (
            [1.0, 1.0],
            "n_per_event must hold one integer >= 0 per hard event, shape (2,), got a "
            "float64 array of shape (2,)",
        ),
    ],
)
def test_overlay_bad_counts(n_per_event: list, message: str) -> None:
    with pytest.raises(GenerationError) as error:
        overlay_pileup(serial_events([1, 1]), serial_events([1, 1, 1]), np.array(n_per_event))
    assert str(error.value) == message


class CountingGenerator:
    """Hands out events with consecutive serial numbers, ``sizes`` events per call in turn."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        self.calls = 0
        self.serial = 0

    def __call__(self, n: int) -> Particles:
        size = min(n, self.sizes[self.calls % len(self.sizes)])
        self.calls += 1
        counts = [(self.serial + i) % 4 + 1 for i in range(size)]
        batch = serial_events(counts, first_serial=self.serial)
        self.serial += size
        return batch


@pytest.mark.parametrize(("batch_size", "sizes"), [(2, [2]), (7, [7, 0, 3]), (50, [50])])
def test_source_hands_out_consecutive_events_whatever_the_batches(
    batch_size: int, sizes: list[int]
) -> None:
    generator = CountingGenerator(sizes)
    source = PileupSource.from_generator(generator, batch_size=batch_size)
    taken = [source.take(n) for n in (3, 0, 5, 1)]
    assert [t.n_events for t in taken] == [3, 0, 5, 1]
    serials = [int(x) // 100 for t in taken for x in t.px[t.is_pileup]]
    assert sorted(set(serials)) == list(range(9))  # events 0..8, in order, none skipped
    assert serials == sorted(serials)
    assert all(t.is_pileup.all() for t in taken)
    assert source.buffered == source.events_generated - 9
    # Each event keeps its particles, renumbered from 0 in each take.
    first = taken[0]
    assert first.counts.tolist() == [1, 2, 3]


def test_source_gives_up_on_empty_batches() -> None:
    source = PileupSource.from_generator(CountingGenerator([0]), batch_size=4)
    with pytest.raises(GenerationError, match="produced no event in 10 batches in a row"):
        source.take(1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": 0}, "pile-up option 'seed' must be an integer >= 1, got 0"),
        (
            {"seed": 900_000_001},
            "pile-up option 'seed' must be an integer in [1, 900000000], got 900000001",
        ),
        ({"sqrt_s": -5.0}, "pile-up option 'sqrt_s' must be > 0 GeV, got -5.0"),
        ({"batch_size": 0}, "pile-up option 'batch_size' must be an integer >= 1, got 0"),
    ],
)
def test_source_bad_options(options: dict, message: str) -> None:
    with pytest.raises(GenerationError) as error:
        PileupSource(**{"sqrt_s": 13000.0, "seed": 1, **options})
    assert str(error.value) == message


def test_minbias_settings_are_soft_qcd_at_the_given_energy() -> None:
    strings = minbias_pythia_settings(sqrt_s=13600.0, seed=9, extra=("Tune:pp = 14",))
    assert "SoftQCD:nonDiffractive = on" in MINBIAS_PYTHIA_SETTINGS
    assert strings[: len(MINBIAS_PYTHIA_SETTINGS)] == list(MINBIAS_PYTHIA_SETTINGS)
    assert strings[len(MINBIAS_PYTHIA_SETTINGS) :] == [
        "Beams:eCM = 13600.0",
        "Random:setSeed = on",
        "Random:seed = 9",
        "Tune:pp = 14",
    ]


@pytest.mark.slow
def test_real_minimum_bias_events_overlay_and_reconstruct() -> None:
    source = PileupSource(sqrt_s=13000.0, seed=17, batch_size=4)
    events = source.take(6)
    assert events.n_events == 6 and source.buffered == source.events_generated - 6
    assert events.is_pileup.all()
    assert np.all(events.counts > 0)
    assert set(np.unique(events.charge)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
    assert not np.isin(np.abs(events.pid), [12, 14, 16]).any()  # visible particles only
    # Soft: the mean pT of non-diffractive particles is a few hundred MeV.
    assert 0.2 < np.hypot(events.px, events.py).mean() < 1.5
    again = PileupSource(sqrt_s=13000.0, seed=17, batch_size=5).take(6)
    np.testing.assert_array_equal(again.px, events.px)

    hard = Particles(
        n_events=2,
        event=np.array([0, 1]),
        px=np.array([100.0, 50.0]),
        py=np.zeros(2),
        pz=np.zeros(2),
        e=np.array([100.0, 50.0]),
        pid=np.array([22, 22], np.int32),
        charge=np.zeros(2),
    )
    mixed = overlay_pileup(hard, events, np.array([2, 3]))
    assert mixed.counts.tolist() == [1 + events.counts[:2].sum(), 1 + events.counts[2:5].sum()]
    out = detector_response(mixed, DetectorSettings(), np.random.default_rng(0))
    assert out.n_events == 2 and out.is_pileup.any() and not out.is_pileup.all()
