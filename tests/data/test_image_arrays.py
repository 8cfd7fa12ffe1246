"""Ready-made images (N, H, W) or (N, C, H, W) from HDF5, .npz and .npy files, passed
to the CNNs by the ``image_array`` representation."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest

from hepdl.config import config_from_dict
from hepdl.data import create_representation, read_table
from hepdl.errors import DataError
from hepdl.train.prepared import prepare_data


def images(n: int = 60, shape: tuple[int, ...] = (8, 8)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    labels = np.arange(n) % 2
    x = rng.random((n, *shape)).astype(np.float32)
    return x, labels


def test_hdf5_datasets_give_images_and_labels(tmp_path: Path) -> None:
    x, y = images()
    path = tmp_path / "images.h5"
    with h5py.File(path, "w") as h5file:  # the layout of many image data sets: x and y
        h5file["x"] = x
        h5file["y"] = y
    table = read_table(path)
    out = create_representation("image_array", column="x")(table, source=str(path))
    assert out["image"].shape == (60, 1, 8, 8) and out["image"].dtype == np.float32
    np.testing.assert_array_equal(out["image"][:, 0], x)


def test_npz_channels_and_npy_channels_last(tmp_path: Path) -> None:
    x, y = images(shape=(2, 8, 8))
    np.savez(tmp_path / "images.npz", images=x, labels=y)
    table = read_table(tmp_path / "images.npz")
    out = create_representation("image_array", column="images")(table, source="npz")
    np.testing.assert_array_equal(out["image"], x)
    last = np.moveaxis(x, 1, -1)  # (N, H, W, C), as Keras data sets store them
    np.save(tmp_path / "images.npy", last)
    table = read_table(tmp_path / "images.npy")
    assert table.fields == ["array"]
    rep = create_representation("image_array", column="array", channels_last=True)
    np.testing.assert_array_equal(rep(table, source="npy")["image"], x)


@pytest.mark.parametrize("normalize", ["sum", "max"])
def test_normalisation_per_image(normalize: str) -> None:
    x, _ = images(n=5)
    x[0] = 0.0  # an empty image stays empty
    table = ak.Array({"image": x})
    out = create_representation("image_array", normalize=normalize)(table, source="t")["image"]
    flat = x.reshape(5, -1)
    scale = flat.sum(axis=1) if normalize == "sum" else flat.max(axis=1)
    expected = x / np.where(scale > 0, scale, 1.0)[:, None, None]
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-6)


def test_bad_image_columns() -> None:
    rep = create_representation("image_array", column="x")
    with pytest.raises(DataError, match=r"t: column 'x' has shape \(3, 4\); .* \(N, H, W\)"):
        rep(ak.Array({"x": np.zeros((3, 4))}), source="t")
    with pytest.raises(DataError, match=r"t: column 'x' has type var \* int64"):
        rep(ak.Array({"x": [[1, 2], [3]]}), source="t")
    with pytest.raises(DataError, match=r"t: column 'x' is not in the table.*available columns: y"):
        rep(ak.Array({"y": np.zeros((3, 2, 2))}), source="t")
    with pytest.raises(DataError, match=r"t: column 'x' has NaN or inf pixels in 1 row"):
        rep(ak.Array({"x": np.array([[[np.nan]], [[1.0]]])}), source="t")


def test_a_cnn_trains_on_the_images_of_a_file(tmp_path: Path) -> None:
    """The config path: HDF5 images + labels -> prepared inputs a LeNet consumes."""
    x, y = images()
    path = tmp_path / "images.h5"
    with h5py.File(path, "w") as h5file:
        h5file["x"] = x
        h5file["y"] = y
    config = config_from_dict(
        {
            "data": {
                "files": [str(path)],
                "label_column": "y",
                "standardize": False,
                "representation": {"name": "image_array", "column": "x"},
                "split": {"min_rows": 10},  # 60 images: 12 validation, 12 test
            },
            "model": {"name": "lenet", "image_size": 8, "in_channels": 1},
        }
    )
    prepared = prepare_data(config)
    assert prepared.inputs["image"].shape == (60, 1, 8, 8)
    np.testing.assert_array_equal(prepared.targets, y)
    import torch

    with torch.no_grad():
        out = prepared.model(image=torch.as_tensor(prepared.inputs["image"][:4]))
    assert out.shape[0] == 4
