r"""The small GPT-2 tokenizer every example in this folder starts from, written as a learner
might write it: split with a regex, merge each piece's bytes by GPT-2's ranks, decode.

Written this way, with `GPT2_PATTERN`, it is correct; each example changes one thing (its
pattern or one method) to plant a classic bug. Not an example itself (the leading underscore),
and an example loads it by putting this folder on `sys.path`, so the examples work from any
current directory.
"""

import itertools

import regex

from tokprep.bpe import gpt2_ranks

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


class SmallBPE:
    """Byte-level BPE on GPT-2's ranks: split with `pattern`, then merge each piece's bytes."""

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
        return b"".join(self.decoder[i] for i in ids).decode("utf-8", "replace")


def small_gpt2(pattern: str = GPT2_PATTERN, cls: type[SmallBPE] = SmallBPE) -> SmallBPE:
    """`cls` on GPT-2's ranks, splitting with `pattern`."""
    return cls(gpt2_ranks(), pattern)
