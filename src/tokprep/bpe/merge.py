"""Byte pair merging: turning one pre-tokenized piece into token IDs.

Start from the piece's bytes, one part per byte. Repeatedly find the adjacent pair of parts
whose concatenation has the lowest rank in the vocabulary (the leftmost such pair on a tie) and
merge it into one part. Stop when no adjacent pair is in the vocabulary; each part is a token.

This is tiktoken's rule exactly: a pair's priority is the rank of its concatenated *bytes*, so
any two parts that spell a token can merge, not only the pair the trainer merged.

Two implementations give the same result:

- `_merge_short` keeps the ranks of all adjacent pairs in a list and updates only the two
  neighbours of each merge; `min()` and `list.index()` run in C, which wins for the short pieces
  that make up almost all text. It is O(n^2) in the piece length.
- `_merge_long` keeps the parts in a doubly linked list and the candidate pairs grouped by
  rank, with a heap of the ranks present. It sweeps the pairs of the lowest rank left to right
  (one sort per rank, a heap only for pairs that appear mid-sweep), so a whole piece costs
  O(n log n), whatever it is (a megabyte of one letter included). Candidates that went stale
  when a neighbour merged are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from heapq import heapify, heappop, heappush
from itertools import pairwise

#: Pieces longer than this (in bytes) use the heap.
LONG_PIECE = 48

_NO_RANK = 1 << 62
_SINGLE_BYTES = [bytes([b]) for b in range(256)]


def bpe_merge(piece: bytes, ranks: Mapping[bytes, int]) -> list[int]:
    """The token IDs of `piece` under `ranks` (which must hold all 256 single bytes)."""
    if len(piece) <= LONG_PIECE:
        parts = _merge_short(piece, ranks)
    else:
        parts = _merge_long(piece, ranks)
    return [ranks[part] for part in parts]


def _merge_short(piece: bytes, ranks: Mapping[bytes, int]) -> list[bytes]:
    parts = [_SINGLE_BYTES[b] for b in piece]
    get = ranks.get
    pair_ranks = [get(a + b, _NO_RANK) for a, b in pairwise(parts)]
    while pair_ranks:
        best = min(pair_ranks)
        if best == _NO_RANK:
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


def _merge_long(piece: bytes, ranks: Mapping[bytes, int]) -> list[bytes]:
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
        if rank is not None:
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
                if right is not None:
                    add(i, right)
                    lowest = min(lowest, right)
            h = preceding[i]
            if h >= 0:
                left = get(parts[h] + merged)
                if left is None:
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
