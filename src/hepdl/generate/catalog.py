"""The processes and samples hepdl knows, registered at import.

Beams, energy, the pTHat window, long-lived particle decays and the seed are added by
the engine (see ``settings.pythia_strings``); here are only the physics choices of each
process. Tune, PDFs, hadronization and MPI are Pythia's defaults (Monash 2013, MPI and
hadronization on) unless a user adds strings with ``pythia_settings``.
"""

from __future__ import annotations

from hepdl.generate import _event_level
from hepdl.generate.recipes import (
    PURE_Z,
    W_TO_QUARKS,
    Z_TO_NEUTRINOS,
    Z_TO_QUARKS,
    JetDefaults,
    Process,
    Sample,
    register_process,
    register_sample,
)

UCI = "Baldi, Sadowski, Whiteson, Nature Commun. 5 (2014) 4308 (UCI SUSY and HIGGS datasets)"
TOP_TAGGING = "Kasieczka et al., SciPost Phys. 7 (2019) 014 (top-tagging reference dataset)"
QUARK_GLUON = "Komiske, Metodiev, Thaler, JHEP 01 (2019) 121 (Energy Flow Networks q/g dataset)"

# --- jet processes -------------------------------------------------------------------

register_process(
    Process(
        name="qcd",
        kind="jet",
        description="QCD dijets: all hard 2 -> 2 QCD processes (light quarks and gluons)",
        pythia=("HardQCD:all = on",),
    )
)
register_process(
    Process(
        name="top",
        kind="jet",
        description="hadronic top jets from ttbar, both W -> qq'; top and b, q, q' in the jet",
        pythia=("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *W_TO_QUARKS),
        truth_pid=6,
        reference=TOP_TAGGING,
    )
)
register_process(
    Process(
        name="w",
        kind="jet",
        description="hadronic W jets from WW (both W -> qq') and WZ (Z -> nu nu); W, q, q' in jet",
        pythia=(
            "WeakDoubleBoson:ffbar2WW = on",
            "WeakDoubleBoson:ffbar2ZW = on",
            *W_TO_QUARKS,
            *Z_TO_NEUTRINOS,
        ),
        truth_pid=24,
    )
)
register_process(
    Process(
        name="z",
        kind="jet",
        description="hadronic Z jets from Z + jet (Z -> qq, no top); Z, q, qbar in the jet",
        pythia=(
            "WeakBosonAndParton:qqbar2gmZg = on",
            "WeakBosonAndParton:qg2gmZq = on",
            *PURE_Z,
            *Z_TO_QUARKS,
        ),
        truth_pid=23,
    )
)
register_process(
    Process(
        name="higgs",
        kind="jet",
        description="H -> b bbar jets from ZH with Z -> nu nu; H, b, bbar in the jet",
        pythia=(
            "HiggsSM:ffbar2HZ = on",
            "25:onMode = off",
            "25:onIfMatch = 5 -5",
            *Z_TO_NEUTRINOS,
        ),
        truth_pid=25,
    )
)
register_process(
    Process(
        name="quark",
        kind="jet",
        description="quark jets recoiling against Z -> nu nu (q g -> Z q)",
        pythia=("WeakBosonAndParton:qg2gmZq = on", *PURE_Z, *Z_TO_NEUTRINOS),
        reference=QUARK_GLUON,
    )
)
register_process(
    Process(
        name="gluon",
        kind="jet",
        description="gluon jets recoiling against Z -> nu nu (q qbar -> Z g)",
        pythia=("WeakBosonAndParton:qqbar2gmZg = on", *PURE_Z, *Z_TO_NEUTRINOS),
        reference=QUARK_GLUON,
    )
)

# --- jet samples ---------------------------------------------------------------------

_BOOSTED = JetDefaults(radius=0.8, pt_min=550.0, pt_max=650.0, eta_max=2.0)

register_sample(
    Sample(
        name="top-vs-qcd",
        kind="jet",
        description="boosted top jets against QCD jets, as the top-tagging reference dataset",
        classes=("qcd", "top"),
        jets=_BOOSTED,
        reference=TOP_TAGGING,
    )
)
for _signal, _what in (("w", "W"), ("z", "Z"), ("higgs", "H -> bb")):
    register_sample(
        Sample(
            name=f"{_signal}-vs-qcd",
            kind="jet",
            description=f"boosted {_what} jets against QCD jets (R = 0.8, 550-650 GeV, |eta| < 2)",
            classes=("qcd", _signal),
            jets=_BOOSTED,
        )
    )
register_sample(
    Sample(
        name="quark-vs-gluon",
        kind="jet",
        description="quark against gluon jets, as the Energy Flow Networks dataset "
        "(R = 0.4, 500-550 GeV, |y| < 1.7, leading jet)",
        classes=("gluon", "quark"),  # quark = 1, as in the EnergyFlow dataset
        jets=JetDefaults(
            radius=0.4,
            pt_min=500.0,
            pt_max=550.0,
            eta_max=None,
            rapidity_max=1.7,
            leading_only=True,
        ),
        reference=QUARK_GLUON,
    )
)
register_sample(
    Sample(
        name="boosted-jets",
        kind="jet",
        description="five-class boosted jets: QCD, top, W, Z, H -> bb (R = 0.8, 550-650 GeV)",
        classes=("qcd", "top", "w", "z", "higgs"),
        jets=_BOOSTED,
    )
)

# --- event-level processes and samples (features: hepdl.physics.event_features) -------

register_process(
    Process(
        name="susy",
        kind="event",
        description="chargino pair, chi1+- -> W chi10 (m = 200, 100 GeV), W -> e/mu nu",
        pythia=_event_level.SUSY_SETTINGS,
        slha=_event_level.susy_slha(),
        reference=UCI,
    )
)
register_process(
    Process(
        name="ww",
        kind="event",
        description="W+ W- with both W -> e/mu nu (the SUSY-like sample's background)",
        pythia=_event_level.WW_SETTINGS,
        reference=UCI,
    )
)
register_process(
    Process(
        name="heavy-higgs",
        kind="event",
        description="g g -> H0 (425 GeV) -> W H+- (325 GeV), H+- -> W h0, h0 -> b bbar; "
        "one W -> e/mu nu",
        pythia=_event_level.HEAVY_HIGGS_SETTINGS,
        reference=UCI,
    )
)
register_process(
    Process(
        name="ttbar",
        kind="event",
        description="semi-leptonic ttbar, one W -> e/mu nu (the heavy-Higgs sample's background)",
        pythia=_event_level.TTBAR_SETTINGS,
        reference=UCI,
    )
)
register_sample(
    Sample(
        name="susy",
        kind="event",
        description="SUSY-like chargino pairs against WW: two leptons + MET, the 18 UCI "
        "SUSY features",
        classes=("ww", "susy"),
        rows=_event_level.susy_rows,
        feature_set="UCI SUSY (18)",
        reference=UCI,
    )
)
register_sample(
    Sample(
        name="exotic-higgs",
        kind="event",
        description="heavy-Higgs-like process against ttbar: lepton + MET + 4 jets, the 28 "
        "UCI HIGGS features",
        classes=("ttbar", "heavy-higgs"),
        rows=_event_level.higgs_rows,
        feature_set="UCI HIGGS (28)",
        reference=UCI,
    )
)
