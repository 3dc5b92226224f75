"""Encoding chunks of a corpus into token bytes, in this process or in worker processes.

A worker is set up once with `init_worker(payload, n_vocab, eot, dtype)`: the payload is a
tokenizer spec (each worker resolves it: a tiktoken Encoding is never pickled), a pickled
tokenizer, or the object itself (this process). `encode_chunk((label, first, text))` then
returns the chunk's tokens as little-endian bytes of the output dtype, the end-of-text ID in
front when `first` (llm.c puts one before every document).

tiktoken's regex engine gives up, with a Rust panic, on a run of about a million whitespace
characters; such chunks are encoded with tokprep's own encoder on the same ranks, which gives
the same IDs.
"""

from __future__ import annotations

import os
import pickle
import re
from typing import Any

import numpy as np

from tokprep.errors import ArgumentValueError
from tokprep.resolve import Tokenizer, load_tokenizer, tokenizer_special_tokens

ENDOFTEXT = "<|endoftext|>"


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


_WORKER: dict[str, Any] = {}


def init_worker(payload: tuple[str, Any], n_vocab: int, eot: int, dtype: str) -> None:
    kind, value = payload
    if kind == "spec":
        tokenizer = load_tokenizer(value)  # resolved here: a tiktoken Encoding is never pickled
    elif kind == "pickle":
        tokenizer = pickle.loads(value)
    else:
        tokenizer = value
    _WORKER.update(tokenizer=tokenizer, n_vocab=n_vocab, eot=eot, dtype=np.dtype(dtype))


def encode_chunk(task: tuple[str, bool, str]) -> bytes:
    """Encode one chunk as ordinary text; the first chunk of a document gets the EOT in front.

    Every ID is range-checked before the cast: numpy's astype would wrap 65,536 to 0 silently.
    """
    where, first, text = task
    ids = _encode_ordinary(where, text)
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


def encode_batch(tasks: list[tuple[str, bool, str]]) -> list[bytes]:
    """`encode_chunk` for each task, with one range check and one cast for the whole batch
    (small documents cost a numpy call each otherwise)."""
    if not tasks:  # a byte range that holds no line start
        return []
    ids: list[int] = []
    ends: list[int] = []
    eot = _WORKER["eot"]
    for where, first, text in tasks:
        if first:
            ids.append(eot)
        ids += _encode_ordinary(where, text)
        ends.append(len(ids))
    array = np.array(ids, dtype=np.int64)
    n_vocab = _WORKER["n_vocab"]
    if array.size and (array.min() < 0 or array.max() >= n_vocab):
        bad_at = int(np.flatnonzero((array < 0) | (array >= n_vocab))[0])
        where = tasks[int(np.searchsorted(ends, bad_at, side="right"))][0]
        raise ArgumentValueError(
            f"{where}: the tokenizer produced ID {int(array[bad_at])}, outside its vocabulary "
            f"0...{n_vocab - 1} (n_vocab={n_vocab}); the tokenizer's n_vocab is wrong or it "
            "is broken."
        )
    data = array.astype(_WORKER["dtype"]).tobytes()
    size = _WORKER["dtype"].itemsize
    starts = [0, *ends[:-1]]
    return [data[start * size : end * size] for start, end in zip(starts, ends, strict=True)]


# tiktoken's regex engine (fancy-regex) panics on a whitespace run of about 1,000,000
# characters followed by more text ("a" + " " * 999_999 + "x"). Chunks holding a run this long
# go straight to tokprep's encoder; a panic on anything else is caught as well.
_LONG_WHITESPACE = 500_000
_WHITESPACE = re.compile(r"\s*")


def _has_long_whitespace(text: str) -> bool:
    """Whether `text` holds a run of at least `_LONG_WHITESPACE` whitespace characters.

    Such a run covers one of the positions 0, L, 2L, ... (L = `_LONG_WHITESPACE`), so only
    those are looked at, and the run around one that is whitespace is measured: microseconds
    per chunk, where a regex search over the chunk would cost a tenth of encoding it.
    """
    for position in range(0, len(text), _LONG_WHITESPACE):
        if text[position].isspace():
            end = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
            start = len(text[:position].rstrip())
            if end - start >= _LONG_WHITESPACE:
                return True
    return False


def _encode_ordinary(where: str, text: str) -> list[int]:
    tokenizer = _WORKER["tokenizer"]
    if _is_tiktoken(tokenizer) and _has_long_whitespace(text):
        return _fallback_encoder(tokenizer).encode_ordinary(text)
    try:
        return tokenizer.encode_ordinary(text)
    except BaseException as e:  # pyo3's PanicException derives from BaseException only
        if isinstance(e, Exception | KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        if not _is_tiktoken(tokenizer):
            raise ArgumentValueError(
                f"{where}: the tokenizer {type(tokenizer).__name__} crashed on this text "
                f"({type(e).__name__}: {e}); try tokprep's encoder on the same vocabulary."
            ) from None
    return _fallback_encoder(tokenizer).encode_ordinary(text)


def _is_tiktoken(tokenizer: Any) -> bool:
    return type(tokenizer).__module__.startswith("tiktoken")


def _fallback_encoder(tokenizer: Any) -> Any:
    """tokprep's encoder on a tiktoken Encoding's ranks, pattern and special tokens."""
    if "fallback" not in _WORKER:
        from tokprep.bpe import BPETokenizer

        _WORKER["fallback"] = BPETokenizer.from_tiktoken(tokenizer)
    return _WORKER["fallback"]


def worker_payload(spec: Any, tok: Tokenizer, *, in_process: bool, label: str) -> tuple[str, Any]:
    """How workers get the tokenizer: its spec (each loads it), else the object pickled, or,
    for this process alone (`in_process`), the object itself."""
    if isinstance(spec, str | os.PathLike):
        return ("spec", os.fspath(spec))
    if in_process:
        return ("object", tok)
    try:
        return ("pickle", pickle.dumps(tok))
    except Exception as e:
        raise ArgumentValueError(
            f"{label} needs a tokenizer each worker can load: pass a spec ('gpt2' or a "
            f"tokenizer file path) instead of the {type(tok).__name__} object, which cannot be "
            f"pickled ({e}); or use workers=1."
        ) from None
