"""Regenerate the golden vectors shipped in src/tokprep/testing/golden/ (one file per encoding).

    .venv/bin/python scripts/make_golden_vectors.py

The IDs come from tiktoken itself, run offline on the ranks tokprep ships
(`tokprep.bpe.encodings.tiktoken_encoding`), with `encode_ordinary`. The texts are deterministic:
systematic edge cases (each whitespace kind before each kind of character, each contraction in
each case, digit runs, special-token spellings and near misses), seeded random glue of the kit's
edge-case atoms, and lines of the corpora in tokprep/data. Each file records the tiktoken,
regex and Unicode versions that made it.
"""

from __future__ import annotations

import random
import sys
import unicodedata
from importlib import metadata
from pathlib import Path

from tokprep.bpe.encodings import encoding_info, tiktoken_encoding
from tokprep.files import write_envelope
from tokprep.testing.edge_cases import (
    CONTRACTIONS,
    DIGITS,
    GROUPS,
    NEAR_MISSES,
    PUNCTUATION,
    WHITESPACE,
    WORDS,
    random_text,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "tokprep" / "testing" / "golden"
ENCODINGS = ("gpt2", "cl100k_base", "o200k_base")
RANDOM_CASES = 160
CORPUS_LINES = 40


def systematic(specials: list[str]) -> list[str]:
    texts = []
    followers = ("a", "A", "é", "日", "7", "!", "'s", "")
    for space in WHITESPACE:  # each whitespace kind, single and doubled, before each kind
        texts.append(
            "x"
            + "".join(
                space * n + f for n, f in zip((1, 2, 3, 1, 2, 1, 2, 1), followers, strict=True)
            )
        )
    for quote_form in CONTRACTIONS:  # each contraction in each case, after a word, then a word
        texts.append(f"I{quote_form} we{quote_form}x {quote_form}")
    texts += [" ".join(DIGITS), "1" * 10, "12345678901234567890 3.14159", "x" + "  ".join(DIGITS)]
    texts += [" ".join(PUNCTUATION), "".join(PUNCTUATION), "!\n/\n\n/x"]
    texts += [" ".join(WORDS), "".join(WORDS)]
    for name, group in GROUPS.items():
        if name not in ("whitespace", "contractions"):
            texts.append(" ".join(group))
            texts.append("\n".join(group))
    for special in specials:  # spelled out: encode_ordinary treats them as text
        texts += [special, f"a{special}b", f" {special}\n"]
    texts += [f"x{miss} {miss}" for miss in NEAR_MISSES]
    return texts


def corpus_lines(rng: random.Random) -> list[str]:
    lines = []
    data = ROOT / "src" / "tokprep" / "data"
    for name in ("the-verdict.txt",):
        text = (data / name).read_text(encoding="utf-8").splitlines(keepends=True)
        lines += rng.sample([line for line in text if line.strip()], CORPUS_LINES)
    return lines


def make(name: str) -> dict:
    encoding = tiktoken_encoding(name)
    info = encoding_info(name)
    rng = random.Random(f"tokprep golden vectors {name}")
    texts = systematic(list(info.special_tokens))
    texts += [random_text(rng) for _ in range(RANDOM_CASES)]
    texts += corpus_lines(rng)
    texts = list(dict.fromkeys(texts))
    prefix = name.split("_")[0]
    cases = [
        {"id": f"{prefix}-{i:04d}", "text": text, "ids": encoding.encode_ordinary(text)}
        for i, text in enumerate(texts)
    ]
    try:
        from tokprep.bpe.unicode_tables import UNICODE_VERSION as pinned
    except ImportError:  # before the pinned tables existed
        pinned = None
    return {
        "encoding": info.name,
        "pattern": info.pattern,
        "special_tokens": dict(info.special_tokens),
        "n_vocab": info.n_vocab,
        "ranks_sha256": info.ranks_sha256,
        "made_with": {
            "tiktoken": metadata.version("tiktoken"),
            "unicode": pinned,
            "python_unicodedata": unicodedata.unidata_version,
            "regex": metadata.version("regex"),
            "script": "scripts/make_golden_vectors.py",
        },
        "how": "ids = tiktoken Encoding(...).encode_ordinary(text): special-token text is text",
        "cases": cases,
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ENCODINGS:
        payload = make(name)
        path = OUT / f"{name}.json"
        write_envelope(path, "golden", payload)
        size = path.stat().st_size
        print(f"{path.relative_to(ROOT)}: {len(payload['cases'])} cases, {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
