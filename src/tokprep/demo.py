"""`tokprep demo`: the whole input pipeline on one text, each stage in a few lines.

The default text is Edith Wharton's "The Verdict" (1908, public domain), shipped in the package.
Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import TextIO

from tokprep.errors import UnknownTokenError
from tokprep.files import read_text
from tokprep.tokenizers import (
    ENDOFTEXT,
    SimpleTokenizerV1,
    SimpleTokenizerV2,
    build_vocab,
    split_words,
)

SAMPLE_TEXT = "Hello, do you like tea?"
SAMPLE_DOCS = ("Hello, do you like tea?", "In the sunlit terraces of the palace.")


def default_text() -> str:
    """The bundled story."""
    return (resources.files("tokprep") / "data" / "the-verdict.txt").read_text(encoding="utf-8")


class Demo:
    """Holds what earlier stages computed, so later stages can build on it."""

    def __init__(self, text: str, name: str, out: TextIO) -> None:
        self.text, self.name, self.out = text, name, out
        self.words: list[str] = []
        self.vocab: dict[str, int] = {}
        self.gpt2_ids: list[int] = []

    def say(self, line: str = "") -> None:
        print(line, file=self.out)


def stage_text(d: Demo) -> None:
    d.say(f"{d.name}: {len(d.text):,} characters, {len(d.text.encode()):,} UTF-8 bytes")
    d.say(f"  starts: {d.text[:70]!r}")


def stage_words(d: Demo) -> None:
    d.words = split_words(d.text)
    d.say(f"{len(d.words):,} word tokens (split_words with BOOK_PATTERN); the first 30:")
    d.say(f"  {d.words[:30]}")


def stage_vocab(d: Demo) -> None:
    d.vocab = build_vocab(d.words)
    unique = len(d.vocab) - 2
    d.say(f"vocabulary: {unique:,} unique tokens + 2 special = {len(d.vocab):,} entries")
    d.say(f"  <|unk|> = {d.vocab['<|unk|>']}, <|endoftext|> = {d.vocab[ENDOFTEXT]}")


def stage_v1(d: Demo) -> None:
    v1 = SimpleTokenizerV1({w: i for w, i in d.vocab.items() if not w.startswith("<|")})
    try:
        v1.encode(SAMPLE_TEXT)
        d.say(f"SimpleTokenizerV1 encoded {SAMPLE_TEXT!r}: every word is known")
    except UnknownTokenError as e:
        d.say(f"SimpleTokenizerV1.encode({SAMPLE_TEXT!r}) raises UnknownTokenError:")
        d.say(f"  {str(e).split('. ')[0]}.")


def stage_v2(d: Demo) -> None:
    v2 = SimpleTokenizerV2(d.vocab)
    text = f" {ENDOFTEXT} ".join(SAMPLE_DOCS)
    ids = v2.encode(text, allowed_special={ENDOFTEXT})
    d.say(f"SimpleTokenizerV2, unknown words -> <|unk|>, documents joined by {ENDOFTEXT}:")
    d.say(f"  text:   {text!r}")
    d.say(f"  ids:    {ids}")
    d.say(f"  decode: {v2.decode(ids)!r}")


def stage_gpt2(d: Demo) -> None:
    from tokprep.bpe import tiktoken_gpt2

    enc = tiktoken_gpt2()
    d.gpt2_ids = enc.encode(d.text, allowed_special={ENDOFTEXT})
    d.say(f"GPT-2 BPE (tiktoken, offline ranks): {len(d.gpt2_ids):,} tokens; the first 20:")
    d.say(f"  {d.gpt2_ids[:20]}")
    sample = "Akwirw ier"
    pieces = [enc.decode([i]) for i in enc.encode(sample)]
    d.say(f"  unknown words become sub-words: {sample!r} -> {enc.encode(sample)} = {pieces}")


STAGES: list[tuple[str, Callable[[Demo], None]]] = [
    ("text", stage_text),
    ("word tokens", stage_words),
    ("vocabulary", stage_vocab),
    ("V1: unknown words", stage_v1),
    ("V2: <|unk|> and <|endoftext|>", stage_v2),
    ("GPT-2 BPE", stage_gpt2),
]


def run_demo(
    text: str | None = None, *, name: str = "the-verdict.txt", out: TextIO | None = None
) -> Demo:
    """Run every stage on `text` (default: the bundled story), printing to `out`."""
    demo = Demo(default_text() if text is None else text, name, out or sys.stdout)
    for number, (title, stage) in enumerate(STAGES, start=1):
        start = time.perf_counter()
        demo.say(f"[{number}] {title}")
        stage(demo)
        demo.say(f"    ({time.perf_counter() - start:.2f} s)")
    return demo


def _command(args: argparse.Namespace) -> int:
    if args.text is None:
        run_demo()
    else:
        run_demo(read_text(args.text), name=str(args.text))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("demo", help="run every stage of the pipeline on a text")
    parser.add_argument(
        "--text", metavar="FILE", help="a UTF-8 text file (default: the bundled story)"
    )
    parser.set_defaults(func=_command)
