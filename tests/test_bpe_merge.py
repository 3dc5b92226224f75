"""The two merge algorithms agree with each other and with tiktoken on any vocabulary."""

import random

import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from tokprep.bpe import BPETokenizer, gpt2_ranks
from tokprep.bpe.merge import _merge_long, _merge_short, bpe_merge

GPT2 = gpt2_ranks()
BYTES = {bytes([b]): b for b in range(256)}


def random_vocab(seed: int, merges: int, alphabet: bytes = b"abc") -> dict[bytes, int]:
    """Random valid ranks over a small alphabet: each new token joins two existing ones, so
    the same string can be reachable by several cuts and later tokens can contain earlier ones
    in any order (the cases where the long algorithm's sweeps must pause)."""
    rng = random.Random(seed)
    ranks = dict(BYTES)
    pool = [bytes([c]) for c in alphabet]
    while len(ranks) < 256 + merges:
        token = rng.choice(pool) + rng.choice(pool)
        if token not in ranks and len(token) <= 8:
            ranks[token] = len(ranks)
            pool.append(token)
    return ranks


@settings(max_examples=500)
@given(
    st.integers(0, 10_000),
    st.integers(1, 40),
    st.binary(min_size=1, max_size=300).map(lambda b: bytes(97 + x % 3 for x in b)),
)
def test_short_and_long_agree_on_random_vocabularies(seed, merges, piece):
    ranks = random_vocab(seed, merges)
    assert _merge_long(piece, ranks) == _merge_short(piece, ranks)


@settings(max_examples=300)
@given(st.text(alphabet="abcdefgh éè日", min_size=1, max_size=400))
def test_short_and_long_agree_on_gpt2(text):
    piece = text.encode()
    assert _merge_long(piece, GPT2) == _merge_short(piece, GPT2)


@settings(max_examples=300)
@given(st.integers(0, 1000), st.text(alphabet="abc ", max_size=200))
def test_encoder_equals_tiktoken_on_random_vocabularies(seed, text):
    ranks = random_vocab(seed, 60)
    ours = BPETokenizer(ranks, "gpt2", {})
    theirs = tiktoken.Encoding(
        "random", pat_str=ours.pattern, mergeable_ranks=ranks, special_tokens={}
    )
    assert ours.encode_ordinary(text) == theirs.encode_ordinary(text)
    assert ours.encode_ordinary(text * 3) == theirs.encode_ordinary(text * 3)


def test_long_pieces_are_exact():
    rng = random.Random(7)
    for _ in range(20):
        piece = bytes(rng.choice(b"aab") for _ in range(rng.randint(49, 2000)))
        ranks = random_vocab(rng.randint(0, 99), 50)
        assert bpe_merge(piece, ranks) == [ranks[p] for p in _merge_short(piece, ranks)]


def test_single_bytes_and_no_merges():
    assert bpe_merge(b"a", GPT2) == [GPT2[b"a"]]
    assert bpe_merge(b"\x00" * 100, GPT2) == [GPT2[b"\x00"]] * 100
