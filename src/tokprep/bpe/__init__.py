"""Byte-level BPE in pure Python: ranks files, an encoder equal to tiktoken, a trainer.

Importing this package never imports torch.
"""

from tokprep.bpe.ranks import (
    ENDOFTEXT,
    GPT2_PATTERN,
    GPT2_TIKTOKEN_SHA256,
    gpt2_ranks,
    read_tiktoken_file,
    tiktoken_gpt2,
    validate_ranks,
)

__all__ = [
    "ENDOFTEXT",
    "GPT2_PATTERN",
    "GPT2_TIKTOKEN_SHA256",
    "gpt2_ranks",
    "read_tiktoken_file",
    "tiktoken_gpt2",
    "validate_ranks",
]
