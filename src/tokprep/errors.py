"""Every exception tokprep raises, in one place.

One rule: a value of the wrong *type* raises the built-in `TypeError`; a value of the right type
that is wrong raises a subclass of `TokprepValueError` (itself a `ValueError`). Messages name the
offending value, the limit it broke and what to change.

Three classes are also `KeyError`s, because the callers they replace raise `KeyError`: a word
missing from a vocabulary (`dict` lookup), a bad ID on decode and an unknown model name
(tiktoken).
"""

from __future__ import annotations

import operator
from typing import Any


class TokprepError(Exception):
    """Base class of tokprep's own exceptions."""

    # KeyError.__str__ would wrap the message in quotes; keep messages readable.
    __str__ = BaseException.__str__


class TokprepValueError(TokprepError, ValueError):
    """A value of the right type that tokprep cannot use."""


class ArgumentValueError(TokprepValueError):
    """A function argument outside its allowed range (a stride of 0, a vocabulary too small...)."""


class UnknownTokenError(TokprepValueError, KeyError):
    """Text holds words that are not in the vocabulary of a tokenizer without `<|unk|>`.

    `unknown` lists `(word, character_offset)` pairs, in text order.
    """

    def __init__(self, message: str, unknown: list[tuple[str, int]]):
        super().__init__(message)
        self.unknown = unknown


class InvalidTokenError(TokprepValueError, KeyError):
    """A token ID that is not in the vocabulary (negative, or >= n_vocab) was given to decode."""

    def __init__(self, message: str, token: int):
        super().__init__(message)
        self.token = token


class DisallowedSpecialTokenError(TokprepValueError):
    """Text spells a special token, and the caller did not allow it (tiktoken's rule)."""

    def __init__(self, message: str, token: str, offset: int):
        super().__init__(message)
        self.token = token
        self.offset = offset


class TokenizerFileError(TokprepValueError):
    """A tokenizer or vocabulary file is malformed; the message names the file and the line."""


class UnknownEncodingError(TokprepValueError, KeyError):
    """An encoding or model name that tokprep's table does not have (tiktoken raises
    `ValueError` for an unknown encoding and `KeyError` for an unknown model: this is both)."""


class TokenizerSpecError(TokprepValueError):
    """A `load_tokenizer` spec that names no encoding, file or object; the message lists every
    form a spec can take."""


class DatasetFormatError(TokprepValueError):
    """A token dataset file is malformed, truncated or does not match its manifest."""


class TextInputError(TokprepValueError):
    """Input text that cannot be used: invalid UTF-8 (with the byte offset), or empty."""


class WorkerDiedError(TokprepError, ChildProcessError):
    """A worker process died mid-run (killed, out of memory); the message says how and what
    to do. An `OSError` (via `ChildProcessError`), so the command line reports it and exits 1."""


class MissingDependencyError(TokprepError, ImportError):
    """An optional dependency (torch, matplotlib, ...) is not installed; the message names the
    feature that needs it and the `pip install 'tokprep[EXTRA]'` that adds it. An
    `ImportError`, so code that falls back when an import fails keeps working."""


# --- small validators shared by every part ---------------------------------------------------


def require_int(name: str, value: Any, *, minimum: int | None = None, hint: str = "") -> int:
    """Return `value` as an int, or raise: `TypeError` for bools, floats, strings; below
    `minimum`, `ArgumentValueError` naming the value, the limit and `hint`."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        fix = f" {hint}" if hint else ""
        raise ArgumentValueError(f"{name} must be >= {minimum}, got {value}.{fix}")
    return value


def require_bool(name: str, value: Any) -> bool:
    """Return `value` if it is a bool (numpy's `bool_` too), else raise `TypeError`: a truthy
    string such as `"no"` or `"False"` would silently mean True."""
    if isinstance(value, bool):
        return value
    kind = type(value)
    if kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {kind.__name__} {value!r}")


def require_str(name: str, value: Any) -> str:
    """Return `value` if it is a str, else raise `TypeError` naming the type received."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    return value
