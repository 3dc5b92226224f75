"""The reference BPE trainer: a full recount of every pair before every merge, for every profile.

This is the oracle that `tokprep check-trainer` and the tests compare trainers with. It is
slow on purpose (each merge re-reads every word) and short enough to check by eye; the fast
trainer, `tokprep.bpe.train.train_bpe`, must give the same merges. The rules themselves are
described, with a worked example, in `tokprep.bpe.tie_break`.

    >>> reference_train("mn ab zy", 257, tie_break="first-seen").merges
    [(b'm', b'n')]

One step at a time, with the counts and the tied pairs (for reports):

    >>> trainer = ReferenceTrainer("mn ab zy", tie_break="lexicographic")
    >>> step = trainer.step()
    >>> step.pair, step.count, len(step.tied)
    ((b'z', b'y'), 1, 5)

Known difference: after a merge that rebuilds an existing token, Hugging Face's trainer keeps
merging a pair only in the words recorded for one heap entry (see `tokprep.bpe.train`); this
reference recounts everything, so with tie_break="hf" the two can part ways from there on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import regex

from tokprep.bpe.patterns import resolve_pattern
from tokprep.bpe.tie_break import byte_order, check_tie_break, reuses_ids, splits_on_specials
from tokprep.errors import ArgumentValueError

__all__ = ["ReferenceResult", "ReferenceTrainer", "Step", "pick", "reference_train"]

Pair = tuple[bytes, bytes]


@dataclass(frozen=True)
class Step:
    """One merge: its index, the pair, its count and every pair with that count (text order)."""

    index: int
    pair: Pair
    count: int
    tied: tuple[Pair, ...]


@dataclass(frozen=True)
class ReferenceResult:
    merges: list[Pair]  # one per merge, in order (a rebuilt token appears as its own merge)
    ranks: dict[bytes, int]  # the 256 bytes in the profile's byte order, then each new token
    complete: bool  # whether the vocabulary was filled


def pick(tie_break: str, tied: Iterable[Pair], ids: dict[bytes, int]) -> Pair:
    """The pair profile `tie_break` takes among `tied` (all of equal count, in the order they
    first occur in the current tokenization); `ids` numbers the tokens for hf and rustbpe."""
    tied = list(tied)
    if tie_break in ("hf", "rustbpe"):
        return min(tied, key=lambda p: (ids[p[0]], ids[p[1]]))
    if tie_break == "lexicographic":
        return max(tied)
    return tied[0]  # first-seen


def token_ids(tie_break: str, merged: Iterable[bytes]) -> dict[bytes, int]:
    """Token bytes -> ID under a profile: its byte order, then the merged tokens in order."""
    ids = {bytes([b]): i for i, b in enumerate(byte_order(tie_break))}
    for token in merged:
        ids.setdefault(token, len(ids))
    return ids


class ReferenceTrainer:
    """The state of a recount trainer: the words (as token IDs), their counts, the tokens."""

    def __init__(
        self,
        text: str | Iterable[str],
        *,
        tie_break: str = "hf",
        pattern: str = "gpt2",
        special_tokens: Iterable[str] = (),
    ) -> None:
        self.tie_break = check_tie_break(tie_break)
        documents = [text] if isinstance(text, str) else list(text)
        specials = list(special_tokens)
        if specials and splits_on_specials(tie_break):
            cut = "|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True))
            documents = [part for doc in documents for part in regex.split(cut, doc)]
        self.tokens = [bytes([b]) for b in byte_order(tie_break)]
        self.id_of = {token: i for i, token in enumerate(self.tokens)}
        # Each distinct piece once, in order of first appearance, with its count.
        self.words: dict[tuple[int, ...], int] = {}
        compiled = regex.compile(resolve_pattern(pattern))
        for document in documents:
            for piece in compiled.findall(document):
                word = tuple(self.id_of[bytes([b])] for b in piece.encode("utf-8"))
                self.words[word] = self.words.get(word, 0) + 1
        self.merges: list[Pair] = []

    def pair_counts(self) -> dict[tuple[int, int], int]:
        """Every adjacent pair (overlaps included) and its count, in order of first occurrence."""
        counts: dict[tuple[int, int], int] = {}
        for word, count in self.words.items():
            for pair in itertools.pairwise(word):
                counts[pair] = counts.get(pair, 0) + count
        return counts

    def step(self, min_frequency: int = 0) -> Step | None:
        """Make one merge and describe it; None when no pair has count >= max(1, min_frequency)."""
        counts = self.pair_counts()
        if not counts:
            return None
        best = max(counts.values())
        if best < max(1, min_frequency):
            return None
        tied = [(self.tokens[a], self.tokens[b]) for (a, b), c in counts.items() if c == best]
        chosen = pick(self.tie_break, tied, self.id_of)
        a, b = self.id_of[chosen[0]], self.id_of[chosen[1]]
        merged = chosen[0] + chosen[1]
        if merged in self.id_of:
            if not reuses_ids(self.tie_break):
                raise ArgumentValueError(
                    f"tie_break={self.tie_break!r}: merge {len(self.merges)} rebuilds token "
                    f"{merged!r}; this trainer would give the same bytes a second ID"
                )
            new = self.id_of[merged]
        else:
            new = len(self.tokens)
            self.tokens.append(merged)
            self.id_of[merged] = new
        rewritten: dict[tuple[int, ...], int] = {}
        for word, count in self.words.items():
            out: list[int] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            key = tuple(out)
            rewritten[key] = rewritten.get(key, 0) + count
        self.words = rewritten
        self.merges.append(chosen)
        return Step(len(self.merges) - 1, chosen, best, tuple(tied))


def reference_train(
    text: str | Iterable[str],
    vocab_size: int,
    *,
    tie_break: str = "hf",
    pattern: str = "gpt2",
    special_tokens: Iterable[str] = (),
    min_frequency: int = 0,
) -> ReferenceResult:
    """Train by full recount until the vocabulary (`vocab_size`, special tokens included) is
    full or no pair is left; `complete` says which."""
    specials = list(special_tokens)
    trainer = ReferenceTrainer(text, tie_break=tie_break, pattern=pattern, special_tokens=specials)
    target = vocab_size - len(specials)
    while len(trainer.tokens) < target:
        if trainer.step(min_frequency) is None:
            break
    ranks = {token: i for i, token in enumerate(trainer.tokens)}
    return ReferenceResult(trainer.merges, ranks, len(trainer.tokens) >= target)
