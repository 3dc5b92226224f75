"""Hypothesis strategies for corpora that break BPE trainers.

Each strategy draws a training text (a `str`) built to hit one known way trainers go wrong:

- `tied_corpora`: several words repeated the same number of times, so the first merges are
  decided by the tie-break rule alone;
- `overlap_corpora`: runs of one character (`"aaaa"`) and of two (`"abab"`), where pairs
  overlap and counting them or merging them left to right is easy to get wrong;
- `vanishing_corpora`: words built so that a pair disappears when a neighbouring pair is
  merged and comes back inside a longer word (`"abc"`, `"bcd"`, `"abcd"`);
- `special_corpora`: ordinary text with special-token text inside it (for the profiles that
  cut documents there, and the ones that must not);
- `non_ascii_corpora`: multi-byte characters (accents, CJK, emoji), whose UTF-8 bytes are
  merged before the characters are whole;
- `trainer_corpora`: any of the above.

    from hypothesis import given
    from tokprep.testing.trainer_strategies import trainer_corpora

    @given(text=trainer_corpora())
    def test_my_trainer(text): ...

`min_frequencies()` draws a `min_frequency` (0 most often, sometimes 2 or 3).
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = [
    "SPECIAL",
    "min_frequencies",
    "non_ascii_corpora",
    "overlap_corpora",
    "special_corpora",
    "tied_corpora",
    "trainer_corpora",
    "vanishing_corpora",
]

#: The special token `special_corpora` puts into its texts.
SPECIAL = "<|endoftext|>"

_letters = st.sampled_from("abcdexyz")


def _sentence(words: list[str], separator: str = " ") -> str:
    return separator.join(words)


@st.composite
def tied_corpora(draw: st.DrawFn) -> str:
    """Distinct short words, each repeated exactly `n` times, in a drawn order."""
    words = draw(st.lists(st.text(_letters, min_size=2, max_size=4), min_size=2, max_size=6))
    words = list(dict.fromkeys(words))
    times = draw(st.integers(1, 4))
    sequence = draw(st.permutations(words * times))
    return _sentence(sequence)


@st.composite
def overlap_corpora(draw: st.DrawFn) -> str:
    """Runs such as `aaaa` and `ababab`, of drawn lengths, mixed with a few short words."""
    runs = draw(
        st.lists(
            st.tuples(st.sampled_from(["a", "b", "ab", "aab", "xy"]), st.integers(1, 7)),
            min_size=1,
            max_size=8,
        )
    )
    return _sentence([unit * times for unit, times in runs])


@st.composite
def vanishing_corpora(draw: st.DrawFn) -> str:
    """Words that share pairs across overlapping substrings (`abc`, `bcd`, `abcd`, `cab`)."""
    pool = ["ab", "bc", "cd", "abc", "bcd", "abcd", "cab", "bcab", "dabc"]
    words = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=14))
    return _sentence(words)


@st.composite
def special_corpora(draw: st.DrawFn) -> str:
    """Short words with `SPECIAL` between, inside and at the ends of them."""
    parts = draw(st.lists(st.text(_letters | st.just(" "), max_size=8), min_size=1, max_size=6))
    return SPECIAL.join(parts) if len(parts) > 1 else SPECIAL + parts[0]


@st.composite
def non_ascii_corpora(draw: st.DrawFn) -> str:
    """Words of accented letters, CJK characters and emoji (2-4 UTF-8 bytes each)."""
    characters = st.sampled_from("aéèüñ日本語中😀🙂")
    words = draw(st.lists(st.text(characters, min_size=1, max_size=5), min_size=1, max_size=8))
    return _sentence(words)


def trainer_corpora() -> st.SearchStrategy[str]:
    """Any of the corpora above, or a short arbitrary text."""
    return st.one_of(
        tied_corpora(),
        overlap_corpora(),
        vanishing_corpora(),
        special_corpora(),
        non_ascii_corpora(),
        st.text(st.sampled_from("ab c\né日"), max_size=40),
    )


def min_frequencies() -> st.SearchStrategy[int]:
    """A `min_frequency` for training: usually 0, sometimes 2 or 3."""
    return st.sampled_from([0, 0, 0, 2, 3])
