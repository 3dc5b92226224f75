"""The plan of a `prepare` run: the corpus cut into numbered partitions, and their chunks.

A partition is a task's unit of work: a whole input file, or, for a plain JSONL file larger
than `partition_bytes`, a byte range of it (the lines that start in the range), or one row
group of a Parquet file. The plan is a
pure function of the inputs' sizes and `partition_bytes`, never of the engine, the worker or
task count, so every rank of a `tasks` run computes the same plan, and the partitions'
token streams, concatenated in partition order, are the corpus's token stream.

Within a partition, documents are read with `tokprep.sources` and cut into chunks of about
`chunk_bytes` at the pre-tokenizer's safe cuts (`tokprep.bpe.pretokenize.safe_chunks`): a cut
where no piece crosses, so encoding chunk by chunk gives the same tokens as encoding whole
documents.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tokprep.bpe.pretokenize import safe_chunks
from tokprep.sources import Source, documents

#: A plain JSONL file larger than this is cut into byte ranges of about this size.
DEFAULT_PARTITION_BYTES = 64 << 20


@dataclass(frozen=True)
class Partition:
    """Partition `index`: bytes `[start, end)` of input `source` (`end=None`: to its end)."""

    index: int
    source: int
    start: int = 0
    end: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "source": self.source, "start": self.start, "end": self.end}


def make_partitions(sources: list[Source], partition_bytes: int) -> list[Partition]:
    """The partitions of `sources`, in corpus order (see the module docstring)."""
    partitions: list[Partition] = []
    for number, source in enumerate(sources):
        if source.jsonl and source.splittable and source.bytes > partition_bytes:
            for start in range(0, source.bytes, partition_bytes):
                end = min(start + partition_bytes, source.bytes)
                partitions.append(Partition(len(partitions), number, start, end))
        elif source.parquet and source.row_groups > 1:  # start/end count row groups
            for group in range(source.row_groups):
                partitions.append(Partition(len(partitions), number, group, group + 1))
        else:
            partitions.append(Partition(len(partitions), number))
    return partitions


def partition_chunks(
    partition: Partition,
    source: Source,
    *,
    jsonl_field: str | None,
    chunk_bytes: int,
    cut_pattern: str | None,
    on_read: Callable[[int], Any] | None = None,
) -> Iterator[tuple[str, bool, str]]:
    """The chunks of one partition as `(label, first, text)`: `first` marks a document's
    first chunk (an empty document gives one empty first chunk: its end-of-text token)."""
    read = documents(
        source,
        jsonl_field=jsonl_field,
        block=chunk_bytes,
        on_read=on_read,
        start=partition.start,
        end=partition.end,
    )
    for label, blocks in read:
        blocks = iter(blocks)
        head = next(blocks, "")
        second = next(blocks, None)
        if second is None:  # the whole document in one block (most JSONL lines): no cut needed
            yield label, True, head
            continue
        first = True
        for chunk in safe_chunks(itertools.chain((head, second), blocks), cut_pattern):
            yield label, first, chunk
            first = False
        if first:
            yield label, True, ""


def batches(
    chunks: Iterable[tuple[str, bool, str]], chunk_bytes: int, limit: int = 4096
) -> Iterator[list[tuple[str, bool, str]]]:
    """Consecutive chunks grouped into tasks of about `chunk_bytes` characters (at most
    `limit` chunks): one task per worker round trip, however small the documents."""
    batch: list[tuple[str, bool, str]] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk[2])
        if size >= chunk_bytes or len(batch) >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
