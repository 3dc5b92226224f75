"""Work on long tokens and long pieces grows about linearly (issue 17, section 3).

A run of one character in a corpus (a separator line, padding) trains tokens of a megabyte.
Checking such a vocabulary, recovering its merges and encoding such a piece used to take time
quadratic in the token's length (a minute for 1 MiB) and ~170 bytes of memory per byte. Each
test here runs a size where quadratic work would take minutes under a time limit tens of times
above what the linear code needs, and checks the results against the simple definitions.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from tokprep.bpe import BPETokenizer, gpt2_ranks
from tokprep.bpe.cuts import EXACT, TokenCuts
from tokprep.bpe.export import hf_merges, merges_from_ranks
from tokprep.bpe.merge import (
    HUGE_PIECE,
    _merge_huge,
    _merge_long,
    _merge_short,
    bpe_merge,
    bpe_split,
)
from tokprep.bpe.ranks import validate_ranks
from tokprep.bpe.train import train_bpe
from tokprep.errors import ArgumentValueError, TokenizerFileError

BYTES = {bytes([b]): b for b in range(256)}
GPT2 = gpt2_ranks()


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail (instead of running for minutes) when the block takes longer than `seconds`."""
    if not hasattr(signal, "SIGALRM"):  # Windows: no alarm; the block just runs
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took over {seconds} s: the work is not linear")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def doubling_vocab(bits: int, letter: bytes = b"a") -> dict[bytes, int]:
    """The bytes plus `letter` * 2, 4, ..., 2**bits: what BPE trains on a long run."""
    ranks = dict(BYTES)
    for j in range(1, bits + 1):
        ranks[letter * 2**j] = len(ranks)
    return ranks


def random_vocab(seed: int, merges: int, alphabet: bytes = b"ab", longest: int = 80):
    """Random valid ranks: each new token joins two existing ones (long ones included)."""
    rng = random.Random(seed)
    ranks = dict(BYTES)
    pool = [bytes([c]) for c in alphabet]
    while len(ranks) < 256 + merges:
        token = rng.choice(pool) + rng.choice(pool)
        if token not in ranks and len(token) <= longest:
            ranks[token] = len(ranks)
            pool.append(token)
    return ranks


# --- the old definitions, as oracles ----------------------------------------------------------


def old_validate_error(ranks: Mapping[bytes, int]) -> str | None:
    """The first token no two lower-ranked tokens make, by trying every cut (the old check)."""
    for token, rank in ranks.items():
        if len(token) == 1:
            continue
        for cut in range(1, len(token)):
            left, right = ranks.get(token[:cut]), ranks.get(token[cut:])
            if left is not None and right is not None and left < rank and right < rank:
                break
        else:
            return f"token {token!r} (rank {rank}) is not the merge"
    return None


def old_split(token: bytes, rank: int, ranks: Mapping[bytes, int]) -> list[bytes]:
    """BPE on `token` with only the ranks below `rank`, rescanning every pair (the old way)."""
    parts = [token[i : i + 1] for i in range(len(token))]
    while len(parts) > 2:
        best, best_rank = None, rank
        for i in range(len(parts) - 1):
            joined = ranks.get(parts[i] + parts[i + 1])
            if joined is not None and joined < best_rank:
                best, best_rank = i, joined
        if best is None:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts


def validate_error(ranks: Mapping[bytes, int]) -> str | None:
    try:
        validate_ranks(ranks)
    except TokenizerFileError as e:
        return str(e).removeprefix("ranks: ")
    return None


# --- checking a vocabulary --------------------------------------------------------------------


def test_a_vocabulary_with_a_4_mib_token_validates_at_once():
    ranks = doubling_vocab(22)  # every try of every cut: hours
    with time_limit(10):  # linear: milliseconds
        validate_ranks(ranks)
    del ranks[b"a" * 2**21]  # its parent gone, the 4 MiB token is unreachable
    ranks = {token: rank for rank, token in enumerate(sorted(ranks, key=ranks.__getitem__))}
    with time_limit(10), pytest.raises(TokenizerFileError, match=r"\(rank 276\) is not the merge"):
        validate_ranks(ranks)


@settings(max_examples=150)
@given(st.integers(0, 10**6), st.integers(1, 80), st.integers(0, 3))
def test_validation_gives_the_old_verdict(seed, merges, swaps):
    """Same verdict and message as trying every cut, on vocabularies with tokens up to 80
    bytes (past `EXACT`, so fingerprints are used) whose ranks were shuffled a little."""
    ranks = random_vocab(seed, merges)
    tokens = sorted(ranks, key=ranks.__getitem__)
    rng = random.Random(seed)
    for _ in range(swaps):
        i, j = rng.randrange(256, len(tokens)), rng.randrange(256, len(tokens))
        tokens[i], tokens[j] = tokens[j], tokens[i]
    ranks = {token: rank for rank, token in enumerate(tokens)}
    expected = old_validate_error(ranks)
    got = validate_error(ranks)
    assert (got is None) == (expected is None)
    if expected is not None:
        assert got.startswith(expected)


@settings(max_examples=150)
@given(st.integers(0, 10**6), st.integers(1, 120), st.binary(min_size=1, max_size=120))
def test_cuts_are_exactly_the_cuts_into_two_tokens(seed, merges, noise):
    ranks = random_vocab(seed, merges, longest=100)
    cutter = TokenCuts(ranks)
    candidates = [*list(ranks)[256:], bytes(97 + b % 2 for b in noise)]
    for data in candidates:
        every = [
            (cut, ranks[data[:cut]], ranks[data[cut:]])
            for cut in range(1, len(data))
            if data[:cut] in ranks and data[cut:] in ranks
        ]
        assert list(cutter.cuts(data)) == every


def test_cuts_compare_long_halves_that_share_a_fingerprint():
    # Long halves equal in length, first, middle and last bytes, different elsewhere.
    side = b"x" * EXACT
    left_a, left_b = side + b"a" + side, side + b"b" + side
    assert len(left_a) > EXACT
    ranks = dict(BYTES)
    ranks[left_a] = len(ranks)  # validity does not matter to the cut finder
    ranks[left_b] = len(ranks)
    ranks[b"yz"] = len(ranks)
    cutter = TokenCuts(ranks)
    assert list(cutter.cuts(left_b + b"yz")) == [(len(left_b), ranks[left_b], ranks[b"yz"])]
    assert list(cutter.cuts(b"yz" + left_a)) == [(2, ranks[b"yz"], ranks[left_a])]
    assert list(cutter.cuts(side + b"c" + side + b"yz")) == []


# --- recovering merges ------------------------------------------------------------------------


def test_merges_of_a_32_kib_token_are_recovered_at_once():
    ranks = doubling_vocab(15)  # old: about two minutes
    with time_limit(10):
        merges = merges_from_ranks(ranks)
    assert merges == [(b"a" * 2**j, b"a" * 2**j) for j in range(15)]


def test_merges_of_tokens_longer_than_huge_pieces_are_the_training_merges():
    text = "a" * (4 * HUGE_PIECE + 4321)  # tokens past HUGE_PIECE bytes: the array merge
    doublings = len(text).bit_length() - 1  # aa, aaaa, ... fit in the run
    trained = train_bpe(text, 256 + doublings, progress=False, processes=1)
    assert max(map(len, trained.ranks)) > HUGE_PIECE
    with time_limit(30):
        assert merges_from_ranks(trained.ranks) == trained.merges


@settings(max_examples=150)
@given(st.integers(0, 10**6), st.integers(1, 60))
def test_merges_from_ranks_equal_the_old_recovery(seed, merges):
    ranks = random_vocab(seed, merges, longest=120)
    tokens = sorted(ranks, key=ranks.__getitem__)
    expected = [old_split(token, rank, ranks) for rank, token in enumerate(tokens)][256:]
    if all(len(parts) == 2 for parts in expected):
        assert merges_from_ranks(ranks) == [tuple(parts) for parts in expected]
    else:
        first = next(p for p in expected if len(p) != 2)
        with pytest.raises(ArgumentValueError, match=f"splits it into {len(first)} parts"):
            merges_from_ranks(ranks)
    for rank in range(256, len(tokens)):  # every implementation, with the rank limit
        token = tokens[rank]
        split = old_split(token, rank, ranks)
        assert bpe_split(token, ranks, rank) == split
        assert _merge_huge(token, ranks, rank) == split
        assert _merge_long(token, ranks, rank) == split


def test_hf_merges_of_a_long_token_vocabulary():
    ranks = doubling_vocab(16)
    with time_limit(10):
        merges = hf_merges(ranks)
    # Each a^(2^j) cuts into two tokens only in the middle (a^(2^j - 2^i) is no token).
    assert merges == [(b"a" * 2**j, b"a" * 2**j) for j in range(16)]


# --- encoding long pieces ---------------------------------------------------------------------


@settings(max_examples=200)
@given(
    st.integers(0, 10**6),
    st.integers(1, 60),
    st.binary(min_size=1, max_size=400).map(lambda b: bytes(97 + x % 3 for x in b)),
)
def test_array_merge_equals_the_others(seed, merges, piece):
    ranks = random_vocab(seed, merges, alphabet=b"abc", longest=12)
    assert _merge_huge(piece, ranks) == _merge_short(piece, ranks) == _merge_long(piece, ranks)


@pytest.mark.parametrize(
    "piece",
    [
        b"a" * (HUGE_PIECE * 3 + 1),
        b" " * (HUGE_PIECE + 7),
        bytes(random.Random(3).choice(b"aab") for _ in range(HUGE_PIECE + 999)),
        bytes(random.Random(4).randrange(256) for _ in range(HUGE_PIECE + 5)),
    ],
    ids=["letter", "spaces", "aab", "bytes"],
)
def test_long_pieces_equal_tiktoken(piece):
    encoding = tiktoken.Encoding(
        "gpt2-ranks", pat_str=r".+", mergeable_ranks=GPT2, special_tokens={}
    )
    expected = encoding._encode_bytes(piece)  # tiktoken's merge on the whole piece
    assert bpe_merge(piece, GPT2) == expected


def test_a_long_run_encodes_like_tiktoken_with_a_trained_vocabulary():
    text = "b" * 3000 + "a" * (HUGE_PIECE * 2 + 77) + " end"
    trained = train_bpe(text, 256 + 12, progress=False, processes=1)  # a short vocabulary
    ours = BPETokenizer(trained.ranks, trained.pattern, {})
    theirs = ours.to_tiktoken()
    assert ours.encode_ordinary(text) == theirs.encode_ordinary(text)


_MEASURE_MEMORY = """
import re
from tokprep.bpe.merge import HUGE_PIECE, bpe_merge
from tokprep.bpe.ranks import gpt2_ranks
def peak():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s*(\\d+)", f.read()).group(1))  # KiB
ranks = gpt2_ranks()
piece = b"a" * (1 << 20)
bpe_merge(piece[: HUGE_PIECE + 1], ranks)  # imports and first allocations before measuring
before = peak()
ids = bpe_merge(piece, ranks)
growth = peak() - before
assert len(ids) == len(piece) // 4  # GPT-2 spells a run of "a" as "aaaa" tokens
print(growth * 1024 / len(piece))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_merging_a_long_piece_takes_under_20_bytes_per_byte():
    # In a fresh process, whose resident high-water mark (VmHWM) is then this merge's.
    # tracemalloc would be exact but makes this merge ~30 times slower.
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_MEMORY],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert float(done.stdout) < 20  # the list-based merge took about 140


def test_a_warm_encoder_splits_a_long_run_of_spaces_in_linear_time():
    # A warm encoder cuts long texts into space-separated words first; a run of spaces is one
    # long stretch of "unsafe" spaces, which once cost a copy per space (quadratic: 12 s for
    # 1 MB, minutes for 2 MB).
    tokenizer = BPETokenizer.gpt2()
    tokenizer.encode_ordinary(" ".join(f"w{i}" for i in range(20_000)))  # fill the caches
    with time_limit(30):
        ids = tokenizer.encode_ordinary(" " * 1_999_999 + "x")
    assert ids == [220] * 1_999_998 + [2124]
