"""What a `.tiktoken` file does not say: its pattern and special tokens, never guessed.

A `.tiktoken` file holds mergeable ranks only. The rest of a tokenizer's definition comes from,
in this order:

1. the caller: `pattern=` / `special_tokens=` (`--pattern`, `--special` on the command line);
2. a sidecar `NAME.tiktoken.json` beside the file, which `BPETokenizer.save_tiktoken` writes
   whenever the facts are not a shipped encoding's: a tokprep JSON envelope of kind
   `"tiktoken-facts"` holding the pattern, the special tokens and the sha256 of the ranks text
   it describes (a sidecar left beside other ranks is refused, not applied);
3. the encodings table: a file whose sha256 is a shipped encoding's (`cl100k_base`'s ranks
   copied anywhere) gets that encoding's pattern and special tokens.

A file none of these describe raises `TokenizerFileError` naming the options; it never falls
back to GPT-2's pattern. Given a pattern but no special tokens, the tokenizer has none.

    tok.save_tiktoken("x.tiktoken")        # writes x.tiktoken (+ x.tiktoken.json if needed)
    BPETokenizer.from_tiktoken_file("x.tiktoken")            # the same pattern and specials
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tokprep.bpe.encodings import (
    _ranks,
    encoding_for_ranks_sha256,
    encoding_info,
    is_encoding_name,
)
from tokprep.bpe.patterns import resolve_pattern
from tokprep.bpe.ranks import (
    check_sha256,
    parse_tiktoken_bpe,
    read_ranks_text,
    sha256_hex,
    validate_ranks,
)
from tokprep.errors import TokenizerFileError
from tokprep.files import PathLike, read_envelope, write_envelope

SIDECAR_KIND = "tiktoken-facts"


def sidecar_path(path: PathLike) -> Path:
    """`x.tiktoken` -> `x.tiktoken.json`: where the facts of a ranks file are kept."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def pattern_from_name(pattern: str) -> str:
    """A pattern given by name or as a regex: a preset (`gpt2`, `cl100k`, `o200k`), an encoding
    name (`cl100k_base`: its pattern) or the regex itself."""
    if is_encoding_name(pattern):
        return encoding_info(pattern).pattern
    return resolve_pattern(pattern)


@dataclass(frozen=True)
class TiktokenFile:
    """A ranks file read with its facts; `ranks` are valid (checked here or pinned by hash)."""

    ranks: dict[bytes, int]
    sha256: str
    pattern: str
    special_tokens: dict[str, int]
    name: str


def read_tiktoken_with_facts(
    path: PathLike,
    *,
    expected_sha256: str | None = None,
    pattern: str | None = None,
    special_tokens: Mapping[str, int] | None = None,
    name: str | None = None,
) -> TiktokenFile:
    """Read the ranks at `path` (`.tiktoken`, or `.tiktoken.gz` gunzipped) and find their facts
    (see the module docstring). `expected_sha256` is checked against the ranks text."""
    path = Path(path)
    data = read_ranks_text(path)
    check_sha256(data, expected_sha256, str(path))
    sha256 = sha256_hex(data)
    known = encoding_for_ranks_sha256(sha256)
    if known is not None:
        ranks = _ranks(known.name)  # the same bytes as the shipped file: shared, pinned
    else:
        ranks, lines = parse_tiktoken_bpe(data, str(path))
        validate_ranks(ranks, str(path), lines=lines)
    side = sidecar_path(path)
    # What the file's own sidecar or the table says, for whatever the caller did not give.
    if side.exists():
        fallback: dict | None = read_sidecar(side, sha256)
    elif known is not None:
        fallback = {"pattern": known.pattern, "special_tokens": known.special_tokens}
    else:
        fallback = None
    if pattern is not None:
        pattern = pattern_from_name(pattern)
    if fallback is not None:
        pattern = fallback["pattern"] if pattern is None else pattern
        special_tokens = fallback["special_tokens"] if special_tokens is None else special_tokens
        name = name or fallback.get("name")
    if pattern is None:
        raise TokenizerFileError(
            f"{path}: these ranks (sha256 {sha256[:16]}...) are not a shipped encoding's and "
            f"there is no sidecar {side.name} saying their pattern and special tokens, so the "
            "file alone cannot be encoded exactly. Give them: on the command line --pattern "
            "NAME|REGEX (gpt2, cl100k, o200k, an encoding name or a regex) and --special "
            "TEXT=ID (repeatable); in Python pattern= and special_tokens=. A tokenizer saved "
            "with save_tiktoken() writes the sidecar itself."
        )
    stem = path.name.removesuffix(".gz").removesuffix(".tiktoken")
    return TiktokenFile(
        ranks=ranks,
        sha256=sha256,
        pattern=pattern,
        special_tokens=dict(special_tokens or {}),
        name=name or (known.name if known else stem),
    )


def read_sidecar(path: PathLike, ranks_sha256: str) -> dict:
    """Read a sidecar and check it describes the ranks whose text hashes to `ranks_sha256`."""
    document = read_envelope(path, (SIDECAR_KIND,))
    pattern, specials = document.get("pattern"), document.get("special_tokens")
    recorded = document.get("ranks_sha256")
    if not (
        isinstance(pattern, str)
        and isinstance(recorded, str)
        and isinstance(specials, dict)
        and all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in specials.items()
        )
    ):
        raise TokenizerFileError(
            f'{path}: a "{SIDECAR_KIND}" file needs "ranks_sha256" (a string), "pattern" (a '
            'string) and "special_tokens" (an object of text -> integer ID)'
        )
    if recorded.lower() != ranks_sha256:
        raise TokenizerFileError(
            f"{path}: this sidecar describes ranks with sha256 {recorded[:16]}..., but the "
            f"ranks file beside it has sha256 {ranks_sha256[:16]}...; the ranks were replaced "
            "after the sidecar was written. Delete the sidecar and give --pattern/--special "
            "(pattern=/special_tokens=), or save the tokenizer again."
        )
    name = document.get("name")
    return {
        "pattern": pattern,
        "special_tokens": specials,
        "name": name if isinstance(name, str) else None,
    }


def write_tiktoken_with_facts(
    ranks: Mapping[bytes, int],
    path: PathLike,
    pattern: str,
    special_tokens: Mapping[str, int],
    name: str,
) -> Path | None:
    """Write `ranks` as a `.tiktoken` file (gzipped when `path` ends in `.gz`), then the
    sidecar if needed (`write_sidecar_if_needed`). Returns the sidecar's path, or None."""
    if str(path).endswith(".gz"):
        import gzip

        from tokprep.bpe.ranks import dump_tiktoken_bpe
        from tokprep.files import atomic_write

        with atomic_write(path, "wb") as f:
            f.write(gzip.compress(dump_tiktoken_bpe(ranks), mtime=0))  # mtime 0: same bytes
    else:
        from tokprep.bpe.export import write_tiktoken_file

        write_tiktoken_file(ranks, path)
    return write_sidecar_if_needed(path, pattern, special_tokens, name)


def write_sidecar_if_needed(
    path: PathLike, pattern: str, special_tokens: Mapping[str, int], name: str
) -> Path | None:
    """After the ranks were written to `path`: write the sidecar, unless the ranks, pattern and
    special tokens are exactly a shipped encoding's (then no sidecar, and a stale one is
    removed so that it cannot override them). Returns the sidecar's path, or None."""
    sha256 = sha256_hex(read_ranks_text(path))
    side = sidecar_path(path)
    known = encoding_for_ranks_sha256(sha256)
    if (
        known is not None
        and known.pattern == pattern
        and dict(known.special_tokens) == dict(special_tokens)
    ):
        side.unlink(missing_ok=True)
        return None
    write_envelope(
        side,
        SIDECAR_KIND,
        {
            "name": name,
            "ranks_sha256": sha256,
            "pattern": pattern,
            "special_tokens": dict(special_tokens),
        },
    )
    return side
