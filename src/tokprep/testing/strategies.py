"""Hypothesis strategies that find tokenizer bugs (generic `st.text()` rarely does).

- `tokenizer_text()`: text glued from the atoms in `tokprep.testing.edge_cases` (contractions in
  every case, whitespace runs before letters, digits, punctuation and the end of text, digit
  runs, other scripts, combining marks, emoji ZWJ sequences, line breaks, NBSP, special-token
  spellings and near misses) mixed with arbitrary characters.
- `vocab_concatenations(vocabulary)`: random vocabulary tokens back to back, which lands on
  merge boundaries that random Unicode almost never does.
- `raw_bytes()`: byte strings, mostly near-valid UTF-8.
- `documents()`: several paragraphs of the above, optionally joined by a separator token.
- `split_text()`, `cut_text()`, `whitespace_text()`: small alphabets for pre-tokenizer and
  chunking properties (where patterns cut, where text may be cut safely).

Example, in a user's test suite::

    from hypothesis import given
    from tokprep.testing.strategies import tokenizer_text

    @given(tokenizer_text())
    def test_round_trip(text):
        assert my_tokenizer.decode(my_tokenizer.encode(text)) == text
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hypothesis import strategies as st

from tokprep.testing.edge_cases import (
    ATOMS,
    CONTRACTIONS,
    CUT_ALPHABET,
    DIGITS,
    PUNCTUATION,
    SCRIPTS,
    SPLIT_ATOMS,
    WHITESPACE,
    WHITESPACE_ALPHABET,
    WORDS,
)

__all__ = [
    "cut_text",
    "documents",
    "raw_bytes",
    "split_text",
    "tokenizer_text",
    "vocab_concatenations",
    "whitespace_text",
]

ENDOFTEXT = "<|endoftext|>"

# Any character but lone surrogates (tokenizers see text, and text from files has none).
_ANY_CHAR = st.characters(blacklist_categories=("Cs",))  # type: ignore[arg-type]


def tokenizer_text(
    special_tokens: Iterable[str] = (ENDOFTEXT,),
    *,
    max_atoms: int = 40,
    alphabet: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[str]:
    """Text biased toward what breaks tokenizers: edge-case atoms, `special_tokens` spelled out,
    whitespace before each kind of character, and arbitrary characters (from `alphabet`)."""
    specials = tuple(special_tokens)
    after_space = (*WORDS, *DIGITS, *PUNCTUATION, *SCRIPTS, "")
    parts: list[st.SearchStrategy[str]] = [
        st.sampled_from(ATOMS),
        st.text(alphabet or _ANY_CHAR, min_size=1, max_size=3),
        # a whitespace run before a letter, digit, punctuation or the end of the text
        st.tuples(
            st.sampled_from(WHITESPACE), st.sampled_from(WHITESPACE), st.sampled_from(after_space)
        ).map("".join),
        # a contraction between words (GPT-2's are case-sensitive: "'S" + "am" is not "'Sam")
        st.tuples(
            st.sampled_from(WORDS), st.sampled_from(CONTRACTIONS), st.sampled_from((*WORDS, ""))
        ).map("".join),
    ]
    if specials:
        parts.append(st.sampled_from(specials))
    return st.lists(st.one_of(parts), max_size=max_atoms).map("".join)


def vocab_concatenations(
    vocabulary: Sequence[bytes | str], *, max_tokens: int = 12
) -> st.SearchStrategy[str]:
    """Random tokens of `vocabulary` back to back, as text (invalid UTF-8 becomes U+FFFD).

    `vocabulary` is a list of token byte strings (a BPE's) or of words (a word tokenizer's,
    joined by whitespace).
    """
    tokens = list(vocabulary)
    if not tokens:
        raise ValueError("vocab_concatenations needs a non-empty vocabulary")
    if isinstance(tokens[0], str):
        words = st.lists(
            st.tuples(st.sampled_from(tokens), st.sampled_from((" ", " ", "\n", "  ", ""))),
            min_size=1,
            max_size=max_tokens,
        )
        return words.map(lambda pairs: "".join(w + s for w, s in pairs))  # type: ignore[misc, operator]
    runs = st.lists(st.sampled_from(tokens), min_size=1, max_size=max_tokens)
    return runs.map(lambda run: b"".join(run).decode("utf-8", "replace"))  # type: ignore[arg-type]


def raw_bytes(*, max_size: int = 64) -> st.SearchStrategy[bytes]:
    """Byte strings: arbitrary bytes, UTF-8 of edge-case text, and that text cut mid-character."""
    utf8 = tokenizer_text(max_atoms=12).map(lambda t: t.encode("utf-8", "surrogatepass"))
    cut = st.tuples(utf8, st.integers(0, 8)).map(lambda p: p[0][: max(0, len(p[0]) - p[1])])
    return st.one_of(
        st.binary(max_size=max_size),
        utf8,
        cut,
        st.tuples(utf8, st.binary(max_size=4), utf8).map(b"".join),
    )


def documents(
    separator: str | None = ENDOFTEXT, *, max_paragraphs: int = 6
) -> st.SearchStrategy[str]:
    """Several paragraphs of `tokenizer_text`, separated by blank lines; with `separator`, some
    documents are joined by it, as in a prepared corpus."""
    paragraph = tokenizer_text((), max_atoms=20)
    page = st.lists(paragraph, min_size=1, max_size=max_paragraphs).map("\n\n".join)
    if separator is None:
        return page
    return st.lists(page, min_size=1, max_size=3).map(separator.join)


def split_text(*, max_size: int = 60) -> st.SearchStrategy[str]:
    """Short text of the characters that decide where the preset patterns cut
    (`edge_cases.SPLIT_ATOMS`): for comparing pre-tokenizers with each other."""
    return st.lists(st.sampled_from(SPLIT_ATOMS), max_size=max_size).map("".join)


def cut_text(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text of a handful of characters (`edge_cases.CUT_ALPHABET`) where safe cut points and
    pieces that must not be cut come up often."""
    return st.text(alphabet=CUT_ALPHABET, max_size=max_size)


def whitespace_text(*, max_size: int = 80) -> st.SearchStrategy[str]:
    """Text over every kind of whitespace and a few of each other class
    (`edge_cases.WHITESPACE_ALPHABET`): for chunking text at safe places."""
    return st.text(alphabet=WHITESPACE_ALPHABET, max_size=max_size)
