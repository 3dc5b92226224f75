"""`load_tokenizer(spec)`: the one place a tokenizer is chosen from a name, a file or an object.

Every `--tokenizer` option of the CLI and every data-path function goes through it:

- `"gpt2"`: tiktoken's GPT-2 encoding, built offline from the ranks shipped with tokprep
  (the fast backend for preparing data);
- `"tokprep:gpt2"`: tokprep's own pure-Python encoder with the same ranks (same IDs);
- a `.tiktoken` file: tokprep's BPE encoder on those ranks, with GPT-2's pattern;
- a tokprep JSON file: `"kind": "bpe"` (a trained or exported BPE) or `"kind": "word"`;
- any object with `encode_ordinary`, `decode` and `n_vocab` is returned as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tokprep.errors import TokenizerFileError


@runtime_checkable
class Tokenizer(Protocol):
    """What tokprep's data path needs of a tokenizer (tiktoken's `Encoding` qualifies)."""

    @property
    def n_vocab(self) -> int: ...

    def encode_ordinary(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...


def _gpt2() -> Any:
    from tokprep.bpe.ranks import tiktoken_gpt2

    return tiktoken_gpt2()


def _tokprep_gpt2() -> Any:
    from tokprep.bpe import BPETokenizer

    return BPETokenizer.gpt2()


NAMED = {"gpt2": _gpt2, "tokprep:gpt2": _tokprep_gpt2}


def load_tokenizer(spec: str | os.PathLike | Tokenizer) -> Tokenizer:
    """Resolve `spec` (a name, a file path, or a tokenizer object) to a tokenizer."""
    if isinstance(spec, str) and spec in NAMED:
        return NAMED[spec]()
    if isinstance(spec, str | os.PathLike):
        return _load_file(Path(spec))
    if all(hasattr(spec, attr) for attr in ("encode_ordinary", "decode", "n_vocab")):
        return spec
    raise TypeError(
        f"tokenizer must be one of {sorted(NAMED)}, a path to a .tiktoken or tokprep .json file, "
        f"or an object with encode_ordinary(), decode() and n_vocab; got {type(spec).__name__}"
    )


def _load_file(path: Path) -> Tokenizer:
    if not path.exists():
        raise FileNotFoundError(
            f"tokenizer {str(path)!r} is neither a known name ({', '.join(sorted(NAMED))}) "
            "nor an existing file"
        )
    if path.suffix == ".tiktoken":
        from tokprep.bpe import BPETokenizer

        return BPETokenizer.from_tiktoken_file(path)
    if path.suffix == ".json":
        from tokprep.files import read_envelope

        kind = read_envelope(path, ("bpe", "word"))["kind"]
        if kind == "bpe":
            from tokprep.bpe import BPETokenizer

            return BPETokenizer.load(path)
        from tokprep.tokenizers import load_word_tokenizer

        return load_word_tokenizer(path)
    raise TokenizerFileError(
        f"{path}: unknown tokenizer file type {path.suffix!r}; give a .tiktoken ranks file or a "
        "tokprep .json file (from `tokprep train` or save_vocab())"
    )


def tokenizer_pattern(tokenizer: Tokenizer) -> str | None:
    """The pre-tokenizer regex of `tokenizer` (tokprep's `pattern`, tiktoken's `_pat_str`), or
    None when it does not show one."""
    for attr in ("pattern", "_pat_str"):
        pattern = getattr(tokenizer, attr, None)
        if isinstance(pattern, str):
            return pattern
    return None


def tokenizer_special_tokens(tokenizer: Tokenizer) -> dict[str, int]:
    """Special-token text -> ID (tokprep's `special_tokens`, tiktoken's `_special_tokens`)."""
    for attr in ("special_tokens", "_special_tokens"):
        specials = getattr(tokenizer, attr, None)
        if isinstance(specials, Mapping):
            return dict(specials)
    return {}


def tokenizer_identity(tokenizer: Tokenizer) -> dict[str, Any]:
    """A tokenizer's identity for manifests: its kind, `n_vocab` and a sha256 over its
    canonical definition (pattern, then every token in ID order, then special tokens).

    Two tokenizers that encode identically by construction get the same digest whatever their
    backend: tiktoken's gpt2 and tokprep's `BPETokenizer.gpt2()` agree.
    """
    import hashlib

    from tokprep.bpe.ranks import dump_tiktoken_bpe

    digest = hashlib.sha256()
    if hasattr(tokenizer, "mergeable_ranks") or hasattr(tokenizer, "_mergeable_ranks"):
        kind = "bpe"
        ranks = getattr(tokenizer, "mergeable_ranks", None) or tokenizer._mergeable_ranks
        body = dump_tiktoken_bpe(ranks)
    elif hasattr(tokenizer, "str_to_int"):
        kind = "word"
        body = "".join(
            f"{index} {token!r}\n"
            for token, index in sorted(tokenizer.str_to_int.items(), key=lambda x: x[1])
        ).encode()
    else:
        return {"kind": type(tokenizer).__name__, "n_vocab": tokenizer.n_vocab, "sha256": None}
    pattern = tokenizer_pattern(tokenizer)
    specials = tokenizer_special_tokens(tokenizer)
    digest.update(f"tokprep-tokenizer {kind}\npattern {pattern!r}\n".encode())
    digest.update(body)
    for name, index in sorted(specials.items(), key=lambda item: item[1]):
        digest.update(f"special {index} {name!r}\n".encode())
    return {"kind": kind, "n_vocab": tokenizer.n_vocab, "sha256": digest.hexdigest()}
