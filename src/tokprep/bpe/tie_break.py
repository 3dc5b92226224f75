"""The tie-break profiles of BPE training, side by side: which pair wins when counts are equal.

Every BPE trainer merges the most frequent pair of adjacent tokens; they differ only when two
pairs have the same count, and real corpora are full of such ties (every pair seen once or
twice is tied with thousands of others). `train_bpe(..., tie_break=NAME)` reproduces four
well-known trainers exactly:

========== =============================================== ===================== ============
name       a tie goes to                                   byte IDs 0-255        whose rule
========== =============================================== ===================== ============
hf         the smaller pair of IDs `(left, right)`         GPT-2's byte order    Hugging Face
                                                                                 `BpeTrainer`
rustbpe    the smaller pair of IDs `(left, right)`         the byte's value      `rustbpe`
                                                                                 (nanochat)
lexico-    the lexicographically greater pair of byte      GPT-2's byte order    CS336
graphic    strings `(left bytes, right bytes)`                                   assignment 1
first-seen the pair that occurs first in the current       GPT-2's byte order    minbpe
           tokenization of the text (documents in order)
========== =============================================== ===================== ============

Learned tokens always get IDs 256, 257, ... in merge order and special tokens come after them.
"GPT-2's byte order" puts the bytes with a printable stand-in character first (`!` is 0, `a`
is 64, the space is 220); "the byte's value" makes the space 32 and `a` 97, which is what
`rustbpe.Tokenizer.get_mergeable_ranks()` lists.

Worked example: the text `"mn ab zy"` is pre-tokenized (GPT-2 pattern) into `mn`, ` ab`, ` zy`,
so the pairs `(m,n) (' ',a) (a,b) (' ',z) (z,y)` all occur once: a five-way tie.

- hf: GPT-2 IDs `(76,77) (220,64) (64,65) (220,89) (89,88)`; the smallest is `(64,65)`: `ab`.
- rustbpe: byte IDs `(109,110) (32,97) (97,98) (32,122) (122,121)`; the smallest is
  `(32,97)`: `" a"`.
- lexicographic: the greatest of `(b"m",b"n") (b" ",b"a") (b"a",b"b") (b" ",b"z") (b"z",b"y")`
  is `(b"z", b"y")`: `zy`.
- first-seen: the text starts with `mn`, so `(m,n)` is seen first: `mn`.

The other differences, each as the reference trainer behaves:

- Counting: all four count overlapping pairs (`"aaa"` holds `(a,a)` twice) and merge left to
  right without overlap (`a a a` becomes `aa a`).
- A merge that builds bytes that are already a token (`(ab, c)` after `(a, bc)`): hf and
  lexicographic reuse that token's ID (tokens are byte strings; such a merge still counts in
  `TrainedBPE.merge_log` but adds no token, so training goes on until the vocabulary is full).
  rustbpe and first-seen (tokens are IDs) would give the same bytes a second ID, which no
  tiktoken-style vocabulary can hold: training raises `ArgumentValueError` naming the merge.
- hf merges a popped pair only in the words recorded for that heap entry (Hugging Face's
  incremental bookkeeping, see `tokprep.bpe.train`); the others behave exactly like a full
  recount after every merge.
- Special-token text in the corpus (`special_tokens=[...]`): lexicographic cuts the documents
  there and never counts the special text (CS336 does); the others count it as ordinary text,
  as their reference trainers do.

Determinism: every profile gives the same merges across runs, `PYTHONHASHSEED` values and
worker counts. first-seen depends on the order of the documents (that is its rule); the others
do not.
"""

from __future__ import annotations

from typing import Any

from tokprep.bpe.gpt2_files import GPT2_BYTE_ORDER
from tokprep.errors import ArgumentValueError

__all__ = ["TIE_BREAKS", "byte_order", "check_tie_break", "reuses_ids", "splits_on_specials"]

#: The profile names, the default first.
TIE_BREAKS = ("hf", "rustbpe", "lexicographic", "first-seen")


def check_tie_break(name: Any) -> str:
    """Return `name` if it is a profile name; `TypeError`/`ArgumentValueError` otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"tie_break must be a str, got {type(name).__name__}")
    if name not in TIE_BREAKS:
        raise ArgumentValueError(
            f"tie_break={name!r} is not a tie-break profile; use one of "
            + ", ".join(repr(t) for t in TIE_BREAKS)
            + " (see tokprep.bpe.tie_break)"
        )
    return name


def byte_order(name: str) -> tuple[int, ...]:
    """The byte given each ID 0-255 under profile `name`."""
    return tuple(range(256)) if name == "rustbpe" else GPT2_BYTE_ORDER


def reuses_ids(name: str) -> bool:
    """Whether a merge that rebuilds existing bytes reuses that token (tokens are bytes)."""
    return name in ("hf", "lexicographic")


def splits_on_specials(name: str) -> bool:
    """Whether special-token text in the corpus cuts documents (and is not counted)."""
    return name == "lexicographic"
