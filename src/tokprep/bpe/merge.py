"""Byte pair merging: turning one pre-tokenized piece into token IDs.

Start from the piece's bytes, one part per byte. Repeatedly find the adjacent pair of parts
whose concatenation has the lowest rank in the vocabulary (the leftmost such pair on a tie) and
merge it into one part. Stop when no adjacent pair is in the vocabulary; each part is a token.

This is tiktoken's rule exactly: a pair's priority is the rank of its concatenated *bytes*, so
any two parts that spell a token can merge, not only the pair the trainer merged.

Three implementations give the same result:

- `_merge_short` keeps the ranks of all adjacent pairs in a list and updates only the two
  neighbours of each merge; `min()` and `list.index()` run in C, which wins for the short pieces
  that make up almost all text. It is O(n^2) in the piece length.
- `_merge_long` keeps the parts in a doubly linked list and the candidate pairs grouped by
  rank, with a heap of the ranks present. It sweeps the pairs of the lowest rank left to right
  (one sort per rank, a heap only for pairs that appear mid-sweep), so a whole piece costs
  O(n log n), whatever it is. Candidates that went stale when a neighbour merged are skipped.
- `_merge_huge` is the same sweep over flat arrays of 32-bit integers instead of lists of
  bytes and int objects: about 14 bytes of memory per byte of the piece instead of about 140,
  for a little more time. Pieces past `HUGE_PIECE` (16 KiB) use it; below that the lists
  take at most a few megabytes.

All three take a `limit`: pairs ranked at or above it are never merged. `bpe_split` passes it
on, and `merges_from_ranks` uses that to run BPE on a token with only the lower ranks.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping
from heapq import heapify, heappop, heappush
from itertools import islice, pairwise, repeat

#: Pieces longer than this (in bytes) use the heap.
LONG_PIECE = 48
#: Pieces longer than this use the heap over flat arrays (`_merge_huge`).
HUGE_PIECE = 1 << 14

_NO_RANK = 1 << 62
_SINGLE_BYTES = [bytes([b]) for b in range(256)]
# Pair ranks are computed in blocks of this many bytes (bounding their temporary objects).
_BLOCK = 1 << 16
# A sweep frees the positions it has read once there are this many (and a quarter of them).
_TRIM = 1 << 16


def bpe_merge(piece: bytes, ranks: Mapping[bytes, int]) -> list[int]:
    """The token IDs of `piece` under `ranks` (which must hold all 256 single bytes)."""
    if len(piece) <= LONG_PIECE:
        return [ranks[part] for part in _merge_short(piece, ranks)]
    if len(piece) <= HUGE_PIECE:
        return [ranks[part] for part in _merge_long(piece, ranks)]
    return [ranks[piece[start:end]] for start, end in _huge_spans(piece, ranks, _NO_RANK)]


def bpe_split(piece: bytes, ranks: Mapping[bytes, int], limit: int) -> list[bytes]:
    """The parts BPE leaves of `piece` when only the ranks below `limit` may merge.

    >>> ranks = {bytes([b]): b for b in range(256)} | {b"bc": 256, b"ab": 257, b"abc": 258}
    >>> bpe_split(b"abc", ranks, 258)   # "bc" (256) joins before "ab" (257)
    [b'a', b'bc']
    """
    if len(piece) <= LONG_PIECE:
        return _merge_short(piece, ranks, limit)
    if len(piece) <= HUGE_PIECE:
        return _merge_long(piece, ranks, limit)
    return _merge_huge(piece, ranks, limit)


def _merge_short(piece: bytes, ranks: Mapping[bytes, int], limit: int = _NO_RANK) -> list[bytes]:
    parts = [_SINGLE_BYTES[b] for b in piece]
    get = ranks.get
    pair_ranks = [get(a + b, _NO_RANK) for a, b in pairwise(parts)]
    while pair_ranks:
        best = min(pair_ranks)
        if best >= limit:
            break
        i = pair_ranks.index(best)  # the leftmost pair with the lowest rank
        merged = parts[i] + parts[i + 1]
        parts[i] = merged
        del parts[i + 1]
        del pair_ranks[i]
        if i < len(pair_ranks):
            pair_ranks[i] = get(merged + parts[i + 1], _NO_RANK)
        if i > 0:
            pair_ranks[i - 1] = get(parts[i - 1] + merged, _NO_RANK)
    return parts


def _merge_long(piece: bytes, ranks: Mapping[bytes, int], limit: int = _NO_RANK) -> list[bytes]:
    n = len(piece)
    parts = [_SINGLE_BYTES[b] for b in piece]
    following = list(range(1, n + 1))
    following[-1] = -1
    preceding = list(range(-1, n - 1))
    get = ranks.get
    # current[i]: the rank of the pair that starts at part i now, or -1 (no pair, or part i was
    # merged away). Candidates that no longer match current[] are stale and skipped.
    current = [-1] * n
    # Candidates grouped by rank, `order` a heap of the ranks present. A rank's candidates are
    # swept left to right: a list sorted once when its sweep starts (`sweep`, read through a
    # cursor), plus a heap for pairs that appear after that (`late`).
    sweep: dict[int, list[int]] = {}
    cursor: dict[int, int] = {}
    late: dict[int, list[int]] = {}

    def add(position: int, rank: int) -> None:
        current[position] = rank
        if rank in cursor:
            heappush(late[rank], position)
        elif rank in sweep:
            sweep[rank].append(position)
        else:
            sweep[rank] = [position]
            heappush(order, rank)

    for i, rank in enumerate(map(get, map(bytes.__add__, parts, parts[1:]))):
        if rank is not None and rank < limit:
            current[i] = rank
            if rank in sweep:
                sweep[rank].append(i)
            else:
                sweep[rank] = [i]
    order = list(sweep)
    heapify(order)

    while order:
        rank = order[0]
        positions = sweep[rank]
        if rank not in cursor:
            positions.sort()
            cursor[rank] = 0
            late[rank] = []
        index = cursor[rank]
        pushed = late[rank]
        # A merge never creates a pair of its own rank (the new pair spells a longer token), but
        # it can create one of a lower rank; that one must go first, so the sweep pauses there.
        lowest = rank
        while lowest == rank:
            if index < len(positions) and (not pushed or positions[index] <= pushed[0]):
                i = positions[index]
                index += 1
            elif pushed:
                i = heappop(pushed)
            else:
                break
            if current[i] != rank:
                continue
            j = following[i]
            merged = parts[i] + parts[j]
            parts[i] = merged
            current[j] = -1
            current[i] = -1
            k = following[j]
            following[i] = k
            if k >= 0:
                preceding[k] = i
                right = get(merged + parts[k])
                if right is not None and right < limit:
                    add(i, right)
                    lowest = min(lowest, right)
            h = preceding[i]
            if h >= 0:
                left = get(parts[h] + merged)
                if left is None or left >= limit:
                    current[h] = -1
                else:
                    add(h, left)
                    lowest = min(lowest, left)
        if lowest == rank:  # swept to the end
            del sweep[rank], cursor[rank], late[rank]
            heappop(order)
        else:
            cursor[rank] = index
    out = []
    i = 0
    while i >= 0:
        out.append(parts[i])
        i = following[i]
    return out


def _merge_huge(piece: bytes, ranks: Mapping[bytes, int], limit: int = _NO_RANK) -> list[bytes]:
    """`_merge_long`'s result in about 14 bytes of memory per byte of the piece."""
    return [piece[start:end] for start, end in _huge_spans(piece, ranks, limit)]


def _pair_ranks(piece: bytes, get: Callable[..., int]) -> array[int]:
    """The rank of each adjacent pair of bytes (-1 when none), one more -1 for the last byte.

    Computed in C-level `map` calls over blocks, so the temporary objects of a block are freed
    before the next one is made.
    """
    out = array("i")
    for start in range(0, len(piece) - 1, _BLOCK):
        singles = list(map(_SINGLE_BYTES.__getitem__, piece[start : start + _BLOCK + 1]))
        out.extend(map(get, map(bytes.__add__, singles, islice(singles, 1, None)), repeat(-1)))
    out.append(-1)
    return out


def _huge_spans(piece: bytes, ranks: Mapping[bytes, int], limit: int) -> Iterator[tuple[int, int]]:
    """The `(start, end)` of each final part of `piece`, left to right (see `_merge_huge`)."""
    n = len(piece)
    get = ranks.get
    # Part [s, e) is stored in one array, `edge`: edge[s] = e, and edge[e - 1] = s when the part
    # is longer than one byte. So the part left of a part starting at i starts at edge[i - 1],
    # or at i - 1 itself when that value is not below i - 1 (a one-byte part).
    code = "i" if n < 1 << 31 else "q"
    edge = array(code, range(1, n + 1))
    # current[s]: the rank of the pair starting at part s now, or -1 (no pair, or s is no longer
    # a part start). A candidate whose rank no longer matches is stale and skipped.
    current = _pair_ranks(piece, get)
    # Candidates grouped by rank, `order` a heap of the ranks present. Each rank's positions
    # are an array in increasing order (`waiting`, read through a cursor once its sweep began)
    # plus a heap (`late`) of those that arrived out of order or after the sweep began.
    waiting: dict[int, array[int]] = {}
    cursor: dict[int, int] = {}
    late: dict[int, list[int]] = {}
    for i, rank in enumerate(current):
        if rank >= 0:
            if rank >= limit:
                current[i] = -1
            elif rank in waiting:
                waiting[rank].append(i)
            else:
                waiting[rank] = array(code, (i,))
    order = list(waiting)
    heapify(order)
    trim = _TRIM

    def add(position: int, rank: int) -> None:
        current[position] = rank
        if rank in cursor:
            heappush(late[rank], position)
        elif rank in waiting:
            positions = waiting[rank]
            if position > positions[-1]:
                positions.append(position)
            else:
                heappush(late.setdefault(rank, []), position)
        else:
            waiting[rank] = array(code, (position,))
            heappush(order, rank)

    while order:
        rank = order[0]
        positions = waiting[rank]
        if rank not in cursor:
            cursor[rank] = 0
        index = cursor[rank]
        pushed = late.setdefault(rank, [])
        # A merge never creates a pair of its own rank (the new pair spells a longer token), but
        # it can create one of a lower rank; that one must go first, so the sweep pauses there.
        lowest = rank
        while lowest == rank:
            if index < len(positions) and (not pushed or positions[index] <= pushed[0]):
                i = positions[index]
                index += 1
                if index >= trim and index >= len(positions) >> 2:
                    del positions[:index]  # free what the sweep has read (amortized O(1))
                    index = 0
            elif pushed:
                i = heappop(pushed)
            else:
                break
            if current[i] != rank:
                continue
            j = edge[i]
            k = edge[j]
            current[j] = -1
            edge[i] = k
            edge[k - 1] = i
            if k < n:
                right = get(piece[i : edge[k]], -1)
                if 0 <= right < limit:
                    add(i, right)
                    if right < lowest:
                        lowest = right
                else:
                    current[i] = -1
            else:
                current[i] = -1
            if i:
                h = edge[i - 1]
                if h >= i - 1:
                    h = i - 1
                left = get(piece[h:k], -1)
                if 0 <= left < limit:
                    add(h, left)
                    if left < lowest:
                        lowest = left
                else:
                    current[h] = -1
        if lowest == rank:  # swept to the end
            del waiting[rank], cursor[rank], late[rank]
            heappop(order)
        else:
            cursor[rank] = index
    i = 0
    while i < n:
        yield i, edge[i]
        i = edge[i]
