"""Rotary position embedding (RoPE): positions as rotations of queries and keys.

Instead of adding a position vector to the input, RoPE turns each pair of dimensions of a
query or key by an angle proportional to its position, `m * theta_i`, with
`theta_i = base^(-2i/D)`. A dot product of two rotated vectors then depends on the positions
only through their difference, `<rope(q, m), rope(k, n)> = f(q, k, m - n)`: attention sees
relative distance, and nothing is learned.

Pairs are formed in the *rotate-half* layout of Llama and Hugging Face: dimension `i` of the
first half turns together with dimension `i` of the second half (the RoFormer paper pairs
neighbours `2i, 2i+1`; both are the same rotation up to a fixed permutation of dimensions).

Reference: Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding" (2021).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from tokprep.errors import ArgumentValueError


def rope_angles(
    positions: torch.Tensor, dim: int, *, base: float = 10000.0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Angles `positions[..., None] * theta_i` for the D/2 pairs, shape (*positions.shape, D/2),
    computed in `dtype` (float32 at least: half precision loses whole turns at large m)."""
    two_i = torch.arange(0, dim, 2, dtype=dtype, device=positions.device)
    inv_freq = torch.exp(two_i * (-math.log(base) / dim))
    return positions.to(dtype)[..., None] * inv_freq


def apply_rope(
    x: torch.Tensor,
    positions: torch.Tensor | Sequence[int] | None = None,
    base: float = 10000.0,
) -> torch.Tensor:
    """Rotate the last dimension of `x` (..., T, D), D even, by the positions of its T rows.

    `positions` defaults to `arange(T)`; give them for an offset (a KV cache: `arange(s, s + T)`)
    or per sequence, as a tensor that broadcasts against `x.shape[:-1]` (e.g. (B, 1, T) for
    x of shape (B, heads, T, D)). Angles, sines and the rotation are computed in float32
    (float64 for float64 input) and the result is returned in `x.dtype`.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor (queries or keys), got {x.dtype}")
    if x.dim() < 2:
        raise ArgumentValueError(
            f"x must have shape (..., T, D), got {tuple(x.shape)}; add a length-1 T axis "
            "with x[None] for a single vector"
        )
    length, dim = x.shape[-2], x.shape[-1]
    if dim % 2 or dim == 0:
        raise ArgumentValueError(
            "the last dimension of x must be even and at least 2 (RoPE rotates pairs of "
            f"dimensions), got {dim}"
        )
    if isinstance(base, bool) or not isinstance(base, int | float):
        raise TypeError(f"base must be a float, got {type(base).__name__}")
    if not (math.isfinite(base) and base > 1.0):
        raise ArgumentValueError(
            f"base must be a finite number > 1 (10000.0 in Llama 2, 500000.0 in Llama 3), "
            f"got {base}"
        )
    compute = torch.float64 if x.dtype == torch.float64 else torch.float32
    if positions is None:
        positions = torch.arange(length, device=x.device)
    else:
        positions = _as_positions(positions, x)
    angles = rope_angles(positions, dim, base=base, dtype=compute)  # (..., T, D/2)
    cos, sin = angles.cos(), angles.sin()
    first, second = x.to(compute).chunk(2, dim=-1)
    # (a, b) -> (a cos - b sin, b cos + a sin): a 2-D rotation of every (first, second) pair.
    rotated = torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)
    return rotated.to(x.dtype)


def _as_positions(positions: torch.Tensor | Sequence[int], x: torch.Tensor) -> torch.Tensor:
    if not isinstance(positions, torch.Tensor):
        positions = torch.as_tensor(positions)
    if positions.dtype == torch.bool or positions.is_complex():
        raise TypeError(f"positions must be integer (or float) numbers, got {positions.dtype}")
    positions = positions.to(x.device)
    if positions.is_floating_point() and positions.device.type != "meta":
        finite = torch.isfinite(positions)
        if not bool(finite.all()):  # NaN or inf would turn every rotated value into NaN
            bad = positions.flatten()[int((~finite).flatten().nonzero()[0])]
            raise ArgumentValueError(
                f"positions hold {float(bad)} ({int((~finite).sum())} of {positions.numel()} "
                "entries are NaN or infinite); positions must be finite numbers, usually "
                "integers 0..T-1"
            )
    rows = x.shape[:-1]
    try:
        fits = torch.broadcast_shapes(positions.shape, rows) == rows
    except RuntimeError:
        fits = False
    if not fits or positions.dim() == 0:
        raise ArgumentValueError(
            f"positions of shape {tuple(positions.shape)} do not match x of shape "
            f"{tuple(x.shape)}: give one position per row, a shape that broadcasts against "
            f"{tuple(rows)}, e.g. ({rows[-1]},)"
        )
    return positions
