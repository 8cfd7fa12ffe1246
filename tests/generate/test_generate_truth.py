"""Truth matching on hand-made event records: resonance decays, containment, nearest parton."""

from __future__ import annotations

import numpy as np
import pytest
from tests.generate.records import boson_event, flat_events, momentum, top_event

from hepdl.generate._jets import Jets
from hepdl.generate._truth import (
    hadronic_decays,
    hard_objects,
    last_copy,
    matched_parton,
    resonance_matched,
)


def _jets(event: list[int], axes: list[tuple[float, float]]) -> Jets:
    p4 = np.array([momentum(600.0, eta, phi, 170.0) for eta, phi in axes])
    n = len(event)
    return Jets(np.array(event, np.int64), *p4.T, np.zeros(n, np.int64), np.zeros(0, np.int64))


def test_last_copy_follows_recoil_copies_and_emissions() -> None:
    events = flat_events([top_event(), top_event()])
    start = int(events.starts[1])
    assert last_copy(events, np.array([3, 5, 6, 10])).tolist() == [4, 7, 8, 10]
    assert last_copy(events, np.array([start + 3])).tolist() == [start + 4]


def test_top_decay_gives_the_top_and_its_three_quarks() -> None:
    events = flat_events([top_event(), top_event()])
    event, partons = hadronic_decays(events, 6)
    assert event.tolist() == [0, 1]
    # top (last copy), then W -> q q' (the W is the first product), then the b.
    assert partons[0].tolist() == [4, 10, 11, 8, -1]
    assert events.pid[partons[1, :4]].tolist() == [6, 2, -1, 5]


def test_leptonic_decays_are_not_hadronic() -> None:
    events = flat_events([top_event(w_daughters=(-11, 12)), boson_event(23, (13, -13))])
    assert len(hadronic_decays(events, 6)[0]) == 0
    assert len(hadronic_decays(events, 23)[0]) == 0


@pytest.mark.parametrize(("pid", "daughters"), [(23, (1, -1)), (24, (2, -1)), (25, (5, -5))])
def test_boson_decays_to_two_quarks(pid: int, daughters: tuple[int, int]) -> None:
    events = flat_events([boson_event(pid, daughters)])
    event, partons = hadronic_decays(events, pid)
    assert event.tolist() == [0]
    assert partons[0].tolist() == [3, 5, 6, -1, -1]


def test_matching_needs_the_resonance_and_every_quark_inside_the_jet() -> None:
    events = flat_events([top_event(), top_event(quark_eta=1.5)])
    # event 0: a jet on the top and one far away; event 1: the u quark is out of the cone.
    jets = _jets([0, 0, 1], [(0.0, 1.0), (0.0, -2.0), (0.0, 1.0)])
    assert resonance_matched(jets, events, resonance_pid=6, radius=0.8).tolist() == [
        True,
        False,
        False,
    ]
    assert resonance_matched(jets, events, resonance_pid=6, radius=1.6).tolist() == [
        True,
        False,
        True,
    ]


def test_no_resonance_means_no_match() -> None:
    record = [(90, -11, 0, 0, 0.0, 0.0, 0.0, 0.0), (211, 1, 0, 0, 600.0, 0.0, 1.0, 0.1)]
    events = flat_events([record])
    assert resonance_matched(
        _jets([0], [(0.0, 1.0)]), events, resonance_pid=6, radius=0.8
    ).tolist() == [False]


def test_hard_objects_are_the_outgoing_particles_of_the_hard_process() -> None:
    events = flat_events([top_event(), boson_event(23, (1, -1))])
    start = int(events.starts[1])
    # The top (not its W or b), then the Z and the recoiling gluon (not the Z's quarks).
    assert hard_objects(events).tolist() == [3, start + 3, start + 4]


def test_matched_parton_is_the_nearest_hard_object_within_the_radius() -> None:
    events = flat_events([boson_event(23, (1, -1), recoil=21)])
    jets = _jets([0, 0, 0], [(0.0, 1.05), (0.1, -2.0), (2.0, 0.0)])
    columns = matched_parton(jets, events, radius=0.8)
    assert columns["jet_parton_pid"].tolist() == [23, 21, 0]
    np.testing.assert_allclose(columns["jet_parton_pt"][:2], [600.0, 600.0])
    np.testing.assert_allclose(columns["jet_parton_eta"][:2], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(columns["jet_parton_phi"][:2], [1.0, -2.0])
    assert np.isnan(columns["jet_parton_pt"][2])
