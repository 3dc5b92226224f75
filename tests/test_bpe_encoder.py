"""tokprep's pure-Python BPE against tiktoken's gpt2: the same IDs on any text."""

import base64
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPORA, corpus
from tokprep.bpe import BPETokenizer, tiktoken_gpt2
from tokprep.errors import DisallowedSpecialTokenError, InvalidTokenError
from tokprep.testing.strategies import cut_text, split_text, tokenizer_text

OURS = BPETokenizer.gpt2()
TIKTOKEN = tiktoken_gpt2()
EOT = "<|endoftext|>"
MANY = settings(max_examples=1000)

# Every character class hypothesis can draw, lone surrogates included.
ANY_CHAR = st.characters(blacklist_categories=())
# The kit's edge-case text: special-token spellings and near misses among arbitrary text.
TEXT_WITH_SPECIALS = tokenizer_text()


# --- differential properties ------------------------------------------------------------------


@MANY
@given(st.text())
def test_encode_ordinary_equals_tiktoken(text):
    assert OURS.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)


@MANY
@given(TEXT_WITH_SPECIALS)
def test_encode_all_special_equals_tiktoken(text):
    ids = OURS.encode(text, allowed_special="all")
    assert ids == TIKTOKEN.encode(text, allowed_special="all")
    assert OURS.decode(ids) == text


@MANY
@given(st.text())
def test_decode_encode_round_trip(text):
    assert OURS.decode(OURS.encode_ordinary(text)) == text


@MANY
@given(st.text(alphabet=ANY_CHAR))
def test_lone_surrogates_follow_tiktoken(text):
    # tiktoken replaces lone surrogates by U+FFFD before encoding; so does tokprep.
    assert OURS.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)
    assert OURS.encode(text, disallowed_special=()) == TIKTOKEN.encode(text, disallowed_special=())


@MANY
@given(st.binary())
def test_encode_bytes_round_trips_any_bytes(data):
    ids = OURS.encode_bytes(data)
    assert OURS.decode_bytes(ids) == data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    assert ids == OURS.encode_ordinary(text)


@MANY
@given(st.text())
def test_decode_with_offsets_equals_tiktoken(text):
    ids = OURS.encode_ordinary(text)
    assert OURS.decode_with_offsets(ids) == TIKTOKEN.decode_with_offsets(ids)


@pytest.mark.parametrize("name", CORPORA)
def test_corpora_token_for_token(name):
    text = corpus(name)
    fresh = BPETokenizer.gpt2()
    expected = TIKTOKEN.encode_ordinary(text)
    assert fresh.encode_ordinary(text) == expected  # cold cache
    assert fresh.encode_ordinary(text) == expected  # warm cache
    assert fresh.decode(expected) == text


ALL_CHARS = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
CONTEXTS = ["{c}", " {c}", "a{c}0", "{c}{c} ", "\n{c}\n", "'{c}s", "{c}\n  "]


def _chunks(context, size=4096):
    # Chunks keep any run of letters short enough for tiktoken's quadratic merge.
    for start in range(0, len(ALL_CHARS), size):
        yield start, "".join(context.format(c=c) for c in ALL_CHARS[start : start + size]) + "."


@pytest.mark.slow
@pytest.mark.parametrize("context", ["{c}", " {c}"])
def test_every_code_point_encodes_as_tiktoken(context):
    """Every code point, alone in a run and after a space, gives tiktoken's IDs: the character
    classes (letter, number, whitespace) of tokprep's pre-tokenizer agree with tiktoken's."""
    for start, text in _chunks(context):
        assert OURS.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text), (context, start)


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_code_point_splits_as_the_regex_reference(context):
    """The same in more contexts, for the pre-tokenizer alone: its shortcuts (ASCII fast path,
    safe cuts, stand-ins above U+FFFF) against the plain pinned pattern, which
    tests/test_unicode_pinned.py ties to tiktoken."""
    from tokprep.bpe.pretokenize import splitter
    from tokprep.bpe.unicode_classes import pinned_pattern

    fast = splitter(OURS.pattern)
    reference = re.compile(pinned_pattern(OURS.pattern))
    for start, text in _chunks(context, size=65536):
        assert fast.split(text) == reference.findall(text), (context, start)


# --- the repetition suite and edge cases ------------------------------------------------------

REPEATED = ["^", "0", "a", "'s", " ", "\n"]


@pytest.mark.parametrize("c", REPEATED)
@pytest.mark.parametrize("shape", ["{}", " {}", " {}\n"])
def test_repetitions(c, shape):
    text = shape.format(c * 10_000)
    assert OURS.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)


@pytest.mark.parametrize("n", range(1, 18))
def test_digit_runs(n):
    assert OURS.encode_ordinary("0" * n) == TIKTOKEN.encode_ordinary("0" * n)


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "a\x00b",
        "\ufeffHello",
        "line\r\nline\r\n",
        "\r\n\r\n",
        unicodedata.normalize("NFC", "café résumé"),
        unicodedata.normalize("NFD", "café résumé"),
        "a\x85b",
        "a\xa0b",
        " \xa0 ",
        "tab\tvt\x0bff\x0c",
        "a\u2028b\u2029",
        "\x1c\x1d\x1e\x1f",
        "x \u3000y",
        "  \n  x",
        "x   ",
        "   ",
        "don't I'll we've",
        "DON'T",
        "1,234,567.89",
        "🤗 👍🏽 👨‍👩‍👧",
        "日本語のテキスト",
        "ＡＢＣ１２３",
        "\u0660\u0661 \u00b2\u00bd",
    ],
)
def test_edge_cases(text):
    assert OURS.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)
    assert OURS.decode(OURS.encode_ordinary(text)) == text


def test_a_megabyte_of_spaces():
    # tiktoken itself cannot encode this one (its regex gives up); the answer is known.
    ids = OURS.encode_ordinary(" " * 999_999 + "x")
    assert ids == [220] * 999_998 + [2124]


def test_long_single_pieces_match_tiktoken():
    import random

    rng = random.Random(0)
    letters = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ") for _ in range(20_000))
    for text in (letters, "a" * 20_000, "é" * 5_000, " " + "日本" * 3_000):
        assert OURS.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)


# --- special tokens -----------------------------------------------------------------------------


def test_special_tokens_refused_by_default_with_a_helpful_message():
    with pytest.raises(DisallowedSpecialTokenError) as info:
        OURS.encode("tea<|endoftext|>")
    message = str(info.value)
    assert "'<|endoftext|>' at character 3" in message
    assert "allowed_special={'<|endoftext|>'}" in message
    assert "disallowed_special=()" in message and "encode_ordinary" in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allowed_special": "all"},
        {"allowed_special": {EOT}},
        {"allowed_special": set(), "disallowed_special": ()},
        {"allowed_special": {EOT}, "disallowed_special": ()},
        {"allowed_special": "all", "disallowed_special": "all"},
        {"disallowed_special": ()},
    ],
)
@pytest.mark.parametrize(
    "text",
    ["a<|endoftext|>b", "<|endoftext|><|endoftext|>", "<|endoftext|", "<|endoftext", "x<|endo"],
)
def test_special_token_matrix(kwargs, text):
    assert OURS.encode(text, **kwargs) == TIKTOKEN.encode(text, **kwargs)


def test_encode_ordinary_is_encode_with_nothing_disallowed():
    text = "a<|endoftext|>b"
    assert OURS.encode_ordinary(text) == OURS.encode(text, disallowed_special=())
    assert 50256 not in OURS.encode_ordinary(text)
    assert OURS.encode(text, allowed_special="all")[1] == 50256


def test_disallowed_can_name_any_string():
    with pytest.raises(DisallowedSpecialTokenError, match="'abc'"):
        OURS.encode("xx abc", disallowed_special={"abc"})
    with pytest.raises(TypeError, match="allowed_special must be 'all' or a collection"):
        OURS.encode("x", allowed_special=EOT)


# --- decoding -------------------------------------------------------------------------------------


def test_every_token_round_trips():
    for token in range(OURS.n_vocab):
        data = OURS.decode_single_token_bytes(token)
        assert data == TIKTOKEN.decode_single_token_bytes(token)
        if token != OURS.eot_token:
            assert OURS.mergeable_ranks[data] == token


@pytest.mark.parametrize("bad", [50257, -1, 10**12])
def test_decoding_a_bad_id_names_it(bad):
    with pytest.raises(
        InvalidTokenError,
        match=rf"token ID {bad} is not in this vocabulary of "
        r"50257 IDs",
    ) as info:
        OURS.decode([15496, bad])
    assert isinstance(info.value, KeyError) and info.value.token == bad


@pytest.mark.parametrize("bad", [True, 1.0, "1", None])
def test_decoding_a_non_integer_is_a_type_error(bad):
    with pytest.raises(TypeError, match="token IDs must be ints"):
        OURS.decode([15496, bad])


def test_decode_accepts_numpy_integers():
    import numpy as np

    ids = np.array(OURS.encode_ordinary("Hello world"), dtype=np.int64)
    assert OURS.decode(ids) == "Hello world"
    assert OURS.decode(list(ids)) == "Hello world"


def test_stream_decoder_emits_only_whole_characters():
    text = corpus("japanese-notes")[:3000] + " 🤗👍🏽"
    ids = OURS.encode_ordinary(text)
    decoder = OURS.stream_decoder()
    pieces = [decoder.feed(token) for token in ids]
    assert "".join(pieces) + decoder.flush() == text
    assert not any("\ufffd" in piece for piece in pieces)
    assert any(OURS.decode([t]) == "\ufffd" for t in ids)  # single tokens do split characters
    partial = OURS.stream_decoder()
    assert partial.feed(OURS.encode_ordinary("🤗")[:1]) == ""
    assert partial.pending_bytes
    assert partial.flush() == "\ufffd"


def test_encode_batch():
    texts = ["Hello", "world <|endoftext|>", ""]
    assert OURS.encode_batch(texts, allowed_special="all") == TIKTOKEN.encode_batch(
        texts, allowed_special="all"
    )
    assert OURS.encode_ordinary_batch(texts) == TIKTOKEN.encode_ordinary_batch(texts)
    with pytest.raises(TypeError, match="list of texts"):
        OURS.encode_batch("Hello")


def test_properties():
    assert OURS.n_vocab == 50257 and OURS.eot_token == 50256 and OURS.max_token_value == 50256
    assert OURS.special_tokens == {EOT: 50256} and OURS.special_tokens_set == {EOT}
    assert OURS.pattern == TIKTOKEN._pat_str
    with pytest.raises(TypeError):
        OURS.mergeable_ranks[b"x"] = 1  # read-only view
    with pytest.raises(TypeError, match="text must be a str"):
        OURS.encode_ordinary(b"bytes")


def test_cache_is_bounded(monkeypatch):
    from tokprep.bpe import tokenizer as module

    monkeypatch.setattr(module, "CACHE_SIZE", 64)
    fresh = BPETokenizer.gpt2()
    text = " ".join(f"w{n}x" for n in range(1000))
    assert fresh.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)
    assert len(fresh._cache) <= 64
    assert fresh.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)


def test_ranks_bytes_are_valid_base64_of_shipped_file():
    # The shipped file's first line is the byte '!' at rank 0, as GPT-2 orders bytes.
    assert OURS.decode_single_token_bytes(0) == b"!"
    assert base64.b64encode(b"!") == b"IQ=="


# The kit's strategies (tokprep.testing.strategies): the characters that decide where the
# patterns cut, and a small alphabet where safe cuts and uncuttable pieces come up often.
MIXED_TEXT = split_text()
CUT_TEXT = cut_text()


@pytest.mark.parametrize("preset", ["gpt2", "cl100k", "o200k"])
@MANY
@given(text=st.one_of(MIXED_TEXT, CUT_TEXT))
def test_pretokenizer_fast_path_is_exact_on_mixed_text(preset, text):
    from tokprep.bpe.patterns import PRESETS
    from tokprep.bpe.pretokenize import splitter
    from tokprep.bpe.unicode_classes import pinned_pattern

    pattern = PRESETS[preset]
    assert splitter(pattern).split(text) == re.findall(pinned_pattern(pattern), text)


def test_long_pieces_repeated_in_a_text_are_merged_once(monkeypatch):
    from tokprep.bpe import tokenizer as module

    calls = []
    real_merge = module.bpe_merge
    monkeypatch.setattr(
        module, "bpe_merge", lambda data, ranks: calls.append(data) or real_merge(data, ranks)
    )
    fresh = BPETokenizer.gpt2()
    line = "=" * 300  # one piece, longer than CACHE_PIECE_LIMIT
    text = "\n".join([line] * 50)
    assert fresh.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)
    assert calls.count(line.encode()) == 1
    assert len(fresh._cache) < 10  # the long piece is not in the main cache


def test_long_piece_table_is_bounded(monkeypatch):
    from tokprep.bpe import tokenizer as module

    monkeypatch.setattr(module, "LONG_PIECES_CHARS", 1000)
    fresh = BPETokenizer.gpt2()
    text = " ".join(chr(ord("a") + n % 26) * (300 + n) for n in range(20))
    assert fresh.encode_ordinary(text) == TIKTOKEN.encode_ordinary(text)
    assert fresh._cache.long_chars <= 1000
    assert sum(map(len, fresh._cache.long)) == fresh._cache.long_chars


@pytest.mark.parametrize("enabled", [True, False])
def test_encoding_leaves_the_garbage_collector_as_it_found_it(enabled):
    import gc

    fresh = BPETokenizer.gpt2()
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        fresh.encode_ordinary("some new words to encode, then the same words again")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_one_encoder_shared_by_threads_with_a_small_cache(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from tokprep.bpe import tokenizer as module

    monkeypatch.setattr(module, "CACHE_SIZE", 64)
    shared = BPETokenizer.gpt2()
    texts = [" ".join(f"w{n}q{t}" for n in range(600)) for t in range(4)]
    expected = [TIKTOKEN.encode_ordinary(t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(shared.encode_ordinary, texts * 3))
    assert results == expected * 3
    assert len(shared._cache) <= 64
