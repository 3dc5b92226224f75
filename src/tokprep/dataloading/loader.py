"""`WindowLoader` and `create_dataloader`: batches of windows, one gather per tensor.

A torch `DataLoader` asks the dataset for each window, then `collate_fn` stacks them: two
Python calls and two small copies per window. `WindowLoader` computes the epoch's window order
once (a permutation tensor) and builds each batch with `GPTDataset.batch`, an `index_select`
into a fresh `(B, L)` tensor. The order is the one torch would use:

- `shuffle=False`: windows 0, 1, 2, ... (the textbook's order);
- `shuffle=True, seed=None`: `RandomSampler`'s draw from torch's global RNG, including the
  `DataLoader`'s own base-seed draw before it, so after `torch.manual_seed(123)` the batches
  (and the global RNG afterwards) equal the textbook's `create_dataloader_v1`;
- `shuffle=True, seed=s`: `randperm` from a generator seeded with `s + epoch`
  (`DistributedSampler`'s rule), the same on every run and rank; change epochs with
  `set_epoch()`. The global RNG is not touched.

Sharding (`rank`, `world_size`) follows `DistributedSampler`: rank r takes every
`world_size`-th window of the order, starting at r; every rank gets the same number of
batches, the remainder dropped with `drop_last` or padded by wrapping around.

`state_dict()` records the epoch, the batches yielded so far and the permutation seed;
`load_state_dict()` makes the next iteration yield exactly the batches that were left.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from tokprep.errors import ArgumentValueError, require_bool, require_int
from tokprep.resolve import Tokenizer, load_tokenizer

from .dataset import GPTDataset, TokenArray, check_token_range

Batch = tuple[torch.Tensor, torch.Tensor]
STATE_VERSION = 1


def _accelerator_available() -> bool:
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and hasattr(accelerator, "is_available"):
        return bool(accelerator.is_available())
    return torch.cuda.is_available()


def _usable_device(device: str | torch.device | int | None) -> torch.device | None:
    """`device` as a torch.device, checked now: a loader built for `"cuda"` on a machine
    without CUDA fails here, naming the device, not at the first batch."""
    if device is None:
        return None
    if isinstance(device, bool) or not isinstance(device, str | torch.device | int):
        raise TypeError(
            f"device must be a str such as 'cuda' or 'cpu', a torch.device or None, "
            f"got {type(device).__name__} {device!r}"
        )
    try:
        parsed = torch.device(device)
    except RuntimeError as e:
        raise ArgumentValueError(f"device={device!r} is not a torch device: {e}") from None
    if parsed.type == "cpu":
        return parsed
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ArgumentValueError(
            f"device={device!r}, but CUDA is not available (torch {torch.__version__}, "
            f"built {'with' if torch.backends.cuda.is_built() else 'without'} CUDA, "
            "sees no GPU); use device='cpu' or None, or install a CUDA build of torch"
        )
    try:
        torch.empty(1, device=parsed)  # the device exists and this torch can use it
    except (RuntimeError, AssertionError) as e:  # torch raises both for missing backends
        raise ArgumentValueError(
            f"device={device!r} cannot be used here ({e}); pick an available device"
        ) from None
    return parsed


class _BatchFetcher(torch.utils.data.Dataset):
    """Lets torch's DataLoader workers run `GPTDataset.batch` for whole batches."""

    def __init__(self, dataset: GPTDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Batch:
        return self.dataset[index]

    def __getitems__(self, indices: list[int]) -> Batch:
        return self.dataset.batch(indices)


def _as_is(batch: Any) -> Any:
    # torch types collate_fn as taking a list of samples; `__getitems__` hands it a whole Batch.
    return batch


class WindowLoader:
    """Batches `(inputs, targets)` of `dataset`'s windows, each `(B, max_length)` `torch.long`.

    Iterable (one epoch per `iter()`), with `len()` = batches per epoch on this rank.
    `device="cuda"` keeps the token array on the GPU and gathers there (IDs are range-checked
    on the host first); `tokens_on_device=False` gathers on the host into pinned memory and
    copies each batch with `non_blocking=True` instead. `num_workers > 0` builds batches in
    torch DataLoader worker processes (one gather per batch there too).
    """

    def __init__(
        self,
        dataset: GPTDataset,
        *,
        batch_size: int = 4,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int | None = None,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        pin_memory: bool = False,
        device: str | torch.device | None = None,
        tokens_on_device: bool = True,
        n_vocab: int | None = None,
    ) -> None:
        if not isinstance(dataset, GPTDataset):
            raise TypeError(f"dataset must be a GPTDataset, got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = require_int("batch_size", batch_size, minimum=1)
        self.shuffle = require_bool("shuffle", shuffle)  # "no" would shuffle
        self.drop_last = require_bool("drop_last", drop_last)
        tokens_on_device = require_bool("tokens_on_device", tokens_on_device)
        self.seed = None if seed is None else require_int("seed", seed)
        self.world_size = require_int("world_size", world_size, minimum=1)
        self.rank = require_int("rank", rank, minimum=0)
        if self.rank >= self.world_size:
            raise ArgumentValueError(
                f"rank={rank} must be < world_size={world_size}; ranks count 0..{world_size - 1}."
            )
        if self.shuffle and self.seed is None and self.world_size > 1:
            raise ArgumentValueError(
                f"shuffle=True with world_size={world_size} needs seed=<int>, so that every rank "
                "draws the same permutation (torch's global RNG differs between processes)."
            )
        self.num_workers = require_int("num_workers", num_workers, minimum=0)
        if n_vocab is not None:
            n_vocab = require_int("n_vocab", n_vocab, minimum=1)
        check_token_range(dataset.tokens, n_vocab)  # once, on the host, before any GPU copy

        self.device = _usable_device(device)
        on_accelerator = self.device is not None and self.device.type != "cpu"
        self.pin_memory = require_bool("pin_memory", pin_memory) or (
            on_accelerator and not tokens_on_device
        )
        if self.pin_memory and not _accelerator_available():
            warnings.warn(
                "pin_memory=True but no accelerator is available; batches stay in pageable memory.",
                stacklevel=2,
            )
            self.pin_memory = False
        self._source = dataset
        if on_accelerator and tokens_on_device:
            tokens = dataset.tokens
            if tokens.dtype not in (torch.int32, torch.int64):
                # Narrow unsigned IDs are widened on the host: int32 holds every checked ID of a
                # vocabulary under 2**31 and halves the GPU copy of int64.
                wide = torch.int32 if (n_vocab or 2**32) <= 2**31 else torch.int64
                tokens = tokens.to(wide)
            self._source = GPTDataset(tokens.to(self.device), dataset.max_length, dataset.stride)

        n = len(dataset)
        if self.world_size > 1 and self.drop_last:
            self.per_rank = n // self.world_size
        else:
            self.per_rank = math.ceil(n / self.world_size)
        if self.drop_last:
            self._len = self.per_rank // self.batch_size
        else:
            self._len = math.ceil(self.per_rank / self.batch_size)
        if self._len == 0:
            per = f" per rank ({n:,} windows over world_size={self.world_size})" * (
                self.world_size > 1
            )
            raise ArgumentValueError(
                f"the loader would yield no batch: {self.per_rank:,} windows{per} "
                f"(from {dataset.tokens.numel():,} tokens, max_length={dataset.max_length}, "
                f"stride={dataset.stride}) and batch_size={self.batch_size} with drop_last=True. "
                f"Use batch_size <= {max(self.per_rank, 1)}, a smaller stride, a longer text, or "
                "drop_last=False."
            )
        self.epoch = 0
        self._yielded = 0
        self._perm_seed: int | None = None
        self._resume: dict[str, Any] | None = None

    # --- the epoch's order ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch of the next iteration (with `seed`: the order of seed + epoch)."""
        self.epoch = require_int("epoch", epoch, minimum=0)
        self._yielded = 0
        self._perm_seed = None
        self._resume = None

    def order(self, perm_seed: int | None = None) -> torch.Tensor:
        """This rank's window indices for one epoch, in the order they are batched."""
        n = len(self.dataset)
        # int32 halves the order's memory (at stride 1 it has one entry per token); randperm
        # draws the same permutation whatever the dtype (checked by the tests).
        dtype = torch.int32 if n < 2**31 else torch.int64
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self._epoch_seed() if perm_seed is None else perm_seed)
            order = torch.randperm(n, generator=generator, dtype=dtype)
        else:
            order = torch.arange(n, dtype=dtype)
        if self.world_size > 1:
            total = self.per_rank * self.world_size
            if total > n:  # pad by wrapping around, as DistributedSampler does
                order = order.repeat(math.ceil(total / n))
            order = order[:total][self.rank :: self.world_size]
        return order

    def _epoch_seed(self) -> int:
        if self.seed is not None:
            return self.seed + self.epoch
        # RandomSampler.__iter__: a seed from the global RNG, then a fresh generator.
        return int(torch.empty((), dtype=torch.int64).random_().item())

    # --- iteration ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Batch]:
        resume, self._resume = self._resume, None
        if resume is not None:
            return self._epoch(resume["batches"], resume["perm_seed"])
        if self.seed is None:
            # DataLoader's iterator draws its workers' base seed from the global RNG first
            # (even with shuffle=False); drawing it too keeps the RNG stream the textbook's.
            torch.empty((), dtype=torch.int64).random_()
        # RandomSampler draws at the first next(); drawing here, right after, gives the same
        # numbers and lets state_dict() name this epoch's order before any batch is taken.
        perm_seed = self._epoch_seed() if self.shuffle else None
        self._perm_seed = perm_seed
        self._yielded = 0
        return self._epoch(0, perm_seed)

    def _epoch(self, skip: int, perm_seed: int | None) -> Iterator[Batch]:
        self._perm_seed = perm_seed
        self._yielded = skip
        order = self.order(perm_seed).numpy()  # numpy slices are cheaper than tensor ones
        size = self.batch_size
        batches = (order[b * size : (b + 1) * size] for b in range(skip, self._len))
        if self.num_workers > 0:
            produced: Iterator[Batch] = iter(self._worker_loader(list(batches)))
        else:
            produced = (self._fetch(index) for index in batches)
        for number, (inputs, targets) in enumerate(produced, start=skip + 1):
            if self.device is not None and inputs.device != self.device:
                inputs = inputs.to(self.device, non_blocking=self.pin_memory)
                targets = targets.to(self.device, non_blocking=self.pin_memory)
            self._yielded = number
            yield inputs, targets

    def _fetch(self, index: np.ndarray) -> Batch:
        return self._source._gather(self._source._strided, index, self.pin_memory)

    def _worker_loader(self, batches: list[np.ndarray]) -> torch.utils.data.DataLoader:
        # A private generator: the DataLoader's base-seed draw must not touch the global RNG.
        return torch.utils.data.DataLoader(
            _BatchFetcher(self.dataset),
            batch_sampler=[b.tolist() for b in batches],
            num_workers=self.num_workers,
            collate_fn=_as_is,
            pin_memory=self.pin_memory,
            generator=torch.Generator(),
        )

    def random_batch(self, *, generator: torch.Generator | None = None) -> Batch:
        """One batch of `batch_size` windows at iid uniform offsets (nanoGPT's `get_batch`),
        on this loader's device."""
        inputs, targets = self._source.random_batch(
            self.batch_size, generator=generator, pin_memory=self.pin_memory
        )
        if self.device is not None and inputs.device != self.device:
            inputs = inputs.to(self.device, non_blocking=self.pin_memory)
            targets = targets.to(self.device, non_blocking=self.pin_memory)
        return inputs, targets

    # --- resuming -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Where the current epoch stands; `load_state_dict` it to get the remaining batches."""
        return {
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "batches": self._yielded,
            "perm_seed": self._perm_seed,
            "windows": len(self.dataset),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "seed": self.seed,
            "rank": self.rank,
            "world_size": self.world_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume: the next iteration yields the batches after `state["batches"]` of its epoch."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from state_dict(), got {type(state).__name__}")
        if state.get("version") != STATE_VERSION:
            raise ArgumentValueError(
                f"loader state version {state.get('version')!r}; this tokprep reads "
                f"version {STATE_VERSION}."
            )
        mine = self.state_dict()
        for key in ("windows", "batch_size", "shuffle", "drop_last", "seed", "rank", "world_size"):
            if state.get(key) != mine[key]:
                raise ArgumentValueError(
                    f"the saved loader state has {key}={state.get(key)!r} but this loader has "
                    f"{key}={mine[key]!r}; resume with the same data and options."
                )
        batches = require_int("batches", state["batches"], minimum=0)
        if batches > self._len:
            raise ArgumentValueError(
                f"the saved state has {batches} batches yielded, more than the {self._len} of an "
                "epoch; it belongs to another loader."
            )
        perm_seed = state.get("perm_seed")
        if self.shuffle and perm_seed is None and batches:
            raise ArgumentValueError("the saved state lacks the permutation seed of its epoch.")
        self.epoch = require_int("epoch", state["epoch"], minimum=0)
        self._yielded = batches
        self._perm_seed = perm_seed
        self._resume = {"batches": batches, "perm_seed": perm_seed}

    def __repr__(self) -> str:
        return (
            f"WindowLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)"
        )


def create_dataloader(
    txt: str,
    batch_size: int = 4,
    max_length: int = 256,
    stride: int = 128,
    shuffle: bool = True,
    drop_last: bool = True,
    num_workers: int = 0,
    *,
    tokenizer: str | Tokenizer = "gpt2",
    allowed_special: Any = frozenset({"<|endoftext|>"}),
    seed: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    device: str | torch.device | None = None,
    tokens_on_device: bool = True,
) -> WindowLoader:
    """A drop-in for the textbook's `create_dataloader_v1(txt, ...)`: same arguments, defaults
    and batches, returned as a `WindowLoader`.

    Like the textbook, the text is encoded with `tokenizer.encode(txt,
    allowed_special={"<|endoftext|>"})`: a literal "<|endoftext|>" in `txt` becomes the single
    end-of-text ID (GPT-2: 50256), so documents can be joined with it; any other special token
    spelled in the text raises. Pass `allowed_special=set()` to encode it as ordinary text.
    """
    if not isinstance(txt, str):
        raise TypeError(f"txt must be a str, got {type(txt).__name__}")
    tok = load_tokenizer(tokenizer)
    if allowed_special and hasattr(tok, "encode"):
        ids = tok.encode(txt, allowed_special=allowed_special)
    else:
        ids = tok.encode_ordinary(txt)
    dataset = GPTDataset(ids, max_length, stride)
    return WindowLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        seed=seed,
        rank=rank,
        world_size=world_size,
        num_workers=num_workers,
        pin_memory=pin_memory,
        device=device,
        tokens_on_device=tokens_on_device,
        n_vocab=int(tok.n_vocab),
    )


def torch_dataloader(
    dataset: GPTDataset,
    batch_size: int = 4,
    shuffle: bool = True,
    drop_last: bool = True,
    **options: Any,
) -> torch.utils.data.DataLoader:
    """A plain torch `DataLoader` that fetches whole batches from `dataset` (one gather each,
    no per-window collation): `batch_size=None` with a `BatchSampler` as its sampler.

    Its batches equal `DataLoader(dataset, batch_size, shuffle, drop_last=...)`'s for the same
    global RNG state; `options` go to `DataLoader` (num_workers, pin_memory, ...).
    """
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

    if not isinstance(dataset, GPTDataset):
        raise TypeError(f"dataset must be a GPTDataset, got {type(dataset).__name__}")
    batch_size = require_int("batch_size", batch_size, minimum=1)
    order = (
        RandomSampler(dataset) if require_bool("shuffle", shuffle) else SequentialSampler(dataset)
    )
    sampler = BatchSampler(order, batch_size, require_bool("drop_last", drop_last))
    return DataLoader(dataset, batch_size=None, sampler=sampler, **options)


def loader_from_tokens(
    token_ids: TokenArray,
    *,
    max_length: int,
    stride: int,
    batch_size: int,
    **options: Any,
) -> WindowLoader:
    """`WindowLoader(GPTDataset(token_ids, max_length, stride), batch_size=..., **options)`,
    e.g. over `load_tokens("train.bin")`."""
    return WindowLoader(GPTDataset(token_ids, max_length, stride), batch_size=batch_size, **options)
