"""Embedding forward at GPT-2 small sizes (50,257 x 768, context 1,024, batch 8 x 1,024).

    .venv/bin/python -m pytest benchmarks/bench_embeddings.py

The bare textbook layers (`nn.Embedding` + `nn.Embedding`) against `GPTEmbedding` with and
without its ID check; `test_validation_overhead_*` runs the interleaved measurement of
`tokprep.bench.embeddings.forward_throughput` and stores its numbers in `extra_info`
(`--benchmark-json` keeps them). The CUDA half is skipped without a GPU.
"""

from __future__ import annotations

import pytest
import torch

from tokprep.bench.embeddings import GPT2_SMALL, forward_throughput
from tokprep.embeddings import GPTEmbedding

BATCH = 8
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, CUDA])]


@pytest.fixture(scope="module", params=DEVICES)
def setup(request: pytest.FixtureRequest) -> tuple[GPTEmbedding, torch.Tensor, str]:
    device = request.param
    torch.manual_seed(0)
    layer = GPTEmbedding(**GPT2_SMALL).to(device)
    ids = torch.randint(GPT2_SMALL["vocab_size"], (BATCH, GPT2_SMALL["context_length"]))
    return layer, ids.to(device), device


def _run(benchmark, setup, forward) -> None:
    layer, ids, device = setup
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step() -> None:
        with torch.no_grad():
            forward(layer, ids)
        sync()

    benchmark.extra_info["tokens_per_forward"] = ids.numel()
    benchmark(step)


def test_bare_nn_embeddings(benchmark, setup):
    def bare(layer, ids):
        positions = torch.arange(ids.shape[-1], device=ids.device)
        return layer.tok_emb(ids) + layer.pos_emb(positions)

    _run(benchmark, setup, bare)


def test_gpt_embedding_validated(benchmark, setup):
    setup[0].validate = True
    _run(benchmark, setup, lambda layer, ids: layer(ids))


def test_gpt_embedding_unvalidated(benchmark, setup):
    setup[0].validate = False
    try:
        _run(benchmark, setup, lambda layer, ids: layer(ids))
    finally:
        setup[0].validate = True


@pytest.mark.parametrize("device", DEVICES)
def test_validation_overhead(benchmark, device):
    result = benchmark.pedantic(
        forward_throughput, kwargs={"device": device, **GPT2_SMALL}, rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    print(f"\n{device}: " + ", ".join(f"{k}={v:,.1f}" for k, v in result.items()))
    if device == "cpu":
        # The budget: the check may cost <= 10% of the forward on the CPU. The direct
        # estimate is asserted; the end-to-end ratio is recorded, as it carries the machine's
        # noise (a few percent either way on a busy 2-core machine).
        assert result["check_pct"] <= 10.0, result
