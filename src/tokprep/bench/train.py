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

import json
import statistics
import subprocess
import sys
import tempfile
import time
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


def compare_with_hf(
    text: str, n_merges: int, *, pattern: str = "gpt2", repeats: int = 5
) -> dict[str, float]:
    """Median seconds of `train_bpe` and of Hugging Face on `text` for `n_merges` merges.

    Returns `ours_s`, `hf_s`, `ratio` (ours / hf: below 1 is faster), the per-run lists'
    spread (`ours_min_s`, `ours_max_s`, `hf_min_s`, `hf_max_s`) and `same_vocab` (1.0 when
    both learned the same tokens).
    """
    from tokprep.bpe.train import train_bpe

    vocab_size = 256 + n_merges
    ours, theirs = [], []
    same = True
    for _ in range(repeats):
        start = time.perf_counter()
        trained = train_bpe(text, vocab_size, pattern=pattern, progress=False, processes=1)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        tok = _hf_trainer_run(text, vocab_size, pattern)
        theirs.append(time.perf_counter() - start)
        same = same and tok.get_vocab_size() == len(trained.ranks)
    return {
        "chars": float(len(text)),
        "n_merges": float(n_merges),
        "ours_s": statistics.median(ours),
        "hf_s": statistics.median(theirs),
        "ratio": statistics.median(ours) / statistics.median(theirs),
        "ours_min_s": min(ours),
        "ours_max_s": max(ours),
        "hf_min_s": min(theirs),
        "hf_max_s": max(theirs),
        "same_vocab": float(same),
    }


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
    train_bpe(paths, vocab_size, progress=False, processes=processes)
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
