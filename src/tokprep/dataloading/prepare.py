"""`prepare()`: tokenize a corpus into an llm.c token file, streaming, with worker processes.

The corpus is a list of files. A document is a whole file, or one line of a JSONL file (the
text is in a field, `"text"` by default). Following llm.c, every document is preceded by the
end-of-text ID, so a trainer sees where one document ends and the next begins. Text that spells
a special token (`"<|endoftext|>"` inside a web page) is encoded as ordinary text
(`encode_ordinary`): only tokprep itself puts control tokens into the file.

Streaming without changing a single token. A BPE tokenizer first splits text into pieces with
its regex and never merges across pieces, so a document can be encoded in chunks exactly when
every cut falls on a piece boundary that does not depend on what comes after the cut. Those
places are the pre-tokenizer's safe cuts (`tokprep.bpe.pretokenize.safe_cut_regex`): right
before a space ("X| Y": X's piece stops at the space, and " Y" starts a piece) and, for GPT-2's
and cl100k's patterns, right after a newline ("X\\n|Y"), each with non-whitespace on both sides
(o200k's `[\\r\\n/]*` joins "\\n/" to the piece before it, so it gets only the space cut). The
tests check the rule on the regexes themselves with hypothesis, and the byte-identical output
on real corpora. Word tokenizers, and objects whose pattern tokprep cannot see, get each
document encoded whole.

Memory: about `chunk_bytes` of text per chunk, with up to `2 * workers` chunks in flight, plus,
where a document has no safe cut for a long stretch (text with no spaces and no single
newlines, such as some CJK text), that whole stretch: tokprep keeps reading until the next safe
cut or the document's end. A JSONL line is read whole. Output tokens go straight to disk.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tokprep.bpe.pretokenize import safe_chunks, safe_cut_regex
from tokprep.errors import ArgumentValueError, DatasetFormatError, require_int
from tokprep.files import PathLike, atomic_write, read_text_blocks, utf8_error, write_envelope
from tokprep.resolve import (
    Tokenizer,
    load_tokenizer,
    tokenizer_identity,
    tokenizer_pattern,
    tokenizer_special_tokens,
)

from .tokfile import (
    HEADER_BYTES,
    MANIFEST_KIND,
    dtype_for_vocab,
    file_sha256,
    make_header,
    manifest_path,
)

ENDOFTEXT = "<|endoftext|>"
DEFAULT_CHUNK_BYTES = 1 << 20
DEFAULT_SEED = 2357  # nanoGPT's split seed


# --- the tokenizer facts prepare needs ---------------------------------------------------------


def end_of_text_id(tokenizer: Tokenizer) -> int:
    """The tokenizer's end-of-text ID: `eot_token`, else its `"<|endoftext|>"` special token.

    Raises `ArgumentValueError` when it has none (every document must start with one).
    """
    try:
        eot = getattr(tokenizer, "eot_token", None)
    except KeyError:  # tiktoken's property raises when "<|endoftext|>" is not a special token
        eot = None
    if eot is None:
        eot = tokenizer_special_tokens(tokenizer).get(ENDOFTEXT)
    if eot is None:
        raise ArgumentValueError(
            f"the tokenizer {type(tokenizer).__name__} has no end-of-text token, and a token "
            f"file puts one before every document (llm.c's convention). Use a tokenizer with "
            f"{ENDOFTEXT!r} as a special token: 'gpt2', a BPE trained with "
            f"special_tokens=[{ENDOFTEXT!r}], or a word vocabulary built with "
            f"build_vocab(words, special_tokens=('<|unk|>', {ENDOFTEXT!r}))."
        )
    return int(eot)


# --- reading: UTF-8 blocks, documents, safe chunks ----------------------------------------------


@dataclass
class _Source:
    path: Path
    jsonl: bool
    bytes: int
    documents: dict[str, int] = field(default_factory=lambda: {"train": 0, "val": 0})


def _documents(
    source: _Source, jsonl_field: str, chunk_bytes: int, on_read: Any
) -> Iterator[tuple[str, Iterator[str]]]:
    """Yield `(label, text blocks)` for each document of one file."""
    with source.path.open("rb") as f:
        if not source.jsonl:
            yield str(source.path), read_text_blocks(f, str(source.path), chunk_bytes, on_read)
            return
        offset = 0
        for number, line in enumerate(f, start=1):
            on_read(len(line))
            start, offset = offset, offset + len(line)
            try:
                text_line = line.decode("utf-8")
            except UnicodeDecodeError as e:
                raise utf8_error(
                    f"{source.path}, line {number}",
                    start + e.start,
                    line[e.start : e.end],
                    e.reason,
                ) from None
            if not text_line.strip():
                continue
            text = _jsonl_text(text_line, jsonl_field, f"{source.path}, line {number}")
            blocks = (text[i : i + chunk_bytes] for i in range(0, len(text), chunk_bytes))
            yield f"{source.path}, line {number}", blocks


def _jsonl_text(line: str, jsonl_field: str, where: str) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise DatasetFormatError(
            f"{where}: not valid JSON ({e.msg} at column {e.colno}); a JSONL corpus has one JSON "
            "object per line."
        ) from None
    if not isinstance(record, dict) or jsonl_field not in record:
        keys = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise DatasetFormatError(
            f"{where}: no field {jsonl_field!r} (found {keys}); pass the field that holds the "
            "text with --jsonl-field / jsonl_field=."
        )
    text = record[jsonl_field]
    if not isinstance(text, str):
        raise DatasetFormatError(
            f"{where}: field {jsonl_field!r} holds a {type(text).__name__}, not a string."
        )
    return text


def is_validation_document(index: int, fraction: float, seed: int) -> bool:
    """Whether document number `index` goes to the validation split (a seeded hash < fraction).

    The choice depends only on (seed, index), never on chunking, workers or the other documents.
    """
    if fraction <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64 < fraction


# --- encoding (in this process or in workers) ---------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(payload: tuple[str, Any], n_vocab: int, eot: int, dtype: str) -> None:
    kind, value = payload
    if kind == "spec":
        tokenizer = load_tokenizer(value)  # resolved here: a tiktoken Encoding is never pickled
    elif kind == "pickle":
        tokenizer = pickle.loads(value)
    else:
        tokenizer = value
    _WORKER.update(tokenizer=tokenizer, n_vocab=n_vocab, eot=eot, dtype=np.dtype(dtype))


def _encode_chunk(task: tuple[str, bool, str]) -> bytes:
    """Encode one chunk as ordinary text; the first chunk of a document gets the EOT in front.

    Every ID is range-checked before the cast: numpy's astype would wrap 65,536 to 0 silently.
    """
    where, first, text = task
    ids = _WORKER["tokenizer"].encode_ordinary(text)
    array = np.empty(len(ids) + first, dtype=np.int64)
    if first:
        array[0] = _WORKER["eot"]
    array[int(first) :] = ids
    if array.size and (array.min() < 0 or array.max() >= _WORKER["n_vocab"]):
        bad = int(array[(array < 0) | (array >= _WORKER["n_vocab"])][0])
        raise ArgumentValueError(
            f"{where}: the tokenizer produced ID {bad}, outside its vocabulary 0..."
            f"{_WORKER['n_vocab'] - 1} (n_vocab={_WORKER['n_vocab']}); the tokenizer's n_vocab "
            "is wrong or it is broken."
        )
    return array.astype(_WORKER["dtype"]).tobytes()


def _start_method() -> str:
    # fork starts workers in milliseconds and shares the loaded ranks; elsewhere spawn is safe.
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


# --- the writer ---------------------------------------------------------------------------------


@dataclass
class _Split:
    name: str
    path: Path
    handle: Any = None  # the open temporary file while writing
    tokens: int = 0
    documents: int = 0


@dataclass(frozen=True)
class PrepareResult:
    """What `prepare` wrote: the manifest of each split (`val` is None without a val split)."""

    train: dict[str, Any]
    val: dict[str, Any] | None
    input_bytes: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        """Input megabytes (10**6 bytes) tokenized per second."""
        return self.input_bytes / 1e6 / self.seconds if self.seconds else 0.0


def validation_path(out: PathLike) -> Path:
    """`OUT.bin` -> `OUT.val.bin` (nanoGPT's train.bin / val.bin, side by side)."""
    out = Path(out)
    stem = out.name[: -len(".bin")] if out.name.endswith(".bin") else out.name
    return out.with_name(stem + ".val.bin")


def prepare(
    files: Sequence[PathLike],
    out: PathLike,
    *,
    tokenizer: str | os.PathLike | Tokenizer = "gpt2",
    workers: int = 1,
    jsonl_field: str | None = None,
    val_fraction: float = 0.0,
    seed: int = DEFAULT_SEED,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: bool | None = None,
) -> PrepareResult:
    """Tokenize `files` into the llm.c token file `out` (+ manifest `out.json`).

    - `tokenizer`: any `load_tokenizer` spec; with `workers > 1` give a spec (each worker loads
      its own) or a picklable tokenizer object.
    - `jsonl_field`: read every file as JSONL, one document per line, text in this field;
      without it, files ending in `.jsonl` are read that way with field `"text"`.
    - `val_fraction`: each document goes to `OUT.val.bin` with this probability, chosen by a
      seeded hash of its number (nanoGPT splits by documents too); both splits must end up
      non-empty.
    - `chunk_bytes`: how much text is read (and encoded) at a time; the output does not depend
      on it, nor on `workers`.
    - `progress`: a progress bar on stderr; by default only on a terminal and for >= 16 MB.

    Both files are written atomically: an error or crash leaves the old files or none.
    """
    if isinstance(files, str | os.PathLike):
        raise TypeError("files must be a list of paths, e.g. prepare(['a.txt'], 'out.bin')")
    if not files:
        raise ArgumentValueError("prepare needs at least one input file; got an empty list.")
    workers = require_int("workers", workers, minimum=1, hint="Use workers=1 for one process.")
    chunk_bytes = require_int(
        "chunk_bytes", chunk_bytes, minimum=1, hint=f"The default is {DEFAULT_CHUNK_BYTES:,}."
    )
    seed = require_int("seed", seed)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float):
        raise TypeError(f"val_fraction must be a float, got {type(val_fraction).__name__}")
    if not 0.0 <= val_fraction < 1.0:
        raise ArgumentValueError(
            f"val_fraction must be in [0, 1), got {val_fraction}; e.g. 0.1 holds out about 10% "
            "of the documents, 0 writes no validation file."
        )
    if jsonl_field is not None and not isinstance(jsonl_field, str):
        raise TypeError(f"jsonl_field must be a str, got {type(jsonl_field).__name__}")

    tok = load_tokenizer(tokenizer)
    eot = end_of_text_id(tok)
    n_vocab = int(tok.n_vocab)
    dtype = dtype_for_vocab(n_vocab)
    # The pattern to cut documents by while streaming, when its safe cuts are verified.
    pattern = tokenizer_pattern(tok)
    cut_pattern = pattern if pattern is not None and safe_cut_regex(pattern) else None
    payload = _worker_payload(tokenizer, tok, workers)

    sources = []
    for name in files:
        path = Path(name)
        jsonl = jsonl_field is not None or path.name.endswith(".jsonl")
        sources.append(_Source(path, jsonl, path.stat().st_size))
    field_name = jsonl_field or "text"
    total = sum(s.bytes for s in sources)
    out = Path(out)
    splits = {"train": _Split("train", out)}
    if val_fraction > 0:
        splits["val"] = _Split("val", validation_path(out))

    identity = tokenizer_identity(tok)
    if isinstance(tokenizer, str | os.PathLike):
        identity = {"spec": str(tokenizer), **identity}
    bar = _progress_bar(total, progress)
    start = time.perf_counter()
    try:
        # Every split is renamed into place only if all of them were written completely.
        with contextlib.ExitStack() as stack:
            for split in splits.values():
                split.handle = stack.enter_context(atomic_write(split.path, "wb"))
                split.handle.write(bytes(HEADER_BYTES))  # the real header is written last
            tasks = _tasks(
                sources,
                splits,
                field_name,
                chunk_bytes,
                cut_pattern,
                val_fraction,
                seed,
                bar.update,
            )
            if workers == 1:
                _init_worker(("object", tok), n_vocab, eot, dtype.str)
                for split_name, task in tasks:
                    _write(splits[split_name], _encode_chunk(task), dtype)
            else:
                _run_pool(tasks, splits, payload, workers, n_vocab, eot, dtype)
            _check_splits(splits, val_fraction)
            for split in splits.values():
                split.handle.seek(0)
                split.handle.write(make_header(dtype, split.tokens))
    finally:
        bar.close()
        _WORKER.clear()

    manifests: dict[str, dict[str, Any]] = {}
    for split in splits.values():
        manifests[split.name] = _write_manifest(
            split, dtype, eot, identity, sources, jsonl_field, val_fraction, seed, cut_pattern
        )
    # The time covers everything: reading, encoding, writing, and hashing for the manifests.
    seconds = time.perf_counter() - start
    return PrepareResult(manifests["train"], manifests.get("val"), total, seconds)


def _worker_payload(spec: Any, tok: Tokenizer, workers: int) -> tuple[str, Any]:
    if isinstance(spec, str | os.PathLike):
        return ("spec", os.fspath(spec))
    if workers == 1:
        return ("object", tok)
    try:
        return ("pickle", pickle.dumps(tok))
    except Exception as e:
        raise ArgumentValueError(
            f"workers={workers} needs a tokenizer each worker can load: pass a spec ('gpt2' or a "
            f"tokenizer file path) instead of the {type(tok).__name__} object, which cannot be "
            f"pickled ({e}); or use workers=1."
        ) from None


def _progress_bar(total: int, progress: bool | None) -> Any:
    from tqdm import tqdm

    if progress is None:
        progress = sys.stderr.isatty() and total >= 16_000_000
    return tqdm(
        total=total, unit="B", unit_scale=True, desc="prepare", disable=not progress, leave=False
    )


def _tasks(
    sources: list[_Source],
    splits: dict[str, _Split],
    field_name: str,
    chunk_bytes: int,
    cut_pattern: str | None,
    val_fraction: float,
    seed: int,
    on_read: Any,
) -> Iterator[tuple[str, tuple[str, bool, str]]]:
    index = 0
    for source in sources:
        for label, blocks in _documents(source, field_name, chunk_bytes, on_read):
            split = "val" if is_validation_document(index, val_fraction, seed) else "train"
            index += 1
            splits[split].documents += 1
            source.documents[split] += 1
            first = True
            for chunk in safe_chunks(blocks, cut_pattern):
                yield split, (label, first, chunk)
                first = False
            if first:  # an empty document is still marked by its end-of-text token
                yield split, (label, True, "")


def _write(split: _Split, data: bytes, dtype: np.dtype) -> None:
    split.handle.write(data)
    split.tokens += len(data) // dtype.itemsize


def _run_pool(
    tasks: Iterator[tuple[str, tuple[str, bool, str]]],
    splits: dict[str, _Split],
    payload: tuple[str, Any],
    workers: int,
    n_vocab: int,
    eot: int,
    dtype: np.dtype,
) -> None:
    # A bounded window of in-flight chunks, collected in order: Pool.imap would read the whole
    # corpus ahead into its queue.
    context = multiprocessing.get_context(_start_method())
    with context.Pool(workers, _init_worker, (payload, n_vocab, eot, dtype.str)) as pool:
        pending: collections.deque[tuple[str, Any]] = collections.deque()
        for split, task in tasks:
            pending.append((split, pool.apply_async(_encode_chunk, (task,))))
            if len(pending) >= 2 * workers:
                name, result = pending.popleft()
                _write(splits[name], result.get(), dtype)
        while pending:
            name, result = pending.popleft()
            _write(splits[name], result.get(), dtype)


def _check_splits(splits: dict[str, _Split], val_fraction: float) -> None:
    if "val" not in splits:
        return
    train, val = splits["train"].documents, splits["val"].documents
    if train == 0 or val == 0:
        raise ArgumentValueError(
            f"val_fraction={val_fraction} put {val} of {train + val} documents in the validation "
            "split and the rest in training, and both need at least one. The split is by "
            "documents: give more documents (several files or a JSONL file), change "
            "val_fraction, or use val_fraction=0."
        )


def _write_manifest(
    split: _Split,
    dtype: np.dtype,
    eot: int,
    identity: dict[str, Any],
    sources: list[_Source],
    jsonl_field: str | None,
    val_fraction: float,
    seed: int,
    cut_pattern: str | None,
) -> dict[str, Any]:
    header = np.frombuffer(make_header(dtype, split.tokens)[:8], dtype="<i4")
    manifest: dict[str, Any] = {
        "file": split.path.name,
        "split": split.name,
        "bytes": split.path.stat().st_size,
        "sha256": file_sha256(split.path),
        "dtype": dtype.name,
        "magic": int(header[0]),
        "header_version": int(header[1]),
        "tokens": split.tokens,
        "documents": split.documents,
        "eot": eot,
        "tokenizer": identity,
        "sources": [
            {
                "path": str(s.path),
                "bytes": s.bytes,
                "jsonl": s.jsonl,
                "documents": s.documents[split.name],
            }
            for s in sources
        ],
        "jsonl_field": jsonl_field,
        "val_fraction": val_fraction,
        "seed": seed,
        "chunking": "streamed at safe cuts" if cut_pattern else "whole documents",
    }
    write_envelope(manifest_path(split.path), MANIFEST_KIND, manifest)
    return {"format": "tokprep", "kind": MANIFEST_KIND, "version": 1, **manifest}
