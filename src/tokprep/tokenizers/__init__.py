"""Regex word tokenizers with a vocabulary, `<|unk|>` and `<|endoftext|>` (no torch here)."""

from tokprep.tokenizers.words import (
    BOOK_PATTERN,
    DEFAULT_SPECIALS,
    ENDOFTEXT,
    PUNCT_SPACE_PATTERN,
    UNK,
    SimpleTokenizerV1,
    SimpleTokenizerV2,
    SimpleTokenizerV3,
    build_vocab,
    load_vocab,
    load_word_tokenizer,
    save_vocab,
    split_words,
)

__all__ = [
    "BOOK_PATTERN",
    "DEFAULT_SPECIALS",
    "ENDOFTEXT",
    "PUNCT_SPACE_PATTERN",
    "UNK",
    "SimpleTokenizerV1",
    "SimpleTokenizerV2",
    "SimpleTokenizerV3",
    "build_vocab",
    "load_vocab",
    "load_word_tokenizer",
    "save_vocab",
    "split_words",
]
