"""Merge-list BPE (Hugging Face, with and without ignore_merges) against rank BPE (tiktoken)."""

from __future__ import annotations

import pytest

from conftest import corpus
from tokprep.bpe.gpt2_files import bytes_to_unicode
from tokprep.bpe.merge import bpe_merge
from tokprep.bpe.train import train_bpe
from tokprep.testing.merges_vs_ranks import compare_merges_and_ranks, merge_list_encode

# "abc" was listed as (ab, c), but rank BPE joins "bc" first (rank 256) and then a + bc.
RANKS = {bytes([i]): i for i in range(256)} | {b"bc": 256, b"ab": 257, b"abc": 258}
MERGES = [(b"b", b"c"), (b"a", b"b"), (b"ab", b"c")]


def test_a_token_reached_through_another_split_differs():
    index = {pair: i for i, pair in enumerate(MERGES)}
    assert bpe_merge(b"abc", RANKS) == [258]
    assert merge_list_encode(b"abc", RANKS, index) == [97, 256]
    assert merge_list_encode(b"abc", RANKS, index, ignore_merges=True) == [258]
    # ignore_merges helps only for whole tokens: "abc " is not one.
    assert bpe_merge(b"abc ", RANKS) == [258, 32]
    assert merge_list_encode(b"abc ", RANKS, index, ignore_merges=True) == [97, 256, 32]
    report = compare_merges_and_ranks(RANKS, MERGES, name="toy")
    assert report.differ >= 2 and report.differ_ignore_merges >= 1
    assert {"text": "abc", "ranks": [258], "merges": [97, 256]} in report.examples


def test_the_emulation_equals_hugging_face_bpe():
    tokenizers = pytest.importorskip("tokenizers")
    to_char = bytes_to_unicode()

    def spell(token: bytes) -> str:
        return "".join(to_char[b] for b in token)

    vocab = {spell(t): i for t, i in RANKS.items()}
    merges = [(spell(a), spell(b)) for a, b in MERGES]
    index = {pair: i for i, pair in enumerate(MERGES)}
    for ignore in (False, True):
        model = tokenizers.models.BPE(vocab, merges, ignore_merges=ignore)
        tok = tokenizers.Tokenizer(model)
        tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(
            add_prefix_space=False, use_regex=False
        )
        for piece in (b"abc", b"abc ", b"xabc", b"bcab", b"aabcc"):
            ours = merge_list_encode(piece, RANKS, index, ignore_merges=ignore)
            assert tok.encode(piece.decode()).ids == ours


def test_a_tokprep_trained_vocabulary_agrees_both_ways():
    trained = train_bpe(corpus("the-verdict")[:8000], 600)
    report = compare_merges_and_ranks(trained.ranks, trained.merges, pattern=trained.pattern)
    assert report.pieces_checked > 1000
    assert report.differ == report.differ_ignore_merges == 0
