"""The BPE trainer: Hugging Face's merges exactly, a naive recount, determinism, inputs, errors."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import regex
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

import tokprep.bpe.train as train_module
from conftest import corpus, corpus_path
from tokprep.bpe.export import hf_pattern
from tokprep.bpe.gpt2_files import GPT2_BYTE_ORDER, bytes_to_unicode
from tokprep.bpe.patterns import CL100K_PATTERN, GPT2_PATTERN, O200K_PATTERN, PRESETS
from tokprep.bpe.ranks import gpt2_ranks, validate_ranks
from tokprep.bpe.train import TrainedBPE, count_words, train_bpe
from tokprep.errors import ArgumentValueError, TextInputError

tokenizers = pytest.importorskip("tokenizers")

_CHAR_TO_BYTE = {char: byte for byte, char in bytes_to_unicode().items()}


def _from_hf(text: str) -> bytes:
    return bytes(_CHAR_TO_BYTE[c] for c in text)


def hf_train(docs: list[str], vocab_size: int, pattern: str = "gpt2", min_frequency: int = 0):
    """Hugging Face BpeTrainer with tokprep's pre-tokenization: (vocab bytes->id, merges)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(hf_pattern(PRESETS[pattern])), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(docs, trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = {_from_hf(token): index for token, index in model["vocab"].items()}
    merges = []
    for merge in model["merges"]:
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        merges.append((_from_hf(left), _from_hf(right)))
    return vocab, merges


def naive_train(docs: list[str], n_merges: int, pattern: str = GPT2_PATTERN):
    """Recount every pair after every merge: the textbook loop, with Hugging Face's tie rule
    (highest count, then the smallest (left, right) ID pair) and left-to-right merging."""
    rank = {b: i for i, b in enumerate(GPT2_BYTE_ORDER)}
    words = Counter()
    for doc in docs:
        for piece in regex.findall(pattern, doc):
            words[tuple(rank[b] for b in piece.encode())] += 1
    tokens = [bytes([b]) for b in GPT2_BYTE_ORDER]
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for word, count in words.items():
            for pair in itertools.pairwise(word):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        new = len(tokens)
        tokens.append(tokens[best[0]] + tokens[best[1]])
        merges.append((tokens[best[0]], tokens[best[1]]))
        rewritten = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i : i + 2] == best:
                    out.append(new)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            rewritten[tuple(out)] += count
        words = rewritten
    return merges


def collapse(log: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Hugging Face's saved merge list: a pair merged twice keeps its last index."""
    last = {pair: i for i, pair in enumerate(log)}
    return sorted(last, key=last.__getitem__)


# --- byte order ------------------------------------------------------------------------------


def test_byte_ranks_are_gpt2s_and_hugging_faces_alphabet_order():
    ranks = gpt2_ranks()
    assert [ranks[bytes([b])] for b in GPT2_BYTE_ORDER] == list(range(256))
    from tokenizers import pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet(), key=ord)
    assert [_CHAR_TO_BYTE[c] for c in alphabet] == list(GPT2_BYTE_ORDER)


def test_cl100k_and_o200k_patterns_are_tiktokens(monkeypatch):
    import tiktoken_ext.openai_public as public

    # Only the patterns are read: the rank loaders are stubbed so nothing is downloaded.
    monkeypatch.setattr(public, "load_tiktoken_bpe", lambda *args, **kwargs: {})
    monkeypatch.setattr(public, "data_gym_to_mergeable_bpe_ranks", lambda *args, **kwargs: {})
    assert public.cl100k_base()["pat_str"] == CL100K_PATTERN
    assert public.o200k_base()["pat_str"] == O200K_PATTERN
    assert public.gpt2()["pat_str"] == GPT2_PATTERN


# --- equal to Hugging Face -------------------------------------------------------------------

SLICES = {"the-verdict": None, "taylorswift": 150_000, "tinyshakespeare": 150_000}


@pytest.mark.parametrize("pattern", ["gpt2", "cl100k", "o200k"])
@pytest.mark.parametrize("name", ["the-verdict", "taylorswift", "tinyshakespeare", "japanese"])
def test_merges_equal_hugging_face_on_corpora(name, pattern):
    text = corpus("japanese-notes" if name == "japanese" else name)[: SLICES.get(name)]
    for vocab_size in (300, 1500):
        vocab, merges = hf_train([text], vocab_size, pattern)
        trained = train_bpe(text, vocab_size, pattern=pattern, progress=False)
        assert trained.ranks == vocab
        assert collapse(trained.merge_log) == merges
        assert trained.merges == trained.merge_log == merges


def test_merges_equal_hugging_face_with_min_frequency_and_specials():
    text = corpus("the-verdict")
    vocab, merges = hf_train([text], 100_000, min_frequency=5)
    reached = len(vocab)
    trained = train_bpe(text, reached, min_frequency=5, progress=False)
    assert trained.ranks == vocab and trained.merges == merges
    with pytest.raises(ArgumentValueError, match=f"reached {reached} tokens"):
        train_bpe(text, reached + 1, min_frequency=5, progress=False)
    # Specials take the IDs after the last merge and do not change the merges.
    special = train_bpe(text, 600, special_tokens=["<|endoftext|>", "<|pad|>"], progress=False)
    assert special.special_tokens == {"<|endoftext|>": 598, "<|pad|>": 599}
    assert special.n_vocab == 600 and len(special.ranks) == 598
    assert special.merges == trained.merges[: 598 - 256]


words = st.text(alphabet=st.sampled_from("aab c\nxé語'"), min_size=1, max_size=14)


@settings(max_examples=60)
@given(docs=st.lists(words, min_size=1, max_size=10), fraction=st.floats(0, 1))
def test_merges_equal_hugging_face_and_naive_recount_on_random_corpora(docs, fraction):
    full, _ = hf_train(docs, 100_000)
    vocab_size = 256 + round(fraction * (len(full) - 256))
    vocab, merges = hf_train(docs, vocab_size)
    trained = train_bpe(docs, vocab_size, progress=False)
    assert trained.ranks == vocab
    assert collapse(trained.merge_log) == merges
    assert trained.merges == naive_train(docs, vocab_size - 256)


def test_a_merge_that_rebuilds_a_token_reuses_its_id():
    # Words that already hold "ab" and "bc" (IDs 256, 257) as one symbol: "abc" can be built
    # two ways. Hugging Face's rule: the second build reuses ID 258 and adds no token.
    a, c = (GPT2_BYTE_ORDER.index(x) for x in b"ac")
    tokens = [bytes([x]) for x in GPT2_BYTE_ORDER] + [b"ab", b"bc"]
    words = [[256, c], [a, 257], [256, c]]
    log = train_module._merge_loop(words, [1, 1, 1], tokens, 260, 0, lambda: None)
    assert log[:2] == [(256, c, 258), (a, 257, 258)]
    assert tokens[258] == b"abc" and words[:2] == [[258], [258]]
    assert len(tokens) == 259  # nothing left to merge: the vocabulary stops short of 260


# --- properties ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_by_pattern() -> dict[str, TrainedBPE]:
    text = corpus("taylorswift")[:120_000] + corpus("japanese-notes")[:20_000]
    return {p: train_bpe(text, 1200, pattern=p, progress=False) for p in PRESETS}


@pytest.mark.parametrize("pattern", ["gpt2", "cl100k", "o200k"])
def test_trained_vocabulary_is_valid_and_exact(trained_by_pattern, pattern):
    trained = trained_by_pattern[pattern]
    validate_ranks(trained.ranks, special_tokens=trained.special_tokens)
    assert trained.n_vocab == len(trained.ranks) == 1200
    assert trained.pattern == PRESETS[pattern]
    for i, (left, right) in enumerate(trained.merges):
        assert trained.ranks[left + right] == 256 + i
        assert trained.ranks[left] < 256 + i and trained.ranks[right] < 256 + i


@settings(max_examples=50)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_tiktoken_with_trained_ranks_round_trips_any_text(trained_by_pattern, text):
    for pattern, trained in trained_by_pattern.items():
        enc = tiktoken.Encoding(
            pattern, pat_str=trained.pattern, mergeable_ranks=trained.ranks, special_tokens={}
        )
        ids = enc.encode_ordinary(text)
        assert enc.decode(ids) == text
        assert all(0 <= i < 1200 for i in ids)


def test_same_ranks_under_any_hash_seed(tmp_path):
    script = (
        "import hashlib, sys\n"
        "from tokprep.bpe.train import train_bpe\n"
        "from tokprep.bpe.ranks import dump_tiktoken_bpe\n"
        "docs = open(sys.argv[1], encoding='utf-8').read().split('\\n\\n')\n"
        "t = train_bpe(docs, 700, pattern='o200k', progress=False)\n"
        "print(hashlib.sha256(dump_tiktoken_bpe(t.ranks)).hexdigest())\n"
    )
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script, str(corpus_path("taylorswift"))],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1


def test_training_twice_gives_the_same_ranks():
    text = corpus("the-verdict")
    assert train_bpe(text, 800, progress=False) == train_bpe(text, 800, progress=False)


# --- inputs ----------------------------------------------------------------------------------


def test_str_documents_and_files_train_alike(tmp_path, monkeypatch):
    docs = [corpus("the-verdict")[:9000], corpus("japanese-notes")[:3000]]
    paths = []
    for i, doc in enumerate(docs):
        paths.append(tmp_path / f"doc{i}.txt")
        paths[-1].write_text(doc, encoding="utf-8")
    expected = train_bpe(docs, 500, progress=False)
    # Small read blocks: files are streamed and cut only where no piece can cross.
    monkeypatch.setattr(train_module, "_READ_BLOCK", 257)
    assert train_bpe(paths, 500, progress=False) == expected
    assert train_bpe([docs[0], paths[1]], 500, progress=False) == expected
    assert train_bpe(paths[0], 400, progress=False) == train_bpe(docs[0], 400, progress=False)


def test_no_piece_crosses_a_document_boundary():
    counts, _ = count_words(["hello wor", "ld"])
    assert counts == Counter({"hello": 1, " wor": 1, "ld": 1})
    with pytest.raises(ArgumentValueError):
        train_bpe(["ab"] * 5, 258, progress=False)  # "ab" only: one merge is all there is
    assert train_bpe(["ab"] * 5, 257, progress=False).merges == [(b"a", b"b")]


def test_long_documents_and_several_processes_count_the_same(monkeypatch):
    text = corpus("taylorswift")[:60_000] + corpus("japanese-notes")[:10_000]
    single, _ = count_words(text, "cl100k", processes=1)
    assert single == Counter(regex.findall(CL100K_PATTERN, text))
    monkeypatch.setattr(train_module, "_BATCH_CHARS", 7000)
    monkeypatch.setattr(train_module, "PARALLEL_THRESHOLD", 10_000)
    parallel, seen = count_words([text[:30_000], text[30_000:]], "cl100k", processes=2)
    chunked, _ = count_words([text[:30_000], text[30_000:]], "cl100k", processes=1)
    assert seen == len(text) and parallel == chunked
    assert chunked == Counter(regex.findall(CL100K_PATTERN, text[:30_000])) + Counter(
        regex.findall(CL100K_PATTERN, text[30_000:])
    )


def test_invalid_utf8_file_names_the_byte_offset(tmp_path, monkeypatch):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"hello world " * 100 + b"\xff rest")
    monkeypatch.setattr(train_module, "_READ_BLOCK", 100)
    with pytest.raises(TextInputError, match=r"bad.txt: invalid UTF-8 at byte offset 1200"):
        train_bpe(path, 300, progress=False)


def test_argument_errors():
    with pytest.raises(ArgumentValueError, match=r"vocab_size must be >= 258 .* got 257"):
        train_bpe("some text", 257, special_tokens=["<a>", "<b>"])
    with pytest.raises(ArgumentValueError, match="given twice"):
        train_bpe("some text", 300, special_tokens=["<a>", "<a>"])
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        train_bpe("some text", 300.0)
    with pytest.raises(TypeError, match="data must be a str"):
        train_bpe(b"bytes", 300)
    with pytest.raises(TypeError, match="data item 1"):
        train_bpe(["text", 3], 300)
    with pytest.raises(ArgumentValueError, match="min_frequency must be >= 0"):
        train_bpe("text", 300, min_frequency=-1)
    with pytest.raises(ArgumentValueError, match=r"cannot fill vocab_size=5000.*reached"):
        train_bpe("a tiny corpus", 5000, progress=False)
    with pytest.raises(FileNotFoundError):
        train_bpe(Path("/nonexistent/file.txt"), 300)


def test_progress_bar_only_when_asked(capsys):
    train_bpe(corpus("the-verdict"), 400, progress=True)
    assert "BPE merges" in capsys.readouterr().err
    train_bpe(corpus("the-verdict"), 400, progress=False)
    train_bpe(corpus("the-verdict"), 400)  # stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""
