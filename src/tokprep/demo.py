"""The whole input pipeline on one text, each stage in a few lines (`tokprep demo` runs it).

The default text is Edith Wharton's "The Verdict" (1908, public domain), shipped in the package.
Nothing here touches the network.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import TextIO

from tokprep.errors import MissingDependencyError, UnknownTokenError
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


def stage_embeddings(d: Demo) -> None:
    from tokprep.embeddings import GPTEmbedding  # first: names tokprep[torch] if torch is missing
    from tokprep.optional import require_torch

    torch = require_torch("the demo's embeddings stage")
    from tokprep.errors import ArgumentValueError

    # The loader's first batch: 8 windows of 4 IDs at stride 4 (each needs a next-token target).
    rows = min(8, (len(d.gpt2_ids) - 1) // 4)
    if rows < 1:
        d.say("  the text is too short for one window of 4 tokens plus a target; skipped")
        return
    inputs = torch.tensor(d.gpt2_ids[: rows * 4]).view(rows, 4)
    torch.manual_seed(123)
    layer = GPTEmbedding(50257, 256, 4)  # GPT-2's n_vocab, the textbook's 256 dimensions
    d.say("GPTEmbedding(vocab_size=50257, emb_dim=256, context_length=4), first batch:")
    d.say(f"  token IDs:             {inputs.shape}")
    d.say(f"  token embeddings:      {layer.tok_emb(inputs).shape}")
    if layer.pos_emb is not None:  # "learned", the default, has one
        d.say(f"  positional embeddings: {layer.pos_emb(torch.arange(4)).shape}")
    d.say(f"  input embeddings:      {layer(inputs).shape}  (token + positional)")
    try:
        layer(torch.tensor([[50257]]))
    except ArgumentValueError as e:
        d.say(f"  a bad ID is named, not an IndexError: {str(e).split('. ')[0]}")


def stage_dataloader(d: Demo) -> None:
    from tokprep.dataloading import GPTDataset, WindowLoader
    from tokprep.errors import ArgumentValueError

    # The textbook's example: batch_size=8, max_length=4, stride=4, no shuffling.
    try:
        dataset = GPTDataset(d.gpt2_ids, max_length=4, stride=4)  # the GPT-2 stage's IDs
    except ArgumentValueError as e:
        d.say(f"  skipped: {e}")
        return
    loader = WindowLoader(dataset, batch_size=8, shuffle=False, drop_last=len(dataset) >= 8)
    inputs, targets = next(iter(loader))
    d.say(f"{dataset!r}; {len(loader)} batches of 8; the first:")
    d.say("  inputs:\n    " + str(inputs).replace("\n", "\n    "))
    d.say("  targets (inputs shifted by one token):\n    " + str(targets).replace("\n", "\n    "))


def stage_bpe(d: Demo) -> None:
    from tokprep.bpe import BPETokenizer, tiktoken_gpt2

    ours, theirs = BPETokenizer.gpt2(), tiktoken_gpt2()
    timings = {}
    for label, encode in (
        ("tiktoken", lambda: theirs.encode_ordinary(d.text)),
        ("tokprep, cold", lambda: ours.encode_ordinary(d.text)),
        ("tokprep, warm", lambda: ours.encode_ordinary(d.text)),
    ):
        start = time.perf_counter()
        timings[label] = (encode(), time.perf_counter() - start)
    reference = timings["tiktoken"][0]
    same = all(ids == reference for ids, _ in timings.values())
    d.say(
        f"tokprep BPETokenizer.gpt2() gives {'the same' if same else 'DIFFERENT'} "
        f"{len(reference):,} IDs as tiktoken on the text:"
    )
    base = timings["tiktoken"][1]
    for label, (_, seconds) in timings.items():
        d.say(f"  {label:14s} {seconds * 1000:7.1f} ms  ({seconds / base:.2f}x tiktoken)")
    d.say("  one run each; on a short text, cold is mostly merging each new word once")
    d.say("  (`tokprep bench` compares them on megabytes of text)")


STAGES: list[tuple[str, Callable[[Demo], None]]] = [
    ("text", stage_text),
    ("word tokens", stage_words),
    ("vocabulary", stage_vocab),
    ("V1: unknown words", stage_v1),
    ("V2: <|unk|> and <|endoftext|>", stage_v2),
    ("GPT-2 BPE", stage_gpt2),
    ("tokprep's pure-Python BPE vs tiktoken", stage_bpe),
    ("DataLoader", stage_dataloader),
    ("embeddings", stage_embeddings),
]


def run_demo(
    text: str | None = None, *, name: str = "the-verdict.txt", out: TextIO | None = None
) -> Demo:
    """Run every stage on `text` (default: the bundled story), printing to `out`."""
    demo = Demo(default_text() if text is None else text, name, out or sys.stdout)
    for number, (title, stage) in enumerate(STAGES, start=1):
        start = time.perf_counter()
        demo.say(f"[{number}] {title}")
        try:
            stage(demo)
        except MissingDependencyError as e:  # torch's stages without torch: say how to add it
            demo.say(f"  skipped: {e}")
        demo.say(f"    ({time.perf_counter() - start:.2f} s)")
    return demo
