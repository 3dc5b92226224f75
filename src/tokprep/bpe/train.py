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

Tie-break profiles. `tie_break="hf"` (the default) is Hugging Face's rule, below. The other
profiles ("rustbpe", "lexicographic", "first-seen"; all four side by side, with a worked
example, in `tokprep.bpe.tie_break`) run `_exact_merge_loop`: the same heap with lazy refresh,
a different second key in the heap entries, and the bookkeeping of a full recount (one word
list per pair, the merged pair's count dropped to zero). `tokprep.testing.trainer_reference`
is the slow recount trainer the tests hold every profile to.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from tokprep.bpe.gpt2_files import GPT2_BYTE_ORDER
from tokprep.bpe.patterns import resolve_pattern
from tokprep.bpe.pretokenize import safe_chunks, safe_parts
from tokprep.bpe.tie_break import byte_order, check_tie_break, reuses_ids, splits_on_specials
from tokprep.errors import ArgumentValueError, require_int
from tokprep.sources import Source, documents, open_sources
from tokprep.special import special_tokens_problem

__all__ = ["GPT2_BYTE_ORDER", "TrainedBPE", "byte_ranks", "count_words", "train_bpe"]


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


def _file_documents(
    item: Path | Source, pattern: str, jsonl_field: str | None
) -> Iterator[Iterable[str]]:
    """Each document of one file (`tokprep.sources`: a text file, or JSONL lines) as text
    parts that no piece crosses; errors name the file and the byte offset."""
    # A path may be a folder or a glob: every file it names, in order.
    sources = open_sources([item], jsonl_field=jsonl_field) if isinstance(item, Path) else [item]
    for source in sources:
        for _, blocks in documents(source, jsonl_field=jsonl_field, block=_READ_BLOCK):
            if not source.jsonl:
                yield safe_chunks(blocks, pattern)
                continue
            text = "".join(blocks)
            yield safe_parts(text, pattern, _BATCH_CHARS) if len(text) > _BATCH_CHARS else (text,)


def _documents(data: Any) -> Iterator[tuple[Any, ...]]:
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
        elif isinstance(item, Source):
            yield ("", item)
        else:
            raise TypeError(
                f"data item {index} must be a str document or an os.PathLike file path, "
                f"got {type(item).__name__}"
            )


def _count_parts(pattern: str, parts: list[str]) -> Counter[str]:
    """Count the pieces of each part (a worker's unit of work), in order of first appearance."""
    from tokprep.bpe.pretokenize import splitter

    split = splitter(pattern).split
    counts: Counter[str] = Counter()
    for part in parts:
        counts.update(split(part))
    return counts


def _count_task(task: tuple[str, list[str]]) -> Counter[str]:
    return _count_parts(*task)


def _cut_at_specials(parts: Iterable[str], specials: list[str]) -> Iterator[str]:
    """The text between special tokens, which are dropped (CS336's documents).

    A streamed part may end inside a special token that holds whitespace (cuts fall before
    spaces); then the text after the last special is carried into the next part.
    """
    cutter = regex.compile("|".join(regex.escape(s) for s in sorted(specials, key=len)[::-1]))
    prefixes = {s[:k] for s in specials for k in range(1, len(s))}
    carry = ""
    for part in parts:
        pieces = cutter.split(carry + part)
        carry = pieces.pop()
        yield from pieces
        if not any(carry.endswith(prefix) for prefix in prefixes):
            yield carry
            carry = ""
    if carry:
        yield carry


def _document_parts(data: Any, pattern: str, jsonl_field: str | None) -> Iterator[Iterable[str]]:
    """Each document of the input as an iterable of parts that can be counted one by one."""
    for document in _documents(data):
        if len(document) == 2:
            yield from _file_documents(document[1], pattern, jsonl_field)
        elif len(document[0]) > _BATCH_CHARS:
            yield safe_parts(document[0], pattern, _BATCH_CHARS)
        else:
            yield document


def _batches(
    data: Any, pattern: str, cut_at: list[str] | None = None, jsonl_field: str | None = None
) -> Iterator[tuple[list[str], int]]:
    """Group the input into `(parts, characters)` batches of about `_BATCH_CHARS`."""
    batch: list[str] = []
    size = 0
    for parts in _document_parts(data, pattern, jsonl_field):
        if cut_at:
            parts = _cut_at_specials(parts, cut_at)
        for part in parts:
            batch.append(part)
            size += len(part)
            if size >= _BATCH_CHARS:
                yield batch, size
                batch, size = [], 0
    if batch:
        yield batch, size


def count_words(
    data: Any,
    pattern: str = "gpt2",
    *,
    processes: int | None = None,
    cut_at: list[str] | None = None,
    on_read: Callable[[int], Any] | None = None,
    jsonl_field: str | None = None,
    executor: Any = None,
    counts_folder: str | os.PathLike | None = None,
    files: list[Any] | None = None,
) -> tuple[Counter[str], int]:
    """Pre-tokenize `data` and count each distinct piece: `(counts, characters read)`.

    `data` is what `train_bpe` takes. Past `PARALLEL_THRESHOLD` characters the rest is counted
    in `processes` worker processes (default: the CPU count) with `tokprep.pool`, which is safe
    in a plain script without a main guard on Linux. Counts are sums, and the counter lists the
    pieces in order of first appearance, so the result (order included) is the same for any
    number of processes. `cut_at`: special tokens whose text cuts documents and is not counted.
    `on_read(characters)` is called after each batch (progress). Files are read with
    `tokprep.sources` (`.jsonl` files, or every file when `jsonl_field` is given, as JSONL).

    `executor` (`tokprep.executors`): where the batches are counted, a local pool of
    `processes` by default. A map-reduce: each batch's counts come back in batch order and are
    summed in that order, so the result is the same on any executor. A `tasks` executor counts
    its rank's batches into `counts_folder` (`tokprep.bpe.counting`); `files` (names and
    sizes of the input files) goes into its counts, so counts of other files are never merged.
    """
    from tokprep.executors import LocalExecutor

    pattern = resolve_pattern(pattern)
    if processes is None:
        workers = os.cpu_count() or 1
    else:
        workers = require_int("processes", processes, minimum=1)
    total: Counter[str] = Counter()
    seen = 0
    batches = _batches(data, pattern, cut_at, jsonl_field)
    if executor is not None and executor.name == "tasks":
        from tokprep.bpe.counting import count_tasks

        if counts_folder is None:
            raise ArgumentValueError("engine='tasks' needs counts_folder= for the ranks' counts")
        fingerprint = {
            "pattern": pattern,
            "cut_at": cut_at,
            "jsonl_field": jsonl_field,
            "files": files or [],
        }
        return count_tasks(batches, pattern, executor, counts_folder, fingerprint)
    if executor is None:
        executor = LocalExecutor(workers)
    for parts, size in batches:
        seen += size
        total.update(_count_parts(pattern, parts))
        if on_read is not None:
            on_read(size)
        if executor.workers > 1 and seen > PARALLEL_THRESHOLD:
            break
    else:
        return total, seen

    def tasks() -> Iterator[tuple[str, list[str]]]:
        nonlocal seen
        for parts, size in batches:
            seen += size
            yield pattern, parts
            if on_read is not None:
                on_read(size)

    # Results come back in task order: the first-appearance order does not depend on workers.
    for counts in executor.map(_count_task, tasks(), what="tokprep train"):
        total.update(counts)
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


def _inverted(token: bytes) -> str:
    """A string that sorts in the opposite order of `token` (a longer token after its prefix
    sorts first): the min-heap then pops the lexicographically greatest pair first."""
    return token.translate(_INVERT).decode("latin-1") + "\uffff"


# byte c -> 255 - c, so the latin-1 string of a token sorts in reverse; "\uffff" ends it.
_INVERT = bytes(range(255, -1, -1))


def _exact_merge_loop(
    words: list[list[int]],
    counts: list[int],
    tokens: list[bytes],
    target: int,
    min_frequency: int,
    on_new_token: Callable[[], None],
    tie_break: str,
) -> list[tuple[int, int, int]]:
    """The merge loop of the rustbpe, lexicographic and first-seen profiles.

    The same heap with lazy refresh as `_merge_loop`, but with the bookkeeping of a full
    recount: each pair keeps one list of the words that hold it (in word order), a merge
    rewrites all of them, and the merged pair's count drops to zero. Ties are decided by the
    second field of the heap entry (see `tokprep.bpe.tie_break`).

    For first-seen, `words` must be in order of first appearance in the text: a pair's place is
    (the first word that holds it, the byte offset of its first occurrence there).
    """
    shift = 1 << max(20, (target + 1).bit_length())
    reuse = reuses_ids(tie_break)
    first_seen = tie_break == "first-seen"
    pair_counts: dict[int, int] = {}
    where: dict[int, list[int]] = {}
    place: dict[int, int] = {}  # first-seen: word index * 2**32 + byte offset
    for index, word in enumerate(words):
        count = counts[index]
        for position, (a, b) in enumerate(itertools.pairwise(word)):
            pair = a * shift + b
            pair_counts[pair] = pair_counts.get(pair, 0) + count
            holders = where.get(pair)
            if holders is None:
                where[pair] = [index]
                if first_seen:
                    place[pair] = (index << 32) + position
            elif holders[-1] != index:
                holders.append(index)
    inverted = [_inverted(t) for t in tokens] if tie_break == "lexicographic" else []

    def locate(pair: int) -> int:
        """first-seen: the pair's first place now; words that lost it leave its list."""
        a, b = divmod(pair, shift)
        holders = where[pair]
        for n, index in enumerate(holders):
            word = words[index]
            position = -1
            while True:
                try:
                    position = word.index(a, position + 1)
                except ValueError:
                    break
                if position + 1 < len(word) and word[position + 1] == b:
                    if n:
                        del holders[:n]
                    # The byte offset, which merges elsewhere in the word do not move.
                    offset = sum(len(tokens[t]) for t in word[:position])
                    return (index << 32) + offset
        raise AssertionError("a pair with a positive count is in no word")  # pragma: no cover

    def tie(pair: int) -> Any:
        if first_seen:
            return locate(pair)
        if inverted:
            a, b = divmod(pair, shift)
            return inverted[a] + inverted[b]
        return pair  # rustbpe: the smaller (left, right) IDs

    if first_seen:
        heap = [(-pair_counts[p], place[p], p) for p in where]
        del place
    else:
        heap = [(-pair_counts[p], tie(p), p) for p in where]
    heapq.heapify(heap)
    token_id = {token: index for index, token in enumerate(tokens)}
    merges: list[tuple[int, int, int]] = []
    heappush, heappop = heapq.heappush, heapq.heappop
    while len(tokens) < target and heap:
        negative, _, pair = heappop(heap)
        count = pair_counts.get(pair, 0)
        if -negative != count:
            if count > 0:
                heappush(heap, (-count, tie(pair), pair))
            continue
        if count < 1 or count < min_frequency:
            break
        a, b = divmod(pair, shift)
        merged = tokens[a] + tokens[b]
        new = token_id.get(merged) if reuse else None
        if new is None:
            if merged in token_id:
                raise ArgumentValueError(
                    f"tie_break={tie_break!r}: merge {len(merges)} joins {tokens[a]!r} and "
                    f"{tokens[b]!r} into {merged!r}, which is token {token_id[merged]} already; "
                    f"this trainer would give the same bytes a second ID, which no tiktoken-"
                    f"style vocabulary can hold. Use tie_break='hf' or 'lexicographic' (they "
                    f"reuse the ID) or a smaller vocab_size."
                )
            new = len(tokens)
            tokens.append(merged)
            token_id[merged] = new
            if inverted:
                inverted.append(_inverted(merged))
            on_new_token()
        merges.append((a, b, new))
        holders = where.pop(pair)
        del pair_counts[pair]
        created: dict[int, list[int]] = {}
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
            while position < n:
                symbol = word[position]
                if symbol == a and position + 1 < n and word[position + 1] == b:
                    if out:
                        left = out[-1] * shift
                        key = left + a
                        if key != pair:
                            pair_counts[key] -= weight
                        key = left + new
                        pair_counts[key] = pair_counts.get(key, 0) + weight
                        seen = created.get(key)
                        if seen is None:
                            created[key] = [index]
                        elif seen[-1] != index:
                            seen.append(index)
                    if position + 2 < n:
                        right = word[position + 2]
                        key = b * shift + right
                        if key != pair:
                            pair_counts[key] -= weight
                        key = new_shift + right
                        pair_counts[key] = pair_counts.get(key, 0) + weight
                        seen = created.get(key)
                        if seen is None:
                            created[key] = [index]
                        elif seen[-1] != index:
                            seen.append(index)
                    out.append(new)
                    position += 2
                else:
                    out.append(symbol)
                    position += 1
            if len(out) != n:
                words[index] = out
        for key, seen in created.items():
            old = where.get(key)
            # Only a reused ID can meet a pair that has words already; keep the list in order.
            where[key] = seen if old is None else sorted({*old, *seen})
            count = pair_counts[key]
            if count > 0:
                heappush(heap, (-count, tie(key), key))
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
    if problem := special_tokens_problem(specials):  # refused before training, not after
        raise ArgumentValueError(problem)
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
    data: str | os.PathLike | Iterable[str | os.PathLike] | None,
    vocab_size: int,
    *,
    pattern: str = "gpt2",
    special_tokens: Iterable[str] | None = None,
    min_frequency: int = 0,
    progress: bool | None = None,
    processes: int | None = None,
    tie_break: str = "hf",
    files: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
    jsonl_field: str | None = None,
    engine: str = "local",
    rank: int | None = None,
    world_size: int | None = None,
    ray_address: str | None = None,
    counts_folder: str | os.PathLike | None = None,
) -> TrainedBPE:
    """Train a byte-level BPE of exactly `vocab_size` tokens on `data`.

    `data`: the text (`str`), an iterable of `str` documents, or file paths (`os.PathLike`, or
    an iterable of them; each file is one document, streamed as UTF-8). `pattern`: `"gpt2"`,
    `"cl100k"`, `"o200k"` or a regex. `vocab_size` counts the 256 bytes, the merges and the
    `special_tokens`. `min_frequency`: stop merging when the best pair occurs fewer times.
    `progress`: tqdm bars for counting and merging; `None` shows them only for a long run on
    a terminal. `processes`: workers for pre-tokenizing input past `PARALLEL_THRESHOLD`
    (default: the CPU count). `tie_break`: which trainer's rule decides between pairs of equal
    count, `"hf"`, `"rustbpe"`, `"lexicographic"` or `"first-seen"` (`tokprep.bpe.tie_break`).
    `files`: file paths (str or path-like), read after `data` (which may then be None), with
    `tokprep.sources`: a text file is a document, a `.jsonl` file (every file, when
    `jsonl_field` is given) holds a document per line in field `jsonl_field` (default "text").
    `engine`: where pre-tokens are counted (`tokprep.executors`): `"local"` (a pool of
    `processes`), `"ray"` (Ray tasks, `ray_address` or a local Ray), or `"tasks"` (this is
    rank `rank` of `world_size`: it writes its counts to `counts_folder` and raises
    `tokprep.bpe.counting.TasksPending` until every rank's counts are there; then it merges).
    The merges are the same on every engine; the merge loop runs in this process.

    With the default `tie_break="hf"` the merges equal Hugging Face `BpeTrainer`'s on the same
    pieces (see the module docstring). Raises `ArgumentValueError` when the corpus cannot fill
    the vocabulary.
    """
    tie_break = check_tie_break(tie_break)
    inputs: list[Any] = [] if data is None else [data]
    if files is not None:  # checked before anything is read
        inputs.extend(open_sources(_file_paths(files), jsonl_field=jsonl_field))
    if not inputs:
        raise TypeError("train_bpe needs the text (data=) or files=; both are None")
    if len(inputs) > 1 or data is None:
        data = _chain(inputs)  # type: ignore[assignment]  # Sources are read as files
    vocab_size = require_int("vocab_size", vocab_size)
    min_frequency = require_int(
        "min_frequency", min_frequency, minimum=0, hint="Use 0 to merge while any pair is left."
    )
    pattern = resolve_pattern(pattern)
    try:
        regex.compile(pattern)  # regex.error is no ValueError: name the argument instead
    except regex.error as e:
        raise ArgumentValueError(
            f"pattern {pattern!r} is not a valid regex ({e}); give a preset name (gpt2, "
            "cl100k, o200k) or a regex that compiles with the `regex` module"
        ) from None
    specials = _check_specials(special_tokens)
    smallest = 256 + len(specials)
    if vocab_size < smallest:
        raise ArgumentValueError(
            f"vocab_size must be >= {smallest} (256 byte tokens + {len(specials)} special "
            f"tokens), got {vocab_size}. Ask for a vocab_size of at least {smallest}."
        )
    target = vocab_size - len(specials)
    executor = None
    if engine != "local" or rank is not None or world_size is not None:
        from tokprep.executors import get_executor

        executor = get_executor(
            engine,
            workers=(os.cpu_count() or 1) if processes is None else processes,
            rank=rank,
            world_size=world_size,
            ray_address=ray_address,
        )
    started = time.perf_counter()
    counting = _counting_bar(progress)
    try:
        word_counts, characters = count_words(
            data,
            pattern,
            processes=processes,
            cut_at=specials if splits_on_specials(tie_break) else None,
            on_read=counting.update if counting is not None else None,
            jsonl_field=jsonl_field,
            executor=executor,
            counts_folder=counts_folder,
            files=_files_of(inputs),
        )
    finally:
        if counting is not None:
            counting.close()
    # Sorted, so the word order (and everything after it) does not depend on the input order,
    # the process count or PYTHONHASHSEED. first-seen keeps the order of first appearance
    # (the same for any process count): its rule is about that order.
    order = byte_order(tie_break)
    id_of_byte = bytes(order.index(b) for b in range(256))
    words: list[list[int]] = []
    counts: list[int] = []
    for piece in word_counts if tie_break == "first-seen" else sorted(word_counts):
        encoded = piece.encode("utf-8")
        if len(encoded) > 1:  # a single byte holds no pair
            words.append(list(encoded.translate(id_of_byte)))
            counts.append(word_counts[piece])
    del word_counts
    tokens = [bytes([b]) for b in order]
    show = _show_progress(progress, characters, target - 256)
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=target - 256, desc="BPE merges", unit="merge", file=sys.stderr)
        bar.set_postfix_str(f"counted {characters:,} chars in {time.perf_counter() - started:.1f}s")
    try:
        on_new_token = bar.update if bar else _nothing
        if tie_break == "hf":
            log = _merge_loop(words, counts, tokens, target, min_frequency, on_new_token)
        else:
            log = _exact_merge_loop(
                words, counts, tokens, target, min_frequency, on_new_token, tie_break
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


def _files_of(inputs: list[Any]) -> list[list[Any]]:
    """The input files' names and sizes (a `tasks` run's counts record them)."""
    return [[item.path.name, item.bytes] for item in inputs if isinstance(item, Source)]


def _nothing() -> None:
    return None


def _file_paths(files: Any) -> list[Path]:
    """`files=` as a list of paths: one str or path-like, or an iterable of them."""
    if isinstance(files, str | os.PathLike):
        return [Path(files)]
    if isinstance(files, bytes | bytearray) or not isinstance(files, Iterable):
        raise TypeError(
            f"files must be a path (str or os.PathLike) or a list of paths, "
            f"got {type(files).__name__}"
        )
    paths = []
    for index, item in enumerate(files):
        if not isinstance(item, str | os.PathLike):
            raise TypeError(f"files[{index}] must be a str or os.PathLike path, got {item!r}")
        paths.append(Path(item))
    return paths


def _chain(inputs: list[Any]) -> Iterator[str | os.PathLike | Source]:
    """The documents of `data` followed by the files, as one iterable for `count_words`."""
    for item in inputs:
        if isinstance(item, str | os.PathLike | Source):
            yield item
        else:
            for document in _documents(item):
                yield document[1] if len(document) == 2 else document[0]


def _counting_bar(progress: bool | None) -> Any:
    """A tqdm bar for counting (characters read), or None. Unasked, it appears only on a
    terminal and only once counting has taken two seconds."""
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(
        desc="counting",
        unit="char",
        unit_scale=True,
        file=sys.stderr,
        delay=0 if progress else 2,
    )


def check_text_argument(text: Any, files: Any) -> Any:
    """`BPETokenizer.train`'s first argument as `train_bpe` data: text only, never paths.

    A str is the text and an iterable of str is documents (checked as they are read); a path
    raises `TypeError` naming `files=`, so a file name is never trained on as text.
    """
    if text is None:
        if files is None:
            raise TypeError("BPETokenizer.train needs the text, or files= to read files")
        return None
    if isinstance(text, str):
        return text
    if isinstance(text, os.PathLike):
        raise TypeError(
            f"BPETokenizer.train's first argument is the text itself, and {text!r} is a path; "
            f"to train on the file, pass files={str(text)!r} (or a list of paths)"
        )
    if isinstance(text, bytes | bytearray) or not isinstance(text, Iterable):
        raise TypeError(
            "BPETokenizer.train's first argument is the text: a str or an iterable of str "
            f"documents (files go in files=), got {type(text).__name__}"
        )

    def documents() -> Iterator[str]:
        for index, item in enumerate(text):
            if isinstance(item, os.PathLike):
                raise TypeError(
                    f"text[{index}] is the path {item!r}; the first argument holds text "
                    f"documents, pass paths as files=[...]"
                )
            if not isinstance(item, str):
                raise TypeError(f"text[{index}] must be a str document, got {type(item).__name__}")
            yield item

    return documents()
