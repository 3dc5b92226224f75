"""Encoding speed: tokprep's pure-Python BPE against tiktoken, Hugging Face and the textbook.

All encoders use GPT-2's vocabulary and run in this one process on the same text. Rounds are
interleaved (each round runs every encoder once, in a rotating order), so a change in the
machine's speed hits all of them alike; each time is the median of the rounds, with the
fastest and slowest round as its spread, and each ratio between two encoders is the median of
their per-round ratios.

- `tokprep cold`: a new `BPETokenizer.gpt2()` per round (built before the clock starts), so
  every piece is encoded from scratch the first time it is seen;
- `tokprep warm`: one long-lived encoder (its cache filled by an untimed first pass);
- `tiktoken`: `encode_ordinary` on one thread; `tiktoken batch`: `encode_ordinary_batch` over
  the text cut in 64 parts at safe places (same IDs), on every core;
- `huggingface`: `tokenizers` running GPT-2's ranks, exported by tokprep (same IDs);
- `textbook V2`: the regex word tokenizer with a vocabulary built from the text itself.

`worst_case` times single long pieces, where BPE's merge loop is all the work.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENCODERS = (
    "tokprep cold",
    "tokprep warm",
    "tiktoken",
    "tiktoken batch",
    "huggingface",
    "textbook V2",
)


def _batch_parts(text: str, pieces: int) -> list[str]:
    """`text` in about `pieces` parts for `tiktoken batch`, cut only at GPT-2's safe cuts
    (`tokprep.bpe.pretokenize.safe_parts`), so the parts' IDs joined are the whole text's."""
    from tokprep.bpe.pretokenize import safe_parts
    from tokprep.bpe.ranks import GPT2_PATTERN

    return list(safe_parts(text, GPT2_PATTERN, max(1, len(text) // pieces)))


def _huggingface_gpt2() -> Any | None:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    from tokprep.bpe.export import write_hf_tokenizer_json
    from tokprep.bpe.ranks import ENDOFTEXT, GPT2_EOT, GPT2_PATTERN, gpt2_ranks

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "tokenizer.json"
        write_hf_tokenizer_json(gpt2_ranks(), GPT2_PATTERN, {ENDOFTEXT: GPT2_EOT}, path)
        return Tokenizer.from_file(str(path))


def encoders(text: str) -> tuple[dict[str, Callable[[], list[int]]], dict[str, str]]:
    """The encoders to time on `text` (each returns its IDs), and notes on those skipped."""
    from tokprep.bpe import BPETokenizer, tiktoken_gpt2
    from tokprep.tokenizers import SimpleTokenizerV2, build_vocab, split_words

    reference = tiktoken_gpt2()
    warm = BPETokenizer.gpt2()
    warm.encode_ordinary(text)
    fresh: list[BPETokenizer] = []

    def cold() -> list[int]:
        # The encoder was built before the clock started and is freed after it stops (by the
        # next `_prepare_cold`), so neither its construction nor its teardown is timed.
        return fresh[-1].encode_ordinary(text)

    chunks = _batch_parts(text, 64)
    threads = os.cpu_count() or 1
    run: dict[str, Callable[[], Any]] = {
        "tokprep cold": cold,
        "tokprep warm": lambda: warm.encode_ordinary(text),
        "tiktoken": lambda: reference.encode_ordinary(text),
        "tiktoken batch": lambda: [
            i for ids in reference.encode_ordinary_batch(chunks, num_threads=threads) for i in ids
        ],
    }
    skipped: dict[str, str] = {}
    huggingface = _huggingface_gpt2()
    if huggingface is None:
        skipped["huggingface"] = "tokenizers is not installed (pip install tokenizers)"
    else:
        run["huggingface"] = lambda: huggingface.encode(text, add_special_tokens=False).ids
    v2 = SimpleTokenizerV2(build_vocab(split_words(text)))
    run["textbook V2"] = lambda: v2.encode(text, disallowed_special=())
    run["_prepare_cold"] = lambda: fresh.__setitem__(slice(None), [BPETokenizer.gpt2()])
    return run, skipped


def encode_comparison(text: str, *, rounds: int = 5) -> dict[str, Any]:
    """Median seconds, MB/s and tokens/s of each encoder on `text`, with ratios to tiktoken.

    Also `same_ids` per encoder: whether it gave tiktoken's IDs (the textbook's word tokenizer
    has its own vocabulary, so it is left out of that check).
    """
    run, skipped = encoders(text)
    prepare_cold = run.pop("_prepare_cold")
    names = list(run)
    times: dict[str, list[float]] = {name: [] for name in names}
    outputs: dict[str, list[int]] = {}
    for round_number in range(rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        prepare_cold()
        for name in order:
            start = time.perf_counter()
            outputs[name] = run[name]()
            times[name].append(time.perf_counter() - start)
    n_bytes = len(text.encode("utf-8"))
    reference = outputs["tiktoken"]

    def paired(name: str, peer: str) -> float | None:
        # The median of the per-round time ratios: each round's pair ran back to back, so a
        # change in the machine's speed between rounds cancels out.
        if peer not in times:
            return None
        return statistics.median(a / b for a, b in zip(times[name], times[peer], strict=True))

    results: dict[str, Any] = {"bytes": n_bytes, "tokens": len(reference), "rounds": rounds}
    for name in names:
        median = statistics.median(times[name])
        results[name] = {
            "median_s": median,
            "min_s": min(times[name]),
            "max_s": max(times[name]),
            "mb_per_s": n_bytes / median / 1e6,
            "tokens_per_s": len(outputs[name]) / median,
            # Time ratios (below 1: faster than that peer).
            "vs_tiktoken": paired(name, "tiktoken"),
            "vs_huggingface": paired(name, "huggingface"),
            "vs_textbook": paired(name, "textbook V2"),
            "same_ids": None if name == "textbook V2" else outputs[name] == reference,
        }
    results["skipped"] = skipped
    return results


def long_piece(kind: str, n_bytes: int, seed: int = 0) -> str:
    """One pre-token of about `n_bytes` UTF-8 bytes: `a` (one letter repeated), `ascii`
    (random ASCII letters) or `letters` (random \\p{L} code points, 1 to 4 bytes each)."""
    rng = random.Random(seed)
    if kind == "a":
        return "a" * n_bytes
    if kind == "ascii":
        letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        return "".join(rng.choice(letters) for _ in range(n_bytes))
    if kind == "letters":
        out, size = [], 0
        pool = _letters()
        while size < n_bytes:
            char = rng.choice(pool)
            out.append(char)
            size += len(char.encode("utf-8"))
        return "".join(out)
    raise ValueError(f"unknown kind {kind!r}; use 'a', 'ascii' or 'letters'")


_LETTER_POOL: list[str] = []


def _letters() -> list[str]:
    if not _LETTER_POOL:
        import regex

        every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
        _LETTER_POOL.extend(regex.findall(r"\p{L}", every))
    return _LETTER_POOL


def worst_case(
    sizes: tuple[int, ...] = (131_072, 262_144, 524_288),
    kinds: tuple[str, ...] = ("a", "ascii", "letters"),
    *,
    one_megabyte: bool = True,
) -> dict[str, Any]:
    """Seconds to encode one long piece per kind and size, tokprep and tiktoken, and the growth
    per doubling (`t(2n) / t(n)`: 2 is linear, 4 quadratic). With `one_megabyte`, also
    tokprep's time on 1 MB (`a`, random ASCII) and on 300,000 random letters."""
    from tokprep.bpe import BPETokenizer, tiktoken_gpt2

    ours, theirs = BPETokenizer.gpt2(), tiktoken_gpt2()
    results: dict[str, Any] = {}
    for kind in kinds:
        row: dict[str, Any] = {"sizes": list(sizes), "tokprep_s": [], "tiktoken_s": []}
        for size in sizes:
            text = long_piece(kind, size)
            for label, encoder in (("tokprep_s", ours), ("tiktoken_s", theirs)):
                start = time.perf_counter()
                encoder.encode_ordinary(text)
                row[label].append(time.perf_counter() - start)
        for label in ("tokprep", "tiktoken"):
            values = row[f"{label}_s"]
            row[f"{label}_per_doubling"] = [b / a for a, b in itertools.pairwise(values)]
        results[kind] = row
    if one_megabyte:
        for label, text in (
            ("a x 1,000,000", "a" * 1_000_000),
            ("1 MB random ASCII letters", long_piece("ascii", 1_000_000)),
            ("300,000 random letters", "".join(random.Random(1).choices(_letters(), k=300_000))),
        ):
            start = time.perf_counter()
            ours.encode_ordinary(text)
            results.setdefault("one_piece_s", {})[label] = time.perf_counter() - start
    return results
