"""Token files on disk and sliding-window datasets / loaders.

    prepare(files, "train.bin")        corpus -> llm.c token file (+ manifest), streamed
    prepare(files, "fw", shard_tokens=10**8, engine="ray")    llm.c shards, on Ray
    merge("fw")                        assemble a `tasks` run's parts, or verify an output
    load_tokens("train.bin")           a checked, read-only memory map of the tokens
    GPTDataset(ids, max_length, stride)    the textbook's windows, computed on demand
    create_dataloader(txt, ...)        drop-in for the textbook's create_dataloader_v1
    WindowLoader(dataset, ...)         batches by one gather; seed/epoch, resume, sharding
    torch_dataloader(dataset, ...)     a plain torch DataLoader fetching whole batches

The token-file half (`prepare`, `load_tokens`, ...) needs numpy only; the dataset and loader
import torch when first used, so `import tokprep.dataloading` (and the CLI) stays torch-free.
"""

from __future__ import annotations

import importlib
from typing import Any

from tokprep.dataloading.parts import merge, verify
from tokprep.dataloading.prepare import (
    PrepareResult,
    end_of_text_id,
    prepare,
    safe_chunks,
    validation_path,
)
from tokprep.dataloading.tokfile import (
    TokenFileHeader,
    load_tokens,
    make_header,
    read_header,
    read_manifest,
)

_TORCH_NAMES = {
    "GPTDataset": "tokprep.dataloading.dataset",
    "as_token_tensor": "tokprep.dataloading.dataset",
    "check_token_range": "tokprep.dataloading.dataset",
    "WindowLoader": "tokprep.dataloading.loader",
    "create_dataloader": "tokprep.dataloading.loader",
    "loader_from_tokens": "tokprep.dataloading.loader",
    "torch_dataloader": "tokprep.dataloading.loader",
}

__all__ = [
    "GPTDataset",
    "PrepareResult",
    "TokenFileHeader",
    "WindowLoader",
    "as_token_tensor",
    "check_token_range",
    "create_dataloader",
    "end_of_text_id",
    "load_tokens",
    "loader_from_tokens",
    "make_header",
    "merge",
    "prepare",
    "read_header",
    "read_manifest",
    "safe_chunks",
    "torch_dataloader",
    "validation_path",
    "verify",
]


def __getattr__(name: str) -> Any:
    # The torch half is imported on first use (PEP 562).
    if name in _TORCH_NAMES:
        from tokprep.optional import require_torch

        require_torch(f"tokprep.dataloading.{name}")  # names the extra if torch is missing
        return getattr(importlib.import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module 'tokprep.dataloading' has no attribute {name!r}")
