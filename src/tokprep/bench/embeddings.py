"""Embedding speed: `GPTEmbedding` against the textbook's two bare `nn.Embedding` layers.

The baseline is the textbook's input layer written out (ch. 2 of "Build a Large Language Model
(From Scratch)"): `tok_emb(ids) + pos_emb(arange(T))`, nothing checked. `GPTEmbedding` does the
same lookups after its checks, so the difference between the two is the price of the checks.
All variants use the very same tables, so memory and cache effects are equal.

Two estimates of the validation overhead, because a forward of ~10 ms on a busy machine varies
by more than the check costs:

- end to end: the variants run interleaved, round after round in a rotating order, so drift in
  the machine's speed hits all of them alike; the overhead is the median of the per-round
  ratios `validated / baseline - 1`;
- direct: `GPTEmbedding.check` alone (everything `forward` does before the lookup), timed the
  same way, as a share of the baseline forward. On the CPU the forward is exactly check + lookup,
  so this is the overhead without the noise.

On CUDA each sample is `inner` forwards timed between two CUDA events (one wait at the end):
that is how a training loop runs, and it is where the sync inside each validated forward costs
most, because it stops the CPU from queueing the next kernels ahead of the GPU.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from tokprep.bench import timing

GPT2_SMALL = {"vocab_size": 50257, "emb_dim": 768, "context_length": 1024}


def forward_throughput(
    *,
    vocab_size: int = 50257,
    emb_dim: int = 768,
    context_length: int = 1024,
    batch_size: int = 8,
    device: str = "cpu",
    rounds: int = 30,
    inner: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Forward throughput (tokens/s) of the bare layers and of `GPTEmbedding` with and without
    validation, at batch `batch_size` x `context_length`, under `torch.no_grad()`.

    Returns numbers only: `tokens` per forward; `baseline_`, `validated_` and
    `unvalidated_tokens_per_s` (from median times); `validated_overhead_pct` and
    `unvalidated_overhead_pct` (end to end, median of paired ratios, percent); `check_us` and
    `check_pct` (the check alone: microseconds, and percent of the baseline forward); the spread
    over rounds as `{variant}_min_tokens_per_s` and `{variant}_max_tokens_per_s`.
    """
    import torch

    from tokprep.embeddings import GPTEmbedding

    inner = inner if inner is not None else (3 if device == "cpu" else 20)
    torch.manual_seed(seed)
    layer = GPTEmbedding(vocab_size, emb_dim, context_length).to(device)
    tok_emb: Any = layer.tok_emb
    pos_emb: Any = layer.pos_emb
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(vocab_size, (batch_size, context_length), generator=generator)
    ids = ids.to(device)

    def baseline() -> Any:
        return tok_emb(ids) + pos_emb(torch.arange(ids.shape[-1], device=ids.device))

    def with_validation(on: bool, call: Callable[[torch.Tensor], Any]) -> Callable[[], Any]:
        def run() -> Any:
            layer.validate = on
            return call(ids)

        return run

    variants: dict[str, Callable[[], Any]] = {
        "baseline": baseline,
        "validated": with_validation(True, layer),
        "unvalidated": with_validation(False, layer),
        "check": with_validation(True, layer.check),
    }
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def repeated(fn: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(inner):
                fn()

        return run

    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    with torch.no_grad():
        reference = baseline()
        for name in ("validated", "unvalidated"):
            if not torch.equal(variants[name](), reference):
                raise RuntimeError(f"{name} forward differs from the baseline")
        del reference
        for _ in range(3):  # warm-up: allocator, caches, CUDA kernels
            for fn in variants.values():
                fn()
        sync()
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                seconds = timing.seconds(repeated(variants[name]), device)
                times[name].append(seconds / inner)
    layer.validate = True
    tokens = batch_size * context_length
    median = {name: statistics.median(values) for name, values in times.items()}

    def overhead(name: str) -> float:
        ratios = [t / b for t, b in zip(times[name], times["baseline"], strict=True)]
        return 100.0 * (statistics.median(ratios) - 1.0)

    result = {
        "tokens": float(tokens),
        "baseline_tokens_per_s": tokens / median["baseline"],
        "validated_tokens_per_s": tokens / median["validated"],
        "unvalidated_tokens_per_s": tokens / median["unvalidated"],
        "validated_overhead_pct": overhead("validated"),
        "unvalidated_overhead_pct": overhead("unvalidated"),
        "check_us": median["check"] * 1e6,
        "check_pct": 100.0 * median["check"] / median["baseline"],
    }
    for name in ("baseline", "validated", "unvalidated"):
        result[f"{name}_min_tokens_per_s"] = tokens / max(times[name])
        result[f"{name}_max_tokens_per_s"] = tokens / min(times[name])
    return result
