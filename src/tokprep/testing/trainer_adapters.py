"""Adapters: the BPE trainer signatures people write, as one call `(text, n_merges, specials)`.

`adapt_trainer(obj)` recognises, in this order:

- a class (or an instance) with `train(text, vocab_size)` that leaves a `merges` attribute,
  as in minbpe: `merges` is `{(id, id): new_id}` with IDs 0-255 the byte values (a `vocab`
  attribute `{id: bytes}` is used when present), or a list of byte pairs;
- a function whose first parameter is a path (`input_path`, `path`, `file`, ...), as in
  Stanford CS336 assignment 1: `train_bpe(input_path, vocab_size, special_tokens)` returning
  `(vocab, merges)`; tokprep writes the text to a temporary file for it;
- a function `train(text, vocab_size[, special_tokens])` returning the merges (a list of byte
  pairs), `(vocab, merges)`, or only a vocabulary (`{bytes: id}` or `{id: bytes}`, merges then
  recovered from the ranks).

`vocab_size` is passed as the trainer counts it: 256 + merges, plus the special tokens when
the trainer takes them. Merges given as strings are read as GPT-2's byte-to-unicode spelling
when every character is one of its 256, else as UTF-8.

`load_object("package.module:attribute")` (or `"path/to/file.py:attribute"`) imports what the
command line names.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokprep.errors import ArgumentValueError

__all__ = ["AdaptedTrainer", "adapt_trainer", "load_object", "normalize_merges"]

Pair = tuple[bytes, bytes]

_PATH_NAMES = {"input_path", "path", "file", "filename", "file_path", "corpus_path", "input_file"}


@dataclass(frozen=True)
class AdaptedTrainer:
    """A trainer behind one call: `run(text, n_merges, special_tokens) -> merges`."""

    name: str
    kind: str
    run: Callable[[str, int, Sequence[str]], list[Pair]]


def load_object(spec: str) -> Any:
    """Import `package.module:attribute` or `path/to/file.py:attribute` (dots go deeper)."""
    if not isinstance(spec, str):
        raise TypeError(f"a trainer spec must be a str, got {type(spec).__name__}")
    module_name, colon, attribute = spec.rpartition(":")
    if not colon or not module_name or not attribute:
        raise ArgumentValueError(
            f"trainer spec {spec!r}: write it as package.module:attribute or "
            "path/to/file.py:attribute"
        )
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise FileNotFoundError(f"trainer spec {spec!r}: no file {path}")
        name = f"_tokprep_trainer_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ArgumentValueError(f"trainer spec {spec!r}: {path} cannot be imported")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ArgumentValueError(
                f"trainer spec {spec!r}: {module_name} has no attribute {attribute!r}"
            ) from None
    return obj


def _gpt2_decoder() -> dict[str, int]:
    from tokprep.bpe.gpt2_files import bytes_to_unicode

    return {char: byte for byte, char in bytes_to_unicode().items()}


def _as_bytes(token: Any, decoder: dict[str, int]) -> bytes:
    if isinstance(token, bytes | bytearray):
        return bytes(token)
    if isinstance(token, str):
        if token and all(c in decoder for c in token):
            return bytes(decoder[c] for c in token)
        return token.encode("utf-8")
    raise TypeError(f"a merge holds {token!r}; expected bytes or str tokens")


def normalize_merges(merges: Any, vocab: Any = None) -> list[Pair]:
    """The trainer's merges as byte pairs, in order.

    Accepts a list of pairs of bytes (or str), or minbpe's `{(id, id): new_id}` with `vocab`
    `{id: bytes}` (without it, IDs 0-255 are the byte values).
    """
    if isinstance(merges, Mapping):
        table: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        if isinstance(vocab, Mapping):
            table.update({int(k): bytes(v) for k, v in vocab.items() if isinstance(v, bytes)})
        out = []
        for (a, b), new in sorted(merges.items(), key=lambda item: item[1]):
            left, right = table[a], table[b]
            table.setdefault(new, left + right)
            out.append((left, right))
        return out
    decoder = _gpt2_decoder()
    out = []
    for index, pair in enumerate(merges):
        if isinstance(pair, str):
            pair = pair.split(" ")
        if len(pair) != 2:
            raise ArgumentValueError(f"merge {index} is {pair!r}; expected a pair of tokens")
        out.append((_as_bytes(pair[0], decoder), _as_bytes(pair[1], decoder)))
    return out


def _from_vocabulary(vocab: Mapping[Any, Any], specials: Sequence[str] = ()) -> list[Pair]:
    from tokprep.bpe.export import merges_from_ranks

    if all(isinstance(k, bytes) for k in vocab):
        ranks = {k: int(v) for k, v in vocab.items()}
    else:
        ranks = {bytes(v): int(k) for k, v in vocab.items() if isinstance(v, bytes)}
    for special in specials:
        ranks.pop(special.encode("utf-8"), None)
    # Special tokens are not merges: keep the byte-level tokens, renumbered densely in order.
    ordered = sorted(ranks, key=ranks.__getitem__)
    singles = [t for t in ordered if len(t) == 1]
    longer = [t for t in ordered if len(t) > 1]
    return merges_from_ranks({t: i for i, t in enumerate(singles + longer)})


def _normalize_result(result: Any, specials: Sequence[str] = ()) -> list[Pair]:
    if isinstance(result, tuple) and len(result) == 2:
        vocab, merges = result
        return normalize_merges(merges, vocab)
    if isinstance(result, Mapping):
        keys = list(result)
        if keys and isinstance(keys[0], tuple):
            return normalize_merges(result)
        return _from_vocabulary(result, specials)
    return normalize_merges(result)


def _parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []


def _takes_specials(parameters: list[inspect.Parameter]) -> bool:
    names = {p.name for p in parameters}
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return "special_tokens" in names or len(positional) >= 3


def adapt_trainer(obj: Any, *, name: str | None = None) -> AdaptedTrainer:
    """Wrap a trainer (see the module docstring); `TypeError` if it fits no known signature."""
    if isinstance(obj, str):
        return adapt_trainer(load_object(obj), name=name or obj)
    label = name or getattr(obj, "__qualname__", None) or type(obj).__name__
    has_train = callable(getattr(obj, "train", None))
    if has_train and (inspect.isclass(obj) or not callable(obj)):

        def run_class(text: str, n_merges: int, specials: Sequence[str]) -> list[Pair]:
            trainer: Any = obj() if inspect.isclass(obj) else obj
            trainer.train(text, 256 + n_merges)
            merges = getattr(trainer, "merges", None)
            if merges is None:
                raise TypeError(f"{label}.train left no `merges` attribute")
            return normalize_merges(merges, getattr(trainer, "vocab", None))

        return AdaptedTrainer(label, "class with train(text, vocab_size) and merges", run_class)
    if not callable(obj):
        raise TypeError(
            f"{label} is not a trainer: give a function train(text, vocab_size, special_tokens), "
            "train_bpe(input_path, vocab_size, special_tokens) or a class with train(text, "
            "vocab_size) and a merges attribute"
        )
    parameters = _parameters(obj)
    specials_too = _takes_specials(parameters)
    first = parameters[0].name if parameters else ""

    def call(argument: Any, n_merges: int, specials: Sequence[str]) -> Any:
        if specials_too:
            return obj(argument, 256 + n_merges + len(specials), list(specials))
        return obj(argument, 256 + n_merges)

    if first in _PATH_NAMES:

        def run_path(text: str, n_merges: int, specials: Sequence[str]) -> list[Pair]:
            with tempfile.TemporaryDirectory(prefix="tokprep-trainer-") as folder:
                path = Path(folder) / "corpus.txt"
                path.write_text(text, encoding="utf-8")
                return _normalize_result(call(str(path), n_merges, specials), specials)

        return AdaptedTrainer(label, "function(input_path, vocab_size, special_tokens)", run_path)

    def run_text(text: str, n_merges: int, specials: Sequence[str]) -> list[Pair]:
        return _normalize_result(call(text, n_merges, specials), specials)

    return AdaptedTrainer(label, "function(text, vocab_size, special_tokens)", run_text)
