"""Shared pieces for the conformance kit's tests: the example tokenizers and planted bugs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokprep.bpe import BPETokenizer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "tokenizers"
BUGS = (
    "ascii_letters",
    "whitespace_lookahead",
    "contractions_any_case",
    "first_pair_merge",
    "decode_drops_bytes",
)


def example_spec(name: str) -> str:
    """The `file.py:ATTR` spec of an example tokenizer."""
    return f"{EXAMPLES / name}.py:tokenizer"


class Planted:
    """tokprep's GPT-2 tokenizer with one method replaced (a planted bug)."""

    def __init__(self, **overrides: Any) -> None:
        self.inner = BPETokenizer.gpt2()
        self.n_vocab = self.inner.n_vocab
        self.special_tokens = self.inner.special_tokens
        self.pattern = self.inner.pattern
        self.calls = 0
        for name, function in overrides.items():
            setattr(self, name, function.__get__(self))

    def encode_ordinary(self, text: str) -> list[int]:
        return self.inner.encode_ordinary(text)

    def encode(self, text: str, **special: Any) -> list[int]:
        return self.inner.encode(text, **special)

    def decode(self, ids: list[int]) -> str:
        return self.inner.decode(ids)

    def decode_bytes(self, ids: list[int]) -> bytes:
        return self.inner.decode_bytes(ids)

    def decode_single_token_bytes(self, token: int) -> bytes:
        return self.inner.decode_single_token_bytes(token)

    def encode_ordinary_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode_ordinary(t) for t in texts]

    def decode_with_offsets(self, ids: list[int]) -> tuple[str, list[int]]:
        return self.inner.decode_with_offsets(ids)
