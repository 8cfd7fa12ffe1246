"""k nearest neighbours within each jet, vectorised over jets (batched distance matrices)."""

from __future__ import annotations

import numpy as np

# Distances computed at once (float64): bounds memory to ~8 MB per temporary.
_PAIRS_PER_CHUNK = 1 << 20


def knn(coordinates: np.ndarray, mask: np.ndarray, *, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other constituents of each constituent, by Euclidean distance.

    ``coordinates`` (N, P, D), ``mask`` (N, P). Returns ``neighbours`` (N, P, k) int64,
    the slots of the neighbours in order of increasing distance (ties: lower slot first),
    and ``valid`` (N, P, k) bool. A particle is never its own neighbour; padded slots
    neither have nor are neighbours. A jet with n <= k real constituents gives each of
    them n - 1 neighbours: the remaining entries are -1 with ``valid = False``.
    """
    n_jets, width = mask.shape
    neighbours = np.full((n_jets, width, k), -1, dtype=np.int64)
    valid = np.zeros((n_jets, width, k), dtype=bool)
    take = min(k, max(width - 1, 0))
    if take == 0:
        return neighbours, valid
    step = max(1, _PAIRS_PER_CHUNK // (width * width))
    not_self = ~np.eye(width, dtype=bool)  # (P, P)
    for start in range(0, n_jets, step):
        block = slice(start, start + step)
        x = np.asarray(coordinates[block], dtype=np.float64)  # (B, P, D)
        distance = ((x[:, :, None, :] - x[:, None, :, :]) ** 2).sum(axis=-1)  # (B, P, P)
        allowed = mask[block, :, None] & mask[block, None, :] & not_self  # (B, P, P)
        distance = np.where(allowed, distance, np.inf)
        order = np.argsort(distance, axis=-1, kind="stable")[..., :take]  # (B, P, take)
        found = np.isfinite(np.take_along_axis(distance, order, axis=-1))
        neighbours[block, :, :take] = np.where(found, order, -1)
        valid[block, :, :take] = found
    return neighbours, valid
