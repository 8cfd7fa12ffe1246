from __future__ import annotations

import json
from collections import Counter

import awkward as ak
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from hepdl.data import create_representation
from hepdl.data.streaming import StreamingDataset, StreamingLoader
from hepdl.errors import ConfigError, DataError


def write_rows(path, *, n: int, offset: int = 0, row_group: int = 50, seed: int = 0) -> str:
    """Parquet file whose column ``row`` numbers the rows globally (offset + i)."""
    rng = np.random.default_rng(seed)
    row = np.arange(offset, offset + n)
    table = pa.table(
        {
            "row": row.astype(np.float64),
            "jet_pt": rng.uniform(200, 800, n),
            "label": (row % 3 == 0).astype(np.int64),
        }
    )
    meta = {b"hepdl": json.dumps({"class_names": ["qcd", "top"]}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path, row_group_size=row_group)
    return str(path)


@pytest.fixture
def two_files(tmp_path):
    return [
        write_rows(tmp_path / "a.parquet", n=230, offset=0),
        write_rows(tmp_path / "b.parquet", n=170, offset=230, seed=1),
    ]


def rows_rep():
    return create_representation("columns", columns=["row"])


def epoch_rows(loader) -> list[int]:
    """Row numbers in the order they came out, checking each batch's labels agree."""
    seen: list[int] = []
    for batch in loader:
        rows = batch["features"][:, 0].to(torch.int64)
        assert torch.equal(batch["label"], (rows % 3 == 0).to(torch.int64))
        seen.extend(rows.tolist())
    return seen


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_every_row_exactly_once_per_epoch(two_files, workers):
    dataset = StreamingDataset(
        two_files, rows_rep(), batch_size=32, chunk_rows=40, buffer_chunks=2, seed=3
    )
    loader = StreamingLoader(dataset, num_workers=workers)
    for _ in range(2):  # two epochs, each complete
        assert Counter(epoch_rows(loader)) == Counter(range(400))


def test_same_seed_same_order_other_epoch_other_order(two_files):
    def order(seed, epoch):
        dataset = StreamingDataset(two_files, rows_rep(), batch_size=16, chunk_rows=40, seed=seed)
        dataset.set_epoch(epoch)
        return epoch_rows(dataset)

    first = order(7, 0)
    assert first == order(7, 0)
    assert first != order(7, 1)
    assert first != order(8, 0)
    assert sorted(first) == list(range(400))


def test_loader_advances_epoch_with_workers(two_files):
    dataset = StreamingDataset(two_files, rows_rep(), batch_size=16, chunk_rows=40, seed=1)
    loader = StreamingLoader(dataset, num_workers=2)
    epoch0, epoch1 = epoch_rows(loader), epoch_rows(loader)
    assert epoch0 != epoch1
    loader.set_epoch(0)
    assert epoch_rows(loader) == epoch0


def test_persistent_workers_follow_the_epoch(two_files):
    dataset = StreamingDataset(two_files, rows_rep(), batch_size=16, chunk_rows=40, seed=1)
    fresh = StreamingLoader(dataset, num_workers=2)
    expected = [epoch_rows(fresh), epoch_rows(fresh)]
    persistent = StreamingLoader(dataset, num_workers=2, persistent_workers=True)
    seen = [epoch_rows(persistent), epoch_rows(persistent)]
    assert seen == expected  # the same epochs 0 and 1, though the workers were not restarted
    assert Counter(seen[1]) == Counter(range(400))
    with pytest.raises(ConfigError, match=r"persistent_workers=True needs num_workers >= 1"):
        StreamingLoader(dataset, persistent_workers=True)


def test_ranks_split_rows_exactly_once(two_files):
    seen: list[int] = []
    for rank in range(3):
        dataset = StreamingDataset(
            two_files, rows_rep(), batch_size=16, chunk_rows=40, rank=rank, world_size=3
        )
        dataset.set_epoch(5)
        part = epoch_rows(dataset)
        assert part  # every rank gets chunks
        seen.extend(part)
    assert Counter(seen) == Counter(range(400))


def test_no_shuffle_keeps_file_order_and_batch_sizes(two_files):
    dataset = StreamingDataset(two_files, rows_rep(), batch_size=64, chunk_rows=50, shuffle=False)
    batches = list(dataset)
    assert [len(b["label"]) for b in batches] == [64] * 6 + [16]
    assert torch.cat([b["features"][:, 0] for b in batches]).tolist() == list(range(400))
    assert batches[0]["features"].shape == (64, 1)
    assert batches[0]["features"].dtype == torch.float32
    assert batches[0]["label"].dtype == torch.int64
    dropped = StreamingDataset(
        two_files, rows_rep(), batch_size=64, chunk_rows=50, shuffle=False, drop_last=True
    )
    assert [len(b["label"]) for b in dropped] == [64] * 6


def test_memory_bounded_by_buffer(tmp_path):
    path = write_rows(tmp_path / "big.parquet", n=5000, row_group=100)
    dataset = StreamingDataset(
        path, rows_rep(), batch_size=30, chunk_rows=100, buffer_chunks=3, seed=0
    )
    total = sum(len(b["label"]) for b in dataset)
    assert total == 5000
    # At most buffer_chunks whole chunks plus the leftover of a batch, never the file.
    assert 300 <= dataset.peak_rows <= 3 * 100 + 30
    assert dataset.peak_rows < 5000 / 10


def test_shuffle_mixes_rows_within_buffer(two_files):
    dataset = StreamingDataset(two_files, rows_rep(), batch_size=40, chunk_rows=40, seed=0)
    dataset.buffer_chunks = 10  # the whole file in one buffer
    first = next(iter(dataset))["features"][:, 0].tolist()
    chunks = {int(r) // 40 for r in first}
    assert len(chunks) > 3  # one batch takes rows of many chunks


def test_extra_columns_and_weights(two_files):
    def double_pt(chunk):
        return 2.0 * chunk["jet_pt"]

    dataset = StreamingDataset(
        two_files,
        rows_rep(),
        batch_size=50,
        chunk_rows=40,
        extra_columns=["jet_pt"],
        weights=double_pt,
    )
    table = ak.concatenate([ak.from_parquet(p) for p in two_files])
    for batch in dataset:
        rows = batch["features"][:, 0].to(torch.int64).numpy()
        np.testing.assert_array_equal(batch["jet_pt"].numpy(), ak.to_numpy(table.jet_pt)[rows])
        np.testing.assert_allclose(batch["weight"].numpy(), 2.0 * batch["jet_pt"].numpy())
        assert batch["weight"].dtype == torch.float32


def test_weights_of_wrong_shape(two_files):
    dataset = StreamingDataset(
        two_files, rows_rep(), batch_size=50, chunk_rows=40, weights=lambda c: np.ones(3)
    )
    with pytest.raises(
        DataError, match=r"[ab]\.parquet\[\d+:\d+\]: the weights function returned "
    ):
        next(iter(dataset))


def write_root(path, *, n: int) -> str:
    import uproot

    with uproot.recreate(path) as f:
        f.mktree("jets", {"row": np.float64, "label": np.int64})
        f["jets"].extend(
            {
                "row": np.arange(n, dtype=np.float64),
                "label": (np.arange(n) % 3 == 0).astype(np.int64),
            }
        )
    return str(path)


def write_hdf5(path, *, n: int) -> str:
    with h5py.File(path, "w") as f:
        data = f.create_dataset("table", data=np.stack([np.arange(n), np.arange(n) % 3 == 0], 1))
        data.attrs["columns"] = ["row", "label"]
    return str(path)


@pytest.mark.parametrize("writer", [write_root, write_hdf5])
def test_root_and_hdf5_stream_every_row(tmp_path, writer):
    suffix = ".root" if writer is write_root else ".h5"
    path = writer(tmp_path / f"rows{suffix}", n=130)
    dataset = StreamingDataset(
        path, rows_rep(), classes=["qcd", "top"], batch_size=20, chunk_rows=30
    )
    assert len(dataset.chunks) == 5
    assert sorted(epoch_rows(dataset)) == list(range(130))


def test_class_names_from_label_column_without_metadata(tmp_path):
    path = tmp_path / "strings.parquet"
    pq.write_table(pa.table({"row": [0.0, 1.0, 2.0], "kind": ["w", "q", "w"]}), path)
    dataset = StreamingDataset(str(path), rows_rep(), label_column="kind", batch_size=3)
    assert dataset.class_names == ["q", "w"]
    (batch,) = list(StreamingDataset(str(path), rows_rep(), label_column="kind", shuffle=False))
    assert batch["label"].tolist() == [1, 0, 1]


def test_errors(tmp_path, two_files):
    with pytest.raises(ConfigError, match=r"option chunk_rows=0; expected an integer >= 1"):
        StreamingDataset(two_files, rows_rep(), chunk_rows=0)
    with pytest.raises(ConfigError, match=r"rank=2, world_size=2; expected"):
        StreamingDataset(two_files, rows_rep(), rank=2, world_size=2)
    with pytest.raises(DataError, match=r"files=\[\] names no file"):
        StreamingDataset([], rows_rep())
    npz = tmp_path / "x.npz"
    np.savez(npz, row=np.arange(3.0), label=np.zeros(3))
    with pytest.raises(DataError, match=r"x\.npz: npz files cannot be streamed in chunks"):
        StreamingDataset(str(npz), rows_rep())
    dataset = StreamingDataset(two_files, rows_rep(), columns=["jet_pt"])
    with pytest.raises(DataError, match=r"[ab]\.parquet\[\d+:\d+\]: .*'row' is not in the table"):
        next(iter(dataset))
    with pytest.raises(DataError, match=r"[ab]\.parquet: column 'nope' .*is not in the file"):
        next(iter(StreamingDataset(two_files, rows_rep(), extra_columns=["nope"], columns=[])))
