"""Byte-level BPE in pure Python: ranks files, an encoder equal to tiktoken, a trainer.

Importing this package never imports torch.
"""

from tokprep.bpe.patterns import CL100K_PATTERN, O200K_PATTERN, PRESETS
from tokprep.bpe.ranks import (
    ENDOFTEXT,
    GPT2_PATTERN,
    GPT2_TIKTOKEN_SHA256,
    gpt2_ranks,
    read_tiktoken_file,
    tiktoken_gpt2,
    validate_ranks,
)
from tokprep.bpe.tokenizer import BPETokenizer, StreamDecoder

__all__ = [
    "CL100K_PATTERN",
    "ENDOFTEXT",
    "GPT2_PATTERN",
    "GPT2_TIKTOKEN_SHA256",
    "O200K_PATTERN",
    "PRESETS",
    "BPETokenizer",
    "StreamDecoder",
    "gpt2_ranks",
    "read_tiktoken_file",
    "tiktoken_gpt2",
    "validate_ranks",
]
