"""Writing a token stream: the validation split, token files or llm.c shards, and manifests.

`write_outputs(pieces, settings)` takes the corpus's token stream in order, as pieces
`(source number, first, token bytes)` (`first`: the piece starts a document, with its
end-of-text token), and writes it. Everything it decides is a function of that ordered
stream, never of how it was computed, so any engine, worker count, task count or chunk size
gives the same bytes:

- the validation split: a document goes to val when a seeded hash of its number (in corpus
  order) is below `val_fraction` (nanoGPT splits by documents too), or the first `val_tokens`
  tokens go to val (llm.c's tinyshakespeare script), cutting a document if need be;
- without `shard_tokens`: one token file per split, `OUT` and `OUT.val.bin`, each with its
  manifest `OUT.json` / `OUT.val.bin.json`;
- with `shard_tokens=N`: llm.c's shards `DIR/NAME_val_000000.bin`, `DIR/NAME_train_000000.bin`,
  ... of N tokens each (the last one of a split holds the rest), each with llm.c's header, and
  one manifest `DIR/NAME.json` listing every shard with its sha256, token count and the number
  of documents that start in it. The manifest records nothing about the run (no engine, worker
  count, host, time or absolute path), so it is byte-identical too.

All files are written to temporary files and renamed into place together, manifests last
(`tokprep.files.atomic_files`): a failed or killed run leaves the old outputs.
"""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tokprep.errors import ArgumentValueError
from tokprep.files import AtomicFiles, atomic_files, write_envelope

from .tokfile import (
    HEADER_BYTES,
    MANIFEST_KIND,
    SHARDS_KIND,
    file_sha256,
    make_header,
    manifest_path,
)

SPLITS = ("val", "train")  # llm.c's order: val shards first


def is_validation_document(index: int, fraction: float, seed: int) -> bool:
    """Whether document number `index` goes to the validation split (a seeded hash < fraction).

    The choice depends only on (seed, index), never on chunking, workers or the other documents.
    """
    if fraction <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64 < fraction


def validation_path(out: str | Path) -> Path:
    """`OUT.bin` -> `OUT.val.bin` (nanoGPT's train.bin / val.bin, side by side)."""
    out = Path(out)
    stem = out.name[: -len(".bin")] if out.name.endswith(".bin") else out.name
    return out.with_name(stem + ".val.bin")


def shard_name(out: str | Path) -> str:
    """The NAME of `-o DIR/NAME` for shards (`DIR/NAME.bin` gives NAME too)."""
    name = Path(out).name
    return name[: -len(".bin")] if name.endswith(".bin") else name


def shard_path(out: str | Path, split: str, number: int) -> Path:
    """`DIR/NAME_{split}_{number:06d}.bin`, llm.c's shard names."""
    out = Path(out)
    return out.with_name(f"{shard_name(out)}_{split}_{number:06d}.bin")


def shards_manifest_path(out: str | Path) -> Path:
    """`DIR/NAME.json`: the one manifest of a sharded output."""
    out = Path(out)
    return out.with_name(shard_name(out) + ".json")


def is_shard_of(path: str | Path, out: str | Path) -> bool:
    """Whether `path` has the name of one of `out`'s shards (and so could be overwritten)."""
    path, out = Path(path), Path(out)
    pattern = re.escape(shard_name(out)) + r"_(train|val)_\d{6}\.bin"
    return re.fullmatch(pattern, path.name) is not None


@dataclass
class Settings:
    """What the writer needs to know, all of it JSON (a `tasks` run keeps it in its plan)."""

    out: str
    dtype: str  # numpy dtype string, "<u2" or "<u4"
    eot: int
    tokenizer: dict[str, Any]
    sources: list[dict[str, Any]]  # {"path", "bytes", "jsonl"} per input
    jsonl_field: str | None
    val_fraction: float
    val_tokens: int | None
    seed: int
    shard_tokens: int | None
    chunking: str

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def split_names(self) -> list[str]:
        return ["train", "val"] if self.val_fraction > 0 or self.val_tokens else ["train"]


@dataclass
class _Shard:
    path: Path
    handle: Any
    tokens: int = 0
    documents: int = 0


@dataclass
class _SplitWriter:
    """One split's tokens, to one file or to shards of `shard_tokens`."""

    name: str
    settings: Settings
    outputs: AtomicFiles
    shards: list[_Shard] = field(default_factory=list)
    by_source: list[int] = field(default_factory=list)
    tokens: int = 0

    @property
    def documents(self) -> int:
        return sum(self.by_source)

    def __post_init__(self) -> None:
        self.itemsize = self.settings.numpy_dtype.itemsize

    def _path(self, number: int) -> Path:
        out = self.settings.out
        if self.settings.shard_tokens is None:
            return Path(out) if self.name == "train" else validation_path(out)
        return shard_path(out, self.name, number)

    def _open(self) -> _Shard:
        path = self._path(len(self.shards))
        handle = self.outputs.open(path, "wb")
        handle.write(bytes(HEADER_BYTES))  # the real header is written when the shard is done
        self.shards.append(_Shard(path, handle))
        return self.shards[-1]

    def open_single(self) -> None:
        if self.settings.shard_tokens is None:
            self._open()

    def write(self, data: bytes, first: bool, source: int) -> None:
        if first:
            self.by_source[source] += 1
        limit = self.settings.shard_tokens
        if limit is None and self.shards:  # one file: no cut to look for
            shard = self.shards[0]
            shard.handle.write(data)
            count = len(data) // self.itemsize
            shard.tokens += count
            self.tokens += count
            shard.documents += first
            return
        itemsize = self.itemsize
        while data:
            shard = self.shards[-1] if self.shards else self._open()
            if limit is not None and shard.tokens >= limit:
                shard = self._open()
            room = len(data) // itemsize if limit is None else limit - shard.tokens
            part, data = data[: room * itemsize], data[room * itemsize :]
            shard.handle.write(part)
            shard.tokens += len(part) // itemsize
            self.tokens += len(part) // itemsize
            if first:
                shard.documents += 1
                first = False

    def finish(self) -> list[dict[str, Any]]:
        """Write each shard's header; return their records (file, tokens, documents, ...)."""
        records = []
        for shard in self.shards:
            shard.handle.seek(0)
            shard.handle.write(make_header(self.settings.numpy_dtype, shard.tokens))
            shard.handle.flush()
            temp = self.outputs.temp_path(shard.path)
            records.append(
                {
                    "file": shard.path.name,
                    "tokens": shard.tokens,
                    "documents": shard.documents,
                    "bytes": temp.stat().st_size,
                    "sha256": file_sha256(temp),
                }
            )
        return records


class _Router:
    """Sends each piece of the stream to its split (see the module docstring)."""

    def __init__(self, settings: Settings, writers: dict[str, _SplitWriter]) -> None:
        self.settings = settings
        self.writers = writers
        self.itemsize = settings.numpy_dtype.itemsize
        self.document = -1  # the number of the current document, in corpus order
        self.split = "train"
        self.val_left = settings.val_tokens or 0

    def add(self, source: int, first: bool, data: bytes) -> None:
        if self.settings.val_tokens:
            take = min(len(data) // self.itemsize, self.val_left) * self.itemsize
            if take:
                self.writers["val"].write(data[:take], first, source)
                self.val_left -= take // self.itemsize
            if take < len(data):
                self.writers["train"].write(data[take:], first and not take, source)
            return
        if first:
            self.document += 1
            fraction = self.settings.val_fraction
            val = is_validation_document(self.document, fraction, self.settings.seed)
            self.split = "val" if val else "train"
        self.writers[self.split].write(data, first, source)

    def check(self) -> None:
        settings = self.settings
        if settings.val_tokens:
            train = self.writers["train"].tokens
            if self.val_left or not train:
                total = train + self.writers["val"].tokens
                raise ArgumentValueError(
                    f"val_tokens={settings.val_tokens:,} needs more tokens than the corpus has "
                    f"({total:,}): the validation split takes the first val_tokens tokens and "
                    "the training split needs the rest. Use a smaller val_tokens."
                )
        elif "val" in self.writers:
            train, val = self.writers["train"].documents, self.writers["val"].documents
            if train == 0 or val == 0:
                raise ArgumentValueError(
                    f"val_fraction={settings.val_fraction} put {val} of {train + val} documents "
                    "in the validation split and the rest in training, and both need at least "
                    "one. The split is by documents: give more documents (several files or a "
                    "JSONL file), change val_fraction, use val_tokens (a number of tokens) or "
                    "val_fraction=0."
                )


def write_outputs(
    pieces: Iterable[tuple[int, bool, bytes]], settings: Settings
) -> dict[str, dict[str, Any]]:
    """Write the token stream `pieces` as `settings` says; return the manifests written.

    Without shards: `{"train": manifest, "val": manifest}` (one per token file); with shards:
    `{"shards": manifest}`.
    """
    with atomic_files() as outputs:
        writers = {
            name: _SplitWriter(name, settings, outputs, by_source=[0] * len(settings.sources))
            for name in settings.split_names()
        }
        for writer in writers.values():
            writer.open_single()  # an unsharded split always has its file
        router = _Router(settings, writers)
        for source, first, data in pieces:
            router.add(source, first, data)
        router.check()
        records = {name: writer.finish() for name, writer in writers.items()}
        if settings.shard_tokens is None:
            manifests = {
                name: _file_manifest(writers[name], records[name][0], settings) for name in writers
            }
            for name, manifest in manifests.items():
                path = manifest_path(writers[name].shards[0].path)
                write_envelope(outputs.temp_path(path), MANIFEST_KIND, manifest)
        else:
            manifest = _shards_manifest(writers, records, settings)
            path = shards_manifest_path(settings.out)
            write_envelope(outputs.temp_path(path), SHARDS_KIND, manifest)
            manifests = {"shards": manifest}
    if settings.shard_tokens is not None:
        _remove_stale_shards(settings.out, manifests["shards"])
    return {
        name: {"format": "tokprep", "kind": _kind(name), "version": 1, **manifest}
        for name, manifest in manifests.items()
    }


def _remove_stale_shards(out: str, manifest: dict[str, Any]) -> None:
    """Remove shards of an earlier run to the same `-o` that this run did not write (it made
    fewer): llm.c's loaders glob `NAME_train_*.bin`, and would read them."""
    written = {s["file"] for split in manifest["splits"].values() for s in split["shards"]}
    folder = Path(out).parent
    for path in folder.glob(f"{glob.escape(shard_name(out))}_*_??????.bin"):
        if is_shard_of(path, out) and path.name not in written:
            path.unlink()


def _kind(name: str) -> str:
    return SHARDS_KIND if name == "shards" else MANIFEST_KIND


def _header_fields(dtype: np.dtype) -> dict[str, Any]:
    header = np.frombuffer(make_header(dtype, 0)[:8], dtype="<i4")
    return {"dtype": dtype.name, "magic": int(header[0]), "header_version": int(header[1])}


def _file_manifest(
    writer: _SplitWriter, record: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The manifest of one token file (the layout without shards, as tokprep always wrote)."""
    return {
        "file": record["file"],
        "split": writer.name,
        "bytes": record["bytes"],
        "sha256": record["sha256"],
        **_header_fields(settings.numpy_dtype),
        "tokens": writer.tokens,
        "documents": writer.documents,
        "eot": settings.eot,
        "tokenizer": settings.tokenizer,
        "sources": [
            {**source, "documents": count}
            for source, count in zip(settings.sources, writer.by_source, strict=True)
        ],
        "jsonl_field": settings.jsonl_field,
        "val_fraction": settings.val_fraction,
        **({"val_tokens": settings.val_tokens} if settings.val_tokens else {}),
        "seed": settings.seed,
        "chunking": settings.chunking,
    }


def _shards_manifest(
    writers: dict[str, _SplitWriter],
    records: dict[str, list[dict[str, Any]]],
    settings: Settings,
) -> dict[str, Any]:
    tokenizer = dict(settings.tokenizer)
    if "spec" in tokenizer and ("/" in tokenizer["spec"] or "\\" in tokenizer["spec"]):
        tokenizer["spec"] = Path(tokenizer["spec"]).name  # a file: its name, never a path
    return {
        "name": shard_name(settings.out),
        **_header_fields(settings.numpy_dtype),
        "shard_tokens": settings.shard_tokens,
        "eot": settings.eot,
        "tokenizer": tokenizer,
        "sources": [
            {
                "name": Path(source["path"]).name,
                "bytes": source["bytes"],
                "jsonl": source["jsonl"],
                "documents": {
                    name: writers[name].by_source[i] for name in SPLITS if name in writers
                },
            }
            for i, source in enumerate(settings.sources)
        ],
        "jsonl_field": settings.jsonl_field,
        "val_fraction": settings.val_fraction,
        "val_tokens": settings.val_tokens,
        "seed": settings.seed,
        "chunking": settings.chunking,
        "splits": {
            name: {
                "tokens": writers[name].tokens,
                "documents": writers[name].documents,
                "shards": records[name],
            }
            for name in SPLITS
            if name in writers
        },
    }
