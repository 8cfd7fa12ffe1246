"""Stream labelled batches from Parquet, ROOT and HDF5 files larger than memory.

``StreamingDataset`` is a ``torch.utils.data.IterableDataset`` over *chunks*: row ranges
``[start, stop)`` of ``chunk_rows`` rows of each file (``hepdl.data._chunks``). Per epoch:

1. the list of all chunks of all files is permuted with ``seed`` and the epoch number
   (``shuffle=True``), so files and chunks mix across the epoch;
2. it is dealt round-robin to the DDP ranks (``rank::world_size``), then to the
   DataLoader workers of each rank (``worker::num_workers``), so every row is read by
   exactly one worker of one rank, exactly once per epoch;
3. each worker reads its chunks in order, applies the representation (or loads it from
   a ``RepresentationCache``), and collects ``buffer_chunks`` chunks in a shuffle buffer;
   the buffer's rows are permuted and cut into batches; the rows that do not fill a
   batch stay for the next buffer. Only the worker's last batch can be short
   (dropped with ``drop_last=True``).

Memory is bounded: a worker holds at most ``buffer_chunks * chunk_rows + batch_size``
rows (``peak_rows`` records the most it held in the last epoch iterated in this process).

A batch is a dict of tensors: the representation's arrays (``image (B, C, H, W)``, or
``points``/``features``/``mask``, ...), ``label (B,)`` int64, each of ``extra_columns``
``(B,)`` float64, and ``weight (B,)`` float32 when a ``weights`` function is given. The
dataset yields whole batches, so its DataLoader has ``batch_size=None``:
``StreamingLoader`` is that DataLoader and also advances the epoch every time it is
iterated. With DDP, ranks can receive one chunk more or less than each other; pass
``drop_last=True`` and equal-sized files if every rank must take the same step count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from hepdl.data._chunks import Chunk, Source, count_rows, open_source, read_chunk, split_rows
from hepdl.data.cache import RepresentationCache, file_identity
from hepdl.errors import ConfigError, DataError

Batch = dict[str, torch.Tensor]
WeightFunction = Callable[[Mapping[str, np.ndarray]], np.ndarray]
LABEL = "label"
WEIGHT = "weight"


class StreamingDataset(IterableDataset):
    """Shuffled batches of a representation of ``files``, read chunk by chunk.

    ``representation``: a registered representation object (``create_representation``).
    ``classes``: the class names, in label order; default: the ``class_names`` in the
    first file's metadata, else the distinct values of ``label_column`` in all files;
    ``label_column=None``: no classes (a regression), ``label`` is 0 in every row.
    ``columns``: the columns read from the files (default: all); ``label_column`` and
    ``extra_columns`` are added. ``weights``: a function of a chunk's arrays (with
    ``label`` and the extra columns) giving one weight per row, e.g. a fitted
    ``hepdl.data.reweighting.HistogramWeights``. ``rank``/``world_size``: the DDP
    process; default: from ``torch.distributed`` when it is initialised, else 0 of 1.
    ``shape``: a ``TableShape`` applied to each chunk's table before the representation.
    ``column_names``: the fields of CSV files without a header line; ``max_classes``: more
    distinct labels than this is an id column, refused (``hepdl.data.labels``).
    ``labels_file`` / ``weights_file``: ``.npy``/``.npz`` arrays beside each file, one value
    per row (``{stem}``: the file's name without extensions; ``hepdl.data.side_arrays``);
    the labels replace ``label_column``'s, the weights multiply ``weights``'.
    """

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
        representation: Any,
        *,
        label_column: str | None = LABEL,
        classes: Sequence[str] | None = None,
        batch_size: int = 256,
        chunk_rows: int = 4096,
        buffer_chunks: int = 4,
        shuffle: bool = True,
        seed: int = 0,
        columns: Sequence[str] | None = None,
        extra_columns: Sequence[str] = (),
        weights: WeightFunction | None = None,
        cache: RepresentationCache | None = None,
        drop_last: bool = False,
        tree: str | None = None,
        key: str | None = None,
        fmt: str = "auto",
        rank: int | None = None,
        world_size: int | None = None,
        shape: Any = None,
        column_names: Sequence[str] | None = None,
        max_classes: int | None = None,
        labels_file: str | None = None,
        weights_file: str | None = None,
    ) -> None:
        super().__init__()
        paths = [files] if isinstance(files, str | os.PathLike) else list(files)
        if not paths:
            raise DataError("StreamingDataset: files=[] names no file; expected at least one")
        for option, value in (
            ("batch_size", batch_size),
            ("chunk_rows", chunk_rows),
            ("buffer_chunks", buffer_chunks),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"StreamingDataset: option {option}={value!r}; expected an integer >= 1"
                )
        self.representation = representation
        self.label_column = label_column
        self.batch_size = batch_size
        self.buffer_chunks = buffer_chunks
        self.shuffle = shuffle
        self.seed = seed
        self.extra_columns = list(extra_columns)
        self.weights = weights
        self.cache = cache
        self.drop_last = drop_last
        self.shape = shape  # a hepdl.data.table_options.TableShape, applied to every chunk
        self.read_columns = (
            None
            if columns is None
            else list(
                dict.fromkeys(
                    [*columns, *([label_column] if label_column else []), *self.extra_columns]
                )
            )
        )
        self.max_classes = max_classes
        sources = [
            open_source(str(p), fmt=fmt, tree=tree, key=key, column_names=column_names)
            for p in paths
        ]
        counts = [count_rows(source) for source in sources]
        self.chunks: list[Chunk] = [
            chunk
            for source, rows in zip(sources, counts, strict=True)
            for chunk in split_rows(source, rows, chunk_rows=chunk_rows)
        ]
        # kind ("labels"/"weights") -> feature file -> its side file, each checked now.
        self.side_files = _side_files(
            sources, counts, labels=labels_file if label_column else None, weights=weights_file
        )
        if not self.chunks:
            raise DataError(f"{', '.join(map(str, paths))}: no rows to stream")
        # label_column None: a task without classes (regression); every row is class 0.
        self.class_names = (
            _class_names(
                sources,
                label_column=label_column,
                classes=classes,
                max_classes=max_classes,
                labels=self.side_files.get("labels"),
            )
            if label_column is not None
            else []
        )
        self._explicit_rank = (rank, world_size)
        self.rank, self.world_size = _check_rank(rank or 0, world_size or 1)
        # In shared memory: persistent DataLoader workers see set_epoch of the main process.
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self.peak_rows = 0
        self._identities: dict[str, dict[str, Any]] = {}

    @property
    def n_rows(self) -> int:
        """Rows in all files: every epoch yields each of them once (over ranks and workers)."""
        return sum(chunk.rows for chunk in self.chunks)

    @property
    def epoch(self) -> int:
        """The epoch whose chunk order and shuffling the next iteration uses."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Use the chunk order and shuffling of ``epoch`` from the next iteration on."""
        self._epoch.fill_(int(epoch))
        self.resolve_distributed()

    def resolve_distributed(self) -> None:
        """Take rank and world size from ``torch.distributed`` unless they were given."""
        rank, world_size = self._explicit_rank
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank = torch.distributed.get_rank() if rank is None else rank
            world_size = torch.distributed.get_world_size() if world_size is None else world_size
        self.rank, self.world_size = _check_rank(rank or 0, world_size or 1)

    def epoch_chunks(self, *, worker: int = 0, num_workers: int = 1) -> list[Chunk]:
        """The chunks that ``worker`` of ``num_workers`` on this rank reads this epoch."""
        order = np.arange(len(self.chunks))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        mine = order[self.rank :: self.world_size][worker::num_workers]
        return [self.chunks[i] for i in mine]

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        if info is None:
            self.resolve_distributed()
        worker, num_workers = (0, 1) if info is None else (info.id, info.num_workers)
        chunks = self.epoch_chunks(worker=worker, num_workers=num_workers)
        # Each worker shuffles its own buffer; its stream depends on seed, epoch, rank, worker.
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker])
        self.peak_rows = 0
        self._identities = {}  # stat each file once per epoch, not once per chunk
        return self._batches(chunks, rng)

    def _batches(self, chunks: list[Chunk], rng: np.random.Generator) -> Iterator[Batch]:
        held: list[dict[str, np.ndarray]] = []  # leftover rows first, then whole chunks
        loaded = 0
        for chunk in chunks:
            held.append(self.load_chunk(chunk))
            loaded += 1
            self.peak_rows = max(self.peak_rows, sum(len(part[LABEL]) for part in held))
            if loaded == self.buffer_chunks:
                leftover = yield from self._emit(held, rng, final=False)
                held, loaded = [leftover] if leftover else [], 0
        if held:
            yield from self._emit(held, rng, final=True)

    def _emit(
        self, held: list[dict[str, np.ndarray]], rng: np.random.Generator, *, final: bool
    ) -> Iterator[Batch]:
        """Yield the full batches of the shuffled buffer; return the rows left over.

        Batches are gathered straight from the held chunks (cache entries are memory
        maps), never from one concatenated buffer: a large transient allocation per
        buffer made glibc hand pages back and forth with the OS, and the model's own
        allocations then page-faulted ~100k times an epoch (measured, see
        benchmarks/bench_pipeline.py). Rows inside a batch come sorted by position in
        the buffer; which rows share a batch is what the shuffle randomises.
        """
        names = list(held[0])
        sizes = [len(part[LABEL]) for part in held]
        offsets = np.concatenate(([0], np.cumsum(sizes)))  # (H+1,)
        total = int(offsets[-1])
        order = rng.permutation(total) if self.shuffle else np.arange(total)
        full = total - total % self.batch_size
        for start in range(0, full, self.batch_size):
            yield _gather(held, offsets, order[start : start + self.batch_size], names)
        rest = order[full:]
        if final:
            if len(rest) and not self.drop_last:
                yield _gather(held, offsets, rest, names)
            return {}
        if not len(rest):
            return {}
        return {n: t.numpy() for n, t in _gather(held, offsets, rest, names).items()}

    def load_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        """The arrays of one chunk: representation, ``label``, extra columns, ``weight``."""
        if self.cache is None:
            arrays = self._compute(chunk)
        else:
            arrays = self.cache.get_or_compute(
                self._description(chunk), lambda: self._compute(chunk)
            )
        if self.weights is not None:
            weight = np.asarray(self.weights(arrays), dtype=np.float32)
            if weight.shape != (chunk.rows,):
                raise DataError(
                    f"{chunk.name}: the weights function returned shape {weight.shape}; "
                    f"expected one weight per row, ({chunk.rows},)"
                )
            arrays = {**arrays, WEIGHT: weight}
        if "weights" in self.side_files:  # data.weights_file: event weights beside the file
            from hepdl.data.side_arrays import side_rows

            name = self.side_files["weights"][chunk.source.path]
            given = side_rows(name, kind="weights", start=chunk.start, stop=chunk.stop)
            given = given.astype(np.float32)
            arrays = {**arrays, WEIGHT: arrays[WEIGHT] * given if WEIGHT in arrays else given}
        return arrays

    def _description(self, chunk: Chunk) -> dict[str, Any]:
        """Everything the cached arrays of ``chunk`` depend on (the cache key)."""
        path = chunk.source.path
        if path not in self._identities:
            self._identities[path] = file_identity(path)
        return {
            "file": self._identities[path],
            "format": chunk.source.fmt,
            "tree": chunk.source.tree,
            "key": chunk.source.key,
            **({"column_names": chunk.source.column_names} if chunk.source.column_names else {}),
            "rows": [chunk.start, chunk.stop],
            "columns": self.read_columns,
            "label_column": self.label_column,
            **({"side_files": self.side_files} if self.side_files else {}),
            "classes": self.class_names,
            "extra_columns": self.extra_columns,
            "representation": self.representation.config(),
            **({"shape": self.shape.config()} if self.shape and self.shape.config() else {}),
        }

    def _compute(self, chunk: Chunk) -> dict[str, np.ndarray]:
        import awkward as ak

        from hepdl.data.entries import flat_numeric
        from hepdl.data.labels import labels_from_column
        from hepdl.data.side_arrays import side_rows

        table = read_chunk(chunk, columns=self.read_columns)
        if self.shape is not None:  # flat particle columns, events clustered into jets
            table = self.shape(table, source=chunk.name)
        arrays = dict(self.representation(table, source=chunk.name))
        clash = [n for n in (LABEL, WEIGHT, *self.extra_columns) if n in arrays]
        if clash:
            raise ConfigError(
                f"StreamingDataset: the '{self.representation.name}' representation already "
                f"produces {', '.join(clash)}; choose other extra_columns"
            )
        if self.label_column is None:
            arrays[LABEL] = np.zeros(len(table), dtype=np.int64)
        elif "labels" in self.side_files:  # data.labels_file: an array beside the file
            name = self.side_files["labels"][chunk.source.path]
            values = side_rows(name, kind="labels", start=chunk.start, stop=chunk.stop)
            arrays[LABEL], _ = labels_from_column(
                ak.Array({self.label_column: values}),
                self.label_column,
                classes=self.class_names,
                source=f"{name}[{chunk.start}:{chunk.stop}]",
            )
        else:
            arrays[LABEL], _ = labels_from_column(
                table, self.label_column, classes=self.class_names, source=chunk.name
            )
        for column in self.extra_columns:
            arrays[column] = flat_numeric(
                table, column, source=chunk.name, representation="streaming"
            )
        return arrays


class StreamingLoader(DataLoader):
    """The DataLoader of a ``StreamingDataset``: ``batch_size=None``, epoch advanced per pass.

    Each ``iter(loader)`` starts epoch 0, 1, 2, ... (``set_epoch`` moves the counter, e.g.
    when resuming), so the chunk order changes every epoch also with worker processes.
    ``persistent_workers=True`` keeps the workers between epochs (they read the epoch
    from shared memory), which saves starting them, ~0.1 s an epoch on a loaded machine.
    """

    def __init__(
        self,
        dataset: StreamingDataset,
        *,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
    ) -> None:
        if persistent_workers and num_workers == 0:
            raise ConfigError(
                "StreamingLoader: persistent_workers=True needs num_workers >= 1; with "
                "num_workers=0 the batches are made in this process"
            )
        super().__init__(
            dataset,
            batch_size=None,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=persistent_workers,
        )
        self._next_epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self._next_epoch = int(epoch)

    def __iter__(self) -> Any:
        self.dataset.set_epoch(self._next_epoch)
        self._next_epoch += 1
        return super().__iter__()


def _gather(
    held: list[dict[str, np.ndarray]], offsets: np.ndarray, index: np.ndarray, names: list[str]
) -> Batch:
    """Rows ``index`` (positions in the held chunks laid end to end) as a batch of tensors."""
    index = np.sort(index)
    part = np.searchsorted(offsets, index, side="right") - 1  # (B,) which chunk
    bounds = np.searchsorted(part, np.arange(len(held) + 1))  # rows of each chunk in index
    pieces = [
        (p, index[bounds[p] : bounds[p + 1]] - offsets[p])
        for p in range(len(held))
        if bounds[p + 1] > bounds[p]
    ]
    return {
        n: torch.cat([torch.from_numpy(np.asarray(held[p][n][local])) for p, local in pieces])
        for n in names
    }


def _check_rank(rank: int, world_size: int) -> tuple[int, int]:
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(
            f"StreamingDataset: rank={rank}, world_size={world_size}; expected "
            f"world_size >= 1 and 0 <= rank < world_size"
        )
    return rank, world_size


def _class_names(
    sources: Sequence[Source],
    *,
    label_column: str,
    classes: Sequence[str] | None,
    max_classes: int | None,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Class names fixed for the whole stream, so every chunk labels rows the same way;
    ``labels``: feature file -> its labels file (data.labels_file), read instead."""
    from hepdl.data.labels import class_names_from_metadata, labels_from_column
    from hepdl.data.readers import read_metadata, read_table

    if classes is not None:
        return [str(c) for c in classes]
    names = class_names_from_metadata(read_metadata(sources[0].path, fmt=sources[0].fmt))
    if names is not None:
        return names
    # No names declared: one pass over the label column only (small beside the data).
    import awkward as ak

    if labels is not None:
        from hepdl.data.side_arrays import read_side_array

        values = [
            read_side_array(labels[s.path], kind="labels", feature_file=s.path, rows=rows)
            for s, rows in zip(sources, (count_rows(s) for s in sources), strict=True)
        ]
        column = ak.Array({label_column: np.concatenate(values)})
        source = ", ".join(labels.values())
        limit = {} if max_classes is None else {"max_classes": max_classes}
        return labels_from_column(column, label_column, source=source, metadata={}, **limit)[1]
    column = ak.concatenate(
        [
            read_table(
                s.path,
                columns=[label_column],
                tree=s.tree,
                key=s.key,
                fmt=s.fmt,
                column_names=s.column_names,
            )
            for s in sources
        ]
    )
    source = ", ".join(s.path for s in sources)
    limit = {} if max_classes is None else {"max_classes": max_classes}
    return labels_from_column(column, label_column, source=source, metadata={}, **limit)[1]


def _side_files(
    sources: Sequence[Source], counts: Sequence[int], *, labels: str | None, weights: str | None
) -> dict[str, dict[str, str]]:
    """kind -> feature file -> its side file, for the templates given; each array's
    length (and, for weights, values) checked against its file's rows now, before any
    chunk is read."""
    from hepdl.data.side_arrays import checked_side_array, side_file

    found: dict[str, dict[str, str]] = {}
    for kind, template in (("labels", labels), ("weights", weights)):
        if template is None:
            continue
        found[kind] = {}
        for source, rows in zip(sources, counts, strict=True):
            name = side_file(template, source.path)
            checked_side_array(name, kind=kind, feature_file=source.path, rows=rows, mmap=True)
            found[kind][source.path] = name
    return found
