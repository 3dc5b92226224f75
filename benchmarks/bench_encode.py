"""Encoding: tokprep's pure-Python BPE against tiktoken, Hugging Face and the textbook.

    .venv/bin/python -m pytest benchmarks/bench_encode.py -s

`test_encode_comparison` runs the interleaved measurement of `tokprep.bench.encode` (the one
`tokprep bench` reports) on tinyshakespeare and stores its numbers in `extra_info`
(`--benchmark-json out.json` keeps them); `test_encoder` times each encoder on its own with
pytest-benchmark's statistics; `test_worst_case` times single long pieces per doubling.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tokprep.bench.encode import ENCODERS, encode_comparison, encoders, worst_case

DATA = Path(__file__).resolve().parent.parent / "data"
TEXT = (DATA / "tinyshakespeare.txt").read_text(encoding="utf-8")


def test_encode_comparison(benchmark):
    result = benchmark.pedantic(
        encode_comparison, args=(TEXT,), kwargs={"rounds": 5}, rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    for name in ENCODERS:
        if name in result:
            print(
                f"\n{name}: {result[name]['mb_per_s']:.2f} MB/s, x{result[name]['vs_tiktoken']:.2f}"
            )
            assert result[name]["same_ids"] in (True, None), name


@pytest.fixture(scope="module")
def runners():
    run, skipped = encoders(TEXT)
    return run, skipped


# "tokprep cold" needs a fresh encoder per call, which only encode_comparison arranges.
@pytest.mark.parametrize("name", [n for n in ENCODERS if n != "tokprep cold"])
def test_encoder(benchmark, runners, name):
    run, skipped = runners
    if name in skipped:
        pytest.skip(skipped[name])
    benchmark.extra_info["bytes"] = len(TEXT.encode("utf-8"))
    ids = benchmark.pedantic(run[name], rounds=3, iterations=1)
    assert len(ids) > 0


def test_worst_case(benchmark):
    result = benchmark.pedantic(worst_case, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    for kind in ("a", "ascii", "letters"):
        print(f"\n{kind}: tokprep x{result[kind]['tokprep_per_doubling']} per doubling")
        assert len(result[kind]["tokprep_s"]) == len(result[kind]["sizes"])
