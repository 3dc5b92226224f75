"""Data loading speed and memory: tokprep's loader against the textbook's, and `prepare`.

The baseline is the textbook's pipeline written out minimally (Raschka, "Build a Large Language
Model (From Scratch)", ch. 2): a dataset that stores one input and one target tensor per window,
served by a torch `DataLoader` with its default collation. Three loaders are compared on the
same token IDs and the same shuffled order:

- `textbook`: that baseline;
- `torch+GPTDataset`: tokprep's `GPTDataset` inside a plain torch `DataLoader(dataset,
  batch_size, shuffle=True)` (one gather per batch via `__getitems__`, then torch's default
  collation of per-window rows);
- `torch+batches`: `GPTDataset` in a plain torch `DataLoader` that asks for whole batches
  (`torch_dataloader`: `batch_size=None` and a `BatchSampler`), no collation;
- `tokprep`: `WindowLoader`, one gather per tensor, no collation.

Memory is measured as RSS growth in a fresh subprocess per case (tracemalloc cannot see torch's
allocations), relative to the token array as an int64 tensor (8 bytes per token).
Every function returns a dict of numbers; the `tokprep bench` command and benchmarks/ call them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokprep.bench import timing

LOADERS = ("textbook", "torch+GPTDataset", "torch+batches", "tokprep")


def textbook_dataset(token_ids: Sequence[int], max_length: int, stride: int) -> Any:
    """The textbook's GPTDatasetV1 rule over already-encoded IDs: two tensors per window."""
    import torch
    from torch.utils.data import Dataset

    class ListOfWindows(Dataset):
        def __init__(self) -> None:
            self.input_ids: list[torch.Tensor] = []
            self.target_ids: list[torch.Tensor] = []
            for i in range(0, len(token_ids) - max_length, stride):
                self.input_ids.append(torch.tensor(token_ids[i : i + max_length]))
                self.target_ids.append(torch.tensor(token_ids[i + 1 : i + max_length + 1]))

        def __len__(self) -> int:
            return len(self.input_ids)

        def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
            return self.input_ids[index], self.target_ids[index]

    return ListOfWindows()


def build_loader(
    kind: str, token_ids: list[int], *, max_length: int, stride: int, batch_size: int
) -> Any:
    """One of `LOADERS`, shuffled (global RNG), drop_last=True, single process."""
    from torch.utils.data import DataLoader

    from tokprep.dataloading import GPTDataset, WindowLoader

    if kind == "textbook":
        dataset = textbook_dataset(token_ids, max_length, stride)
        return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    if kind == "torch+GPTDataset":
        dataset = GPTDataset(token_ids, max_length, stride)
        return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    if kind == "torch+batches":
        from tokprep.dataloading import torch_dataloader

        dataset = GPTDataset(token_ids, max_length, stride)
        return torch_dataloader(dataset, batch_size, shuffle=True, drop_last=True)
    if kind == "tokprep":
        dataset = GPTDataset(token_ids, max_length, stride)
        return WindowLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    raise ValueError(f"kind must be one of {LOADERS}, got {kind!r}")


def encode_files(paths: Sequence[str | os.PathLike], *, repeat_to: int = 0) -> list[int]:
    """GPT-2 IDs of the files' text, joined; repeated until >= `repeat_to` UTF-8 bytes."""
    from tokprep.bpe import tiktoken_gpt2

    text = corpus_text(paths, repeat_to=repeat_to)
    return tiktoken_gpt2().encode_ordinary(text)


def corpus_text(paths: Sequence[str | os.PathLike], *, repeat_to: int = 0) -> str:
    """The files' text joined by newlines, repeated until it has >= `repeat_to` UTF-8 bytes
    (the "~10 MB corpus" is the shared corpora repeated)."""
    text = "\n".join(Path(p).read_text(encoding="utf-8") for p in paths)
    size = len(text.encode())
    if repeat_to > size:
        text = "\n".join([text] * -(-repeat_to // size))
    return text


def iteration_throughput(
    token_ids: list[int],
    *,
    max_length: int = 256,
    stride: int = 128,
    batch_size: int = 32,
    kinds: Sequence[str] = LOADERS,
    rounds: int = 3,
    max_batches: int | None = None,
    seed: int = 123,
) -> dict[str, float]:
    """Tokens per second over one shuffled epoch (or `max_batches`) for each loader, and the
    start-up time (building dataset and loader). Rounds are interleaved; the best round counts.

    Returns `{kind}_tokens_per_s`, `{kind}_startup_s`, `batches` and `{kind}_speedup` (over the
    textbook, when it was measured); the spread over rounds as `{kind}_median_tokens_per_s` and
    `{kind}_slowest_tokens_per_s`.
    """
    import torch

    loaders: dict[str, Any] = {}
    result: dict[str, float] = {"tokens": float(len(token_ids))}
    for kind in kinds:
        start = time.perf_counter()
        loaders[kind] = build_loader(
            kind, token_ids, max_length=max_length, stride=stride, batch_size=batch_size
        )
        result[f"{kind}_startup_s"] = time.perf_counter() - start
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    batches = 0
    for _ in range(rounds):
        for kind in kinds:
            torch.manual_seed(seed)
            start = time.perf_counter()
            batches = 0
            for _inputs, _targets in loaders[kind]:
                batches += 1
                if max_batches is not None and batches >= max_batches:
                    break
            seconds[kind].append(time.perf_counter() - start)
    best = {kind: min(seconds[kind]) for kind in kinds}
    result["batches"] = float(batches)
    served = batches * batch_size * max_length
    for kind in kinds:
        result[f"{kind}_tokens_per_s"] = served / best[kind]
        result[f"{kind}_median_tokens_per_s"] = served / statistics.median(seconds[kind])
        result[f"{kind}_slowest_tokens_per_s"] = served / max(seconds[kind])
    if "textbook" in kinds:
        for kind in kinds:
            result[f"{kind}_speedup"] = best["textbook"] / best[kind]
    return result


_MEMORY_CHILD = r"""
import json, resource, sys, time
kind, path, max_length, stride, batch_size = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

import torch
from tokprep.bench.dataloading import build_loader
from tokprep.dataloading import GPTDataset, WindowLoader, load_tokens
if kind == "tokprep-memmap":
    tokens = load_tokens(path)
    n = len(tokens)
else:
    ids = load_tokens(path).tolist()
    n = len(ids)
# Warm up on a small slice: lazy imports and allocator set-up are not the loader's cost.
warm = load_tokens(path)[:20_000]
warm_ids = warm if kind == "tokprep-memmap" else warm.tolist()
if kind == "tokprep-memmap":
    next(iter(WindowLoader(GPTDataset(warm_ids, max_length, stride), batch_size=batch_size)))
else:
    kw = dict(max_length=max_length, stride=stride, batch_size=batch_size)
    next(iter(build_loader(kind, warm_ids, **kw)))
before = rss()
start = time.perf_counter()
if kind == "tokprep-memmap":
    loader = WindowLoader(GPTDataset(tokens, max_length, stride), batch_size=batch_size)
else:
    loader = build_loader(kind, ids, max_length=max_length, stride=stride, batch_size=batch_size)
startup = time.perf_counter() - start
next(iter(loader))
after = rss()
print(json.dumps({"tokens": n, "growth_bytes": after - before, "startup_s": startup}))
"""


def memory_growth(
    kind: str,
    token_file: str | os.PathLike,
    *,
    max_length: int = 256,
    stride: int = 1,
    batch_size: int = 8,
) -> dict[str, float]:
    """RSS growth of building a loader (and taking its first batch) over a token file's IDs,
    in a fresh process, after a warm-up on a 20,000-token slice; `kind` is one of `LOADERS`
    or `"tokprep-memmap"` (the file mapped).

    Returns `growth_bytes`, `token_array_bytes` (8 x tokens), `ratio` and `startup_s`.
    """
    args = [str(token_file), str(max_length), str(stride), str(batch_size)]
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, kind, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement for {kind} failed:\n{done.stderr[-2000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    token_bytes = 8 * measured["tokens"]
    return {
        "tokens": float(measured["tokens"]),
        "growth_bytes": float(measured["growth_bytes"]),
        "token_array_bytes": float(token_bytes),
        "ratio": measured["growth_bytes"] / token_bytes,
        "startup_s": float(measured["startup_s"]),
    }


def prepare_throughput(
    paths: Sequence[str | os.PathLike],
    *,
    workers: Sequence[int] = (1, 2),
    chunk_bytes: int = 1 << 20,
    rounds: int = 2,
) -> dict[str, float]:
    """MB/s of `prepare` with each worker count, and of tiktoken's one-thread
    `encode_ordinary` on the same documents (read into memory first: encoding only).

    Returns `tiktoken_mb_per_s`, `prepare_{n}w_mb_per_s`, `prepare_{n}w_vs_tiktoken` and
    `prepare_{n}w_efficiency` (rate with n workers / (n x the one-worker rate)).
    """
    from tokprep.bpe import tiktoken_gpt2
    from tokprep.dataloading import prepare

    enc = tiktoken_gpt2()
    texts = [Path(p).read_text(encoding="utf-8") for p in paths]
    size = sum(len(t.encode()) for t in texts)
    result: dict[str, float] = {"input_mb": size / 1e6}
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            enc.encode_ordinary(text)
        best = min(best, time.perf_counter() - start)
    result["tiktoken_mb_per_s"] = size / 1e6 / best
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bench.bin"
        for n in workers:
            rate = max(
                prepare(paths, out, workers=n, chunk_bytes=chunk_bytes, progress=False).mb_per_s
                for _ in range(rounds)
            )
            result[f"prepare_{n}w_mb_per_s"] = rate
            result[f"prepare_{n}w_vs_tiktoken"] = rate / result["tiktoken_mb_per_s"]
    one = result.get("prepare_1w_mb_per_s")
    if one:
        for n in workers:
            result[f"prepare_{n}w_efficiency"] = result[f"prepare_{n}w_mb_per_s"] / (n * one)
    return result


def cuda_gather(
    token_ids: list[int],
    *,
    max_length: int = 1024,
    stride: int = 1024,
    batch_size: int = 32,
    batches: int = 200,
    device: str = "cuda",
) -> dict[str, float]:
    """Batches/s on `device` with the token array on the GPU (gather there) against a host
    gather into pinned memory plus a non_blocking copy, timed with CUDA events. Needs CUDA."""
    import numpy as np
    import torch

    from tokprep.dataloading import GPTDataset, WindowLoader

    if not torch.cuda.is_available():
        raise RuntimeError("cuda_gather needs a CUDA device")
    tokens = np.asarray(token_ids, dtype=np.uint16)
    result: dict[str, float] = {}
    for name, on_device in (("device_gather", True), ("host_gather_copy", False)):
        loader = WindowLoader(
            GPTDataset(tokens, max_length, stride),
            batch_size=batch_size,
            seed=0,
            drop_last=False,
            device=device,
            tokens_on_device=on_device,
            n_vocab=50257,
        )

        def epoch_of_batches(loader: WindowLoader = loader) -> None:
            done = 0
            while done < batches:
                for inputs, _targets in loader:
                    inputs.sum()  # something on the device that needs the batch
                    done += 1
                    if done >= batches:
                        break

        times = [timing.seconds(epoch_of_batches, device) for _ in range(3)]
        result[f"{name}_batches_per_s"] = batches / statistics.median(times)
    result["device_speedup"] = (
        result["device_gather_batches_per_s"] / result["host_gather_copy_batches_per_s"]
    )
    return result
