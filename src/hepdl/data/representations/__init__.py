"""Representations: a table of jets or events -> named arrays for a model.

``create_representation(name, **options)`` builds one, ``list_representations()`` names
them; see ``_registry`` for the interface. Registered here:

- ``columns``: flat columns as ``features (N, F)``;
- ``substructure``: jet substructure observables, ``features (N, F)``;
- ``image``: jet images ``image (N, C, H, W)`` with the standard preprocessing;
- ``sequence``: constituents by decreasing pT, ``features (N, P, F)`` + ``mask (N, P)``;
- ``point_cloud``: ParticleNet / ParT inputs ``points``, ``features``, ``mask`` and
  optionally ParT's ``pairwise (N, P, P, 4)``;
- ``graph``: kNN graphs, ``neighbours (N, P, k)``, ``edge_features``, ``edge_mask``;
- ``tree``: kT / C/A / anti-kT clustering trees, batched in level order;
- ``pileup_images``: PUMML's charged-LV, charged-PU and neutral jet images and the neutral
  leading-vertex share per pixel (``pixel_target``);
- calorimeter cells (the files of ``hepdl showers``): ``calo_cells`` (layers as image
  channels, the per-cell signal fraction ``pixel_target``), ``calo_layers`` (every cell of
  every layer as one flat vector with the incident energy: what generative models learn),
  ``layer_sums`` (energy per layer and in central windows), ``shower_shapes`` (the CMS
  cluster variables).

Augmentations (``rotate``, ``reflect``, ``smear``) are random transforms of the table
applied before any representation, in a registry of their own: see ``augment``.
"""

from __future__ import annotations

from hepdl.data.representations import columns as _columns
from hepdl.data.representations import graph as _graph
from hepdl.data.representations import image as _image
from hepdl.data.representations import pileup_images as _pileup_images
from hepdl.data.representations import point_cloud as _point_cloud
from hepdl.data.representations import sequence as _sequence
from hepdl.data.representations import shower_shapes as _shower_shapes
from hepdl.data.representations import substructure as _substructure
from hepdl.data.representations import tree as _tree
from hepdl.data.representations._particles import PARTICLE_FEATURES, POINT_CLOUD_FEATURES
from hepdl.data.representations._registry import (
    REPRESENTATIONS,
    Representation,
    create_representation,
    list_representations,
    provided_arrays,
    register_representation,
    representation_from_config,
)
from hepdl.data.representations.augment import (
    AUGMENTATIONS,
    augmentation_from_config,
    create_augmentation,
    list_augmentations,
    register_augmentation,
)
from hepdl.data.representations.calo_cells import CaloCellsRepresentation
from hepdl.data.representations.calo_layers import CaloLayersRepresentation
from hepdl.data.representations.columns import ColumnsRepresentation
from hepdl.data.representations.graph import EDGE_FEATURES, GraphRepresentation
from hepdl.data.representations.image import ImageRepresentation
from hepdl.data.representations.layer_sums import LayerSumsRepresentation
from hepdl.data.representations.point_cloud import PointCloudRepresentation, pairwise_matrix
from hepdl.data.representations.sequence import SequenceRepresentation
from hepdl.data.representations.substructure import SubstructureRepresentation
from hepdl.data.representations.tree import NODE_FEATURES, TreeRepresentation, select_jets

del _columns, _graph, _image, _pileup_images, _point_cloud, _sequence, _shower_shapes
del _substructure, _tree

__all__ = [
    "AUGMENTATIONS",
    "EDGE_FEATURES",
    "NODE_FEATURES",
    "PARTICLE_FEATURES",
    "POINT_CLOUD_FEATURES",
    "REPRESENTATIONS",
    "CaloCellsRepresentation",
    "CaloLayersRepresentation",
    "ColumnsRepresentation",
    "GraphRepresentation",
    "ImageRepresentation",
    "LayerSumsRepresentation",
    "PointCloudRepresentation",
    "Representation",
    "SequenceRepresentation",
    "SubstructureRepresentation",
    "TreeRepresentation",
    "augmentation_from_config",
    "create_augmentation",
    "create_representation",
    "list_augmentations",
    "list_representations",
    "pairwise_matrix",
    "provided_arrays",
    "register_augmentation",
    "register_representation",
    "representation_from_config",
    "select_jets",
]
