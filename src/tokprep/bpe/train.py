"""Training a byte-level BPE vocabulary: Hugging Face's merges, exactly, in pure Python.

Training is a loop: find the most frequent pair of adjacent tokens in the corpus, make it a new
token, replace it everywhere, repeat until the vocabulary is full (Sennrich et al. 2016; the
GPT-2 variant works on UTF-8 bytes, so every text is covered by the 256 byte tokens). Done
naively, every merge re-reads the whole corpus. The fast trainers (Hugging Face `tokenizers`,
and here) do the same work incrementally:

1. Pre-tokenize every document with the pattern and count each distinct piece once
   ("words": the 664k pieces of War and Peace are 21k distinct words). No piece crosses a document
   boundary, and merges never cross a piece boundary. Splitting uses `pretokenize.splitter`
   (stdlib `re` on ASCII stretches, `regex` elsewhere: the same pieces as tiktoken); input
   past `PARALLEL_THRESHOLD` characters is counted in worker processes.
2. Count adjacent pairs over the distinct words, weighted by each word's count, and index
   which words hold each pair.
3. Keep candidate pairs in a max-heap. A popped entry whose count is out of date is pushed back
   with its current count ("lazy refresh") instead of keeping the heap exact after every merge.
4. Merge the winner only in the words that hold it, and adjust the counts of the neighbouring
   pairs those rewrites destroy and create.

IDs. The 256 single bytes take ranks 0-255 in GPT-2's byte order (the bytes with a printable
character first; the rank each byte has in `gpt2_ranks()`), merges follow in training order
(merge `i` creates rank `256 + i`) and special tokens come after the last merge, in the order
given. `vocab_size` counts all three.

The rule, as Hugging Face's `BpeTrainer` applies it (tokenizers 0.23, `models/bpe/trainer.rs`
and `word.rs`; this is a re-implementation from reading that source):

- The pair with the highest count wins; a tie goes to the smaller pair `(left_id, right_id)`,
  compared left first. With `initial_alphabet=ByteLevel.alphabet()` Hugging Face numbers the
  bytes by the code point of GPT-2's printable stand-in character, which is GPT-2's byte order,
  so its IDs and ours agree (specials aside: it numbers them first, which shifts every ID by
  the same amount and keeps the order).
- A word is rewritten left to right, merging non-overlapping occurrences: `a a a` with
  `(a, a)` becomes `aa a`.
- The count of the merged pair itself is never lowered (only its neighbours' counts change), so
  if the pair is pushed again later its count includes occurrences already merged.
- Each heap entry carries the words it was pushed for, and a merge rewrites only those. A pair
  is pushed again when a merge creates new occurrences of it.
- A merge may build a byte string that is already a token (`(ab, c)` and later `(a, bc)` both
  make `abc`). It then reuses that token's ID and does not grow the vocabulary, but it still
  counts as a merge (it rewrites words, and it is listed in `TrainedBPE.merge_log`).
- Training stops when the vocabulary is full, when no pair is left, when the best count is 0,
  or when it is below `min_frequency`.
- Hugging Face breaks a tie between two heap entries of the same pair and the same count in
  hash-map order; that can only happen after the "already a token" case above. Here the entry
  pushed first wins, so the result is deterministic.

Outcome rule: when the corpus runs out of pairs (or of pairs with at least `min_frequency`
occurrences) before the vocabulary is full, `train_bpe` raises `ArgumentValueError` with the
size reached; it never returns a short vocabulary. `vocab_size` below `256 + len(specials)`
raises the same error up front.

Where Hugging Face differs by design: it gives special tokens the first IDs and treats them as
ordinary vocabulary strings, so a special token spelled like a byte or a learned token changes
its numbering; here special tokens are separate from the byte-level vocabulary (tiktoken's
model), so such a token changes nothing.
"""

from __future__ import annotations

import heapq
import itertools
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokprep.bpe.gpt2_files import GPT2_BYTE_ORDER
from tokprep.bpe.patterns import resolve_pattern
from tokprep.bpe.pretokenize import safe_chunks, safe_parts
from tokprep.errors import ArgumentValueError, require_int
from tokprep.files import read_text_blocks

__all__ = ["GPT2_BYTE_ORDER", "TrainedBPE", "byte_ranks", "count_words", "train_bpe"]

# Maps a byte to its rank, for `bytes.translate`: a word's bytes become its token IDs in one call.
_RANK_OF_BYTE = bytes(GPT2_BYTE_ORDER.index(b) for b in range(256))

#: Input larger than this (in characters) is pre-tokenized in several processes.
PARALLEL_THRESHOLD = 4_000_000
# Work is handed out in batches of about this many characters.
_BATCH_CHARS = 1 << 20
# Files are read in blocks of this many bytes and cut at safe points (never mid-piece).
_READ_BLOCK = 4 << 20


def byte_ranks() -> dict[bytes, int]:
    """The 256 single-byte tokens and their ranks, in GPT-2's byte order."""
    return {bytes([b]): rank for rank, b in enumerate(GPT2_BYTE_ORDER)}


@dataclass(frozen=True)
class TrainedBPE:
    """The result of `train_bpe`, as plain data.

    - `ranks`: every mergeable token (256 bytes + merges) and its rank, which is its ID;
    - `merges`: the merge that created each learned token, in training order: `merges[i]`
      created rank `256 + i`;
    - `merge_log`: every merge Hugging Face's trainer makes, in order, including the rare ones
      that rebuilt an existing token (see the module docstring); equal to `merges` otherwise;
    - `special_tokens`: special token -> ID, after the last merge, in the order given;
    - `pattern`: the pre-tokenizer regex (a preset name resolved).
    """

    ranks: dict[bytes, int]
    merges: list[tuple[bytes, bytes]]
    special_tokens: dict[str, int]
    pattern: str
    merge_log: list[tuple[bytes, bytes]]

    @property
    def n_vocab(self) -> int:
        """Mergeable tokens plus special tokens: the `vocab_size` that was asked for."""
        return len(self.ranks) + len(self.special_tokens)


# --- input: documents, files, pre-tokenizing and counting ----------------------------------


def _read_file_parts(path: Path, pattern: str) -> Iterator[str]:
    """Stream a UTF-8 file as text parts that no piece crosses; errors name file and byte."""
    with path.open("rb") as f:
        yield from safe_chunks(read_text_blocks(f, str(path), _READ_BLOCK), pattern)


def _documents(data: Any) -> Iterator[tuple[str, ...]]:
    """Yield each document as a tuple of parts that can be counted independently."""
    if isinstance(data, str):
        yield (data,)
        return
    if isinstance(data, os.PathLike):
        data = (data,)
    elif isinstance(data, bytes | bytearray) or not isinstance(data, Iterable):
        raise TypeError(
            "data must be a str (the text), an iterable of str documents, or os.PathLike file "
            f"paths (e.g. pathlib.Path); got {type(data).__name__}"
        )
    for index, item in enumerate(data):
        if isinstance(item, str):
            yield (item,)
        elif isinstance(item, os.PathLike):
            yield ("", Path(item))  # a marker: the caller streams the file
        else:
            raise TypeError(
                f"data item {index} must be a str document or an os.PathLike file path, "
                f"got {type(item).__name__}"
            )


def _count_parts(pattern: str, parts: list[str]) -> Counter[str]:
    """Count the pieces of each part (a worker's unit of work)."""
    from tokprep.bpe.pretokenize import splitter

    split = splitter(pattern).split
    counts: Counter[str] = Counter()
    for part in parts:
        counts.update(split(part))
    return counts


def _batches(data: Any, pattern: str) -> Iterator[tuple[list[str], int]]:
    """Group the input into `(parts, characters)` batches of about `_BATCH_CHARS`."""
    batch: list[str] = []
    size = 0
    for document in _documents(data):
        if len(document) == 2:
            parts: Iterable[str] = _read_file_parts(document[1], pattern)
        elif len(document[0]) > _BATCH_CHARS:
            parts = safe_parts(document[0], pattern, _BATCH_CHARS)
        else:
            parts = document
        for part in parts:
            batch.append(part)
            size += len(part)
            if size >= _BATCH_CHARS:
                yield batch, size
                batch, size = [], 0
    if batch:
        yield batch, size


def count_words(
    data: Any, pattern: str = "gpt2", *, processes: int | None = None
) -> tuple[Counter[str], int]:
    """Pre-tokenize `data` and count each distinct piece: `(counts, characters read)`.

    `data` is what `train_bpe` takes. Past `PARALLEL_THRESHOLD` characters the rest is counted
    in `processes` worker processes (default: the CPU count); counts are sums, so the result is
    the same for any number of processes.
    """
    pattern = resolve_pattern(pattern)
    if processes is None:
        workers = os.cpu_count() or 1
    else:
        workers = require_int("processes", processes, minimum=1)
    total: Counter[str] = Counter()
    seen = 0
    pool: ProcessPoolExecutor | None = None
    futures: list[Future[Counter[str]]] = []
    try:
        for parts, size in _batches(data, pattern):
            seen += size
            if pool is None and workers > 1 and seen > PARALLEL_THRESHOLD:
                import multiprocessing

                # spawn: safe even when the caller runs threads (fork would copy their locks).
                context = multiprocessing.get_context("spawn")
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            if pool is None:
                total.update(_count_parts(pattern, parts))
                continue
            futures.append(pool.submit(_count_parts, pattern, parts))
            # Bounded look-ahead keeps memory flat on streamed input.
            while len(futures) > 2 * workers:
                total.update(futures.pop(0).result())
        for future in futures:
            total.update(future.result())
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return total, seen


# --- the merge loop -------------------------------------------------------------------------


def _merge_loop(
    words: list[list[int]],
    counts: list[int],
    tokens: list[bytes],
    target: int,
    min_frequency: int,
    on_new_token: Callable[[], None],
) -> list[tuple[int, int, int]]:
    """Run Hugging Face's merge loop on `words` (token IDs) until `tokens` has `target` entries.

    Returns `(left, right, new)` per merge. `tokens` (ID -> bytes) grows in place.
    """
    # A pair (a, b) is the int a * shift + b: cheaper to hash than a tuple, same order.
    shift = 1 << max(20, (target + 1).bit_length())
    pair_counts: dict[int, int] = {}
    where: dict[int, set[int]] = {}
    for index, word in enumerate(words):
        count = counts[index]
        for a, b in itertools.pairwise(word):
            pair = a * shift + b
            pair_counts[pair] = pair_counts.get(pair, 0) + count
            holders = where.get(pair)
            if holders is None:
                where[pair] = {index}
            else:
                holders.add(index)
    # Heap entries: (-count, pair, order pushed, words). The push order only decides between
    # two entries of the same pair and count, which Hugging Face leaves to hash-map order.
    serial = itertools.count()
    heap = [(-pair_counts[p], p, next(serial), holders) for p, holders in where.items()]
    heapq.heapify(heap)
    del where
    token_id = {token: index for index, token in enumerate(tokens)}
    merges: list[tuple[int, int, int]] = []
    heappush, heappop = heapq.heappush, heapq.heappop
    while len(tokens) < target and heap:
        negative, pair, _, holders = heappop(heap)
        count = pair_counts[pair]
        if -negative != count:
            heappush(heap, (-count, pair, next(serial), holders))
            continue
        if count < 1 or count < min_frequency:
            break
        a, b = divmod(pair, shift)
        merged = tokens[a] + tokens[b]
        new = token_id.get(merged)
        if new is None:
            new = len(tokens)
            tokens.append(merged)
            token_id[merged] = new
            on_new_token()
        merges.append((a, b, new))
        created: dict[int, set[int]] = {}
        new_shift = new * shift
        for index in holders:
            word = words[index]
            if a not in word:
                continue
            n = len(word)
            position = word.index(a)
            if position == n - 1:
                continue
            weight = counts[index]
            out = word[:position]
            # Left to right, as Hugging Face's Word::merge: a merged symbol is final, and the
            # neighbour counts move from (x, a) to (x, new) and from (b, y) to (new, y).
            while position < n:
                symbol = word[position]
                if symbol == a and position + 1 < n and word[position + 1] == b:
                    if out:
                        left = out[-1] * shift
                        pair_counts[left + a] -= weight
                        key = left + new
                        pair_counts[key] = pair_counts.get(key, 0) + weight
                        seen = created.get(key)
                        if seen is None:
                            created[key] = {index}
                        else:
                            seen.add(index)
                    if position + 2 < n:
                        right = word[position + 2]
                        pair_counts[b * shift + right] -= weight
                        key = new_shift + right
                        pair_counts[key] = pair_counts.get(key, 0) + weight
                        seen = created.get(key)
                        if seen is None:
                            created[key] = {index}
                        else:
                            seen.add(index)
                    out.append(new)
                    position += 2
                else:
                    out.append(symbol)
                    position += 1
            if len(out) != n:
                words[index] = out
        for key, seen in created.items():
            count = pair_counts[key]
            if count > 0:
                heappush(heap, (-count, key, next(serial), seen))
    return merges


# --- the public entry point -----------------------------------------------------------------


def _check_specials(special_tokens: Any) -> list[str]:
    if special_tokens is None:
        return []
    if isinstance(special_tokens, str) or not isinstance(special_tokens, Iterable):
        raise TypeError(
            "special_tokens must be a list of str (e.g. ['<|endoftext|>']), "
            f"got {type(special_tokens).__name__}"
        )
    specials = list(special_tokens)
    for token in specials:
        if not isinstance(token, str):
            raise TypeError(f"special tokens must be str, got {type(token).__name__} {token!r}")
        if not token:
            raise ArgumentValueError("a special token is the empty string; give non-empty text")
    repeated = [t for t, n in Counter(specials).items() if n > 1]
    if repeated:
        raise ArgumentValueError(
            f"special token {repeated[0]!r} is given twice; list each special token once"
        )
    return specials


def _show_progress(progress: bool | None, characters: int, n_merges: int) -> bool:
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        return progress
    # Rough pure-Python speed: ~2 MB/s to count, ~10k merges/s; bars only for a person watching.
    expected_seconds = characters / 2e6 + n_merges / 1e4
    return expected_seconds > 2 and sys.stderr.isatty()


def train_bpe(
    data: str | os.PathLike | Iterable[str | os.PathLike],
    vocab_size: int,
    *,
    pattern: str = "gpt2",
    special_tokens: Iterable[str] | None = None,
    min_frequency: int = 0,
    progress: bool | None = None,
    processes: int | None = None,
) -> TrainedBPE:
    """Train a byte-level BPE of exactly `vocab_size` tokens on `data`.

    `data`: the text (`str`), an iterable of `str` documents, or file paths (`os.PathLike`, or
    an iterable of them; each file is one document, streamed as UTF-8). `pattern`: `"gpt2"`,
    `"cl100k"`, `"o200k"` or a regex. `vocab_size` counts the 256 bytes, the merges and the
    `special_tokens`. `min_frequency`: stop merging when the best pair occurs fewer times.
    `progress`: a tqdm bar; `None` shows it only for a long run on a terminal. `processes`:
    workers for pre-tokenizing input past `PARALLEL_THRESHOLD` (default: the CPU count).

    The merges equal Hugging Face `BpeTrainer`'s on the same pieces (see the module docstring).
    Raises `ArgumentValueError` when the corpus cannot fill the vocabulary.
    """
    vocab_size = require_int("vocab_size", vocab_size)
    min_frequency = require_int(
        "min_frequency", min_frequency, minimum=0, hint="Use 0 to merge while any pair is left."
    )
    pattern = resolve_pattern(pattern)
    specials = _check_specials(special_tokens)
    smallest = 256 + len(specials)
    if vocab_size < smallest:
        raise ArgumentValueError(
            f"vocab_size must be >= {smallest} (256 byte tokens + {len(specials)} special "
            f"tokens), got {vocab_size}. Ask for a vocab_size of at least {smallest}."
        )
    target = vocab_size - len(specials)
    started = time.perf_counter()
    word_counts, characters = count_words(data, pattern, processes=processes)
    # Sorted, so the word order (and everything after it) does not depend on the input order,
    # the process count or PYTHONHASHSEED.
    words: list[list[int]] = []
    counts: list[int] = []
    for piece in sorted(word_counts):
        encoded = piece.encode("utf-8")
        if len(encoded) > 1:  # a single byte holds no pair
            words.append(list(encoded.translate(_RANK_OF_BYTE)))
            counts.append(word_counts[piece])
    del word_counts
    tokens = [bytes([b]) for b in GPT2_BYTE_ORDER]
    show = _show_progress(progress, characters, target - 256)
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=target - 256, desc="BPE merges", unit="merge", file=sys.stderr)
        bar.set_postfix_str(f"counted {characters:,} chars in {time.perf_counter() - started:.1f}s")
    try:
        log = _merge_loop(
            words, counts, tokens, target, min_frequency, bar.update if bar else _nothing
        )
    finally:
        if bar is not None:
            bar.close()
    if len(tokens) < target:
        reached = len(tokens) + len(specials)
        why = (
            f"no pair occurs at least min_frequency={min_frequency} times"
            if min_frequency > 1
            else "no pair of adjacent tokens is left to merge"
        )
        raise ArgumentValueError(
            f"the training text cannot fill vocab_size={vocab_size}: after {len(tokens) - 256} "
            f"merges {why}, so the vocabulary reached {reached} tokens. Pass vocab_size="
            f"{reached} (or less) for this vocabulary, or train on more text."
        )
    ranks = {token: index for index, token in enumerate(tokens)}
    merge_log = [(tokens[a], tokens[b]) for a, b, _ in log]
    created: dict[int, tuple[bytes, bytes]] = {}
    for a, b, new in log:
        created.setdefault(new, (tokens[a], tokens[b]))
    merges = [created[index] for index in range(256, len(tokens))]
    return TrainedBPE(
        ranks=ranks,
        merges=merges,
        special_tokens={token: target + i for i, token in enumerate(specials)},
        pattern=pattern,
        merge_log=merge_log,
    )


def _nothing() -> None:
    return None
