"""Adapters: whatever tokenizer a user has becomes a `Subject` the conformance checks can drive.

`adapt(x)` accepts:

- a spec string or path (`"gpt2"`, `"tokprep:gpt2"`, a `.tiktoken`/`.json` file, `file.py:ATTR`,
  `pkg.module:ATTR`): resolved by `tokprep.load_tokenizer`, the one resolver, then adapted;
- a tokprep tokenizer or a tiktoken `Encoding` (tiktoken's API: `encode_ordinary`, `encode`
  with `allowed_special`/`disallowed_special`, `decode_bytes`, ...);
- a Hugging Face `tokenizers.Tokenizer` and a transformers tokenizer (encoded without added
  special tokens; both match special-token text in raw input, HF's default);
- any object with `encode` (and usually `decode`);
- a bare function `encode(str) -> list[int]` (checks that need `decode` are skipped, with a note).

A `Subject` exposes one uniform API; a capability it lacks is `None`, and every check says what it
skipped and why.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KitTokenizer", "Subject", "adapt", "as_tokenizer"]

#: How a tokenizer treats text that spells a special token when nothing is said.
REFUSES = "refuses"  # tiktoken's rule: encode() raises unless the token is allowed
MATCHES = "matches"  # HF's rule: the spelling becomes the special token's ID
UNKNOWN = "unknown"  # no special-token API to tell


@dataclass(eq=False)  # compared and hashed by identity (checks cache per subject)
class Subject:
    """A tokenizer as the kit sees it. Missing capabilities are None.

    - `encode_ordinary(text)`: IDs with special-token text treated as plain text; None for
      tokenizers that always match special-token text (then `encode_all_special` is set).
    - `encode_all_special(text)`: IDs with every special-token spelling as its special ID.
    - `encode(text, allowed_special=..., disallowed_special=...)`: tiktoken's signature.
    - `decode(ids) -> str`, `decode_bytes(ids) -> bytes`, `token_bytes(id) -> bytes`.
    """

    name: str
    kind: str
    source: Any
    encode_ordinary: Callable[[str], list[int]] | None = None
    encode_all_special: Callable[[str], list[int]] | None = None
    encode: Callable[..., list[int]] | None = None
    decode: Callable[[list[int]], str] | None = None
    decode_bytes: Callable[[list[int]], bytes] | None = None
    token_bytes: Callable[[int], bytes] | None = None
    encode_ordinary_batch: Callable[[list[str]], list[list[int]]] | None = None
    decode_with_offsets: Callable[[list[int]], tuple[str, list[int]]] | None = None
    #: `text -> (ids, start character of each token)`, for tokenizers that report offsets
    #: when encoding (Hugging Face) rather than when decoding (tiktoken).
    encode_with_offsets: Callable[[str], tuple[list[int], list[int]]] | None = None
    n_vocab: int | None = None
    special_tokens: dict[str, int] = field(default_factory=dict)
    pattern: str | None = None
    special_rule: str = UNKNOWN
    #: The spec it was made from, when it was made from one (used in reproducers).
    spec: str | None = None
    notes: list[str] = field(default_factory=list)

    def ids(self, text: str) -> list[int]:
        """The IDs of `text` with special-token spellings as plain text where the tokenizer can
        do that, otherwise with its own special-token rule."""
        if self.encode_ordinary is not None:
            return list(self.encode_ordinary(text))
        if self.encode_all_special is None:
            raise TypeError(f"{self.name} has no encoder the kit can call")
        return list(self.encode_all_special(text))

    def __repr__(self) -> str:
        return f"Subject({self.name!r}, kind={self.kind!r})"


def adapt(
    tokenizer: Any, *, name: str | None = None, vocab: Mapping[str, int] | None = None
) -> Subject:
    """Wrap `tokenizer` (see the module docstring for what it may be) as a `Subject`.

    >>> adapt("gpt2").ids("Hello world")
    [15496, 995]
    """
    if isinstance(tokenizer, Subject):
        return tokenizer
    if isinstance(tokenizer, KitTokenizer):
        return tokenizer.subject
    spec = None
    if isinstance(tokenizer, str | os.PathLike):
        from tokprep.resolve import load_tokenizer

        spec = os.fspath(tokenizer)
        # `vocab`: a word vocabulary for `words-vN` and for a class spec (`mod:SimpleTokenizerV2`)
        tokenizer = load_tokenizer(tokenizer, vocab=vocab) if vocab else load_tokenizer(tokenizer)
    subject = tokenizer.subject if isinstance(tokenizer, KitTokenizer) else _adapt_object(tokenizer)
    subject.spec = spec
    subject.name = name or spec or subject.name
    return subject


def _adapt_object(obj: Any) -> Subject:
    module = type(obj).__module__ or ""
    if module.startswith("tokenizers") and hasattr(obj, "encode") and hasattr(obj, "id_to_token"):
        return _hf_tokenizers(obj)
    if hasattr(obj, "backend_tokenizer") or (
        module.startswith("transformers") and hasattr(obj, "convert_ids_to_tokens")
    ):
        return _transformers(obj)
    if hasattr(obj, "encode_ordinary") or hasattr(obj, "encode"):
        return _tiktoken_like(obj)
    if callable(obj):
        return _function(obj)
    raise TypeError(
        "cannot test this tokenizer: expected a spec string, a tokprep or tiktoken tokenizer, a "
        "Hugging Face tokenizer, an object with encode()/decode() or a function "
        f"encode(str) -> list[int]; got {type(obj).__name__}"
    )


def _accepts(function: Callable[..., Any], *names: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature: assume tiktoken's API
        return True
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return True
    return all(n in parameters for n in names)


def _name_of(obj: Any) -> str:
    return str(getattr(obj, "name", None) or type(obj).__name__)


def _specials(obj: Any) -> dict[str, int]:
    from tokprep.resolve import tokenizer_special_tokens

    specials = tokenizer_special_tokens(obj)
    if not specials and hasattr(obj, "str_to_int"):  # word tokenizers: `<|...|>` entries
        from tokprep.special import SPECIAL_SHAPE

        specials = {t: i for t, i in obj.str_to_int.items() if SPECIAL_SHAPE.fullmatch(t)}
    return specials


def _tiktoken_like(obj: Any) -> Subject:
    """tiktoken, tokprep and anything with (some of) their method names."""
    from tokprep.resolve import tokenizer_pattern

    encode = getattr(obj, "encode", None)
    kinds = "tokprep" if type(obj).__module__.startswith("tokprep") else "object"
    if type(obj).__module__.startswith("tiktoken"):
        kinds = "tiktoken"
    subject = Subject(name=_name_of(obj), kind=kinds, source=obj)
    subject.special_tokens = _specials(obj)
    subject.pattern = tokenizer_pattern(obj)
    n_vocab = getattr(obj, "n_vocab", None)
    subject.n_vocab = n_vocab if isinstance(n_vocab, int) else None
    if hasattr(obj, "encode_ordinary"):
        subject.encode_ordinary = obj.encode_ordinary
    elif encode is not None:
        subject.encode_ordinary = encode
        subject.notes.append("no encode_ordinary(): encode() is taken as the plain encoder")
    if encode is not None and _accepts(encode, "allowed_special", "disallowed_special"):
        subject.encode = encode
        subject.special_rule = REFUSES

        def encode_all_special(text: str) -> list[int]:
            return encode(text, allowed_special="all")

        subject.encode_all_special = encode_all_special
    if hasattr(obj, "decode"):
        subject.decode = obj.decode
    if hasattr(obj, "decode_bytes"):
        subject.decode_bytes = obj.decode_bytes
    if hasattr(obj, "decode_single_token_bytes"):
        subject.token_bytes = obj.decode_single_token_bytes
    elif subject.decode_bytes is not None:
        decode_bytes = subject.decode_bytes
        subject.token_bytes = lambda token: decode_bytes([token])
    if hasattr(obj, "encode_ordinary_batch"):
        subject.encode_ordinary_batch = obj.encode_ordinary_batch
    if hasattr(obj, "decode_with_offsets"):
        subject.decode_with_offsets = obj.decode_with_offsets
    return subject


def _function(function: Callable[[str], Sequence[int]]) -> Subject:
    subject = Subject(
        name=getattr(function, "__qualname__", "encode"),
        kind="function",
        source=function,
        encode_ordinary=lambda text: list(function(text)),
    )
    subject.notes.append("a bare encode function: checks that need decode() are skipped")
    return subject


def _hf_tokenizers(tokenizer: Any) -> Subject:
    """`tokenizers.Tokenizer`: encoded without post-processor tokens; special-token text in
    input becomes the special token (HF's rule), so it is compared with tiktoken's
    `allowed_special="all"`."""

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False).ids

    def decode(ids: list[int]) -> str:
        return tokenizer.decode(list(ids), skip_special_tokens=False)

    def batch(texts: list[str]) -> list[list[int]]:
        return [e.ids for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def with_offsets(text: str) -> tuple[list[int], list[int]]:
        encoding = tokenizer.encode(text, add_special_tokens=False)
        return encoding.ids, [start for start, _ in encoding.offsets]

    specials = {}
    for index, added in tokenizer.get_added_tokens_decoder().items():
        if getattr(added, "special", False):
            specials[added.content] = index
    subject = Subject(
        name="tokenizers.Tokenizer",
        kind="hf-tokenizers",
        source=tokenizer,
        encode_all_special=encode,
        decode=decode,
        encode_ordinary_batch=batch,
        encode_with_offsets=with_offsets,
        n_vocab=tokenizer.get_vocab_size(with_added_tokens=True),
        special_tokens=specials,
        special_rule=MATCHES,
        pattern=_hf_pattern(tokenizer),
    )
    subject.notes.append(
        "Hugging Face tokenizers match special-token text in input (HF's default); compared "
        "with the reference's encode(allowed_special='all')"
    )
    return subject


def _hf_pattern(tokenizer: Any) -> str | None:
    import json

    try:
        pre = json.loads(tokenizer.to_str()).get("pre_tokenizer") or {}
    except (ValueError, AttributeError):
        return None
    for part in [pre, *pre.get("pretokenizers", [])]:
        regex = (part.get("pattern") or {}).get("Regex") if isinstance(part, Mapping) else None
        if regex:
            return str(regex)
        if isinstance(part, Mapping) and part.get("type") == "ByteLevel" and part.get("use_regex"):
            from tokprep.bpe.patterns import GPT2_ORIGINAL_PATTERN

            return GPT2_ORIGINAL_PATTERN
    return None


def _transformers(tokenizer: Any) -> Subject:
    """A transformers tokenizer, called without added special tokens (no BOS/EOS)."""

    def encode(text: str) -> list[int]:
        return list(tokenizer.encode(text, add_special_tokens=False))

    def decode(ids: list[int]) -> str:
        return tokenizer.decode(
            list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False
        )

    def with_offsets(text: str) -> tuple[list[int], list[int]]:
        out = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(out["input_ids"]), [start for start, _ in out["offset_mapping"]]

    specials = {t: tokenizer.convert_tokens_to_ids(t) for t in tokenizer.all_special_tokens}
    backend = getattr(tokenizer, "backend_tokenizer", None)
    subject = Subject(
        name=str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__),
        kind="transformers",
        source=tokenizer,
        encode_all_special=encode,
        decode=decode,
        n_vocab=len(tokenizer),
        special_tokens=specials,
        special_rule=MATCHES,
        pattern=_hf_pattern(backend) if backend is not None else None,
        # Only fast (Rust-backed) tokenizers report offsets.
        encode_with_offsets=with_offsets if getattr(tokenizer, "is_fast", False) else None,
    )
    subject.notes.append(
        "transformers tokenizers match special-token text in input; compared with the "
        "reference's encode(allowed_special='all')"
    )
    return subject


class KitTokenizer:
    """A `Subject` under tiktoken's method names, so that `load_tokenizer` can return objects
    that lack them (a Hugging Face tokenizer, an object with only `encode`, a bare function)
    and every command can use them. `n_vocab` is None where the object does not say it."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        self.name = subject.name

    @property
    def n_vocab(self) -> int | None:
        return self.subject.n_vocab

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self.subject.special_tokens)

    @property
    def pattern(self) -> str | None:
        return self.subject.pattern

    def encode_ordinary(self, text: str) -> list[int]:
        return self.subject.ids(text)

    def encode(self, text: str, **special: Any) -> list[int]:
        if self.subject.encode is not None:
            return list(self.subject.encode(text, **special))
        return self.subject.ids(text)

    def decode(self, tokens: Sequence[int]) -> str:
        if self.subject.decode is None:
            raise TypeError(f"{self.name} has no decode(): it is a bare encode function")
        return self.subject.decode(list(tokens))

    def __repr__(self) -> str:
        return f"KitTokenizer({self.subject.name!r}, kind={self.subject.kind!r})"


def as_tokenizer(obj: Any) -> KitTokenizer | None:
    """`obj` as a tokenizer with tiktoken's method names, or None when no adapter applies.

    `tokprep.load_tokenizer` calls this for objects without `encode_ordinary`/`decode`/`n_vocab`.
    Classes are never adapted (the resolver calls them first); a function is adapted only when
    it takes exactly one required argument (an `encode(text)`; a factory takes none).
    """
    if isinstance(obj, type | str | bytes):
        return None
    module = type(obj).__module__ or ""
    if module.startswith(("tokenizers", "transformers")) or hasattr(obj, "encode"):
        try:
            return KitTokenizer(_adapt_object(obj))
        except TypeError:
            return None
    if callable(obj) and _required_positionals(obj) == 1:
        return KitTokenizer(_function(obj))
    return None


def _required_positionals(function: Callable[..., Any]) -> int | None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(
        1
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )
