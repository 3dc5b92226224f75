"""Loading the shipped encodings: tokprep's loader against tiktoken's, paired per round.

    .venv/bin/python -m pytest benchmarks/bench_encodings.py -s

`test_load_ranks` times reading the ranks only: tokprep's `_packaged_ranks` (gunzip, sha256,
parse) against tiktoken's `load_tiktoken_bpe` on the decompressed file with its pinned hash
(what tiktoken does when the file is in its cache). `test_load_encoder` adds building the
encoder: `BPETokenizer.from_encoding` and `tiktoken_encoding` (tiktoken's `Encoding`, offline)
against `tiktoken.Encoding` from `load_tiktoken_bpe`. The goal (issue 11) is at most 2x
tiktoken's time. Encoding speed on cl100k_base and o200k_base is in `tokprep bench --only
encode` (`tokprep.bench.encode`).
"""

from __future__ import annotations

import gzip
import statistics
import time
from importlib import resources

import pytest
import tiktoken
from tiktoken.load import load_tiktoken_bpe

from tokprep.bpe import BPETokenizer
from tokprep.bpe.encodings import ENCODINGS, _tiktoken_encoding
from tokprep.bpe.ranks import _packaged_ranks

ROUNDS = 7


def paired(contenders: dict, rounds: int = ROUNDS, setup=lambda: None) -> dict[str, float]:
    """Median seconds of each contender, and the median per-round ratio of the first to the
    last (the rounds alternate which goes first); `setup` runs before each, off the clock."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for number in range(rounds):
        for name in names if number % 2 == 0 else reversed(names):
            setup()
            start = time.perf_counter()
            kept = contenders[name]()
            times[name].append(time.perf_counter() - start)
            del kept  # freed outside the clock
    first, last = names[0], names[-1]
    result = {f"{name}_s": statistics.median(times[name]) for name in names}
    result["ratio"] = statistics.median(
        a / b for a, b in zip(times[first], times[last], strict=True)
    )
    return result


@pytest.fixture(scope="module")
def decompressed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranks")
    paths = {}
    for name, info in ENCODINGS.items():
        data = (resources.files("tokprep") / "data" / info.file).read_bytes()
        if info.file.endswith(".gz"):
            data = gzip.decompress(data)
        paths[name] = folder / f"{name}.tiktoken"
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_load_ranks(benchmark, decompressed, name):
    info = ENCODINGS[name]
    contenders = {
        "tokprep": lambda: _packaged_ranks.__wrapped__(info.file, info.ranks_sha256),
        "tiktoken": lambda: load_tiktoken_bpe(
            str(decompressed[name]), expected_hash=info.ranks_sha256
        ),
    }
    result = benchmark.pedantic(paired, args=(contenders,), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(f"\n{name} ranks: {result}")
    assert result["ratio"] > 0


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_load_encoder(benchmark, decompressed, name):
    info = ENCODINGS[name]

    def fresh_ranks():
        _packaged_ranks.cache_clear()
        _tiktoken_encoding.cache_clear()

    def tokprep_encoder():
        return BPETokenizer.from_encoding(name)

    def tokprep_tiktoken():
        return _tiktoken_encoding(name)

    def tiktoken_own():
        ranks = load_tiktoken_bpe(str(decompressed[name]), expected_hash=info.ranks_sha256)
        return tiktoken.Encoding(
            name=name,
            pat_str=info.pattern,
            mergeable_ranks=ranks,
            special_tokens=dict(info.special_tokens),
        )

    def both() -> dict[str, float]:
        return {
            "BPETokenizer": paired(
                {"tokprep": tokprep_encoder, "tiktoken": tiktoken_own}, setup=fresh_ranks
            ),
            "tiktoken_encoding": paired(
                {"tokprep": tokprep_tiktoken, "tiktoken": tiktoken_own}, setup=fresh_ranks
            ),
        }

    result = benchmark.pedantic(both, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(f"\n{name} encoders: {result}")
    fresh_ranks()
