"""The largest values hepdl accepts for sizes in a config, so that a typo (``hidden:
[1000000000000]``, ``max_particles: 10000000``) is an error at load and not a 40 TB
allocation or a process the kernel kills. Each is far above what the field uses.
"""

from __future__ import annotations

# Units of one layer (hidden widths, channels, embedding sizes, out_features): one
# 65536 x 65536 float32 layer is already 17 GB.
MAX_WIDTH = 65_536
# Layers, blocks, heads, stages: ParT uses 8 blocks, ResNet-152 has 50 residual blocks.
MAX_LAYERS = 1_024
# Constituents kept per jet or event (JetClass jets have up to ~130, LHC Olympics events 700).
MAX_PARTICLES = 4_096
# Image side in pixels and convolution kernel / pooling sizes (jet images are 25..64).
MAX_PIXELS = 4_096
# numpy's seeds: 0 .. 2**32 - 1.
SEED_MAX = 2**32 - 1
# Characters of an experiment name: the run folder <name>-<time> must fit the 255 bytes
# a file name may have on common file systems.
MAX_NAME = 200
