"""Data loading: tokprep's loaders against the textbook's, memory at stride 1, and `prepare`.

    .venv/bin/python -m pytest benchmarks/bench_dataloading.py            # all (~3-4 min)
    .venv/bin/python -m pytest benchmarks/bench_dataloading.py -k epoch   # loader speed only

Each test runs one measurement from `tokprep.bench.dataloading` and stores its numbers in
`extra_info` (`--benchmark-json out.json` keeps them); pytest-benchmark times one more round of
the same work. The textbook at stride 1 is measured on tinyshakespeare only (1.8 GB, ~40 s);
on the ~10 MB corpus it would need ~14 GB. The CUDA part is skipped without a GPU.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tokprep.bench import dataloading as bench
from tokprep.dataloading import prepare

DATA = Path(__file__).resolve().parent.parent / "data"
SHAKESPEARE = [DATA / "tinyshakespeare.txt"]
TEN_MB_SOURCES = [
    DATA / "war_and_peace.txt",
    DATA / "tinyshakespeare.txt",
    DATA / "taylorswift.txt",
]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def ids() -> dict[str, list[int]]:
    return {
        "tinyshakespeare": bench.encode_files(SHAKESPEARE),
        "10MB": bench.encode_files(TEN_MB_SOURCES, repeat_to=10_000_000),
    }


@pytest.fixture(scope="module")
def token_files(tmp_path_factory, ids) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tokens")
    out = {}
    for name in ("tinyshakespeare", "10MB"):
        text = folder / f"{name}.txt"
        if name == "10MB":
            text.write_text(bench.corpus_text(TEN_MB_SOURCES, repeat_to=10_000_000), "utf-8")
        else:
            text.write_bytes(SHAKESPEARE[0].read_bytes())
        out[name] = folder / f"{name}.bin"
        prepare([text], out[name], progress=False)
    return out


@pytest.mark.parametrize("corpus", ["tinyshakespeare", "10MB"])
@pytest.mark.parametrize(("stride", "batch_size"), [(128, 32), (128, 8), (256, 32), (256, 8)])
def test_epoch_throughput(benchmark, ids, corpus, stride, batch_size):
    numbers = bench.iteration_throughput(
        ids[corpus], max_length=256, stride=stride, batch_size=batch_size, rounds=5
    )
    benchmark.extra_info.update(numbers)
    loader = bench.build_loader(
        "tokprep", ids[corpus], max_length=256, stride=stride, batch_size=batch_size
    )
    benchmark.pedantic(lambda: sum(1 for _ in loader), rounds=3)


@pytest.mark.parametrize("corpus", ["tinyshakespeare", "10MB"])
@pytest.mark.parametrize("batch_size", [8, 32])
def test_epoch_throughput_stride_1(benchmark, ids, corpus, batch_size):
    # tokprep's loaders only: the textbook's start-up at stride 1 is measured below.
    kinds = ("torch+batches", "tokprep")
    numbers = bench.iteration_throughput(
        ids[corpus], max_length=256, stride=1, batch_size=batch_size, kinds=kinds, rounds=1
    )
    benchmark.extra_info.update(numbers)
    loader = bench.build_loader(
        "tokprep", ids[corpus], max_length=256, stride=1, batch_size=batch_size
    )
    benchmark.pedantic(lambda: sum(1 for _ in loader), rounds=1)


@pytest.mark.parametrize(
    ("kind", "corpus"),
    [
        ("tokprep", "tinyshakespeare"),
        ("tokprep-memmap", "tinyshakespeare"),
        ("tokprep", "10MB"),
        ("tokprep-memmap", "10MB"),
        ("textbook", "tinyshakespeare"),
    ],
)
def test_memory_growth_at_stride_1(benchmark, token_files, kind, corpus):
    numbers = benchmark.pedantic(
        bench.memory_growth, args=(kind, token_files[corpus]), kwargs={"stride": 1}, rounds=1
    )
    benchmark.extra_info.update(numbers)


def test_prepare_throughput(benchmark, token_files):
    text = token_files["10MB"].with_suffix(".txt")
    numbers = benchmark.pedantic(bench.prepare_throughput, args=([text],), rounds=1)
    benchmark.extra_info.update(numbers)


@pytest.mark.cuda
@CUDA
def test_cuda_device_gather_vs_host_copy(benchmark, ids):
    numbers = benchmark.pedantic(bench.cuda_gather, args=(ids["10MB"],), rounds=1)
    benchmark.extra_info.update(numbers)
