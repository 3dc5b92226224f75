"""A small, correct BPE trainer with Stanford CS336's signature and tie-break rule.

    train_bpe(input_path, vocab_size, special_tokens) -> (vocab, merges)

Pairs are counted over pre-tokens (GPT-2's pattern), documents are cut at special tokens, and
a tie goes to the lexicographically greater pair of byte strings. Check it with

    tokprep check-trainer examples/trainers/cs336_style.py:train_bpe --tie-break lexicographic
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import regex

PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def count_words(text: str, special_tokens: list[str]) -> Counter[tuple[bytes, ...]]:
    words: Counter[tuple[bytes, ...]] = Counter()
    if special_tokens:
        cut = "|".join(regex.escape(s) for s in sorted(special_tokens, key=len, reverse=True))
        documents = regex.split(cut, text)
    else:
        documents = [text]
    for document in documents:
        for piece in regex.findall(PATTERN, document):
            words[tuple(bytes([b]) for b in piece.encode("utf-8"))] += 1
    return words


def choose(pairs: Counter[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """The most frequent pair; a tie goes to the lexicographically greater pair."""
    return max(pairs, key=lambda pair: (pairs[pair], pair))


def train_bpe(input_path, vocab_size, special_tokens):
    return train_with(choose, input_path, vocab_size, special_tokens)


def train_with(choose, input_path, vocab_size, special_tokens):
    """`train_bpe` with `choose(pairs)` picking each merge (the planted bug swaps it)."""
    with open(input_path, encoding="utf-8") as f:
        words = count_words(f.read(), special_tokens)
    vocab = {i: bytes([i]) for i in range(256)}
    for token in special_tokens:
        vocab[len(vocab)] = token.encode("utf-8")
    merges = []
    while len(vocab) < vocab_size:
        pairs: Counter[tuple[bytes, bytes]] = Counter()
        for word, count in words.items():
            for pair in pairwise(word):
                pairs[pair] += count
        if not pairs:
            break
        left, right = choose(pairs)
        merges.append((left, right))
        vocab[len(vocab)] = left + right
        rewritten: Counter[tuple[bytes, ...]] = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == left and word[i + 1] == right:
                    out.append(left + right)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            rewritten[tuple(out)] += count
        words = rewritten
    return vocab, merges
