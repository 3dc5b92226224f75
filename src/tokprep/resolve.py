"""`load_tokenizer(spec)`: the one place a tokenizer is chosen from a name, a file or an object.

Every `--tokenizer` of the command line and every data-path function goes through it. One
grammar, which later features extend and never redefine:

    SPEC   = [LABEL=]TARGET     LABEL only where --tokenizer repeats: `parse_spec` splits it off
    TARGET, tried in this order:
      1. an encoding name      gpt2 (alias r50k_base), cl100k_base, o200k_base: tiktoken's own
                               `Encoding`, built offline from the ranks tokprep ships
      2. tokprep:NAME          tokprep's pure-Python `BPETokenizer` for that encoding (same IDs)
      3. an existing file or   a `.tiktoken` / `.tiktoken.gz` ranks file (its pattern and special
         directory             tokens: see `tokprep.bpe.tiktoken_facts`), a tokprep `.json`
                               file (`"kind": "bpe"` or `"word"`), a Hugging Face
                               `tokenizer.json` or a transformers folder holding one
      4. path/to/file.py:ATTR  an attribute of a Python file
      5. pkg.module:ATTR       an attribute of an importable module
    For 4 and 5 a class is called with no arguments, a function is called, an instance is used.

Objects are accepted directly: anything with `encode_ordinary`, `decode` and `n_vocab` (tiktoken's
`Encoding`, tokprep's tokenizers) is returned as it is. `pattern=` and `special_tokens=` (the
command line's `--pattern` and `--special`) give a BPE tokenizer's pre-tokenizer and special
tokens: required for a `.tiktoken` file that nothing else describes, and they replace an
encoding's or a file's own.

    >>> load_tokenizer("cl100k_base").encode("hello world")        # tiktoken's Encoding
    [15339, 1917]
    >>> load_tokenizer("tokprep:cl100k_base").encode("hello world")  # tokprep's encoder
    [15339, 1917]
    >>> parse_spec("mine=tok.json")
    ('mine', 'tok.json')
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from tokprep.errors import ArgumentValueError, TokenizerFileError, TokenizerSpecError


@runtime_checkable
class Tokenizer(Protocol):
    """What tokprep's data path needs of a tokenizer (tiktoken's `Encoding` qualifies)."""

    @property
    def n_vocab(self) -> int: ...

    def encode_ordinary(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...


TOKPREP_PREFIX = "tokprep:"
#: The tokenizer the command line uses when `--tokenizer` is not given (GPT-2's encoding, the
#: book's and `tokprep demo`'s).
DEFAULT_TOKENIZER = "gpt2"

#: The file formats form 3 reads, for messages; a reader added to `_load_file` adds a line here.
FILE_FORMATS = [
    ".tiktoken or .tiktoken.gz ranks (pattern and special tokens from its sidecar .json, the "
    "encodings table, or --pattern/--special)",
    'tokprep .json ("kind": "bpe" or "word", from `tokprep train` or save())',
    "a Hugging Face byte-level BPE tokenizer.json, or a transformers folder holding one",
]

_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def spec_forms() -> str:
    """Every form a spec can take, one per line (for error messages and `--help`)."""
    from tokprep.bpe.encodings import list_encoding_names

    names = ", ".join(list_encoding_names())
    files = "\n".join(f"      {line}" for line in FILE_FORMATS)
    return (
        f"  {names}: an encoding (tiktoken's own Encoding, built offline)\n"
        f"  tokprep:NAME: tokprep's encoder for one of those encodings\n"
        f"  PATH: an existing file or folder, one of\n{files}\n"
        "  path/to/file.py:ATTR or pkg.module:ATTR: an attribute of a Python file or module "
        "(a class is called with no arguments, a function is called, an instance is used)\n"
        "  words-v1, words-v2, words-v3: the chapter-2 word tokenizers on The Verdict's words\n"
        "  LABEL=TARGET: only where --tokenizer repeats"
    )


def parse_spec(spec: str) -> tuple[str | None, str]:
    """Split `[LABEL=]TARGET` into `(label, target)`; `label` is None without one.

    For commands where `--tokenizer` repeats (a label names each tokenizer in their output).
    A LABEL is letters, digits and `_ . + -`; a spec that is itself an encoding name or an
    existing path is never split, so `a=b.tiktoken` on disk stays a path.
    """
    if not isinstance(spec, str):
        raise TypeError(f"a tokenizer spec must be a str, got {type(spec).__name__}")
    from tokprep.bpe.encodings import is_encoding_name

    label, equals, target = spec.partition("=")
    if not equals or is_encoding_name(spec) or os.path.exists(spec):
        return None, spec
    if not _LABEL.fullmatch(label):
        return None, spec
    if not target:
        raise TokenizerSpecError(f"tokenizer spec {spec!r} has a label but no target after '='")
    return label, target


def load_tokenizer(
    spec: str | os.PathLike | Tokenizer,
    *,
    pattern: str | None = None,
    special_tokens: Mapping[str, int] | None = None,
    vocab: Mapping[str, int] | None = None,
) -> Tokenizer:
    """Resolve `spec` (a TARGET of the grammar above, or a tokenizer object) to a tokenizer.

    `vocab` (a word vocabulary) replaces The Verdict's in `words-vN`, and a class given as
    `file.py:ATTR` or `pkg.module:ATTR` is called with it (`SimpleTokenizerV2(vocab)`).

    `pattern` (a preset such as "cl100k", an encoding name or a regex) and `special_tokens`
    (text -> ID) apply to BPE tokenizers; a `.tiktoken` file that no sidecar or shipped encoding
    describes needs at least `pattern`. Raises `TokenizerSpecError` (listing every form) for a
    string that matches none, `TokenizerFileError` for a file that cannot be read, `TypeError`
    for an object that is not a tokenizer.
    """
    if isinstance(spec, str):
        tokenizer = _load_name(spec, pattern, special_tokens, vocab)
    elif isinstance(spec, os.PathLike):
        path = Path(spec)
        if not path.exists():
            raise TokenizerSpecError(
                f"tokenizer file {str(path)!r} does not exist. A spec is one of:\n{spec_forms()}"
            )
        tokenizer = _load_path(path, pattern, special_tokens)
    else:
        found = _as_tokenizer(spec, None)
        if found is None:
            raise TypeError(
                f"tokenizer must be one of the forms below or an object with encode_ordinary(), "
                f"decode() and n_vocab; got {type(spec).__name__}. A spec is one of:\n"
                f"{spec_forms()}"
            )
        tokenizer = found
        return _with_facts(tokenizer, pattern, special_tokens, type(spec).__name__)
    return tokenizer


def _load_name(spec: str, pattern: str | None, special_tokens: Any, vocab: Any = None) -> Tokenizer:
    from tokprep.bpe.encodings import encoding_name_for_model, is_encoding_name
    from tokprep.tokenizers.presets import WORD_PRESETS, word_preset

    if spec in WORD_PRESETS:  # the chapter-2 word tokenizers
        return word_preset(spec, vocab)

    if is_encoding_name(spec):  # 1
        from tokprep.bpe.encodings import tiktoken_encoding

        return _with_facts(tiktoken_encoding(spec), pattern, special_tokens, spec)
    if spec.startswith(TOKPREP_PREFIX):  # 2
        name = spec.removeprefix(TOKPREP_PREFIX)
        if is_encoding_name(name):
            from tokprep.bpe import BPETokenizer

            return _with_facts(BPETokenizer.from_encoding(name), pattern, special_tokens, spec)
    path = Path(spec)
    if spec and path.exists():  # 3
        return _load_path(path, pattern, special_tokens)
    source, colon, attr = spec.rpartition(":")
    if colon and _DOTTED.fullmatch(attr):
        if source.endswith(".py") and Path(source).is_file():  # 4
            obj = _attribute(_import_file(Path(source)), attr, spec)
            return _with_facts(_instantiate(obj, spec, vocab), pattern, special_tokens, spec)
        if _DOTTED.fullmatch(source) and not source.endswith(".py") and source != "tokprep":  # 5
            obj = _attribute(_import_module(source, spec), attr, spec)
            return _with_facts(_instantiate(obj, spec, vocab), pattern, special_tokens, spec)
    from tokprep.bpe.encodings import NOT_SHIPPED

    hints = []
    if (unshipped := spec.removeprefix(TOKPREP_PREFIX)) in NOT_SHIPPED:
        hints.append(f"tokprep does not ship {unshipped}: {NOT_SHIPPED[unshipped]}")
    with contextlib.suppress(KeyError, ValueError):
        hints.append(f"{spec!r} is a model name; its encoding is {encoding_name_for_model(spec)}")
    if spec.startswith(TOKPREP_PREFIX) and unshipped not in NOT_SHIPPED:
        hints.append(f"{unshipped!r} is not an encoding name")
    if source.endswith(".py") and colon:
        hints.append(f"the file {source!r} does not exist")
    if parse_spec(spec)[0] is not None:
        hints.append("LABEL=TARGET is accepted only where --tokenizer repeats; give the TARGET")
    hint = "".join(f" ({h})" for h in hints)
    raise TokenizerSpecError(
        f"tokenizer spec {spec!r} is neither an encoding name, nor an existing file, nor a "
        f"Python attribute{hint}. A spec is one of:\n{spec_forms()}"
    )


def _load_path(path: Path, pattern: str | None, special_tokens: Any) -> Tokenizer:
    name = path.name
    if name.endswith((".tiktoken", ".tiktoken.gz")):
        from tokprep.bpe import BPETokenizer

        return BPETokenizer.from_tiktoken_file(path, pattern=pattern, special_tokens=special_tokens)
    return _with_facts(_load_file(path), pattern, special_tokens, str(path))


def _load_file(path: Path) -> Tokenizer:
    """A tokenizer file or folder other than `.tiktoken` (whose facts `_load_path` passes)."""
    if path.is_dir() and (path / "tokenizer.json").is_file():  # a transformers folder
        from tokprep.bpe import BPETokenizer

        return BPETokenizer.from_hf_tokenizer_json(path)
    if path.is_dir():
        raise TokenizerFileError(
            f"{path} is a folder; tokprep reads these tokenizer files:\n"
            + "\n".join(f"  {line}" for line in FILE_FORMATS)
        )
    if path.suffix == ".json":
        from tokprep.bpe.hf import is_hf_tokenizer_json
        from tokprep.files import read_envelope

        if is_hf_tokenizer_json(path):
            from tokprep.bpe import BPETokenizer

            return BPETokenizer.from_hf_tokenizer_json(path)
        document = read_envelope(path, ("bpe", "word", "tiktoken-facts"))
        kind = document["kind"]
        if kind == "bpe":
            from tokprep.bpe import BPETokenizer

            return BPETokenizer.load(path)
        if kind == "tiktoken-facts":  # a sidecar given instead of its ranks file
            from tokprep.bpe import BPETokenizer

            return BPETokenizer.from_tiktoken_file(path.with_suffix(""))
        from tokprep.tokenizers import load_word_tokenizer

        return load_word_tokenizer(path)
    raise TokenizerFileError(
        f"{path}: unknown tokenizer file type {path.suffix!r}; tokprep reads:\n"
        + "\n".join(f"  {line}" for line in FILE_FORMATS)
    )


def _import_file(path: Path) -> Any:
    """Run the Python file `path` as a module (named after its absolute path's hash)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"_tokprep_spec_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise TokenizerSpecError(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so that its classes pickle and dataclasses work
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _import_module(name: str, spec: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
            raise TokenizerSpecError(
                f"tokenizer spec {spec!r}: there is no module {e.name!r} to import (and no file "
                f"of that name). A spec is one of:\n{spec_forms()}"
            ) from None
        raise


def _attribute(module: Any, attr: str, spec: str) -> Any:
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TokenizerSpecError(
                f"tokenizer spec {spec!r}: {getattr(module, '__name__', module)!r} has no "
                f"attribute {attr!r}"
            ) from None
    return obj


def _instantiate(obj: Any, spec: str, vocab: Any = None) -> Tokenizer:
    """A class is called with no arguments (with `vocab` if given), a function is called, an
    instance is used."""
    if isinstance(obj, type) and vocab is not None:
        obj = obj(dict(vocab))
    elif isinstance(obj, type) or (_as_tokenizer(obj, spec) is None and callable(obj)):
        obj = obj()
    tokenizer = _as_tokenizer(obj, spec)
    if tokenizer is None:
        raise TypeError(
            f"tokenizer spec {spec!r} gave a {type(obj).__name__}, which is not a tokenizer: "
            "it needs encode_ordinary(), decode() and n_vocab"
        )
    return tokenizer


def _as_tokenizer(obj: Any, spec: str | None) -> Tokenizer | None:
    """`obj` if it is a tokenizer, else None.

    Adapters for other libraries' objects (a Hugging Face `Tokenizer`, ...) go here: each
    returns an object with tiktoken's methods, or None when it does not apply.
    """
    if all(hasattr(obj, attr) for attr in ("encode_ordinary", "decode", "n_vocab")):
        return obj
    # The conformance kit's adapters: HF tokenizers, encode-only objects, bare encode functions.
    from tokprep.testing.adapters import as_tokenizer

    return cast(Tokenizer | None, as_tokenizer(obj))  # an adapter has tiktoken's methods


def _with_facts(
    tokenizer: Tokenizer, pattern: str | None, special_tokens: Any, spec: str
) -> Tokenizer:
    """`tokenizer` with its pattern and/or special tokens replaced (a new object of the same
    backend); `tokenizer` itself when neither is given."""
    if pattern is None and special_tokens is None:
        return tokenizer
    from tokprep.bpe import BPETokenizer
    from tokprep.bpe.ranks import validate_special_tokens
    from tokprep.bpe.tiktoken_facts import pattern_from_name

    new_pattern = tokenizer_pattern(tokenizer) if pattern is None else pattern_from_name(pattern)
    if special_tokens is None:
        specials = tokenizer_special_tokens(tokenizer)
    else:
        specials = dict(special_tokens)
    if isinstance(tokenizer, BPETokenizer):
        return BPETokenizer(
            tokenizer._ranks,
            tokenizer.pattern if new_pattern is None else new_pattern,
            specials,
            name=tokenizer.name,
            _validated=True,
            _file_ids=getattr(tokenizer, "_file_ids", False),  # a Hugging Face file's IDs
        )
    ranks = getattr(tokenizer, "_mergeable_ranks", None)
    encoding: Any = tokenizer
    if isinstance(ranks, dict) and new_pattern is not None:  # tiktoken's Encoding
        import tiktoken

        validate_special_tokens(specials, len(ranks), spec)
        try:
            return tiktoken.Encoding(
                name=encoding.name,
                pat_str=new_pattern,
                mergeable_ranks=ranks,
                special_tokens=specials,
            )
        except ValueError as e:
            raise ArgumentValueError(f"{spec}: pattern {new_pattern!r}: {e}") from None
    raise ArgumentValueError(
        f"{spec}: pattern and special tokens (--pattern, --special) apply to BPE tokenizers "
        f"(an encoding, a .tiktoken file, a tokprep bpe .json); this is a "
        f"{type(tokenizer).__name__}"
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
    from tokprep.bpe.ranks import dump_tiktoken_bpe

    digest = hashlib.sha256()
    if hasattr(tokenizer, "mergeable_ranks") or hasattr(tokenizer, "_mergeable_ranks"):
        kind = "bpe"
        ranks = getattr(tokenizer, "mergeable_ranks", None) or cast(Any, tokenizer)._mergeable_ranks
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


# --- the command line's face of the resolver ----------------------------------------------------


def special_token_argument(value: str) -> tuple[str, int]:
    """`--special TEXT=ID` -> `(TEXT, ID)` (an argparse `type`; TEXT may itself hold '=')."""
    import argparse

    text, equals, number = value.rpartition("=")
    if not equals or not text or not number.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not TEXT=ID; give a special token and its ID, e.g. "
            "--special '<|endoftext|>=100257'"
        )
    return text, int(number)


def add_tokenizer_options(
    parser: Any,
    *,
    default: str | None = DEFAULT_TOKENIZER,
    help: str | None = None,
    repeat: bool = False,
) -> None:
    """Add `--tokenizer SPEC`, `--pattern NAME|REGEX` and `--special TEXT=ID` to `parser` (an
    argparse parser); `tokenizer_from_args(args)` loads what they say.

    `repeat=True`: `--tokenizer` may be given several times (`args.tokenizer` is then a list,
    or None when not given: the command uses `[default]`), each as `[LABEL=]SPEC`."""
    forms = (
        "an encoding (gpt2, cl100k_base, o200k_base), tokprep:NAME, a tokenizer file, or "
        f"file.py:ATTR / pkg.module:ATTR (default: {default})"
    )
    if repeat:
        forms += "; repeatable, LABEL=SPEC names one"
    parser.add_argument(
        "--tokenizer",
        default=None if repeat else default,
        action="append" if repeat else "store",
        metavar="SPEC",
        help=help or forms,
    )
    parser.add_argument(
        "--pattern",
        metavar="NAME|REGEX",
        help="the tokenizer's pre-tokenizer: gpt2, cl100k, o200k, an encoding name or a regex "
        "(needed for a .tiktoken file without a sidecar; replaces a tokenizer's own)",
    )
    parser.add_argument(
        "--special",
        dest="special_tokens",
        action="append",
        type=special_token_argument,
        metavar="TEXT=ID",
        help="a special token and its ID (repeatable; replaces the tokenizer's own special tokens)",
    )


def tokenizer_from_args(args: Any, spec: str | None = None) -> Tokenizer:
    """`load_tokenizer(spec or args.tokenizer)` with the `--pattern` and `--special` given."""
    specials: dict[str, int] | None = None
    if args.special_tokens is not None:
        specials = {}
        for text, index in args.special_tokens:
            if text in specials:
                raise ArgumentValueError(
                    f"--special {text}: given twice (IDs {specials[text]} and {index}); give "
                    "each special token once"
                )
            specials[text] = index
    return load_tokenizer(
        args.tokenizer if spec is None else spec, pattern=args.pattern, special_tokens=specials
    )
