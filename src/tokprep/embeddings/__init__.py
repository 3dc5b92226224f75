"""Token and positional embeddings (torch): the step from token IDs to model input vectors.

    emb = GPTEmbedding(50257, 768, 1024)        # GPT-2 small: tok_emb + learned pos_emb
    x = emb(ids)                                # (B, T) IDs -> (B, T, 768)

- `GPTEmbedding`: token + positional embedding ("learned", "sinusoidal" or "none"), with
  named errors for bad IDs, too-long inputs and float/bool IDs; narrow integer IDs (uint16
  from token files) are widened.
- `SinusoidalPositionalEncoding`: the original Transformer's fixed sine/cosine codes.
- `apply_rope`: rotary positions for queries and keys, in the Llama / Hugging Face layout.
- `check_ids`, `as_index_tensor`: the checks on their own, for code that indexes tables.
"""

from tokprep.optional import require_torch

require_torch("tokprep.embeddings")  # names the extra to install if torch is missing

from tokprep.embeddings.layers import (  # noqa: E402
    POSITIONAL_KINDS,
    GPTEmbedding,
    SinusoidalPositionalEncoding,
    as_index_tensor,
    check_ids,
    sinusoidal_table,
)
from tokprep.embeddings.rope import apply_rope, rope_angles  # noqa: E402

__all__ = [
    "POSITIONAL_KINDS",
    "GPTEmbedding",
    "SinusoidalPositionalEncoding",
    "apply_rope",
    "as_index_tensor",
    "check_ids",
    "rope_angles",
    "sinusoidal_table",
]
