"""Tie-break profiles of the trainer (issue 13): each reproduces its reference trainer, is
deterministic, and keeps the fast algorithm; the reference trainer and the naive oracles."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

import tokprep.bpe.train as train_module
from conftest import ROOT, corpus
from tokprep.bpe.gpt2_files import bytes_to_unicode
from tokprep.bpe.patterns import GPT2_PATTERN
from tokprep.bpe.tie_break import TIE_BREAKS
from tokprep.bpe.train import train_bpe
from tokprep.errors import ArgumentValueError
from tokprep.testing.trainer_reference import reference_train
from tokprep.testing.trainer_strategies import SPECIAL, min_frequencies, trainer_corpora

CS336 = ROOT / "data" / "cs336"  # Stanford CS336 assignment 1 fixtures (MIT; data/README.md)
_CHAR_TO_BYTE = {char: byte for byte, char in bytes_to_unicode().items()}


def _fast(text, vocab_size, tie_break, **options):
    """The fast trainer's merge log, or "short" / "second id" when it refuses."""
    try:
        return train_bpe(text, vocab_size, tie_break=tie_break, progress=False, **options).merge_log
    except ArgumentValueError as e:
        return "second id" if "second ID" in str(e) else "short"


def _reference(text, vocab_size, tie_break, **options):
    try:
        result = reference_train(text, vocab_size, tie_break=tie_break, **options)
    except ArgumentValueError:
        return "second id"
    return result.merges if result.complete else "short"


# --- the documented worked example -----------------------------------------------------------


@pytest.mark.parametrize(
    ("tie_break", "first"),
    [
        ("hf", (b"a", b"b")),
        ("rustbpe", (b" ", b"a")),
        ("lexicographic", (b"z", b"y")),
        ("first-seen", (b"m", b"n")),
    ],
)
def test_the_worked_example_of_tie_break_module(tie_break, first):
    # "mn ab zy": five pairs, each once (tokprep.bpe.tie_break's docstring).
    assert train_bpe("mn ab zy", 257, tie_break=tie_break).merges == [first]
    assert reference_train("mn ab zy", 257, tie_break=tie_break).merges == [first]


def test_unknown_profile_is_refused():
    with pytest.raises(ArgumentValueError, match="tie_break='gpt2' is not a tie-break profile"):
        train_bpe("text", 260, tie_break="gpt2")
    with pytest.raises(TypeError, match="tie_break must be a str"):
        train_bpe("text", 260, tie_break=None)


# --- each profile against its reference -------------------------------------------------------


def test_lexicographic_gives_cs336_reference_merges_exactly():
    def decode(token: str) -> bytes:
        return bytes(_CHAR_TO_BYTE[c] for c in token)

    lines = (CS336 / "train-bpe-reference-merges.txt").read_text(encoding="utf-8")
    expected = [tuple(map(decode, line.split(" "))) for line in lines.splitlines() if line]
    text = (CS336 / "corpus.en").read_text(encoding="utf-8")
    trained = train_bpe(
        text, 500, special_tokens=["<|endoftext|>"], tie_break="lexicographic", progress=False
    )
    assert trained.merges == expected and len(expected) == 243
    vocab = json.loads((CS336 / "train-bpe-reference-vocab.json").read_text("utf-8"))
    reference_tokens = {
        token.encode() if token == "<|endoftext|>" else decode(token) for token in vocab
    }
    assert reference_tokens == set(trained.ranks) | {b"<|endoftext|>"}


def test_lexicographic_cuts_documents_at_special_tokens(tmp_path, monkeypatch):
    text = "ab<|endoftext|>ab cd<|endoftext|>cd"
    specials = ["<|endoftext|>"]
    # The special text cuts documents and is not counted: the same as three documents.
    lex = train_bpe(text, 260, special_tokens=specials, tie_break="lexicographic")
    assert lex.merges == train_bpe(["ab", "ab cd", "cd"], 259, tie_break="lexicographic").merges
    # The other profiles count it as text, as Hugging Face, rustbpe and minbpe do.
    hf = train_bpe(text, 270, special_tokens=specials)
    assert any(b"end" in token for token in hf.ranks)
    # A streamed file cut into small blocks, with a special token that holds spaces.
    special = "<| s |>"
    long_text = ("alpha beta<| s |>gamma delta " * 40).strip()
    path = tmp_path / "corpus.txt"
    path.write_text(long_text, encoding="utf-8")
    monkeypatch.setattr(train_module, "_READ_BLOCK", 37)
    options = {"special_tokens": [special], "tie_break": "lexicographic"}
    from_text = train_bpe(long_text, 272, **options)
    assert train_bpe(None, 272, files=path, **options) == from_text
    assert reference_train(long_text, 272, **options).merges == from_text.merge_log


@pytest.fixture(scope="module")
def hugging_face():
    """test_train's Hugging Face trainer helpers (imported here: that module needs tokenizers)."""
    pytest.importorskip("tokenizers")
    import test_train

    return test_train


@settings(max_examples=40)
@given(text=trainer_corpora(), n_merges=st.integers(1, 25), min_frequency=min_frequencies())
def test_hf_profile_equals_hugging_face_on_hypothesis_corpora(
    hugging_face, text, n_merges, min_frequency
):
    hf_train, collapse = hugging_face.hf_train, hugging_face.collapse
    vocab, merges = hf_train([text], 256 + n_merges, min_frequency=min_frequency)
    ours = _fast(text, 256 + n_merges, "hf", min_frequency=min_frequency)
    if len(vocab) < 256 + n_merges:
        assert ours == "short"  # Hugging Face stops quietly; tokprep names the size reached
    else:
        assert collapse(ours) == merges


def test_rustbpe_ranks_equal_rustbpe_on_corpora():
    rustbpe = pytest.importorskip("rustbpe")
    for text, vocab_size in [
        (corpus("taylorswift")[:80_000], 1500),
        (corpus("japanese-notes")[:20_000], 700),
    ]:
        tok = rustbpe.Tokenizer()
        tok.train_from_iterator(iter([text]), vocab_size, pattern=GPT2_PATTERN)
        trained = train_bpe(text, vocab_size, tie_break="rustbpe", progress=False)
        assert trained.ranks == dict(tok.get_mergeable_ranks())


@settings(max_examples=60)
@given(text=trainer_corpora(), n_merges=st.integers(1, 25))
def test_rustbpe_ranks_equal_rustbpe_on_hypothesis_corpora(text, n_merges):
    rustbpe = pytest.importorskip("rustbpe")
    tok = rustbpe.Tokenizer()
    tok.train_from_iterator(iter([text]), 256 + n_merges, pattern=GPT2_PATTERN)
    theirs = tok.get_mergeable_ranks()
    ours = _fast(text, 256 + n_merges, "rustbpe")
    if len({token for token, _ in theirs}) < len(theirs):
        assert ours == "second id"  # rustbpe listed the same bytes under two IDs
    elif len(theirs) < 256 + n_merges:
        assert ours == "short"  # rustbpe stops quietly; tokprep says the corpus ran out
    else:
        trained = train_bpe(text, 256 + n_merges, tie_break="rustbpe")
        assert trained.ranks == dict(theirs)


def minbpe_style_train(text: str, n_merges: int) -> list[tuple[bytes, bytes]] | str:
    """The first-seen oracle, deliberately naive, as minbpe's RegexTokenizer trains: chunks
    in text order, a fresh insertion-ordered dict of pair counts per merge, `max` over it."""
    chunks = [list(chunk.encode("utf-8")) for chunk in regex.findall(GPT2_PATTERN, text)]
    vocab = {i: bytes([i]) for i in range(256)}
    merges = []
    for i in range(n_merges):
        stats: dict[tuple[int, int], int] = {}
        for ids in chunks:
            for pair in itertools.pairwise(ids):
                stats[pair] = stats.get(pair, 0) + 1
        if not stats:
            return "short"
        pair = max(stats, key=stats.get)
        new = 256 + i
        vocab[new] = vocab[pair[0]] + vocab[pair[1]]
        if vocab[new] in list(vocab.values())[:-1]:
            return "second id"
        merges.append((vocab[pair[0]], vocab[pair[1]]))
        rewritten = []
        for ids in chunks:
            out, j = [], 0
            while j < len(ids):
                if j + 1 < len(ids) and (ids[j], ids[j + 1]) == pair:
                    out.append(new)
                    j += 2
                else:
                    out.append(ids[j])
                    j += 1
            rewritten.append(out)
        chunks = rewritten
    return merges


def test_first_seen_equals_the_naive_oracle_on_a_corpus():
    text = corpus("taylorswift")[:6000]
    assert train_bpe(text, 256 + 120, tie_break="first-seen").merges == minbpe_style_train(
        text, 120
    )


@settings(max_examples=80)
@given(text=trainer_corpora(), n_merges=st.integers(1, 25))
def test_first_seen_equals_the_naive_oracle_on_hypothesis_corpora(text, n_merges):
    assert _fast(text, 256 + n_merges, "first-seen") == minbpe_style_train(text, n_merges)


@pytest.mark.parametrize("tie_break", TIE_BREAKS)
@settings(max_examples=60)
@given(
    text=trainer_corpora(),
    n_merges=st.integers(1, 25),
    min_frequency=min_frequencies(),
    specials=st.sampled_from([[], [SPECIAL]]),
)
def test_fast_trainer_equals_the_reference_on_hypothesis_corpora(
    tie_break, text, n_merges, min_frequency, specials
):
    options = {"min_frequency": min_frequency, "special_tokens": specials}
    vocab_size = 256 + n_merges + len(specials)
    assert _fast(text, vocab_size, tie_break, **options) == _reference(
        text, vocab_size, tie_break, **options
    )


@pytest.mark.parametrize("tie_break", TIE_BREAKS)
def test_fast_trainer_equals_the_reference_on_a_real_text(tie_break):
    text = corpus("the-verdict")[:5000] + corpus("japanese-notes")[:1500]
    fast = train_bpe(text, 400, tie_break=tie_break, progress=False)
    assert fast.merge_log == reference_train(text, 400, tie_break=tie_break).merges


# --- determinism ------------------------------------------------------------------------------


def test_every_profile_is_the_same_under_any_hash_seed():
    script = (
        "import hashlib\n"
        "from tokprep.bpe.train import train_bpe\n"
        "docs = [open(p, encoding='utf-8').read()[:40000] for p in __import__('sys').argv[1:]]\n"
        "for tb in ('hf', 'rustbpe', 'lexicographic', 'first-seen'):\n"
        "    t = train_bpe(docs, 600, tie_break=tb, progress=False)\n"
        "    print(tb, hashlib.sha256(repr(t.merge_log).encode()).hexdigest())\n"
    )
    paths = [str(ROOT / "data" / "taylorswift.txt"), str(ROOT / "data" / "japanese-notes.txt")]
    outputs = set()
    for seed in ("0", "1", "4242"):
        result = subprocess.run(
            [sys.executable, "-c", script, *paths],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1 and len(outputs.pop().splitlines()) == 4


def test_every_profile_is_the_same_for_any_worker_count(monkeypatch):
    docs = [corpus("taylorswift")[:30_000], corpus("japanese-notes")[:8000], "zz top " * 50]
    alone = {tb: train_bpe(docs, 500, tie_break=tb, processes=1) for tb in TIE_BREAKS}
    monkeypatch.setattr(train_module, "_BATCH_CHARS", 5000)
    monkeypatch.setattr(train_module, "PARALLEL_THRESHOLD", 6000)
    for tie_break in TIE_BREAKS:
        assert train_bpe(docs, 500, tie_break=tie_break, processes=2) == alone[tie_break]


def test_pool_works_in_a_plain_script_without_a_main_guard(tmp_path):
    # Over the threshold, counting runs in worker processes; a script with no
    # `if __name__ == "__main__":` used to crash there (spawn re-imports the script).
    script = tmp_path / "plain.py"
    script.write_text(
        "import tokprep.bpe.train as t\n"
        "t.PARALLEL_THRESHOLD = 2000\n"
        "t._BATCH_CHARS = 1000\n"
        "text = open({!r}, encoding='utf-8').read()[:20000]\n"
        "a = t.train_bpe(text, 300, processes=2, tie_break='first-seen')\n"
        "b = t.train_bpe(text, 300, processes=1, tie_break='first-seen')\n"
        "print(a == b)\n".format(str(ROOT / "data" / "taylorswift.txt")),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_counting_shows_progress_when_asked(capsys):
    train_bpe(corpus("the-verdict"), 300, progress=True)
    assert "counting" in capsys.readouterr().err
