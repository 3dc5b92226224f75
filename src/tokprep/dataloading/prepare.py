"""`prepare()`: tokenize a corpus into an llm.c token file, streaming, with worker processes.

The corpus is a list of files. A document is a whole file, or one line of a JSONL file (the
text is in a field, `"text"` by default). Following llm.c, every document is preceded by the
end-of-text ID, so a trainer sees where one document ends and the next begins. Text that spells
a special token (`"<|endoftext|>"` inside a web page) is encoded as ordinary text
(`encode_ordinary`): only tokprep itself puts control tokens into the file.

Streaming without changing a single token. A BPE tokenizer first splits text into pieces with
its regex and never merges across pieces, so a document can be encoded in chunks exactly when
every cut falls on a piece boundary that does not depend on what comes after the cut. For
GPT-2's pattern (and cl100k's) two such places, each with non-whitespace on both sides, are
right after a newline ("X\\n|Y": the "\\n" is always a piece of its own) and right before a
space ("X| Y": X's piece stops at the space, and " Y" starts a piece). tokprep cuts only there;
the tests check the rule on the regexes themselves with hypothesis, and the byte-identical
output on real corpora. For other patterns (o200k's `[\\r\\n/]*` joins "\\n/" to the piece
before it; word tokenizers; objects whose pattern tokprep cannot see) each document is encoded
whole.

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from tokprep.errors import ArgumentValueError, DatasetFormatError, TextInputError, require_int
from tokprep.files import PathLike, atomic_write, write_envelope
from tokprep.resolve import Tokenizer, load_tokenizer, tokenizer_identity

from .tokfile import (
    HEADER_BYTES,
    MANIFEST_KIND,
    dtype_for_vocab,
    file_sha256,
    make_header,
    manifest_path,
)

ENDOFTEXT = "<|endoftext|>"
#: GPT-2's pattern as first published (tiktoken's r50k_base spelling before possessives).
GPT2_LEGACY_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


def _safe_patterns() -> frozenset[str]:
    from tokprep.bpe.patterns import CL100K_PATTERN, GPT2_PATTERN

    return frozenset({GPT2_PATTERN, GPT2_LEGACY_PATTERN, CL100K_PATTERN})


#: Pre-tokenizer patterns for which `last_safe_cut`'s cuts are proven not to change the pieces
#: (tests/test_prepare.py checks each one with hypothesis).
SAFE_CUT_PATTERNS: frozenset[str] = _safe_patterns()
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
        for attr in ("special_tokens", "_special_tokens"):
            specials = getattr(tokenizer, attr, None)
            if isinstance(specials, dict) and ENDOFTEXT in specials:
                eot = specials[ENDOFTEXT]
                break
    if eot is None:
        raise ArgumentValueError(
            f"the tokenizer {type(tokenizer).__name__} has no end-of-text token, and a token "
            f"file puts one before every document (llm.c's convention). Use a tokenizer with "
            f"{ENDOFTEXT!r} as a special token: 'gpt2', a BPE trained with "
            f"special_tokens=[{ENDOFTEXT!r}], or a word vocabulary built with "
            f"build_vocab(words, special_tokens=('<|unk|>', {ENDOFTEXT!r}))."
        )
    return int(eot)


def tokenizer_pattern(tokenizer: Tokenizer) -> str | None:
    """The pre-tokenizer regex of `tokenizer` (tiktoken's `_pat_str` or tokprep's `pattern`)."""
    for attr in ("_pat_str", "pattern"):
        pattern = getattr(tokenizer, attr, None)
        if isinstance(pattern, str):
            return pattern
    return None


# --- reading: UTF-8 blocks, documents, safe chunks ----------------------------------------------


def _text_blocks(f: IO[bytes], source: str, block: int, on_read: Any) -> Iterator[str]:
    """Decode a binary stream in blocks; a character split across two blocks is carried over.

    Invalid UTF-8 raises `TextInputError` with the absolute byte offset in the file.
    """
    carry, offset = b"", 0
    while True:
        data = f.read(block)
        on_read(len(data))
        final = not data
        buf = carry + data if carry else data
        try:
            text, carry = buf.decode("utf-8"), b""
        except UnicodeDecodeError as e:
            truncated = e.reason == "unexpected end of data" and e.end == len(buf)
            if final or not truncated:
                raise _utf8_error(
                    source, offset + e.start, buf[e.start : e.end], e.reason
                ) from None
            text, carry = buf[: e.start].decode("utf-8"), buf[e.start :]
        offset += len(buf) - len(carry)
        if text:
            yield text
        if final:
            return


def _utf8_error(source: str, offset: int, bad: bytes, reason: str) -> TextInputError:
    return TextInputError(
        f"{source}: invalid UTF-8 at byte offset {offset} (bytes {bad!r}: {reason}). "
        "tokprep reads text as UTF-8; re-encode the file, e.g. `iconv -f LATIN1 -t UTF-8`."
    )


def last_safe_cut(text: str) -> int:
    """The last index where `text` may be cut without changing any token, or -1.

    Two kinds of safe cut, both with non-whitespace on either side:
    - after a newline: "X\\n|Y" (the "\\n" is a piece of its own in both halves);
    - before a space:  "X| Y" (the piece of X ends at X; " Y" starts a piece in both halves).
    `str.isspace` stands for "whitespace": it covers all of Unicode's White_Space (what the
    patterns' `\\s` matches) and a few more characters, which only makes cuts rarer.
    """
    end = len(text) - 1
    best = -1
    for char, after in ((" ", 0), ("\n", 1)):
        i = text.rfind(char, 1, end)
        while i > 0 and i + after > best:
            if not text[i - 1].isspace() and not text[i + 1].isspace():
                best = i + after
                break
            i = text.rfind(char, 1, i)
    return best


def safe_chunks(blocks: Iterable[str], *, streaming: bool = True) -> Iterator[str]:
    """Regroup the text `blocks` of one document into chunks cut only at safe places.

    Each chunk ends at the last safe cut seen so far; with `streaming=False`, one chunk.
    Joining the chunks gives back the document exactly.
    """
    if not streaming:
        whole = "".join(blocks)
        if whole:
            yield whole
        return
    parts: list[str] = []
    tail = ""  # the last two characters before `text`: a "\n" there is decided by text[0]
    for text in blocks:
        if not text:
            continue
        window = tail + text
        cut = last_safe_cut(window) - len(tail)
        if cut >= 0:
            parts.append(text[:cut])
            chunk = "".join(parts)
            if chunk:
                yield chunk
            parts = [text[cut:]]
        else:
            parts.append(text)
        tail = window[-2:]
    rest = "".join(parts)
    if rest:
        yield rest


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
            yield str(source.path), _text_blocks(f, str(source.path), chunk_bytes, on_read)
            return
        offset = 0
        for number, line in enumerate(f, start=1):
            on_read(len(line))
            start, offset = offset, offset + len(line)
            try:
                text_line = line.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _utf8_error(
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
    streaming = tokenizer_pattern(tok) in SAFE_CUT_PATTERNS
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
                sources, splits, field_name, chunk_bytes, streaming, val_fraction, seed, bar.update
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
            split, dtype, eot, identity, sources, jsonl_field, val_fraction, seed, streaming
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
    streaming: bool,
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
            for chunk in safe_chunks(blocks, streaming=streaming):
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
    streaming: bool,
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
        "chunking": "streamed at safe cuts" if streaming else "whole documents",
    }
    write_envelope(manifest_path(split.path), MANIFEST_KIND, manifest)
    return {"format": "tokprep", "kind": MANIFEST_KIND, "version": 1, **manifest}
