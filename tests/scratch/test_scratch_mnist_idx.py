"""The full-MNIST path of ``hepdl scratch digits --data DIR``: IDX files written here byte
for byte as on LeCun's page (big-endian header, then the values), gzip'd or not."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from hepdl.errors import DataError
from hepdl.scratch.cli import app
from hepdl.scratch.demos.digits import digits_demo
from hepdl.scratch.demos.idx import load_mnist_idx, read_idx


def idx_bytes(values: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000 08 <ndim>, the sizes, the values."""
    header = struct.pack(">BBBB", 0, 0, 0x08, values.ndim)
    header += struct.pack(f">{values.ndim}I", *values.shape)
    return header + values.astype(np.uint8).tobytes()


def write_mnist(folder, *, n_train=40, n_test=12, gz=False, sep="-", seed=0):
    """Four MNIST files of random 28 x 28 digits; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        for kind, rank, values in (("images", 3, images), ("labels", 1, labels)):
            name = f"{split}-{kind}{sep}idx{rank}-ubyte"
            if gz:
                with gzip.open(folder / f"{name}.gz", "wb") as f:
                    f.write(idx_bytes(values))
            else:
                (folder / name).write_bytes(idx_bytes(values))
        arrays[split] = (images, labels)
    return arrays


@pytest.mark.parametrize(("gz", "sep"), [(False, "-"), (True, "-"), (True, ".")])
def test_mnist_idx_files_are_read_as_written(tmp_path, gz, sep):
    written = write_mnist(tmp_path, gz=gz, sep=sep)
    train, test = load_mnist_idx(tmp_path)
    for split, got in (("train", train), ("t10k", test)):
        images, labels = written[split]
        assert got.images.shape == (len(images), 784) and got.images.dtype == np.float32
        expected = images.reshape(len(images), 784).astype(np.float32) / np.float32(255)
        np.testing.assert_array_equal(got.images, expected)
        np.testing.assert_array_equal(got.labels, labels.astype(np.int64))
    assert train.images_file.name.endswith(".gz") == gz


@pytest.mark.parametrize(("code", "dtype"), [(0x0B, ">i2"), (0x0D, ">f4"), (0x0E, ">f8")])
def test_read_idx_reads_every_type_big_endian(tmp_path, code, dtype):
    values = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)  # big-endian bytes
    header = struct.pack(">BBBB3I", 0, 0, code, 3, 2, 3, 4)
    (tmp_path / "x.idx").write_bytes(header + values.tobytes())
    got = read_idx(tmp_path / "x.idx")
    assert got.dtype.isnative and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, values)


def test_wrong_magic_number_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"P5\n28 28\n255\n" + bytes(784))  # a PGM image, not IDX
    magic = int.from_bytes(b"P5\n2", "big")  # its first four bytes, read as IDX reads them
    with pytest.raises(DataError) as caught:
        read_idx(path)
    assert str(caught.value) == (
        f"{path}: not an IDX file: magic number {magic} (0x{magic:08x}); expected "
        "0x0000TTDD with type TT in 08, 09, 0B, 0C, 0D, 0E and DD >= 1 dimensions "
        "(2051 for MNIST images, 2049 for labels)"
    )


def test_truncated_file_says_how_much_is_missing(tmp_path):
    images = np.zeros((3, 28, 28), np.uint8)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(idx_bytes(images)[:-100])
    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte: truncated: header says "
        r"3 x 28 x 28 values of 1 byte\(s\) = 2352 bytes of data, the file has 2252",
    ):
        read_idx(path)


def test_truncated_gzip_names_the_file(tmp_path):
    write_mnist(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: a broken or truncated gzip"):
        load_mnist_idx(tmp_path)


def test_label_count_must_match_the_images(tmp_path):
    write_mnist(tmp_path)
    labels = np.zeros(11, np.uint8)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(
        DataError,
        match=r"t10k-labels-idx1-ubyte: 11 labels for the 12 images "
        r"of .*t10k-images-idx3-ubyte; expected one label per image",
    ):
        load_mnist_idx(tmp_path)


def test_a_missing_file_lists_the_names_looked_for(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(
        DataError,
        match=r"no MNIST t10k labels file; expected one of "
        r"t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, ",
    ):
        load_mnist_idx(tmp_path)


def test_digits_demo_trains_on_the_idx_split(tmp_path):
    write_mnist(tmp_path, n_train=64, n_test=16, gz=True)
    result = digits_demo(data=tmp_path, epochs=2, batch_size=16, fd_parameters=5)
    assert (result.n_train, result.n_test) == (64, 16)
    assert len(result.test_accuracy) == 2 and str(tmp_path) in result.source
    assert result.fd_extrapolated and result.fd_parameters_timed == 5
    assert result.fd_seconds == pytest.approx(result.fd_timed_seconds * result.n_parameters / 5)


def test_cli_digits_with_data_and_a_clear_error_without_files(tmp_path):
    runner = CliRunner()
    write_mnist(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "digits",
            "--data",
            str(tmp_path),
            "--epochs",
            "1",
            "--fd-parameters",
            "4",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"40 training and 12 held-out digits (MNIST IDX files in {tmp_path})" in result.output
    assert (
        "extrapolated: " in result.output
        and "measured on 4 of the 173890 parameters, times 173890/4" in result.output
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["digits", "--data", str(empty), "--out", str(out / "x")])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {empty}: no MNIST train images file; expected")
    assert "Traceback" not in result.output
