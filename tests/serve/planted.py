"""A tokenizer with a planted bug, for the playground's Differences tests: GPT-2's ranks with a
pre-tokenizer that cuts numbers into single digits (`\\p{N}` instead of ` ?\\p{N}++`), so it
parts from GPT-2 exactly where the text has a number of two or more digits (or a space before
one)."""

from __future__ import annotations

from tokprep.bpe import BPETokenizer
from tokprep.bpe.encodings import encoding_ranks
from tokprep.bpe.ranks import GPT2_PATTERN

DIGITS_ALONE = GPT2_PATTERN.replace(r" ?\p{N}++", r"\p{N}")


def planted() -> BPETokenizer:
    assert DIGITS_ALONE != GPT2_PATTERN
    return BPETokenizer(encoding_ranks("gpt2"), DIGITS_ALONE, name="digits-alone")


#: Text full of markup, for the test that token text shows as text.
MARKUP = '<script>window.pwned = 1</script> <img src=x onerror="window.pwned=2"> &amp; &lt;'


def markup() -> BPETokenizer:
    """A tokenizer whose tokens spell markup: trained on MARKUP with a pattern that keeps
    everything between spaces together, so `<script>...` and `&amp;` become tokens."""
    return BPETokenizer.train(MARKUP * 20, 311, pattern=r" ?\S+|\s+", name="markup")
