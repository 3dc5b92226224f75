"""The pieces of text that break tokenizers, as plain data (no hypothesis needed).

The strategies in `tokprep.testing.strategies` glue these together at random; the golden-vector
script uses them with a seeded `random.Random`. Each group targets one family of bugs.
"""

from __future__ import annotations

import random

#: Contractions in every case, with ASCII and typographic apostrophes (GPT-2's are
#: case-sensitive, cl100k's and o200k's are not).
CONTRACTIONS = tuple(
    f"{quote}{suffix}"
    for quote in ("'", "’")
    for base in ("s", "t", "re", "ve", "m", "ll", "d")
    for suffix in dict.fromkeys((base, base.upper(), base.capitalize()))
)

#: Each kind of whitespace, alone and in runs (the `\s+(?!\S)` rule decides how a run before a
#: word is cut).
WHITESPACE = (
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\xa0",
    "\u1680", "\u2003", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", " \n", "\n ",
    "\t\t", "\r\n\r\n", " \xa0", "\x1c", "\x1f",
)  # fmt: skip

#: Words: ASCII in each case, Latin with diacritics, letters outside ASCII's classes.
WORDS = (
    "a", "I", "Z", "the", "The", "THE", "hello", "World", "tokenizer", "don", "naïve", "café",
    "é", "ſ", "Ωmega", "straße", "ǅ", "ﬁ", "x",
)  # fmt: skip

#: Digit runs of every length (cl100k and o200k group digits by three) and non-ASCII digits.
DIGITS = ("0", "7", "12", "123", "1234", "12345", "2024", "3.14", "١٢٣", "१२", "１２", "½", "²")

#: Punctuation and symbols, alone and in runs; "/" joins "\n" in o200k.
PUNCTUATION = (
    ".", ",", "!", "?", "...", "!!!", "'", '"', "-", "--", "/", "(", ")", "@", "#", "$", "%",
    "&", "*", "<", ">", "|", "{", "}", "[", "]", "_", "`", "~", "^", "=", "+", ";", ":", "«", "»",
    "—", "…", "€", "→",
)  # fmt: skip

#: Other scripts, including ones without spaces and right-to-left ones.
SCRIPTS = (
    "日本語", "日", "テスト", "한국어", "中文", "Привет", "мир", "مرحبا", "שלום", "ελληνικά",
    "हिन्दी", "ไทย", "ქართული", "Ⅻ",
)  # fmt: skip

#: Combining marks, zero-width characters, emoji (with ZWJ sequences, skin tones, flags).
MARKS_AND_EMOJI = (
    "e\u0301", "\u0301", "\u0308", "a\u0308\u0301", "\u200b", "\u200d", "\ufeff", "\u00ad",
    "😀", "👍", "👍🏽", "👨\u200d👩\u200d👧", "🏳️\u200d🌈", "🇫🇷", "❤️", "\U0001f9d1\u200d💻",
)  # fmt: skip

#: Control characters and the replacement character.
CONTROLS = ("\x00", "\x01", "\x7f", "\ufffd", "\x1b[0m")

#: Near misses of `<|endoftext|>`: they must stay ordinary text.
NEAR_MISSES = (
    "<|endoftext", "endoftext|>", "<|endoftext|", "|endoftext|>", "<|ENDOFTEXT|>",
    "<| endoftext|>", "<<|endoftext|>", "<|endoftext|>>", "<|", "|>",
)  # fmt: skip

GROUPS = {  # simplest first: hypothesis shrinks a choice toward the start of the list
    "words": WORDS,
    "digits": DIGITS,
    "punctuation": PUNCTUATION,
    "whitespace": WHITESPACE,
    "contractions": CONTRACTIONS,
    "scripts": SCRIPTS,
    "marks_and_emoji": MARKS_AND_EMOJI,
    "controls": CONTROLS,
    "near_misses": NEAR_MISSES,
}

#: Every atom; whitespace is listed twice as often, since most splitting bugs sit around it.
ATOMS: tuple[str, ...] = (
    tuple(dict.fromkeys(atom for group in GROUPS.values() for atom in group)) + WHITESPACE
)


def random_text(rng: random.Random, *, max_atoms: int = 24) -> str:
    """A text of up to `max_atoms` atoms, drawn with `rng` (deterministic for a seeded rng)."""
    return "".join(rng.choice(ATOMS) for _ in range(rng.randint(1, max_atoms)))


#: Single characters and short runs that decide where the preset patterns cut: letters in
#: and out of ASCII, digits (fullwidth too), every kind of line break and space, the quote of
#: contractions and its typographic twin, the long s, a combining mark, CJK.
SPLIT_ATOMS = (
    "a", "Z", "9", " ", "\n", "\r", "\t", ".", "'", "s", "é", "日", "\u3000", "\xa0",
    "\u2028", "\x85", "１", "ſ", "'S", "’", "\x1c", "\n\n", "  ", "/", "!", "\u0301",
)  # fmt: skip

#: Few characters, so that the places where safe cuts go ("X\n|Y", "X| Y") and the ones that
#: must not be cut ("!\n/" is one o200k piece) come up often next to non-ASCII text.
CUT_ALPHABET = "aé!/\n .\r日"

#: Every kind of whitespace (Unicode White_Space and the \x1c-\x1f separators str.isspace
#: also counts), letters, digits, punctuation, the contraction quote, "/" (o200k joins it to
#: "\n"), a combining mark and CJK: for splitting text into chunks at safe places.
WHITESPACE_ALPHABET = (
    "    \n\n\n\r\t\x0b\x0c \x85\xa0\u1680\u2003\u2028\u2029\u202f\u205f\u3000\x1c"
    "aZé's'll0912.,!?/-\u0301日本"
)
