"""Token and positional embeddings: the last step before the transformer blocks.

A token embedding is a table with one learned row per vocabulary entry; looking up a row is the
same as multiplying a one-hot vector by the table, only cheaper. The table knows *what* a token
is but not *where* it stands, so a positional embedding is added, one row per position:

    x = tok_emb(ids) + pos_emb(arange(T))          # (B, T, emb_dim)

GPT-2 learns the position rows (`positional="learned"`); the original Transformer used fixed
sines and cosines (`"sinusoidal"`); models with rotary positions add nothing here (`"none"`) and
rotate queries and keys inside attention instead (see `apply_rope`).

Facts from "Build a Large Language Model (From Scratch)" (Raschka, ch. 2), GPT-2 (Radford et
al., 2019) and "Attention Is All You Need" (Vaswani et al., 2017, section 3.5).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

from tokprep.errors import ArgumentValueError, require_bool, require_int

Positional = Literal["learned", "sinusoidal", "none"]
POSITIONAL_KINDS: tuple[str, ...] = ("learned", "sinusoidal", "none")

# Token files store IDs in the narrowest type that fits (uint16 for GPT-2); nn.Embedding accepts
# only int32 and int64, so these are widened to int64 before the lookup.
_WIDENED = (torch.uint8, torch.int8, torch.int16, torch.uint16, torch.uint32)
_ACCEPTED = (torch.int64, torch.int32)


def as_index_tensor(ids: Any, *, name: str = "ids") -> torch.Tensor:
    """Return `ids` as a tensor nn.Embedding accepts: int64/int32 as they are, narrower or
    unsigned integer types widened to int64. Float, bool or complex values raise `TypeError`:
    an ID picks a row, and 2.0 or True is almost always a bug upstream, not an ID."""
    if not isinstance(ids, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of integer token IDs, got {type(ids).__name__}; "
            "convert with torch.as_tensor(ids)"
        )
    if ids.dtype in _ACCEPTED:
        return ids
    if ids.dtype in _WIDENED:
        return ids.long()
    if ids.dtype == torch.bool:
        hint = "a bool tensor looks like a mask, not token IDs"
    elif ids.dtype == torch.uint64:
        hint = "convert with ids.to(torch.int64) (IDs never need 64 unsigned bits)"
    else:
        hint = "convert with ids.long() if they hold whole numbers"
    raise TypeError(f"{name} must hold integer token IDs, got dtype {ids.dtype}: {hint}")


def check_ids(ids: torch.Tensor, vocab_size: int, *, name: str = "ids") -> None:
    """Raise `ArgumentValueError` unless every entry of the integer tensor `ids` is in
    `[0, vocab_size)`; the message names the first bad ID, where it is and the vocabulary size.

    The happy path is one fused min/max reduction and, on CUDA, one device-to-host copy of the
    two numbers (a sync). Only when that finds a bad value is the tensor searched for the first
    offending position, so the message can point at it.
    """
    _check_range(
        ids,
        vocab_size,
        name=name,
        noun="token ID",
        table=f"the vocabulary of {vocab_size:,} tokens",
        fix="vocab_size must be the tokenizer's n_vocab (50257 for GPT-2): build the layer with "
        "vocab_size=tokenizer.n_vocab, or check that the IDs came from that tokenizer",
    )


def _check_range(
    values: torch.Tensor, limit: int, *, name: str, noun: str, table: str, fix: str
) -> None:
    if values.numel() == 0:
        return
    if values.device.type == "meta":
        raise ArgumentValueError(
            f"{name} are on the meta device, which holds shapes but no values, so the {noun}s "
            f"cannot be checked against {table}: move {name} to a real device, or pass "
            "validate=False for a shape-only (meta) run"
        )
    low, high = torch.aminmax(values)
    low, high = torch.stack((low, high)).tolist()  # one sync on CUDA for both numbers
    if low >= 0 and high < limit:
        return
    bad = (values < 0) | (values >= limit)
    count = int(bad.sum())
    first = int(bad.flatten().nonzero()[0])
    value = int(values.flatten()[first])
    where = []
    for size in reversed(values.shape):  # flat index -> (b, t); torch.unravel_index needs 2.2
        first, rest = divmod(first, size)
        where.append(rest)
    index = ", ".join(map(str, reversed(where)))
    others = f"; {count:,} entries of {name} are out of range" if count > 1 else ""
    raise ArgumentValueError(
        f"{noun} {value} at {name}[{index}] is outside {table} "
        f"(valid: 0..{limit - 1}){others}. {fix}"
    )


def sinusoidal_table(context_length: int, emb_dim: int) -> torch.Tensor:
    """The original Transformer's fixed position codes, shape (context_length, emb_dim):
    `PE[pos, 2i] = sin(pos / 10000^(2i/d))`, `PE[pos, 2i+1] = cos(pos / 10000^(2i/d))`.

    Each pair of dimensions is a clock turning at its own speed, from one turn per 2*pi
    positions (i = 0) to one per 10000 * 2*pi; nearby positions get similar codes. Computed
    in float64 and returned in float32, so every entry is the formula to float32 rounding.
    """
    context_length = require_int("context_length", context_length, minimum=1)
    emb_dim = require_int("emb_dim", emb_dim, minimum=1)
    pos = torch.arange(context_length, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, emb_dim, 2, dtype=torch.float64)  # 2i for every pair
    angles = pos * torch.exp(two_i * (-math.log(10000.0) / emb_dim))
    table = torch.empty(context_length, emb_dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : emb_dim // 2])  # an odd emb_dim ends on a sine
    return table.float()


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sine/cosine position codes, called like the textbook's positional layer:
    `pe(torch.arange(T))` returns (T, emb_dim). Nothing is learned; the table is a buffer, so it
    follows `.to(device)` and `.half()` but is not saved in the state dict.
    """

    table: torch.Tensor

    def __init__(self, context_length: int, emb_dim: int, *, validate: bool = True) -> None:
        super().__init__()
        self.context_length = require_int("context_length", context_length, minimum=1)
        self.emb_dim = require_int("emb_dim", emb_dim, minimum=1)
        self.validate = require_bool("validate", validate)
        table = sinusoidal_table(self.context_length, self.emb_dim)
        self.register_buffer("table", table.to(torch.get_default_dtype()), persistent=False)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """Rows of the table for integer `positions` of any shape: (*positions.shape, emb_dim)."""
        positions = as_index_tensor(positions, name="positions")
        if self.validate:
            _check_range(
                positions,
                self.context_length,
                name="positions",
                noun="position",
                table=f"the table of {self.context_length:,} positions (context_length)",
                fix="Build the layer with a larger context_length for longer inputs",
            )
        return self.table[positions]

    def extra_repr(self) -> str:
        return f"context_length={self.context_length}, emb_dim={self.emb_dim}"


class GPTEmbedding(nn.Module):
    """Token embedding plus positional embedding, the input layer of GPT-2.

    `forward(ids)` takes IDs of shape (B, T) or (T,) and returns (B, T, emb_dim) or
    (T, emb_dim). Unlike a bare `nn.Embedding`, whose bad IDs give `IndexError: index out of
    range in self` on the CPU and a device-side assert on CUDA, it checks first and names the
    bad ID, its position and the vocabulary size.

    - `positional`: `"learned"` (GPT-2, a second `nn.Embedding`), `"sinusoidal"` (fixed, the
      original Transformer) or `"none"` (for rotary positions, applied inside attention).
    - `dropout`: applied to the sum, as GPT-2 does (0.0 = off; inactive in `eval()` mode).
    - `validate`: check the ID range on every call (default). The check is one min/max pass;
      on CUDA it also costs one device-to-host sync per forward, so loops whose IDs were
      already checked on the host (tokprep's loader does) may turn it off. Dtype, shape and
      length are always checked: they are known on the host and cost nothing.

    The token table is created before the positional table, both with PyTorch's default
    initialisation (N(0, 1)), so a seeded run draws the same numbers as the textbook's code.
    Parameters are named `tok_emb.weight` and `pos_emb.weight`, as in the textbook's GPTModel.
    """

    def __init__(
        self,
        vocab_size: int,
        emb_dim: int,
        context_length: int,
        *,
        positional: Positional = "learned",
        dropout: float = 0.0,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.vocab_size = require_int(
            "vocab_size", vocab_size, minimum=1, hint="Use the tokenizer's n_vocab."
        )
        self.emb_dim = require_int("emb_dim", emb_dim, minimum=1)
        self.context_length = require_int("context_length", context_length, minimum=1)
        if not isinstance(positional, str):
            raise TypeError(f"positional must be a str, got {type(positional).__name__}")
        if positional not in POSITIONAL_KINDS:
            raise ArgumentValueError(
                f"positional must be one of {', '.join(map(repr, POSITIONAL_KINDS))}, "
                f"got {positional!r}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, int | float):
            raise TypeError(f"dropout must be a float, got {type(dropout).__name__}")
        if not 0.0 <= dropout <= 1.0:
            raise ArgumentValueError(
                f"dropout is a probability and must be in [0, 1], got {dropout}"
            )
        self.positional = positional
        self.validate = require_bool("validate", validate)
        # Order matters: the token table draws its random numbers first (textbook order).
        self.tok_emb = nn.Embedding(self.vocab_size, self.emb_dim)
        self.pos_emb: nn.Module | None
        if positional == "learned":
            self.pos_emb = nn.Embedding(self.context_length, self.emb_dim)
        elif positional == "sinusoidal":
            self.pos_emb = SinusoidalPositionalEncoding(self.context_length, self.emb_dim)
        else:
            self.pos_emb = None
        self.drop = nn.Dropout(float(dropout))

    def check(self, ids: Any) -> torch.Tensor:
        """Validate `ids` as `forward` does and return them ready for the lookup (widened)."""
        ids = as_index_tensor(ids)
        if ids.dim() not in (1, 2):
            raise ArgumentValueError(
                f"ids must have shape (T,) or (B, T), got {tuple(ids.shape)}; reshape batches "
                "of sequences to (B, T)"
            )
        length = ids.shape[-1]
        if length > self.context_length:
            raise ArgumentValueError(
                f"sequence length {length:,} (ids.shape[-1]) is longer than context_length "
                f"{self.context_length:,}: cut the input to at most {self.context_length:,} "
                f"tokens (the loader's max_length), or build the layer with "
                f"context_length >= {length:,}"
            )
        if self.validate:
            check_ids(ids, self.vocab_size)
        return ids

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = self.check(ids)
        x = self.tok_emb(ids)
        if self.pos_emb is not None:
            # (T, emb_dim) broadcasts over the batch; arange(T) is in range by construction,
            # so the sinusoidal table is sliced rather than checked again (no second sync).
            length = ids.shape[-1]
            if isinstance(self.pos_emb, SinusoidalPositionalEncoding):
                x = x + self.pos_emb.table[:length]
            else:
                x = x + self.pos_emb(torch.arange(length, device=ids.device))
        return self.drop(x)

    def extra_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, emb_dim={self.emb_dim}, "
            f"context_length={self.context_length}, positional={self.positional!r}, "
            f"validate={self.validate}"
        )
