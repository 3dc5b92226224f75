r"""A small GPT-2 tokenizer, as a learner might write it, with one classic bug:
a decode that drops invalid UTF-8.

A token can hold part of a character; decoding such IDs alone must give U+FFFD (as
tiktoken does), not silently drop the bytes with errors="ignore".

Find it with::

    tokprep check examples/tokenizers/decode_drops_bytes.py:tokenizer

This file is a deliberately wrong example for tokprep's conformance kit; do not copy the bug.
"""

import itertools

import regex

from tokprep.bpe import gpt2_ranks

# The pattern and merges are right; decode() is not.
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


class SmallBPE:
    """Byte-level BPE on GPT-2's ranks: split with PATTERN, then merge each piece's bytes."""

    def __init__(self, ranks: dict[bytes, int], pattern: str) -> None:
        self.ranks = ranks
        self.decoder = {rank: token for token, rank in ranks.items()}
        self.pattern = regex.compile(pattern)
        self.n_vocab = len(ranks)

    def encode(self, text: str) -> list[int]:
        ids = []
        for piece in self.pattern.findall(text):
            ids += [self.ranks[part] for part in self.merge(piece.encode("utf-8"))]
        return ids

    def merge(self, data: bytes) -> list[bytes]:
        parts = [bytes([byte]) for byte in data]
        while len(parts) > 1:
            # Merge the pair with the lowest rank (the one GPT-2 learned first).
            ranked = [
                (self.ranks[a + b], i)
                for i, (a, b) in enumerate(itertools.pairwise(parts))
                if a + b in self.ranks
            ]
            if not ranked:
                break
            _, i = min(ranked)
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        return parts

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.decoder[i] for i in ids).decode(
            "utf-8", errors="ignore"
        )  # BUG: "replace"


tokenizer = SmallBPE(gpt2_ranks(), PATTERN)
