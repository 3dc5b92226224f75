"""Byte-level BPE in pure Python: ranks files, an encoder equal to tiktoken, a trainer.

Importing this package never imports torch.
"""

from tokprep.bpe.encodings import (
    ENCODINGS,
    EncodingInfo,
    encoding_for_model,
    encoding_name_for_model,
    encoding_ranks,
    get_encoding,
    list_encoding_names,
    tiktoken_encoding,
)
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
from tokprep.bpe.unicode_classes import UNICODE_VERSION

__all__ = [
    "CL100K_PATTERN",
    "ENCODINGS",
    "ENDOFTEXT",
    "GPT2_PATTERN",
    "GPT2_TIKTOKEN_SHA256",
    "O200K_PATTERN",
    "PRESETS",
    "UNICODE_VERSION",
    "BPETokenizer",
    "EncodingInfo",
    "StreamDecoder",
    "encoding_for_model",
    "encoding_name_for_model",
    "encoding_ranks",
    "get_encoding",
    "gpt2_ranks",
    "list_encoding_names",
    "read_tiktoken_file",
    "tiktoken_encoding",
    "tiktoken_gpt2",
    "validate_ranks",
]
