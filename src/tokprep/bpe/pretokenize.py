"""Pre-tokenization: cutting text into the pieces that BPE then encodes one by one.

The preset patterns (gpt2 and GPT-2's original, cl100k, o200k) split text exactly as tiktoken
0.14.0 does, on every code point, whatever `regex` release is installed: their Unicode classes
(`\\p{L}`, `\\p{N}`, `\\p{Lu}`..., `\\s`) are pinned to tiktoken's Unicode version
(`UNICODE_VERSION`, tables in `tokprep.bpe.unicode_tables`) and spelled out as explicit
bracket classes (`tokprep.bpe.unicode_classes`), which stdlib `re` runs. The pattern string
itself stays tiktoken's, byte for byte. Two exact shortcuts keep it fast:

- On pure-ASCII text, `\\p{L}` is `[A-Za-z]`, `\\p{N}` is `[0-9]` and `\\s` is `[\\t-\\r ]`, so
  the presets have small ASCII equivalents. (stdlib `\\s` alone would be wrong: it also matches
  U+001C..U+001F.)
- The pinned classes stop at U+FFFF (stdlib `re` looks BMP characters up in a bitmap, but tries
  the ranges above U+FFFF one by one); characters above U+FFFF are first replaced by BMP
  stand-ins in exactly the same classes (`bmp_stand_ins`), and the pieces are cut from the
  original text at the same offsets.

*Safe cuts* (`safe_cut_regex`) are places where no piece can cross and the pieces on either
side do not depend on the text across the cut: just before a space, or (gpt2, cl100k) just
after a newline, with a non-space character on each side. Streaming and parallel callers
(`safe_chunks`, `safe_parts`) cut text there, so its parts split into the pieces of the whole;
the encoder cuts text before every safe space (`space_words`) to remember whole words.

Custom (non-preset) patterns run on the installed `regex` module, with its own Unicode tables;
`Splitter.unicode_version` is None for them. Their pieces must cover the text: a character no
alternative matches raises `ArgumentValueError` instead of being dropped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from itertools import accumulate

import regex

from tokprep.bpe.patterns import (
    CL100K_PATTERN,
    GPT2_ORIGINAL_PATTERN,
    GPT2_PATTERN,
    O200K_PATTERN,
)
from tokprep.bpe.unicode_classes import UNICODE_VERSION, bmp_stand_ins, pinned_pattern
from tokprep.errors import ArgumentValueError

#: The patterns whose Unicode classes are pinned to tiktoken's tables (see the module docstring).
PINNED_PATTERNS = frozenset([GPT2_PATTERN, GPT2_ORIGINAL_PATTERN, CL100K_PATTERN, O200K_PATTERN])

# The Unicode White_Space characters: what `\s` means to tiktoken and to `regex`.
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_WS = r"\t-\r "  # \s on ASCII text
_WHITESPACE_CLASS = "".join(re.escape(c) for c in sorted(WHITESPACE))
# o200k's `(?i:'s|'t|'re|'ve|'m|'ll|'d)?`, the apostrophe taken out (case does not change it).
_CONTRACTION_AFTER = r"(?:'(?i:s|t|re|ve|m|ll|d))?+"

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
    # o200k's two letter alternatives, "U*L+" or else "U+L*" (U upper case, L lower case),
    # are one here: a lower-case run, or an upper-case run and the lower-case run after it.
    # The first alternative can only fail after its upper-case run if no lower-case letter
    # follows, so backtracking never finds another match, and possessive quantifiers (no
    # backtracking) give the same pieces, about 18% faster on English text. The optional
    # prefix character is possessive too: without it the letters would start on it, a
    # non-letter. The contraction is tried after the whole letter run, as in tiktoken.
    O200K_PATTERN: (
        rf"""[^\r\nA-Za-z0-9]?+(?:[a-z]++|[A-Z]++[a-z]*+){_CONTRACTION_AFTER}"""
        rf"""|[0-9]{{1,3}}+| ?[^{_WS}A-Za-z0-9]++[\r\n/]*+|[{_WS}]*[\r\n]++"""
        rf"""|[{_WS}]+(?![^{_WS}])|[{_WS}]+"""
    ),
}


class Splitter:
    """Splits text as tiktoken 0.14.0 does with `pattern` (a preset: exactly, on every code
    point), or, for a custom pattern, as `regex.finditer(pattern, text)` with the installed
    `regex` module's Unicode tables.

    An empty pattern raises `ArgumentValueError`; so does a custom pattern that leaves a
    character of the text unmatched (tiktoken would drop it silently), when splitting.
    """

    def __init__(self, pattern: str) -> None:
        if pattern == "":
            raise ArgumentValueError(
                "pattern is empty: it matches no text, so every text would encode to nothing; "
                "pass a preset name (gpt2, cl100k, o200k) or a regex"
            )
        self.pattern = pattern
        ascii_pattern = _ASCII_EQUIVALENTS.get(pattern)
        self._ascii = re.compile(ascii_pattern) if ascii_pattern else None
        self._pinned = pattern in PINNED_PATTERNS
        #: The Unicode version of the classes: tiktoken's for a preset, None (the installed
        #: `regex` module's tables) for a custom pattern.
        self.unicode_version: str | None = UNICODE_VERSION if self._pinned else None
        self._reference: re.Pattern[str] | regex.Pattern[str]
        if self._pinned:
            # Compiled once per process and pattern (10-50 ms; `_compile_pinned` keeps it).
            self._reference = _compile_pinned(pattern)
        else:
            self._reference = regex.compile(pattern)

    @property
    def reference(self) -> re.Pattern[str] | regex.Pattern[str]:
        """The compiled regex that splits non-ASCII text: the pinned pattern for a preset
        (its classes stop at U+FFFF, see the module docstring), `regex`'s for a custom one."""
        return self._reference

    def split(self, text: str) -> list[str]:
        """The pre-tokens of `text`, in order; they concatenate back to `text`."""
        fast = self._ascii
        if fast is not None and text.isascii():
            return fast.findall(text)
        if not self._pinned:
            return self._split_custom(text)
        stand_in = bmp_stand_ins(text)
        pieces = self._reference.findall(stand_in)
        if stand_in is text:
            return pieces
        # Same offsets, original characters.
        ends = list(accumulate(map(len, pieces)))
        return list(map(text.__getitem__, map(slice, [0, *ends[:-1]], ends)))

    def _split_custom(self, text: str) -> list[str]:
        compiled = self._reference
        if compiled.groups:  # findall would return the groups, not the pieces
            pieces = [m.group() for m in compiled.finditer(text)]
        else:
            pieces = compiled.findall(text)
        if sum(map(len, pieces)) != len(text):
            self._raise_uncovered(text)
        return pieces

    def _raise_uncovered(self, text: str) -> None:
        position = 0
        for match in self._reference.finditer(text):
            if match.start() > position:
                break
            position = match.end()
        char = text[position]
        raise ArgumentValueError(
            f"pattern {self.pattern!r} leaves text unmatched: {char!r} (U+{ord(char):04X}) at "
            f"offset {position} of the text being split matches no alternative, and encoding "
            "would drop it (tiktoken drops such text silently); add an alternative that "
            r"matches any character, such as |[\s\S]"
        )


@functools.lru_cache(maxsize=8)
def _compile_pinned(pattern: str) -> re.Pattern[str]:
    return re.compile(pinned_pattern(pattern, bmp_only=True))


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


# Whitespace other than the space, with a space just before or after it (that space is no
# safe cut): one regex pass, which skips ahead to such whitespace in C (faster than a
# `str.find` per pair of characters once the text has newlines).
_ASCII_OTHER_WHITESPACE = "\t-\r"
_OTHER_WHITESPACE = "".join(re.escape(c) for c in sorted(WHITESPACE - {" "}))
_NEXT_TO_SPACE = {
    ascii_only: re.compile(rf"[{others}](?:(?<= [{others}])|(?= ))")
    for ascii_only, others in ((True, _ASCII_OTHER_WHITESPACE), (False, _OTHER_WHITESPACE))
}


def cuts_at_spaces(pattern: str) -> bool:
    """Whether `space_words` cuts are safe for `pattern` (all presets; no custom pattern)."""
    return pattern in _SAFE_CUTS


def space_words(text: str) -> list[str]:
    """`text` cut just before each space that is a safe cut (a space with a non-space
    character on each side): the text before the first cut, then each stretch after a cut
    without its leading space, so `text == words[0] + "".join(" " + w for w in words[1:])`.
    For a pattern where `cuts_at_spaces` holds, each `" " + word` splits into the same pieces
    alone as in `text`; an encoder can then remember words, not only pieces.

    >>> space_words("Hi there,  you")   # the double space is no cut
    ['Hi', 'there,  you']

    Done with `str.split(" ")`, which is several times faster than a regex pass; the few
    spaces that are no safe cuts are found with `str.find` and glued back.
    """
    unsafe = _unsafe_spaces(text)
    if not unsafe:
        return text.split(" ")
    words: list[str] = []
    # The stretches of the word being glued across unsafe spaces, joined once when the word
    # ends: gluing into one growing string would copy it at every unsafe space, quadratic in
    # a run of spaces.
    pending: list[str] = []
    start = 0
    for position in [*unsafe, len(text)]:
        part = text[start:position].split(" ")
        pending.append(part[0])
        if len(part) > 1:
            words.append(" ".join(pending))
            words += part[1:-1]
            pending = [part[-1]]
        start = position + 1
    words.append(" ".join(pending))
    return words


def _unsafe_spaces(text: str) -> list[int]:
    """The offsets, in order, of the spaces of `text` that are no safe cuts: next to another
    space or other whitespace, or at either end of the text."""
    found: set[int] = set()
    for match in _NEXT_TO_SPACE[text.isascii()].finditer(text):
        at = match.start()
        if at > 0 and text[at - 1] == " ":
            found.add(at - 1)
        if text[at + 1 : at + 2] == " ":
            found.add(at + 1)
    at = text.find("  ")
    while at >= 0:
        found.add(at)
        found.add(at + 1)
        at = text.find("  ", at + 1)
    if text.startswith(" "):
        found.add(0)
    if text.endswith(" "):
        found.add(len(text) - 1)
    return sorted(found)


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


@functools.lru_cache(maxsize=16)
def splitter(pattern: str) -> Splitter:
    """A shared `Splitter` per pattern (compiling the reference regex takes milliseconds)."""
    return Splitter(pattern)
