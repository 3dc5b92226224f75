"""Long tokens: checking, recovering merges and encoding, 64 KiB to 4 MiB (issue 17, §3).

    .venv/bin/python -m pytest benchmarks/bench_long_tokens.py -s
    .venv/bin/python -m tokprep.bench.long_tokens        # the same, as one table

Each test runs one size through `tokprep.bench.long_tokens.measure` and stores its numbers in
`extra_info` (`--benchmark-json` keeps them); `-s` also prints them. The last test runs the
whole range and checks that no time grows like the square of the size.
"""

from __future__ import annotations

import pytest

from tokprep.bench.long_tokens import SIZES, format_rows, measure, run


@pytest.mark.parametrize("size", SIZES, ids=[f"{s >> 10}KiB" for s in SIZES])
def test_long_token(benchmark, size):
    result = benchmark.pedantic(measure, args=(size,), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(f"\n{size >> 10} KiB: {result}")
    assert result["encode_peak_bytes_per_byte"] < 20


def test_growth_per_doubling_is_linear():
    rows = run(memory=False)
    print("\n" + format_rows(rows))
    # From 256 KiB (smaller sizes are too quick to time well) to 4 MiB: linear work grows 16
    # times, quadratic 256 times; the bound leaves room for a busy machine.
    first, last = rows[2], rows[-1]
    doublings = (int(last["bytes"]) // int(first["bytes"])).bit_length() - 1
    for key in ("merges_from_ranks_s", "encode_s"):
        assert last[key] / first[key] < 2.8**doublings
