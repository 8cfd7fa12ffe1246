"""hepdl.data: read tables of jets or events, label and split them, scale features, and
turn them into the arrays models consume (representations).

A table is an ``awkward.Array`` of records, one row per jet or event, flat columns
(``jet_pt``) and jagged columns (``part_px``) alike. Bad input raises
``hepdl.errors.DataError`` whose message names the file, the column and what was expected.
"""

from __future__ import annotations

from hepdl.data.cache import RepresentationCache
from hepdl.data.labels import (
    class_names_from_metadata,
    labels_from_column,
    labels_from_files,
    require_classes,
)
from hepdl.data.readers import (
    FORMATS,
    PRESETS,
    column_names,
    detect_format,
    read_metadata,
    read_table,
)
from hepdl.data.representations import (
    Representation,
    augmentation_from_config,
    create_augmentation,
    create_representation,
    list_augmentations,
    list_representations,
    register_representation,
    representation_from_config,
)
from hepdl.data.reweighting import HistogramWeights, class_weights, fit_flatten, flatten_weights
from hepdl.data.scaling import Standardizer
from hepdl.data.splits import split_indices
from hepdl.data.validation import check_finite

__all__ = [
    "FORMATS",
    "PRESETS",
    "HistogramWeights",
    "Representation",
    "RepresentationCache",
    "Standardizer",
    "augmentation_from_config",
    "check_finite",
    "class_names_from_metadata",
    "class_weights",
    "column_names",
    "create_augmentation",
    "create_representation",
    "detect_format",
    "fit_flatten",
    "flatten_weights",
    "labels_from_column",
    "labels_from_files",
    "list_augmentations",
    "list_representations",
    "read_metadata",
    "read_table",
    "register_representation",
    "representation_from_config",
    "require_classes",
    "split_indices",
]
