r"""The IDX files of MNIST (LeCun et al.), gzip'd or not, read with NumPy.

An IDX file is a 4-byte magic number, one big-endian uint32 size per dimension, then the
values in C order, big-endian:

    magic  = 0x00 0x00 <type> <ndim>      type 0x08 ubyte, 0x09 byte, 0x0B int16,
                                          0x0C int32, 0x0D float32, 0x0E float64
    sizes  = ndim x uint32 (big-endian)   (60000, 28, 28) for train-images-idx3-ubyte
    values = prod(sizes) x <type>         (60000,) ubyte labels in idx1-ubyte

so the images' magic number reads 2051 (0x00000803) and the labels' 2049 (0x00000801).
:func:`read_idx` parses one file; :func:`load_mnist_idx` finds and checks the four files
of a directory (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-...``;
also with ``.gz`` or with ``.idx3-ubyte`` as some copies name them).
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepdl.errors import DataError

__all__ = ["IDX_TYPES", "MnistSplit", "load_mnist_idx", "read_idx"]

IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type code -> big-endian NumPy dtype."""

_GZIP_MAGIC = b"\x1f\x8b"


def _file_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with gzip's magic bytes (whatever its
    name: downloads are often unpacked by browsers but keep their ``.gz``)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: a broken or truncated gzip stream ({err})") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array of one IDX file, in native byte order, shape as its header says.

    Raises :class:`DataError` naming the file for a wrong magic number, an unknown type
    code, or a file shorter or longer than its header promises.
    """
    path = Path(path)
    raw = _file_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: expected an IDX file (4-byte magic number), got {len(raw)} bytes")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in IDX_TYPES or ndim == 0:
        magic = int.from_bytes(raw[:4], "big")
        raise DataError(
            f"{path}: not an IDX file: magic number {magic} (0x{magic:08x}); expected "
            "0x0000TTDD with type TT in 08, 09, 0B, 0C, 0D, 0E and DD >= 1 dimensions "
            "(2051 for MNIST images, 2049 for labels)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{path}: truncated: the header of {ndim} dimensions needs {header} bytes, "
            f"the file has {len(raw)}"
        )
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise DataError(
            f"{path}: {what}: header says {' x '.join(map(str, shape))} values of "
            f"{dtype.itemsize} byte(s) = {expected} bytes of data, the file has {found}"
        )
    values = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # native order, and a writable copy


@dataclass
class MnistSplit:
    """One split of MNIST as the scratch network takes it."""

    images: np.ndarray  # (N, H*W) float32 in [0, 1], rows of the row-major image
    labels: np.ndarray  # (N,) int64 in 0..9
    images_file: Path
    labels_file: Path


def _find(directory: Path, split: str, kind: str, rank: int) -> Path:
    # train-images-idx3-ubyte is the name on LeCun's page; train-images.idx3-ubyte that of
    # several mirrors; either may still be gzip'd.
    names = [f"{split}-{kind}{sep}idx{rank}-ubyte{gz}" for sep in "-." for gz in ("", ".gz")]
    for name in names:
        if (directory / name).is_file():
            return directory / name
    raise DataError(
        f"{directory}: no MNIST {split} {kind} file; expected one of {', '.join(names)}"
    )


def _split(directory: Path, split: str) -> MnistSplit:
    images_file = _find(directory, split, "images", 3)
    labels_file = _find(directory, split, "labels", 1)
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{images_file}: expected images (N, rows, columns) of unsigned bytes, "
            f"got shape {images.shape} of {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{labels_file}: expected labels (N,) of unsigned bytes, "
            f"got shape {labels.shape} of {labels.dtype}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{labels_file}: {len(labels)} labels for the {len(images)} images of "
            f"{images_file}; expected one label per image"
        )
    if len(labels) and labels.max() > 9:
        raise DataError(f"{labels_file}: expected digits 0..9, found label {labels.max()}")
    flat = images.reshape(len(images), -1).astype(np.float32) / 255.0  # (N, H*W)
    return MnistSplit(flat, labels.astype(np.int64), images_file, labels_file)


def load_mnist_idx(directory: str | os.PathLike[str]) -> tuple[MnistSplit, MnistSplit]:
    """The training and test splits (``train-*``, ``t10k-*``) of an MNIST directory.

    Both splits must have images of the same size; every error names the file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: expected a directory holding the MNIST IDX files")
    train, test = _split(directory, "train"), _split(directory, "t10k")
    if train.images.shape[1] != test.images.shape[1]:
        raise DataError(
            f"{test.images_file}: images of {test.images.shape[1]} pixels, but those of "
            f"{train.images_file} have {train.images.shape[1]}"
        )
    return train, test
