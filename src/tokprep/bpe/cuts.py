"""The cuts of a token into two tokens, found without trying every cut.

A token of n bytes has n - 1 cuts. Slicing out both halves of each and looking them up costs
O(n) per cut, O(n^2) per token: a minute for a 1 MiB token such as a run of one letter (which
any long separator line or padding in a corpus trains). Most cuts are ruled out by length
alone, since both halves must have the length of some token; for a run of one letter trained
by BPE the token lengths are a few dozen numbers, so a few cuts are left.

The halves of the remaining cuts are compared without copying them:

- a half of at most `EXACT` bytes is sliced and looked up (a small, fixed cost);
- a longer half is first looked up by its fingerprint (length, first, middle and last
  `EXACT // 3` bytes) among the long tokens, and only a token with that fingerprint is
  compared byte for byte, in place (`bytes.startswith`/`endswith`).

So one token costs O(D) for the D distinct token lengths, plus O(n) per cut whose halves are
both tokens (or share a fingerprint with one). Example::

    >>> ranks = {bytes([b]): b for b in range(256)}
    >>> ranks.update({b"aa": 256, b"aaaa": 257})
    >>> list(TokenCuts(ranks).cuts(b"aaaa"))   # (cut, left rank, right rank)
    [(2, 256, 256)]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

__all__ = ["EXACT", "TokenCuts"]

#: Halves up to this many bytes are looked up directly; longer ones by fingerprint first.
EXACT = 24
_SIDE = EXACT // 3

_Fingerprint = tuple[int, bytes, bytes, bytes]


def _fingerprint(data: bytes, start: int, end: int) -> _Fingerprint:
    """The fingerprint of `data[start:end]` (longer than `EXACT`), read without copying it."""
    middle = (start + end) // 2
    return (
        end - start,
        data[start : start + _SIDE],
        data[middle - _SIDE // 2 : middle - _SIDE // 2 + _SIDE],
        data[end - _SIDE : end],
    )


class TokenCuts:
    """Finds, for a byte string, every cut into two tokens of `ranks` (see the module
    docstring). Build once per vocabulary; `ranks` must not change meanwhile."""

    def __init__(self, ranks: Mapping[bytes, int]) -> None:
        self._ranks = ranks
        self._lengths = sorted({len(token) for token in ranks})
        self._length_set = frozenset(self._lengths)
        self._long: dict[_Fingerprint, list[tuple[int, bytes]]] | None = None

    def _long_tokens(self) -> dict[_Fingerprint, list[tuple[int, bytes]]]:
        # Built on first use: vocabularies without long tokens never pay for it.
        if self._long is None:
            self._long = {}
            for token, rank in self._ranks.items():
                if len(token) > EXACT:
                    key = _fingerprint(token, 0, len(token))
                    self._long.setdefault(key, []).append((rank, token))
        return self._long

    def _left(self, data: bytes, cut: int) -> list[int]:
        """The ranks of `data[:cut]` if it is a token (a list of zero or one)."""
        if cut <= EXACT:
            rank = self._ranks.get(data[:cut])
            return [] if rank is None else [rank]
        same = self._long_tokens().get(_fingerprint(data, 0, cut), ())
        return [rank for rank, token in same if data.startswith(token)]

    def _right(self, data: bytes, cut: int) -> list[int]:
        """The ranks of `data[cut:]` if it is a token (a list of zero or one)."""
        if len(data) - cut <= EXACT:
            rank = self._ranks.get(data[cut:])
            return [] if rank is None else [rank]
        same = self._long_tokens().get(_fingerprint(data, cut, len(data)), ())
        return [rank for rank, token in same if data.endswith(token)]

    def cuts(self, data: bytes) -> Iterator[tuple[int, int, int]]:
        """Yield `(cut, rank of data[:cut], rank of data[cut:])` for each cut of `data` into
        two tokens, in increasing cut order."""
        n = len(data)
        lengths = self._length_set
        for cut in self._lengths:
            if cut >= n:
                break
            if n - cut not in lengths:
                continue
            left = self._left(data, cut)
            if left:
                right = self._right(data, cut)
                if right:
                    yield cut, left[0], right[0]
