"""Mergeable ranks: reading, checking and pinning the table that defines a byte-level BPE.

A byte-level BPE vocabulary is one table, `ranks: dict[bytes, int]`. Ranks 0..255 are the 256
single bytes; every later rank is a byte string made by merging two earlier tokens, and a lower
rank means an earlier (higher priority) merge. tiktoken stores it as a `.tiktoken` file, one
`base64(token) rank` line per token, in rank order.

tokprep reads these files itself (never through tiktoken's download cache), checks a sha256
when one is given, and validates the table before using it:

- all 256 single bytes are present;
- ranks are unique and contiguous, 0..n-1;
- every multi-byte token is the concatenation of two tokens of lower rank (so BPE can reach it);
- special-token IDs do not collide with ranks.
"""

from __future__ import annotations

import base64
import binascii
import functools
import gzip
import hashlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tokprep.bpe.cuts import TokenCuts
from tokprep.errors import ArgumentValueError, TokenizerFileError
from tokprep.files import PathLike
from tokprep.special import special_tokens_problem

if TYPE_CHECKING:
    import tiktoken

#: GPT-2's pre-tokenizer, as tiktoken runs it today: the original release's
#: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` rewritten with
#: possessive quantifiers and a `\s++$` alternative; both split every text the same way.
GPT2_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
ENDOFTEXT = "<|endoftext|>"
GPT2_EOT = 50256
#: sha256 of GPT-2's ranks in tiktoken format: the file tiktoken pins for r50k_base, shipped in
#: this package from the openai-whisper assets (MIT licence).
GPT2_TIKTOKEN_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha256(data: bytes, expected: str | None, source: str) -> None:
    """Raise `TokenizerFileError` unless `data` hashes to `expected` (skipped when None)."""
    if expected is None:
        return
    if not isinstance(expected, str):
        raise TypeError(
            f"expected_sha256 must be a str of 64 hex digits (or None), got "
            f"{type(expected).__name__} {expected!r}"
        )
    if len(expected) != 64 or expected.strip("0123456789abcdefABCDEF"):
        raise ArgumentValueError(
            f"expected_sha256 {expected!r} is not a sha256: it must be 64 hex digits, as "
            "`sha256sum FILE` prints them"
        )
    actual = sha256_hex(data)
    if actual != expected.lower():
        raise TokenizerFileError(
            f"{source}: sha256 is {actual}, expected {expected}. The file is corrupt or not the "
            "one you meant; fetch it again or pass the right expected_sha256."
        )


def parse_tiktoken_bpe(data: bytes, source: str) -> tuple[dict[bytes, int], dict[bytes, int]]:
    """Parse `.tiktoken` lines into `(ranks, line_of_token)`; blank lines are skipped.

    Structural errors (bad base64, a rank that is not a decimal integer, a token or rank given
    twice) raise `TokenizerFileError` with the line number. Never unpickles anything.
    """
    ranks: dict[bytes, int] = {}
    lines: dict[bytes, int] = {}
    seen_ranks: dict[int, int] = {}
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        line = raw.decode("utf-8", "replace")  # for messages and parsing; tokens are base64
        fields = line.split()
        if len(fields) != 2:
            raise TokenizerFileError(
                f"{source}, line {number}: expected 'base64-token rank', got {line[:80]!r}"
            )
        encoded, rank_text = fields
        try:
            token = base64.b64decode(encoded.encode("ascii", "replace"), validate=True)
        except (binascii.Error, ValueError):
            raise TokenizerFileError(
                f"{source}, line {number}: {encoded[:60]!r} is not valid base64"
            ) from None
        if not token:
            raise TokenizerFileError(f"{source}, line {number}: the token is empty")
        if not (rank_text.isdigit() and rank_text.isascii()):
            raise TokenizerFileError(
                f"{source}, line {number}: rank {rank_text[:20]!r} is not a non-negative integer"
            )
        rank = int(rank_text)
        if token in ranks:
            raise TokenizerFileError(
                f"{source}, line {number}: token {token!r} was already given on line "
                f"{lines[token]}; each token appears once"
            )
        if rank in seen_ranks:
            raise TokenizerFileError(
                f"{source}, line {number}: rank {rank} was already given on line "
                f"{seen_ranks[rank]}; ranks must be unique"
            )
        ranks[token] = rank
        lines[token] = number
        seen_ranks[rank] = number
    return ranks, lines


#: Tokens up to this many bytes are checked by trying every cut; longer ones by `TokenCuts`.
_SHORT_TOKEN = 32


def validate_ranks(
    ranks: Mapping[bytes, int],
    source: str = "ranks",
    *,
    special_tokens: Mapping[str, int] | None = None,
    lines: Mapping[bytes, int] | None = None,
) -> None:
    """Check that `ranks` is a usable byte-level BPE table (see the module docstring).

    Raises `TokenizerFileError` naming `source` and, when `lines` is given, the line.
    """

    def where(token: bytes) -> str:
        return f"{source}, line {lines[token]}" if lines and token in lines else source

    for token, rank in ranks.items():
        if not isinstance(token, bytes) or isinstance(rank, bool) or not isinstance(rank, int):
            raise TypeError(f"{source}: ranks must map bytes to int, got {token!r}: {rank!r}")
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise TokenizerFileError(
            f"{source}: {len(missing)} of the 256 single-byte tokens are missing (first: "
            f"{bytes([missing[0]])!r}); a byte-level BPE needs every byte to encode any text"
        )
    n = len(ranks)
    by_rank: dict[int, bytes] = {}
    for token, rank in ranks.items():
        if rank in by_rank:
            raise TokenizerFileError(
                f"{where(token)}: rank {rank} is used by both {by_rank[rank]!r} and {token!r}"
            )
        by_rank[rank] = token
    if max(by_rank) != n - 1 or min(by_rank) != 0:
        gap = next(r for r in range(n) if r not in by_rank)
        raise TokenizerFileError(
            f"{source}: ranks must be contiguous 0..{n - 1}, but rank {gap} is missing "
            f"(largest rank {max(by_rank)})"
        )
    cutter: TokenCuts | None = None
    for token, rank in ranks.items():
        if len(token) == 1:
            continue
        if len(token) <= _SHORT_TOKEN:  # every cut, sliced: cheap at this length
            for cut in range(1, len(token)):
                left = ranks.get(token[:cut])
                if left is not None and left < rank:
                    right = ranks.get(token[cut:])
                    if right is not None and right < rank:
                        break
            else:
                cut = 0
        else:  # only the cuts whose halves are tokens (linear in the token's length)
            cutter = cutter or TokenCuts(ranks)
            cut = next((c for c, a, b in cutter.cuts(token) if a < rank and b < rank), 0)
        if not cut:
            raise TokenizerFileError(
                f"{where(token)}: token {token!r} (rank {rank}) is not the merge of two "
                "lower-ranked tokens, so BPE can never produce it"
            )
    validate_special_tokens(special_tokens or {}, n, source)


#: How far past the mergeable ranks a special-token ID may lie. BPETokenizer decodes through a
#: table with one entry per ID up to the largest (8 bytes each), so an ID of 10**12 would ask
#: for terabytes; real vocabularies leave gaps of a few hundred at most (o200k: 19).
MAX_SPECIAL_ID_GAP = 2**20


def validate_special_tokens(special_tokens: Mapping[str, int], n_ranks: int, source: str) -> None:
    """Special-token IDs are distinct non-negative ints from `n_ranks` (tiktoken's rule: they
    never collide with a mergeable token) to below `n_ranks + MAX_SPECIAL_ID_GAP`; no token is
    empty or a prefix of another (see `tokprep.special.special_tokens_problem`).

    Non-integer IDs raise `TypeError` (numpy integers are accepted); bad values raise
    `TokenizerFileError` naming `source`.
    """
    limit = n_ranks + MAX_SPECIAL_ID_GAP
    for name, index in special_tokens.items():
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise TypeError(
                f"{source}: special token {name!r} has ID {index!r} of type "
                f"{type(index).__name__}; special-token IDs must be ints"
            )
        index = index.__index__()
        if index < n_ranks:
            raise TokenizerFileError(
                f"{source}: special token {name!r} has ID {index}, which is "
                + ("negative" if index < 0 else "already a mergeable rank")
                + f"; special IDs must be >= {n_ranks} (the number of mergeable ranks)"
            )
        if index >= limit:
            raise TokenizerFileError(
                f"{source}: special token {name!r} has ID {index:,}, more than this vocabulary "
                f"can hold: special IDs must be below {limit:,} ({n_ranks:,} mergeable ranks + "
                f"2**20), because the decoder keeps one entry per ID up to the largest. Number "
                f"the special tokens from {n_ranks:,}, right after the ranks"
            )
    if len({index.__index__() for index in special_tokens.values()}) != len(special_tokens):
        raise TokenizerFileError(f"{source}: two special tokens share an ID: {special_tokens!r}")
    if problem := special_tokens_problem(special_tokens):
        raise TokenizerFileError(f"{source}: {problem}")


def read_tiktoken_file(path: PathLike, *, expected_sha256: str | None = None) -> dict[bytes, int]:
    """Read, hash-check, parse and validate a `.tiktoken` ranks file."""
    path = Path(path)
    data = path.read_bytes()
    check_sha256(data, expected_sha256, str(path))
    ranks, lines = parse_tiktoken_bpe(data, str(path))
    validate_ranks(ranks, str(path), lines=lines)
    return ranks


def dump_tiktoken_bpe(ranks: Mapping[bytes, int]) -> bytes:
    """The `.tiktoken` text of `ranks`: one `base64(token) rank` line per token, in rank order."""
    return b"".join(
        base64.b64encode(token) + b" " + str(rank).encode() + b"\n"
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    )


def read_ranks_text(path: PathLike) -> bytes:
    """The `.tiktoken` text of the file at `path`, gunzipped when the name ends in `.gz`.

    Hashes of ranks files (tiktoken's pins, tokprep's sidecars) are of this text.
    """
    path = Path(path)
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise TokenizerFileError(f"{path}: not a readable gzip file ({e})") from None
    return data


def parse_pinned_tiktoken_bpe(data: bytes) -> dict[bytes, int]:
    """Parse `.tiktoken` text whose sha256 already matched a pin (a known-good file).

    No per-line checks: the hash pins bytes whose validity is a test, so loading costs about
    what tiktoken's own loader does. Use `parse_tiktoken_bpe` for anything else.
    """
    decode = binascii.a2b_base64
    return {decode(token): int(rank) for token, rank in map(bytes.split, data.splitlines())}


@functools.cache
def _packaged_ranks(filename: str, sha256: str) -> dict[bytes, int]:
    """The ranks shipped as `tokprep/data/<filename>`, hash-checked, read once per process.

    The dict is shared by every caller: read it, never change it.
    """
    source = f"tokprep/data/{filename}"
    with resources.as_file(resources.files("tokprep") / "data" / filename) as path:
        data = read_ranks_text(path)
    check_sha256(data, sha256, source)
    return parse_pinned_tiktoken_bpe(data)


def _gpt2_ranks() -> dict[bytes, int]:
    return _packaged_ranks("gpt2.tiktoken", GPT2_TIKTOKEN_SHA256)


def gpt2_ranks() -> dict[bytes, int]:
    """GPT-2's 50,256 mergeable ranks from the file shipped in this package (a fresh copy)."""
    return dict(_gpt2_ranks())


def tiktoken_gpt2() -> tiktoken.Encoding:
    """tiktoken's `gpt2` encoding, built offline from the shipped, hash-checked ranks.

    Equal to `tiktoken.get_encoding("gpt2")`: same ranks, `<|endoftext|>` = 50256, the same
    pattern; it never downloads and never reads tiktoken's cache folder. The same object as
    `tokprep.bpe.tiktoken_encoding("gpt2")`.
    """
    from tokprep.bpe.encodings import tiktoken_encoding

    return tiktoken_encoding("gpt2")
