"""Pre-tokenizer patterns: the regexes that cut text into pieces before BPE runs on each piece.

These are tiktoken's patterns (facts, so that tokprep splits text exactly as tiktoken does).
BPE never merges across a piece boundary, so the pattern decides, for example, that " the"
(with its leading space) is one piece and that digits never merge with letters.

The strings stay tiktoken's, byte for byte; when tokprep splits text with one of them, its
Unicode classes (`\\p{L}`, `\\p{N}`, `\\s`...) come from tables pinned to tiktoken's Unicode
version (`tokprep.bpe.unicode_classes`), not from the installed `regex` module.
"""

from __future__ import annotations

from tokprep.bpe.ranks import GPT2_PATTERN

#: GPT-2's pattern as first published; it splits every text as GPT2_PATTERN does.
GPT2_ORIGINAL_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)

#: GPT-4's (cl100k_base): case-insensitive contractions, digits in groups of at most three.
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

#: GPT-4o's (o200k_base): words split at case changes, contractions attached.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

PRESETS = {"gpt2": GPT2_PATTERN, "cl100k": CL100K_PATTERN, "o200k": O200K_PATTERN}


def resolve_pattern(pattern: str) -> str:
    """A preset name (`gpt2`, `cl100k`, `o200k`) or a regex string; returns the regex."""
    if not isinstance(pattern, str):
        raise TypeError(
            f"pattern must be a preset name or a regex string, got {type(pattern).__name__}"
        )
    return PRESETS.get(pattern, pattern)
