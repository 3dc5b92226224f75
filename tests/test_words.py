"""Regex word tokenizers: the textbook's facts, V1/V2/V3 behaviour, vocabulary files."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import corpus
from tokprep import load_tokenizer
from tokprep.errors import (
    ArgumentValueError,
    DisallowedSpecialTokenError,
    InvalidTokenError,
    TokenizerFileError,
    UnknownTokenError,
)
from tokprep.tokenizers import (
    BOOK_PATTERN,
    PUNCT_SPACE_PATTERN,
    SimpleTokenizerV1,
    SimpleTokenizerV2,
    SimpleTokenizerV3,
    build_vocab,
    load_vocab,
    load_word_tokenizer,
    save_vocab,
    split_words,
)

STORY = corpus("the-verdict")
WORDS = split_words(STORY)
VOCAB = build_vocab(WORDS)
V2 = SimpleTokenizerV2(VOCAB)


# --- facts from the textbook pipeline on the-verdict.txt ---------------------------------------


def test_book_pattern_facts():
    assert BOOK_PATTERN == r'([,.:;?_!"()\']|--|\s)'
    assert len(WORDS) == 4690
    assert len(set(WORDS)) == 1130
    assert len(VOCAB) == 1132
    assert VOCAB["<|unk|>"] == 1130 and VOCAB["<|endoftext|>"] == 1131
    assert WORDS[:10] == [
        "I",
        "HAD",
        "always",
        "thought",
        "Jack",
        "Gisburn",
        "rather",
        "a",
        "cheap",
        "genius",
    ]


def test_split_matches_textbook_recipe():
    # The textbook: re.split, strip each item, drop empty ones.
    expected = [item.strip() for item in re.split(BOOK_PATTERN, STORY) if item.strip()]
    assert expected == WORDS


def test_older_pattern_splits_punctuation_only_before_a_space():
    words = split_words(STORY, PUNCT_SPACE_PATTERN)
    assert len(words) == 4286
    assert len(set(words)) == 1258
    assert split_words("Hello, world. Is this-- a test?", PUNCT_SPACE_PATTERN) == [
        "Hello",
        ",",
        "world",
        ".",
        "Is",
        "this",
        "--",
        "a",
        "test?",
    ]


def test_vocab_is_sorted_then_specials_in_order():
    vocab = build_vocab(["b", "a", "b", "c"], special_tokens=("<|x|>", "<|y|>"))
    assert vocab == {"a": 0, "b": 1, "c": 2, "<|x|>": 3, "<|y|>": 4}
    with pytest.raises(TypeError, match="split_words"):
        build_vocab("some text")


# --- V1 --------------------------------------------------------------------------------------


def test_v1_encode_decode_like_the_textbook():
    v1 = SimpleTokenizerV1(VOCAB)
    text = """"It's the last he painted, you know," Mrs. Gisburn said with pardonable pride."""
    ids = v1.encode(text)
    assert ids[:5] == [1, 56, 2, 850, 988]
    # Decoding re-joins with spaces and removes them before punctuation, exactly as the
    # textbook's decoder does, which leaves "It' s": V1/V2 do not keep the original spacing.
    assert v1.decode(ids) == (
        """" It' s the last he painted, you know," Mrs. Gisburn said with pardonable pride."""
    )


def test_v1_names_every_unknown_word_and_where():
    v1 = SimpleTokenizerV1(VOCAB)
    text = "Hello, do you like tea in the palace?"
    with pytest.raises(UnknownTokenError) as info:
        v1.encode(text)
    assert info.value.unknown == [("Hello", 0), ("palace", 30)]
    assert "'Hello' at character 0" in str(info.value)
    assert "'palace' at character 30" in str(info.value)
    assert "SimpleTokenizerV2" in str(info.value)  # the fix
    assert isinstance(info.value, KeyError)


def test_decode_rejects_bad_ids():
    with pytest.raises(InvalidTokenError, match=r"1132 is not in this vocabulary.*0\.\.1131"):
        V2.decode([1132])
    with pytest.raises(InvalidTokenError):
        V2.decode([-1])
    for bad in (1.0, True, "3"):
        with pytest.raises(TypeError):
            V2.decode([bad])


# --- V2 and special tokens -------------------------------------------------------------------


def test_v2_unknown_words_and_endoftext():
    text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of the palace."
    ids = V2.encode(text, allowed_special={"<|endoftext|>"})
    assert ids == [1130, 5, 355, 1126, 628, 975, 10, 1131, 55, 988, 956, 984, 722, 988, 1130, 7]
    assert V2.decode(ids) == (
        "<|unk|>, do you like tea? <|endoftext|> In the sunlit terraces of the <|unk|>."
    )


def test_special_token_text_is_refused_unless_allowed():
    text = "tea?<|endoftext|>In"
    with pytest.raises(DisallowedSpecialTokenError) as info:
        V2.encode(text)
    message = str(info.value)
    assert "'<|endoftext|>' at character 4" in message
    assert "allowed_special={'<|endoftext|>'}" in message and "disallowed_special=()" in message
    # Allowed: the special token splits the text even without spaces around it.
    assert V2.encode(text, allowed_special="all") == [VOCAB["tea"], VOCAB["?"], 1131, VOCAB["In"]]
    # Ordinary text: the spelling is not the control token (it is an unknown word).
    assert 1131 not in V2.encode_ordinary(text)
    assert V2.encode_ordinary(text) == V2.encode(text, disallowed_special=())
    # <|unk|> spelled in text is a special token too.
    with pytest.raises(DisallowedSpecialTokenError, match="unk"):
        V2.encode("a <|unk|> b")
    with pytest.raises(TypeError, match="allowed_special must be 'all' or a collection"):
        V2.encode(text, allowed_special="<|endoftext|>")


def test_v2_needs_unk():
    vocab = build_vocab(WORDS, special_tokens=("<|endoftext|>",))
    with pytest.raises(ArgumentValueError, match=r"needs '<\|unk\|>'.*build_vocab"):
        SimpleTokenizerV2(vocab)


# --- V3: whitespace kept, exact round trip ---------------------------------------------------


V3_VOCAB = build_vocab([*split_words(STORY, keep_whitespace=True), " ", "\n", "\t"])
V3 = SimpleTokenizerV3(V3_VOCAB)


def test_v3_exact_round_trip_on_story():
    ids = V3.encode(STORY)
    assert V3_VOCAB["<|unk|>"] not in ids
    assert V3.decode(ids) == STORY
    assert V2.decode(V2.encode(STORY)) != STORY  # V2 loses the original whitespace


# --- property tests --------------------------------------------------------------------------

KNOWN = sorted(w for w in set(WORDS) if w.isalpha())
PUNCT = [",", ".", ":", ";", "?", "!", '"', "(", ")", "'", "--", "_"]
UNKNOWN = st.text(alphabet="qxzjkv", min_size=1, max_size=8).filter(lambda w: w not in VOCAB)
SPACE = st.sampled_from([" ", "\n", "\t", "  ", " \n"])


@st.composite
def texts_of_known_and_unknown_words(draw):
    """Words separated by whitespace; returns the text and, per word, whether it is known."""
    items = draw(
        st.lists(
            st.one_of(
                st.sampled_from(KNOWN).map(lambda w: (w, True)),
                UNKNOWN.map(lambda w: (w, False)),
                st.sampled_from(PUNCT).map(lambda w: (w, True)),
            ),
            max_size=30,
        )
    )
    seps = [draw(SPACE) for _ in items]
    text = "".join(sep + word for sep, (word, _) in zip(seps, items, strict=True))
    return text, items


@given(texts_of_known_and_unknown_words())
def test_v2_unknown_words_and_only_those_become_unk(case):
    text, items = case
    ids = V2.encode(text)
    expected = [VOCAB[w] if known else VOCAB["<|unk|>"] for w, known in items]
    assert ids == expected
    assert all(0 <= i < V2.n_vocab for i in ids)


@given(texts_of_known_and_unknown_words())
def test_v1_raises_naming_exactly_the_unknown_words(case):
    text, items = case
    unknown = [w for w, known in items if not known]
    v1 = SimpleTokenizerV1(VOCAB)
    if not unknown:
        assert v1.encode(text) == [VOCAB[w] for w, _ in items]
        return
    with pytest.raises(UnknownTokenError) as info:
        v1.encode(text)
    assert [w for w, _ in info.value.unknown] == unknown
    for word, offset in info.value.unknown:
        assert text[offset : offset + len(word)] == word


@given(
    st.lists(st.tuples(st.sampled_from([*KNOWN, *PUNCT]), SPACE), max_size=40),
    st.sampled_from(["", " ", "\n"]),
)
def test_v3_round_trip_is_exact(pieces, lead):
    text = lead + "".join(word + space for word, space in pieces)
    ids = V3.encode(text)
    assert V3.decode(ids) == text
    assert V3_VOCAB["<|unk|>"] not in ids


# --- vocabulary files ------------------------------------------------------------------------


def test_vocab_file_round_trip(tmp_path):
    path = tmp_path / "vocab.json"
    V3.save(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert (doc["format"], doc["kind"], doc["version"]) == ("tokprep", "word", 1)
    assert doc["tokenizer"] == "SimpleTokenizerV3"
    assert load_vocab(path) == V3_VOCAB
    loaded = load_tokenizer(path)
    assert isinstance(loaded, SimpleTokenizerV3)
    assert loaded.encode(STORY) == V3.encode(STORY)
    plain = tmp_path / "plain.json"
    save_vocab(plain, VOCAB)
    assert isinstance(load_word_tokenizer(plain), SimpleTokenizerV2)


@pytest.mark.parametrize(
    ("vocab_json", "message"),
    [
        ('{"a": 0, "b": 0}', "ID 0 is given to both 'a' and 'b'"),
        ('{"a": 0, "b": 2}', "no gaps; missing \\[1\\]"),
        ('{"a": 0, "a": 1}', "'a' appears twice"),
        ('{"a": "0"}', "must map a string to an integer"),
        ("{}", "vocabulary is empty"),
    ],
)
def test_vocab_file_validation(tmp_path, vocab_json, message):
    path = tmp_path / "v.json"
    path.write_text(
        '{"format": "tokprep", "kind": "word", "version": 1, "vocab": ' + vocab_json + "}"
    )
    with pytest.raises(TokenizerFileError, match=message):
        load_vocab(path)


def test_vocab_file_without_unk_for_v2(tmp_path):
    path = tmp_path / "v.json"
    save_vocab(path, {"a": 0, "b": 1})
    with pytest.raises(
        TokenizerFileError, match=re.escape("v.json: SimpleTokenizerV2 needs '<|unk|>'")
    ):
        SimpleTokenizerV2.load(path)
    assert isinstance(load_tokenizer(path), SimpleTokenizerV1)


def test_failed_save_leaves_old_file(tmp_path):
    path = tmp_path / "v.json"
    save_vocab(path, VOCAB)
    before = path.read_bytes()
    with pytest.raises(TokenizerFileError):
        save_vocab(path, {"a": 0, "b": 5})
    assert path.read_bytes() == before
