"""hepdl.data: read tables of jets or events, label and split them, scale features, and
turn them into the arrays models consume (representations).

A table is an ``awkward.Array`` of records, one row per jet or event, flat columns
(``jet_pt``) and jagged columns (``part_px``) alike. Bad input raises
``hepdl.errors.DataError`` whose message names the file, the column and what was expected.
"""

from __future__ import annotations

from hepdl.lazy_exports import lazy_exports

# Each name is imported on first use: importing hepdl.data loads no awkward, pyarrow or h5py.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hepdl.data.cache": ["RepresentationCache"],
        "hepdl.data.labels": [
            "class_names_from_metadata",
            "labels_from_column",
            "labels_from_files",
            "require_classes",
        ],
        "hepdl.data.readers": [
            "FORMATS",
            "PRESETS",
            "column_names",
            "detect_format",
            "read_metadata",
            "read_table",
        ],
        "hepdl.data.representations": [
            "Representation",
            "augmentation_from_config",
            "create_augmentation",
            "create_representation",
            "list_augmentations",
            "list_representations",
            "register_representation",
            "representation_from_config",
        ],
        "hepdl.data.reweighting": [
            "HistogramWeights",
            "class_weights",
            "fit_flatten",
            "flatten_weights",
        ],
        "hepdl.data.scaling": ["Standardizer"],
        "hepdl.data.splits": ["split_indices"],
        "hepdl.data.validation": ["check_finite"],
    },
)
