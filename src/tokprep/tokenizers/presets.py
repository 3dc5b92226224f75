"""The chapter-2 word tokenizers as named tokenizers: `words-v1`, `words-v2`, `words-v3`.

Each is that class with the vocabulary built from "The Verdict" (shipped with tokprep), the way
the chapter builds it, so a learner's own `SimpleTokenizerV2` can be checked against tokprep's:

    tokprep check mymod:SimpleTokenizerV2 --reference words-v2 --vocab my_vocab.json

- `words-v1`: `SimpleTokenizerV1`, the story's 1,130 words and punctuation, no special tokens;
- `words-v2`: `SimpleTokenizerV2`, the same plus `<|unk|>` = 1130 and `<|endoftext|>` = 1131;
- `words-v3`: `SimpleTokenizerV3`, whitespace kept as tokens too, with both special tokens.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources

from tokprep.tokenizers.words import (
    SimpleTokenizerV1,
    SimpleTokenizerV2,
    SimpleTokenizerV3,
    build_vocab,
    split_words,
)

__all__ = ["WORD_PRESETS", "verdict_vocab", "word_preset"]

WORD_PRESETS: dict[str, type] = {
    "words-v1": SimpleTokenizerV1,
    "words-v2": SimpleTokenizerV2,
    "words-v3": SimpleTokenizerV3,
}


@functools.cache
def _verdict_vocab(name: str) -> tuple[tuple[str, int], ...]:
    text = (resources.files("tokprep") / "data" / "the-verdict.txt").read_text(encoding="utf-8")
    if name == "words-v1":
        vocab = build_vocab(split_words(text), special_tokens=())
    elif name == "words-v2":
        vocab = build_vocab(split_words(text))
    else:
        vocab = build_vocab(split_words(text, keep_whitespace=True))
    return tuple(vocab.items())


def verdict_vocab(name: str) -> dict[str, int]:
    """The vocabulary `name` (a key of WORD_PRESETS) builds from "The Verdict" (a fresh copy)."""
    return dict(_verdict_vocab(name))


def word_preset(name: str, vocab: Mapping[str, int] | None = None) -> SimpleTokenizerV1:
    """The word tokenizer `name` with The Verdict's vocabulary, or with `vocab` instead."""
    return WORD_PRESETS[name](dict(vocab) if vocab is not None else verdict_vocab(name))
