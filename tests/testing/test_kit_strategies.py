"""tokprep.testing.strategies: they reach the inputs that break tokenizers."""

import regex
from hypothesis import find, given, settings

from tokprep.bpe import tiktoken_gpt2
from tokprep.testing.strategies import (
    cut_text,
    documents,
    raw_bytes,
    split_text,
    tokenizer_text,
    vocab_concatenations,
    whitespace_text,
)

FIND = settings(max_examples=300, database=None)


def test_tokenizer_text_reaches_each_kind_of_edge_case():
    text = tokenizer_text()
    for shape in (
        r"\s\s\p{L}",  # a whitespace run before a letter
        r"\s\s\p{N}",  # ... before a digit
        r"\s$",  # whitespace at the end of the text
        r"\p{L}'[STDM]",  # an upper-case contraction after a word
        r"[^\x00-\x7f]\p{L}|\p{L}[^\x00-\x7f]",  # non-ASCII next to letters
        r"\r\n|\u2028|\x85",  # other line breaks
        r"\xa0",  # NBSP
        r"\u200d",  # a ZWJ sequence
        r"<\|endoftext\|>",  # the special token spelled out
        r"<\|endoftext(?!\|>)",  # a near miss
    ):
        find(text, lambda t, shape=shape: regex.search(shape, t) is not None, settings=FIND)


def test_vocab_concatenations_are_made_of_vocabulary_tokens():
    encoding = tiktoken_gpt2()
    vocabulary = [encoding.decode_single_token_bytes(i) for i in range(1000)]

    @settings(max_examples=50)
    @given(vocab_concatenations(vocabulary))
    def check(text):
        assert all(encoding.decode_single_token_bytes(t) for t in encoding.encode_ordinary(text))

    check()
    words = find(vocab_concatenations(["hello", "world"]), lambda t: "hello world" in t)
    assert set(words.split()) <= {"hello", "world"}


def test_raw_bytes_include_invalid_utf8():
    def invalid(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    find(raw_bytes(), invalid, settings=FIND)


def test_documents_join_paragraphs_and_separators():
    find(documents(), lambda t: "<|endoftext|>" in t and "\n\n" in t, settings=FIND)
    find(documents(None), lambda t: "\n\n" in t, settings=FIND)


@settings(max_examples=50)
@given(split=split_text(), cut=cut_text(), spaces=whitespace_text())
def test_small_alphabet_strategies_stay_in_their_alphabets(split, cut, spaces):
    from tokprep.testing.edge_cases import CUT_ALPHABET, SPLIT_ATOMS, WHITESPACE_ALPHABET

    assert set(split) <= set("".join(SPLIT_ATOMS))
    assert set(cut) <= set(CUT_ALPHABET) and len(cut) <= 40
    assert set(spaces) <= set(WHITESPACE_ALPHABET) and len(spaces) <= 80
