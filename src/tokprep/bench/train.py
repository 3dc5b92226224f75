"""BPE training speed: tokprep's `train_bpe` against Hugging Face's `BpeTrainer`.

Both run end to end from the same text in the same process (pre-tokenize, count, merge), with
the same pre-tokenization and the same number of merges, so they learn the same vocabulary.
Runs are interleaved (ours, theirs, ours, ...) so drift in the machine's speed hits both alike;
the ratio is of the medians. Hugging Face gets the text as one document, as tokprep does.

Also: time and peak memory on a ~20 MB corpus (the shared texts repeated, streamed from files,
pre-tokenized in worker processes), and tiktoken's `_educational` trainer, which recounts every
pair of the whole corpus for every merge, timed per merge to show why that design is not used.
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[3] / "data"


def _hf_trainer_run(text: str | list[str], vocab_size: int, pattern: str) -> Any:
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    from tokprep.bpe.export import hf_pattern
    from tokprep.bpe.patterns import resolve_pattern

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(hf_pattern(resolve_pattern(pattern))), "isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([text] if isinstance(text, str) else text, trainer)
    return tok


#: The tie-break profiles of `train_bpe` (tokprep.bpe.tie_break), each timed in a full run.
TIE_BREAKS = ("hf", "rustbpe", "lexicographic", "first-seen")


def train_comparison(
    text: str,
    n_merges: int,
    *,
    pattern: str = "gpt2",
    repeats: int = 5,
    tie_breaks: Sequence[str] = ("hf",),
    trainers: Sequence[Any] = (),
) -> dict[str, Any]:
    """Seconds of each trainer on `text` for `n_merges` merges, runs interleaved.

    Contenders: `train_bpe` with each of `tie_breaks` ("tokprep (hf)", ...), Hugging Face's
    `BpeTrainer` ("huggingface", when installed), `rustbpe` (nanochat's Rust trainer, threads;
    when installed) and each user trainer (`tokprep.testing.trainer_adapters.AdaptedTrainer`,
    `tokprep bench --trainer SPEC`). Returns per contender `times`, `median_s`, `min_s`,
    `max_s`, `merges` (how many it learned) and `ratio` (median ÷ Hugging Face's median, or ÷
    tokprep (hf)'s without Hugging Face), plus `reference` and `skipped`.
    """
    from tokprep.bpe.patterns import resolve_pattern
    from tokprep.bpe.train import train_bpe

    vocab_size = 256 + n_merges
    run: dict[str, Callable[[], int]] = {}
    for tie_break in tie_breaks:
        run[f"tokprep ({tie_break})"] = functools.partial(
            lambda t: (
                len(
                    train_bpe(
                        text, vocab_size, pattern=pattern, progress=False, processes=1, tie_break=t
                    ).ranks
                )
                - 256
            ),
            tie_break,
        )
    skipped: dict[str, str] = {}
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        skipped["huggingface"] = "tokenizers is not installed (pip install tokenizers)"
    else:
        run["huggingface"] = lambda: (
            _hf_trainer_run(text, vocab_size, pattern).get_vocab_size() - 256
        )
    try:  # a peer when installed: nanochat's Rust trainer (ties as tie_break="rustbpe")
        import rustbpe
    except ImportError:
        skipped["rustbpe"] = "rustbpe is not installed (pip install rustbpe)"
    else:

        def rust() -> int:
            peer = rustbpe.Tokenizer()
            peer.train_from_iterator(iter([text]), vocab_size, pattern=resolve_pattern(pattern))
            return len(peer.get_mergeable_ranks()) - 256

        run["rustbpe"] = rust
    for trainer in trainers:
        run[trainer.name] = functools.partial(lambda t: len(t.run(text, n_merges, ())), trainer)
    times: dict[str, list[float]] = {name: [] for name in run}
    merges: dict[str, int] = {}
    names = list(run)
    for number in range(repeats):
        for name in names[number % len(names) :] + names[: number % len(names)]:
            start = time.perf_counter()
            merges[name] = run[name]()
            times[name].append(time.perf_counter() - start)
    reference = "huggingface" if "huggingface" in run else f"tokprep ({tie_breaks[0]})"
    result: dict[str, Any] = {
        "chars": len(text),
        "n_merges": n_merges,
        "repeats": repeats,
        "reference": reference,
        "skipped": skipped,
        "trainers": [t.name for t in trainers],
    }
    for name in names:
        median = statistics.median(times[name])
        result[name] = {
            "times": times[name],
            "median_s": median,
            "min_s": min(times[name]),
            "max_s": max(times[name]),
            "merges": merges[name],
            "ratio": median / statistics.median(times[reference]),
        }
    return result


def tables(result: dict[str, Any], corpus: str) -> list[Any]:
    """The training table: time per trainer, merges/s, and time ÷ the reference's."""
    from tokprep.bench.records import Column, Row, Table

    table = Table(
        key="train",
        title=f"BPE training: {result['chars']:,} characters of {corpus}, "
        f"{result['n_merges']:,} merges, {result['repeats']} interleaved run(s)",
        reference=result["reference"],
        columns=[
            Column("time", "seconds"),
            Column("[fastest, slowest]", "text"),
            Column("merges/s", "rate"),
            Column("merges learned", "count"),
        ],
        rate_unit="merges/s",
        notes=[
            "tokprep (NAME): train_bpe with tie_break=NAME (tokprep.bpe.tie_break), one process; "
            "rustbpe counts in parallel threads; time: the median run",
            *(f"skipped {name}: {why}" for name, why in result["skipped"].items()),
        ],
    )
    for name, e in result.items():
        if not (isinstance(e, dict) and "median_s" in e):
            continue
        n = result["n_merges"]
        table.add(
            Row(
                name,
                {
                    "time": e["median_s"],
                    "[fastest, slowest]": f"[{_fmt(e['min_s'])}, {_fmt(e['max_s'])}]",
                    "merges/s": n / e["median_s"],
                    "merges learned": e["merges"],
                },
                ratio=e["ratio"],
                rate=n / e["median_s"],
                rate_low=n / e["max_s"],
                rate_high=n / e["min_s"],
                ours=name.startswith("tokprep"),
            )
        )
    return [table]


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def assemble_corpus(directory: Path, target_bytes: int = 20_000_000) -> list[Path]:
    """Write copies of the shared texts into `directory` until they total `target_bytes`."""
    names = ["war_and_peace", "tinyshakespeare", "taylorswift", "japanese-notes"]
    texts = [(DATA / f"{name}.txt").read_bytes() for name in names]
    paths: list[Path] = []
    total = 0
    while total < target_bytes:
        for name, data in zip(names, texts, strict=True):
            path = directory / f"{len(paths):03d}-{name}.txt"
            path.write_bytes(data)
            paths.append(path)
            total += len(data)
    return paths


_MEMORY_SCRIPT = """
import json, resource, sys, time
from pathlib import Path
paths = [Path(p) for p in json.loads(sys.argv[1])]
vocab_size, processes, engine = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
start = time.perf_counter()
if engine == "tokprep":
    from tokprep.bpe.train import train_bpe
    train_bpe(None, vocab_size, files=paths, progress=False, processes=processes)
else:
    from tokprep.bench.train import _hf_trainer_run
    _hf_trainer_run([p.read_text(encoding="utf-8") for p in paths], vocab_size, "gpt2")
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def large_corpus(
    *, target_bytes: int = 20_000_000, n_merges: int = 10_000, processes: int | None = None
) -> dict[str, float]:
    """Train on a ~`target_bytes` corpus of files: time and peak memory (a fresh process each).

    Hugging Face gets the same files' texts as documents. Returns `bytes`, `ours_s`,
    `ours_peak_rss_mb` (main process), `ours_worker_peak_rss_mb` (largest worker), `hf_s`,
    `hf_peak_rss_mb` and `ratio`.
    """
    import os

    workers = processes or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        paths = assemble_corpus(Path(folder), target_bytes)
        arguments = [json.dumps([str(p) for p in paths]), str(256 + n_merges), str(workers)]
        results = {}
        for engine in ("tokprep", "hf"):
            output = subprocess.run(
                [sys.executable, "-c", _MEMORY_SCRIPT, *arguments, engine],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[engine] = json.loads(output.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in paths)
    ours, hf = results["tokprep"], results["hf"]
    return {
        "bytes": float(size),
        "processes": float(workers),
        "ours_s": ours["seconds"],
        "ours_peak_rss_mb": ours["peak_rss_mb"],
        "ours_worker_peak_rss_mb": ours["worker_peak_rss_mb"],
        "hf_s": hf["seconds"],
        "hf_peak_rss_mb": hf["peak_rss_mb"],
        "ratio": ours["seconds"] / hf["seconds"],
    }


def educational_baseline(text: str, n_merges: int = 50) -> dict[str, float]:
    """tiktoken's `_educational` trainer (a full recount per merge) against `train_bpe`.

    Returns `educational_s`, `ours_s`, and `educational_ms_per_merge`, `ours_ms_per_merge`.
    """
    import contextlib
    import io

    from tiktoken import _educational

    from tokprep.bpe.ranks import GPT2_PATTERN
    from tokprep.bpe.train import train_bpe

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints as it trains
        _educational.bpe_train(text, 256 + n_merges, GPT2_PATTERN, visualise=None)
    educational = time.perf_counter() - start
    start = time.perf_counter()
    train_bpe(text, 256 + n_merges, progress=False)
    ours = time.perf_counter() - start
    return {
        "chars": float(len(text)),
        "n_merges": float(n_merges),
        "educational_s": educational,
        "ours_s": ours,
        "educational_ms_per_merge": 1000 * educational / n_merges,
        "ours_ms_per_merge": 1000 * ours / n_merges,
    }
