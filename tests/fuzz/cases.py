"""Every fuzz case, by family: family -> the module and function that list its cases."""

from __future__ import annotations

import importlib

from tests.fuzz.outcomes import Case

FAMILIES = {
    "config": ("tests.fuzz.config_cases", "config_cases"),
    "data": ("tests.fuzz.data_cases", "data_cases"),
    "run_dir": ("tests.fuzz.run_dir_cases", "run_dir_cases"),
}


def family_cases(family: str) -> list[Case]:
    module, function = FAMILIES[family]
    return getattr(importlib.import_module(module), function)()


def all_cases(families: list[str] | None = None) -> list[Case]:
    return [case for family in families or FAMILIES for case in family_cases(family)]
