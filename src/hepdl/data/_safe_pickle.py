"""A pickle loader that cannot run code, for the few pickles inside pandas HDF5 files.

pandas (through PyTables) stores some table metadata, and the object columns of its
"fixed" format, as pickles. ``pd.read_hdf`` unpickles them with the full ``pickle``
module, so a crafted file runs arbitrary code when read. hepdl never unpickles a file a
user was handed with the full module: this loader builds only plain Python values
(str, int, float, list, tuple, dict, ...) and NumPy arrays. Any other global named in
the pickle is refused.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

# The globals a pickled NumPy array needs; nothing else may be looked up.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global that the safe loader refuses to load."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(f"refused to load global '{module}.{name}'")


def safe_loads(data: bytes) -> Any:
    """Unpickle ``data`` allowing only plain values and NumPy arrays.

    Raises ``UnsafePickleError`` for any other global, ``pickle.UnpicklingError`` (or
    ``EOFError``/``ValueError``) for damaged data.
    """
    return _RestrictedUnpickler(io.BytesIO(bytes(data))).load()
