"""BPE training: tokprep's pure-Python trainer against Hugging Face's Rust `BpeTrainer`.

    .venv/bin/python -m pytest benchmarks/bench_train.py -s

Each test runs one measurement of `tokprep.bench.train` and stores its numbers in
`extra_info` (`--benchmark-json` keeps them); `-s` also prints them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tokprep.bench.train import compare_with_hf, educational_baseline, large_corpus

pytest.importorskip("tokenizers")
DATA = Path(__file__).resolve().parent.parent / "data"


def _record(benchmark, function, **kwargs) -> dict[str, float]:
    result = benchmark.pedantic(function, kwargs=kwargs, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(f"\n{function.__name__} {kwargs.get('n_merges', '')}: {result}")
    return result


@pytest.mark.parametrize("n_merges", [5_000, 10_000])
def test_war_and_peace_against_hugging_face(benchmark, n_merges):
    text = (DATA / "war_and_peace.txt").read_text(encoding="utf-8")
    result = _record(benchmark, compare_with_hf, text=text, n_merges=n_merges, repeats=5)
    assert result["same_vocab"] == 1.0


def test_20mb_corpus_time_and_memory(benchmark):
    result = _record(benchmark, large_corpus, target_bytes=20_000_000, n_merges=10_000)
    assert result["bytes"] >= 20_000_000


def test_educational_recount_trainer(benchmark):
    text = (DATA / "taylorswift.txt").read_text(encoding="utf-8")[:50_000]
    result = _record(benchmark, educational_baseline, text=text, n_merges=50)
    assert result["educational_s"] > 0
