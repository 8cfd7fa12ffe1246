"""The real ROOT files the reader tests use, kept in the repository (tests/data/root/,
with their provenance and licence): a clone alone runs every test."""

from __future__ import annotations

from pathlib import Path

ROOT_FILES = Path(__file__).resolve().parent / "data" / "root"
HZZ = ROOT_FILES / "uproot-HZZ.root"  # CMS-style ntuple, jagged Jet/Muon/... branches
ZMUMU = ROOT_FILES / "uproot-Zmumu.root"  # CMS dimuon events, flat branches
NANOAOD = ROOT_FILES / "nanoAOD_2015_CMS_Open_Data_ttbar.root"  # 947 NanoAOD branches
