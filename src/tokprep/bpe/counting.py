"""Counting pre-tokens with the `tasks` engine: each rank counts its batches, one merges.

The trainer reads its input as numbered batches of about a megabyte (`tokprep.bpe.train`),
the same batches for any engine. Under `engine="tasks"` rank `r` of `W` counts batches
`r, r + W, ...` and writes one part, `counts-0000r-of-0000W.json`, in the counts folder: for
each distinct piece its count and where it first appeared (batch number, and its place in that
batch's first-appearance order). Once all `W` parts are there, the counts are summed and the
pieces ordered by first appearance, which is exactly the order one process sees: every
tie-break profile, `first-seen` included, then trains the same merges. The rank that completes
the set (or any later run of the same command) merges; the others raise `TasksPending`.

Every rank reads the whole input (reading is cheap next to pre-tokenizing) and skips the
batches that are not its own; a rank whose part exists is not counted again.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tokprep.errors import ArgumentValueError, DatasetFormatError
from tokprep.files import read_envelope, write_envelope

COUNTS_KIND = "train-counts"

__all__ = ["TasksPending", "count_tasks", "counts_folder"]


class TasksPending(Exception):
    """This rank's counts are written; other ranks' are still missing, so no merge yet."""

    def __init__(self, folder: Path, missing: list[int], world_size: int) -> None:
        self.folder, self.missing, self.world_size = folder, missing, world_size
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        super().__init__(
            f"counts written to {folder}; ranks {shown} of {world_size} have not finished yet. "
            "The rank that finishes last trains the merges (or run any rank again afterwards)."
        )


def counts_folder(out: str | Path) -> Path:
    """`OUT` -> `OUT.counts`, where a `tasks` training run keeps its ranks' counts."""
    out = Path(out)
    return out.with_name(out.name + ".counts")


def _part_path(folder: Path, rank: int, world_size: int) -> Path:
    return folder / f"counts-{rank:05d}-of-{world_size:05d}.json"


def count_tasks(
    batches: Iterable[tuple[list[str], int]],
    pattern: str,
    executor: Any,
    folder: str | os.PathLike[str],
    fingerprint: dict[str, Any],
) -> tuple[Counter[str], int]:
    """Count this rank's batches into its part, then merge if every part is there.

    `executor` is a `tokprep.executors.TasksExecutor`; `fingerprint` (pattern, specials, ...)
    must be the same in every part. Raises `TasksPending` when other ranks are missing.
    """
    from tokprep.bpe.train import _count_task
    from tokprep.executors import LocalExecutor

    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    rank, world_size = executor.rank, executor.world_size
    mine = _part_path(folder, rank, world_size)
    if not mine.exists():
        entries: dict[str, list[int]] = {}
        characters = 0
        numbers: list[int] = []

        def owned() -> Iterator[tuple[str, list[str]]]:
            nonlocal characters
            for number, (parts, size) in enumerate(batches):
                characters += size
                if executor.owns(number):
                    numbers.append(number)
                    yield pattern, parts

        results = LocalExecutor(executor.workers).map(_count_task, owned(), what="tokprep train")
        for index, counts in enumerate(results):
            number = numbers[index]
            for order, (piece, count) in enumerate(counts.items()):
                entry = entries.get(piece)
                if entry is None:
                    entries[piece] = [count, number, order]
                else:
                    entry[0] += count
        pieces = [[piece, *entry] for piece, entry in entries.items()]
        payload = {"fingerprint": fingerprint, "characters": characters, "pieces": pieces}
        write_envelope(mine, COUNTS_KIND, payload)
    missing = [r for r in range(world_size) if not _part_path(folder, r, world_size).exists()]
    if missing:
        raise TasksPending(folder, missing, world_size)
    return merge_counts(folder, world_size, fingerprint)


def merge_counts(
    folder: Path, world_size: int, fingerprint: dict[str, Any]
) -> tuple[Counter[str], int]:
    """Sum the `world_size` parts; pieces in order of first appearance in the whole input."""
    merged: dict[str, list[int]] = {}
    characters = None
    for rank in range(world_size):
        path = _part_path(folder, rank, world_size)
        part = read_envelope(path, (COUNTS_KIND,), error=DatasetFormatError)
        if part["fingerprint"] != fingerprint or (
            characters is not None and part["characters"] != characters
        ):
            raise ArgumentValueError(
                f"{path} was counted by another training run (other input or options); remove "
                f"{folder} and run every rank again."
            )
        characters = part["characters"]
        for piece, count, number, order in part["pieces"]:
            entry = merged.get(piece)
            if entry is None:
                merged[piece] = [count, number, order]
            else:
                entry[0] += count
                if (number, order) < (entry[1], entry[2]):
                    entry[1], entry[2] = number, order
    ordered = sorted(merged.items(), key=lambda item: (item[1][1], item[1][2]))
    return Counter({piece: entry[0] for piece, entry in ordered}), characters or 0
