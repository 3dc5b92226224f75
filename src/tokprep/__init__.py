"""tokprep: raw text to model input, one proven step at a time.

    tokprep.tokenizers   regex word tokenizers with a vocabulary, <|unk|> and <|endoftext|>
    tokprep.bpe          a pure-Python byte-level BPE encoder and trainer, equal to tiktoken
    tokprep.dataloading  token files on disk and sliding-window datasets / loaders (torch)
    tokprep.embeddings   token and positional embedding layers (torch)

Importing `tokprep`, `tokprep.tokenizers` or `tokprep.bpe` never imports torch.
"""

from tokprep.errors import (
    ArgumentValueError,
    DatasetFormatError,
    DisallowedSpecialTokenError,
    InvalidTokenError,
    TextInputError,
    TokenizerFileError,
    TokenizerSpecError,
    TokprepError,
    TokprepValueError,
    UnknownEncodingError,
    UnknownTokenError,
)
from tokprep.resolve import Tokenizer, load_tokenizer, parse_spec, tokenizer_identity

__version__ = "0.1.0"

__all__ = [
    "ArgumentValueError",
    "DatasetFormatError",
    "DisallowedSpecialTokenError",
    "InvalidTokenError",
    "TextInputError",
    "Tokenizer",
    "TokenizerFileError",
    "TokenizerSpecError",
    "TokprepError",
    "TokprepValueError",
    "UnknownEncodingError",
    "UnknownTokenError",
    "__version__",
    "load_tokenizer",
    "parse_spec",
    "tokenizer_identity",
]
