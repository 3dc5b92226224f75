"""The encoder's shortcuts give exactly the pieces and IDs of the plain path (issue 11, speed).

- the ASCII equivalents of the preset patterns (o200k's has possessive quantifiers and one
  letter alternative) against tiktoken's own pattern, run by `regex`, on adversarial ASCII;
- `space_words`: cutting text before the spaces that are safe cuts, so that each word splits
  alone into the pieces it has in the whole text;
- the word cache: encoding word by word gives tiktoken's IDs, with the cache cold, warm and
  bounded.
"""

import re

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from tokprep.bpe import BPETokenizer, tiktoken_encoding
from tokprep.bpe import tokenizer as tokenizer_module
from tokprep.bpe.patterns import PRESETS
from tokprep.bpe.pretokenize import (
    _ASCII_EQUIVALENTS,
    WHITESPACE,
    cuts_at_spaces,
    space_words,
    splitter,
)
from tokprep.testing.strategies import cut_text, split_text, tokenizer_text

# ASCII that decides where the presets cut: both cases of the contraction letters, apostrophes,
# digits, "/" (o200k's punctuation pieces take "\r\n/"), every ASCII whitespace character and
# U+001C..U+001F (stdlib `\s` matches them, tiktoken's does not).
ADVERSARIAL_ASCII = st.text(
    st.sampled_from(list("sStTmMdDlLrReEvVaZzA''0912/.,!-_ \t\n\r\x0b\x0c\x1c\x1f")),
    max_size=40,
)


def test_every_preset_has_an_ascii_equivalent():
    assert set(PRESETS.values()) == set(_ASCII_EQUIVALENTS)


@pytest.mark.parametrize("pattern", PRESETS.values(), ids=PRESETS.keys())
@settings(max_examples=600)
@given(text=ADVERSARIAL_ASCII)
def test_ascii_equivalent_is_the_pattern_on_ascii(pattern, text):
    # On ASCII, tiktoken's pattern under `regex` is the reference (no Unicode table matters).
    assert re.findall(_ASCII_EQUIVALENTS[pattern], text) == regex.findall(pattern, text)


def test_o200k_ascii_contractions_in_every_case():
    pattern = PRESETS["o200k"]
    for word in ["don't", "DON'T", "Don'T", "we'LL", "I'm", "THEY'RE", "it'S", "o'clock", "'s"]:
        for text in [word, f" {word}", f"!{word}s", f"{word}'d"]:
            assert re.findall(_ASCII_EQUIVALENTS[pattern], text) == regex.findall(pattern, text)


WORDS_TEXT = st.one_of(
    split_text(),
    cut_text(),
    tokenizer_text(),
    st.lists(st.sampled_from(["a", "B", " ", "  ", "\n", "\t", "\u3000", "\xa0", ".", "1"])).map(
        "".join
    ),
)


@settings(max_examples=400)
@given(text=WORDS_TEXT)
def test_space_words_cut_only_where_each_word_splits_alone(text):
    words = space_words(text)
    assert words[0] + "".join(" " + word for word in words[1:]) == text
    for word in words[1:]:  # each cut is a space between two characters that are not space
        assert word[:1] not in WHITESPACE
    for before in words[:-1]:
        assert before and before[-1] not in WHITESPACE
    for name in ("gpt2", "cl100k", "o200k"):
        assert cuts_at_spaces(PRESETS[name])
        split = splitter(PRESETS[name]).split
        alone = split(words[0]) + [p for word in words[1:] for p in split(" " + word)]
        assert alone == split(text)


def test_custom_patterns_have_no_word_cache():
    assert not cuts_at_spaces(r"\S+|\s+")
    assert BPETokenizer.gpt2()._words is not None
    custom = BPETokenizer(dict(BPETokenizer.gpt2().mergeable_ranks), pattern=r"\S+|\s+")
    assert custom._words is None


ENCODERS = ("gpt2", "cl100k_base", "o200k_base")


@pytest.fixture(scope="module")
def word_encoders():
    """One long-lived encoder per encoding, forced onto the word path, and its oracle."""
    return {name: (BPETokenizer.from_encoding(name), tiktoken_encoding(name)) for name in ENCODERS}


@pytest.mark.parametrize("name", ENCODERS)
@settings(max_examples=300)
@given(text=WORDS_TEXT)
def test_word_path_gives_tiktokens_ids(word_encoders, name, text):
    ours, theirs = word_encoders[name]
    original = tokenizer_module.WORDS_AFTER_PIECES, tokenizer_module.WORDS_MIN_CHARS
    # Words from the first call on, however short the text.
    tokenizer_module.WORDS_AFTER_PIECES = tokenizer_module.WORDS_MIN_CHARS = 0
    try:
        assert ours.encode_ordinary(text) == theirs.encode_ordinary(text)
        assert ours.encode_ordinary(text) == theirs.encode_ordinary(text)  # the words known
    finally:
        tokenizer_module.WORDS_AFTER_PIECES, tokenizer_module.WORDS_MIN_CHARS = original


def test_short_texts_go_piece_by_piece(monkeypatch):
    monkeypatch.setattr(tokenizer_module, "WORDS_AFTER_PIECES", 0)
    warm = BPETokenizer.gpt2()
    oracle = tiktoken_encoding("gpt2")
    short = "a few new words"
    assert len(short) < tokenizer_module.WORDS_MIN_CHARS
    assert warm.encode_ordinary(short) == oracle.encode_ordinary(short)
    assert len(warm._words) == 0  # too short for the word cache
    longer = short * (tokenizer_module.WORDS_MIN_CHARS // len(short) + 1)
    assert warm.encode_ordinary(longer) == oracle.encode_ordinary(longer)
    assert "new" in warm._words


def test_words_are_used_once_the_pieces_are_warm(monkeypatch):
    monkeypatch.setattr(tokenizer_module, "WORDS_AFTER_PIECES", 8)
    monkeypatch.setattr(tokenizer_module, "WORDS_MIN_CHARS", 0)
    fresh = BPETokenizer.gpt2()
    text = "one two three four five six seven eight nine ten, then one two three again"
    oracle = tiktoken_encoding("gpt2").encode_ordinary(text)
    assert fresh.encode_ordinary(text) == oracle
    assert len(fresh._words) == 0  # the first call went piece by piece
    assert fresh.encode_ordinary(text) == oracle
    assert "two" in fresh._words and fresh._words["ten,"] == tuple(fresh.encode_ordinary(" ten,"))


def test_word_cache_is_bounded_and_skips_long_words(monkeypatch):
    monkeypatch.setattr(tokenizer_module, "WORDS_AFTER_PIECES", 0)
    monkeypatch.setattr(tokenizer_module, "WORDS_MIN_CHARS", 0)
    monkeypatch.setattr(tokenizer_module, "CACHE_SIZE", 64)
    fresh = BPETokenizer.gpt2()
    long_word = "x" * (tokenizer_module.CACHE_PIECE_LIMIT + 1)
    text = " ".join(f"w{n}z" for n in range(500)) + f" {long_word} end"
    oracle = tiktoken_encoding("gpt2").encode_ordinary(text)
    assert fresh.encode_ordinary(text) == oracle
    assert fresh.encode_ordinary(text) == oracle
    assert len(fresh._words) <= 64
    assert long_word not in fresh._words


def test_unsafe_spaces_on_long_text_give_tiktokens_ids(monkeypatch):
    # Double spaces, spaces beside newlines, tabs and Unicode spaces, at both ends.
    monkeypatch.setattr(tokenizer_module, "WORDS_AFTER_PIECES", 0)
    monkeypatch.setattr(tokenizer_module, "WORDS_MIN_CHARS", 0)
    text = " " + "Hello  world \n  x\t y\u2003 z \xa0q w.\n " * 200 + " "
    for name in ENCODERS:
        ours = BPETokenizer.from_encoding(name)
        for _ in range(2):
            assert ours.encode_ordinary(text) == tiktoken_encoding(name).encode_ordinary(text)
