"""`GPTDataset`: sliding windows over one token array, computed on demand.

The textbook's `GPTDatasetV1` (Raschka, "Build a Large Language Model (From Scratch)", ch. 2)
slices every window out of the token list up front and keeps two tensors per window. For
`max_length=256, stride=1` that is 512 tensors' worth of copies of every token: gigabytes for a
megabyte of text. Here the windows are *views*: `tokens[:-1].unfold(0, L, stride)` is a
`(n_windows, L)` tensor that shares memory with `tokens`, row `i` starting at `i * stride`.
A batch is then one `index_select` per output tensor, straight into a fresh `(B, L)` tensor.

The windows are exactly the textbook's: starts `range(0, len(ids) - max_length, stride)`,
input `ids[i:i+L]`, target `ids[i+1:i+L+1]` (the next token at every position).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch.utils.data import Dataset

from tokprep.errors import ArgumentValueError, require_int

TokenArray = torch.Tensor | np.ndarray | Sequence[int] | os.PathLike

# Integer dtypes torch's index_select handles on the CPU; other numpy dtypes are converted.
_TORCH_OK = {np.dtype(t) for t in ("int64", "int32", "int16", "int8", "uint8", "uint16", "uint32")}


def as_token_tensor(token_ids: TokenArray) -> torch.Tensor:
    """A 1-D integer tensor over `token_ids`, sharing memory with a numpy array or memory map.

    A read-only memory map (`load_tokens`) stays on disk: nothing is copied, and tokprep never
    writes through the tensor. A Python list becomes an int64 tensor. A `pathlib.Path` (a token
    file, or a sharded output's manifest `NAME.json`) or a list of them (llm.c shards) is read
    with `load_tokens`; a str is not taken for a path (it would more likely be text).
    """
    if isinstance(token_ids, os.PathLike) or (
        isinstance(token_ids, list | tuple)
        and token_ids
        and all(isinstance(item, os.PathLike) for item in token_ids)
    ):
        from tokprep.dataloading.tokfile import load_tokens

        token_ids = load_tokens(token_ids)
    if isinstance(token_ids, torch.Tensor):
        tokens = token_ids
    elif isinstance(token_ids, np.ndarray):
        array = token_ids
        if array.dtype.kind not in "iu":
            raise TypeError(f"token_ids must hold integers, got a numpy array of {array.dtype}")
        if array.dtype not in _TORCH_OK:  # big-endian or uint64
            array = array.astype(np.int64)
        with warnings.catch_warnings():
            # torch warns that a read-only array gives a tensor it must not write to; we never do.
            warnings.simplefilter("ignore", UserWarning)
            tokens = torch.from_numpy(array)
    elif isinstance(token_ids, Sequence) and not isinstance(token_ids, str | bytes):
        ids = token_ids if isinstance(token_ids, list | tuple) else list(token_ids)
        require_ints("token_ids", ids)
        try:
            tokens = torch.tensor(ids, dtype=torch.long)
        except RuntimeError as e:  # an int beyond int64
            raise ArgumentValueError(f"token_ids: {e}; token IDs must fit in int64") from None
    else:
        raise TypeError(
            "token_ids must be a 1-D tensor, a numpy array, a memory map from load_tokens() or a "
            f"list of ints, got {type(token_ids).__name__}"
        )
    if tokens.dim() != 1:
        raise ArgumentValueError(
            f"token_ids must be 1-D (one long token stream), got shape {tuple(tokens.shape)}; "
            "flatten it, or concatenate the documents."
        )
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise TypeError(f"token_ids must hold integers, got a tensor of {tokens.dtype}")
    return tokens


def require_ints(name: str, values: Sequence[Any]) -> None:
    """Raise `TypeError` unless every item of the list `values` is an int (numpy integers too).

    `torch.tensor(values, dtype=torch.long)` and `np.asarray(values, dtype=np.int64)` would
    silently truncate 2.7 to 2 and take True as 1. Nested lists pass, for the shape check.
    """
    if set(map(type, values)) <= {int}:  # the common case, checked in C
        return
    for position, value in enumerate(values):
        if isinstance(value, bool | np.bool_) or not (
            hasattr(value, "__index__") or isinstance(value, list | tuple)
        ):
            raise TypeError(
                f"{name} must hold ints, got {type(value).__name__} {value!r} at position "
                f"{position}; floats and bools are not truncated to IDs"
            )


def check_token_range(tokens: torch.Tensor, n_vocab: int | None) -> None:
    """Raise `ArgumentValueError` if any ID is negative or (given `n_vocab`) >= n_vocab.

    One pass over the tokens; run it on the host before tokens reach a GPU, where a bad ID in
    an embedding lookup is a device-side assert that kills the CUDA context.
    """
    if tokens.numel() == 0:
        return
    # numpy on the host: torch has no min/max for uint16/uint32 tensors.
    values = tokens.numpy() if tokens.device.type == "cpu" else tokens.long()
    if tokens.dtype.is_signed:
        low = int(values.min())
        if low < 0:
            raise ArgumentValueError(
                f"token ID {low} at position {int((values < 0).nonzero()[0][0])} is negative; "
                "token IDs are indices into the vocabulary, 0..n_vocab-1."
            )
    if n_vocab is not None:
        high = int(values.max())
        if high >= n_vocab:
            position = int((values >= n_vocab).nonzero()[0][0])
            raise ArgumentValueError(
                f"token ID {high} (first bad one at position {position}) is >= n_vocab={n_vocab}; "
                "the tokens were made by another tokenizer, or n_vocab is wrong."
            )


def _integer_dtype(dtype: np.dtype | torch.dtype) -> bool:
    """An integer dtype, numpy's or torch's (bool is not one here)."""
    if isinstance(dtype, torch.dtype):
        return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)
    return np.dtype(dtype).kind in "iu"


class _Views(NamedTuple):
    """Windows as views of the tokens: (n, L) inputs and targets, (n, L+1) both; the same as
    numpy arrays when the tokens live in host memory."""

    inputs: torch.Tensor
    targets: torch.Tensor
    windows: torch.Tensor
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None


class GPTDataset(Dataset):
    """Next-token windows over one 1-D token array, computed on demand (memory ~ the array).

    `dataset[i]` is `(inputs, targets)`, two `torch.long` tensors of `max_length` IDs, with
    `targets` shifted one token right; `len(dataset)` is `ceil((len(ids) - max_length) / stride)`.
    `dataset.batch(indices)` builds a whole batch with one gather per tensor, and
    `__getitems__` lets a plain torch `DataLoader` use it.
    """

    def __init__(self, token_ids: TokenArray, max_length: int, stride: int) -> None:
        self.max_length = require_int(
            "max_length", max_length, minimum=1, hint="It is the window (context) length."
        )
        self.stride = require_int(
            "stride",
            stride,
            minimum=1,
            hint="It is the step between window starts: stride=max_length gives no overlap.",
        )
        self.tokens = as_token_tensor(token_ids)
        n = self.tokens.numel()
        if n < self.max_length + 1:
            raise ArgumentValueError(
                f"the text has {n:,} tokens, fewer than max_length + 1 = {self.max_length + 1:,} "
                "needed for one window and its shifted target; use a longer text or "
                f"max_length <= {max(n - 1, 0):,}."
            )
        self._strided = self._views(self.stride)

    def _views(self, stride: int) -> _Views:
        # Views only: unfold(0, L, s) of a length-m array has (m - L) // s + 1 rows, and with
        # m = n - 1 that equals len(range(0, n - L, s)), the textbook's window count.
        length = self.max_length
        arrays = None
        if self.tokens.device.type == "cpu":
            # numpy's fancy indexing over a strided window view is the fastest CPU gather
            # (about 2x torch.index_select on random rows, measured on 2 cores).
            array = self.tokens.numpy()
            arrays = (
                sliding_window_view(array[:-1], length)[::stride],
                sliding_window_view(array[1:], length)[::stride],
                sliding_window_view(array, length + 1)[::stride],
            )
        return _Views(
            self.tokens[:-1].unfold(0, length, stride),
            self.tokens[1:].unfold(0, length, stride),
            self.tokens.unfold(0, length + 1, stride),
            arrays,
        )

    def __len__(self) -> int:
        return self._strided.inputs.shape[0]

    def __getitem__(
        self, index: int | Sequence[int] | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`dataset[i]`: window i as two `(max_length,)` tensors; `dataset[[i, j, ...]]`: those
        windows as a batch, two `(B, max_length)` tensors (what `batch` returns)."""
        if isinstance(index, torch.Tensor | np.ndarray) and index.ndim == 0:
            index = int(index.item()) if _integer_dtype(index.dtype) else index  # else refused
        if isinstance(index, Sequence | torch.Tensor | np.ndarray) and not isinstance(
            index, str | bytes
        ):
            return self.batch(index)
        n = len(self)
        index = require_int("index", index)
        if not -n <= index < n:
            raise IndexError(f"window index {index} is out of range for {n} windows")
        index %= n
        # Copies, like the textbook's tensors: callers may modify them, and a memory-mapped
        # token file must never be written through.
        return (
            self._strided.inputs[index].to(torch.long, copy=True),
            self._strided.targets[index].to(torch.long, copy=True),
        )

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """What a torch `DataLoader` calls for a batch: one gather, then per-window rows for its
        `collate_fn` (the default one stacks them back into the same two tensors)."""
        inputs, targets = self.batch(indices)
        return list(zip(inputs.unbind(0), targets.unbind(0), strict=True))

    def batch(
        self, indices: Sequence[int] | torch.Tensor, *, pin_memory: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows `indices` as `(inputs, targets)`, each a contiguous `(B, max_length)` long
        tensor built by one `index_select` (into pinned memory with `pin_memory=True`)."""
        if isinstance(indices, torch.Tensor | np.ndarray):
            if not _integer_dtype(indices.dtype):
                raise TypeError(
                    f"window indices must be integers, got a {type(indices).__name__} of "
                    f"{indices.dtype}; floats and bools are not truncated to indices"
                )
            if isinstance(indices, torch.Tensor):
                index: np.ndarray | torch.Tensor = indices.to(self.tokens.device, torch.long)
            else:
                index = indices.astype(np.int64, copy=False)
        elif isinstance(indices, Sequence) and not isinstance(indices, str | bytes):
            require_ints("window indices", indices)
            index = np.asarray(indices, dtype=np.int64)
        else:
            raise TypeError(
                "indices must be a list, numpy array or tensor of window indices, got "
                f"{type(indices).__name__}"
            )
        if index.ndim != 1:
            raise ArgumentValueError(f"indices must be 1-D, got shape {tuple(index.shape)}")
        n = len(self)
        if len(index) and (int(index.min()) < 0 or int(index.max()) >= n):
            raise IndexError(f"window indices must be in 0..{n - 1}, got {index.tolist()[:8]}")
        return self._gather(self._strided, index, pin_memory)

    def random_batch(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        pin_memory: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`batch_size` windows at independent uniform offsets, ignoring the stride.

        nanoGPT's `get_batch`: `torch.randint(len(tokens) - max_length, (batch_size,))` draws
        the starts (from torch's global RNG unless `generator` is given), so the same seed gives
        nanoGPT's batch.
        """
        batch_size = require_int("batch_size", batch_size, minimum=1)
        high = self.tokens.numel() - self.max_length
        starts = torch.randint(high, (batch_size,), generator=generator)
        return self._gather(self._views(1), starts.to(self.tokens.device), pin_memory)

    def _gather(
        self, views: _Views, index: np.ndarray | torch.Tensor, pin_memory: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # `index`: valid int64 window indices (checked by the caller), numpy or torch.
        wide = self.tokens.dtype == torch.long
        if views.arrays is not None and not pin_memory:
            rows = index.numpy() if isinstance(index, torch.Tensor) else index
            inputs, targets, windows = views.arrays
            if wide:  # each fancy index is one gather straight into a new contiguous array
                return torch.from_numpy(inputs[rows]), torch.from_numpy(targets[rows])
            both = windows[rows]  # narrow IDs (uint16 token file): gather L+1 once, widen twice
            return (
                torch.from_numpy(both[:, :-1].astype(np.int64)),
                torch.from_numpy(both[:, 1:].astype(np.int64)),
            )
        index = torch.as_tensor(index, dtype=torch.long, device=self.tokens.device)
        shape = (index.numel(), self.max_length)
        pin = pin_memory and self.tokens.device.type == "cpu"
        x = torch.empty(shape, dtype=torch.long, device=self.tokens.device, pin_memory=pin)
        y = torch.empty(shape, dtype=torch.long, device=self.tokens.device, pin_memory=pin)
        if wide:
            # Advanced indexing (inputs[index]) on an unfold view is ~200x slower here.
            torch.index_select(views.inputs, 0, index, out=x)
            torch.index_select(views.targets, 0, index, out=y)
        else:
            both = torch.index_select(views.windows, 0, index)
            x.copy_(both[:, :-1])
            y.copy_(both[:, 1:])
        return x, y

    def __repr__(self) -> str:
        return (
            f"GPTDataset({self.tokens.numel():,} tokens of {self.tokens.dtype}, "
            f"max_length={self.max_length}, stride={self.stride}, {len(self):,} windows)"
        )
