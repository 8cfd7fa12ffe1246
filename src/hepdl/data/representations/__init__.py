"""Representations: a table of jets or events -> named arrays for a model.

``create_representation(name, **options)`` builds one, ``list_representations()`` names
them; see ``_registry`` for the interface. Registered here: ``columns`` (flat columns
as features) and ``substructure`` (jet substructure from constituents).
"""

from __future__ import annotations

from hepdl.data.representations import columns as _columns
from hepdl.data.representations import substructure as _substructure
from hepdl.data.representations._registry import (
    REPRESENTATIONS,
    Representation,
    create_representation,
    list_representations,
    register_representation,
    representation_from_config,
)
from hepdl.data.representations.columns import ColumnsRepresentation
from hepdl.data.representations.substructure import SubstructureRepresentation

del _columns, _substructure

__all__ = [
    "REPRESENTATIONS",
    "ColumnsRepresentation",
    "Representation",
    "SubstructureRepresentation",
    "create_representation",
    "list_representations",
    "register_representation",
    "representation_from_config",
]
