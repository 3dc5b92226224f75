"""Pre-tokenization: cutting text into the pieces that BPE then encodes one by one.

The reference is the `regex` module running tiktoken's pattern: it agrees with tiktoken on every
code point (Python's own `unicodedata`, and stdlib `re`'s `\\s`, do not). It is also slower
than it needs to be on plain English, so `Splitter` adds an exact fast path:

- On pure-ASCII text, `\\p{L}` is `[A-Za-z]`, `\\p{N}` is `[0-9]` and `\\s` is `[\\t-\\r ]`, so the
  preset patterns can be rewritten for the stdlib `re` engine, which is about twice as fast.
  (stdlib `\\s` alone would be wrong: it also matches U+001C..U+001F.)
- Mixed text is cut into ASCII and non-ASCII stretches at *safe cuts*, where no piece can cross
  and the pieces on either side do not depend on the text across the cut (`safe_cut_regex`):
  just before a space, or (gpt2, cl100k) just after a newline, with a non-space character on
  each side.
  ASCII stretches take the fast path, the others the `regex` reference.

Custom patterns always use the `regex` reference.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

import regex

from tokprep.bpe.patterns import (
    CL100K_PATTERN,
    GPT2_ORIGINAL_PATTERN,
    GPT2_PATTERN,
    O200K_PATTERN,
)

# The Unicode White_Space characters: what `\s` means to tiktoken and to `regex`.
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_WS = r"\t-\r "  # \s on ASCII text
_WHITESPACE_CLASS = "".join(re.escape(c) for c in sorted(WHITESPACE))
_CONTRACTIONS_CI = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"

# Each preset's exact ASCII equivalent, for stdlib `re`.
_ASCII_EQUIVALENTS = {
    GPT2_PATTERN: (
        rf"""'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]++| ?[0-9]++| ?[^{_WS}A-Za-z0-9]++"""
        rf"""|[{_WS}]++$|[{_WS}]+(?![^{_WS}])|[{_WS}]"""
    ),
    CL100K_PATTERN: (
        rf"""'(?i:[sdmt]|ll|ve|re)|[^\r\nA-Za-z0-9]?+[A-Za-z]++|[0-9]{{1,3}}+"""
        rf"""| ?[^{_WS}A-Za-z0-9]++[\r\n]*+|[{_WS}]++$|[{_WS}]*[\r\n]"""
        rf"""|[{_WS}]+(?![^{_WS}])|[{_WS}]"""
    ),
    O200K_PATTERN: (
        rf"""[^\r\nA-Za-z0-9]?[A-Z]*[a-z]+{_CONTRACTIONS_CI}"""
        rf"""|[^\r\nA-Za-z0-9]?[A-Z]+[a-z]*{_CONTRACTIONS_CI}"""
        rf"""|[0-9]{{1,3}}| ?[^{_WS}A-Za-z0-9]+[\r\n/]*|[{_WS}]*[\r\n]+"""
        rf"""|[{_WS}]+(?![^{_WS}])|[{_WS}]+"""
    ),
}

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class Splitter:
    """Splits text exactly as `regex.findall(pattern, text)` does, faster where it can."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._reference = regex.compile(pattern)
        ascii_pattern = _ASCII_EQUIVALENTS.get(pattern)
        self._ascii = re.compile(ascii_pattern) if ascii_pattern else None
        self._cuts = safe_cut_regex(pattern)

    def split(self, text: str) -> list[str]:
        """The pre-tokens of `text`, in order; they concatenate back to `text`."""
        fast = self._ascii
        if fast is None:
            return self._reference.findall(text)
        if text.isascii():
            return fast.findall(text)
        pieces: list[str] = []
        start = 0
        for cut_a, cut_b in _non_ascii_stretches(self._cuts, text):
            if cut_a > start:
                pieces += fast.findall(text, start, cut_a)
            pieces += self._reference.findall(text, cut_a, cut_b)
            start = cut_b
        if start < len(text):
            pieces += fast.findall(text, start)
        return pieces


# Safe cuts, each with a non-space character on both sides: just after a newline ("X\n|Y"), and
# just before a space ("X| Y"). Under gpt2 and cl100k both are piece boundaries that nothing
# before or after depends on; o200k's punctuation pieces take a following "\n/" (so "!\n/" is
# one piece), which leaves only the space cut for it.
_NEWLINE_CUT = rf"(?<=[^{_WHITESPACE_CLASS}]\n)(?=[^{_WHITESPACE_CLASS}])"
_SPACE_CUT = rf"(?<=[^{_WHITESPACE_CLASS}])(?= [^{_WHITESPACE_CLASS}])"
_SAFE_CUTS = {
    GPT2_PATTERN: re.compile(f"{_NEWLINE_CUT}|{_SPACE_CUT}"),
    GPT2_ORIGINAL_PATTERN: re.compile(f"{_NEWLINE_CUT}|{_SPACE_CUT}"),
    CL100K_PATTERN: re.compile(f"{_NEWLINE_CUT}|{_SPACE_CUT}"),
    O200K_PATTERN: re.compile(_SPACE_CUT),
}


def safe_cut_regex(pattern: str) -> re.Pattern[str] | None:
    """A regex whose (empty) matches are the places where `pattern`'s pieces never cross, so
    text cut there splits into the same pieces; None for patterns tokprep has not verified."""
    return _SAFE_CUTS.get(pattern)


def last_safe_cut(text: str, pattern: str) -> int:
    """The last safe cut strictly inside `text`, or -1 (always -1 for an unverified pattern).
    Text before it can be pre-tokenized now; the rest waits for more text."""
    cuts = safe_cut_regex(pattern)
    if cuts is None or len(text) < 2:
        return -1
    cut = _cut_before(cuts, text, 0, len(text) - 1)
    return cut if cut > 0 else -1


def safe_parts(text: str, pattern: str, size: int) -> Iterator[str]:
    """`text` in parts of about `size` characters, cut only at safe cuts, so that
    pre-tokenizing the parts one by one gives the pieces of the whole (one part if the pattern
    is not verified)."""
    cuts = safe_cut_regex(pattern)
    start = 0
    while cuts is not None and len(text) - start > size:
        cut = _cut_after(cuts, text, start + size)
        if cut >= len(text):
            break
        yield text[start:cut]
        start = cut
    if start < len(text):
        yield text[start:]


def safe_chunks(blocks: Iterable[str], pattern: str | None) -> Iterator[str]:
    """Regroup the text `blocks` of one document into chunks cut only at safe places.

    Each chunk ends at the last safe cut seen so far (`last_safe_cut` for `pattern`); for a
    pattern without verified cuts (or None), the document is one chunk.
    Joining the chunks gives back the document exactly.
    """
    if pattern is None or safe_cut_regex(pattern) is None:
        whole = "".join(blocks)
        if whole:
            yield whole
        return
    parts: list[str] = []
    tail = ""  # the last two characters before `text`: a "\n" there is decided by text[0]
    for text in blocks:
        if not text:
            continue
        window = tail + text
        cut = last_safe_cut(window, pattern) - len(tail)
        if cut >= 0:
            parts.append(text[:cut])
            chunk = "".join(parts)
            if chunk:
                yield chunk
            parts = [text[cut:]]
        else:
            parts.append(text)
        tail = window[-2:]
    rest = "".join(parts)
    if rest:
        yield rest


def _cut_after(cuts: re.Pattern[str], text: str, position: int) -> int:
    """The first safe cut at or after `position`, or the end of the text."""
    found = cuts.search(text, position)
    return found.start() if found else len(text)


def _cut_before(cuts: re.Pattern[str], text: str, low: int, position: int) -> int:
    """The last safe cut in (low, position], or `low`: searched in a window that grows
    backwards, so the cost follows the distance to that cut."""
    width = 64
    while True:
        start = max(low + 1, position - width)
        found = [m.start() for m in cuts.finditer(text, start, position + 2)]
        found = [cut for cut in found if cut <= position]
        if found:
            return found[-1]
        if start == low + 1:
            return low
        width *= 4


def _non_ascii_stretches(cuts: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """`(start, end)` spans that hold every non-ASCII character, bounded by safe cuts (or the
    ends of the text), in order and not overlapping; between them the text is pure ASCII."""
    spans: list[tuple[int, int]] = []
    end = 0
    while (found := _NON_ASCII.search(text, end)) is not None:
        start = _cut_before(cuts, text, end, found.start())
        # Later non-ASCII characters before the next cut fall inside this span.
        end = _cut_after(cuts, text, found.end())
        if spans and spans[-1][1] == start:
            start = spans.pop()[0]
        spans.append((start, end))
    return spans


@functools.lru_cache(maxsize=16)
def splitter(pattern: str) -> Splitter:
    """A shared `Splitter` per pattern (compiling the reference regex takes milliseconds)."""
    return Splitter(pattern)
