"""GPT-2's original vocabulary files: `encoder.json` and `vocab.bpe`.

GPT-2 stored tokens as *text*: each byte is shown as one printable character (printable
Latin-1 bytes as themselves, the other 68 bytes as U+0100 onwards, in byte order), so a token's
bytes become a string such as "Ġthe" (Ġ is the space byte). `vocab.bpe` lists the merges in
order, one "left right" pair per line after a "#version" header; `encoder.json` maps every token
string to its ID. Ranks follow: the 256 bytes first (printable characters first, as in GPT-2),
then one rank per merge, in file order.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path

from tokprep.bpe.ranks import ENDOFTEXT, validate_ranks
from tokprep.errors import ArgumentValueError, TokenizerFileError
from tokprep.files import PathLike, atomic_write, decode_utf8
from tokprep.special import SPECIAL_SHAPE


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable stand-in character mapping (its name in GPT-2's code)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in mapping]
    mapping.update({b: chr(256 + n) for n, b in enumerate(others)})
    return mapping


#: The 256 bytes in GPT-2's rank order: the ones shown as themselves first, then the others.
#: Hugging Face numbers its ByteLevel alphabet the same way (by the stand-in's code point).
GPT2_BYTE_ORDER: tuple[int, ...] = tuple(
    sorted(range(256), key=lambda b: ord(bytes_to_unicode()[b]))
)


def token_to_unicode(token: bytes) -> str:
    """A token's bytes spelled in GPT-2's stand-in characters (as in `encoder.json`)."""
    mapping = bytes_to_unicode()
    return "".join(mapping[b] for b in token)


@functools.cache
def _char_to_latin1() -> dict[int, str]:
    # A str.translate table: GPT-2 character -> the Latin-1 character of its byte. Latin-1
    # characters that are not GPT-2 characters (the space, control bytes) map to U+FFFF, which
    # the Latin-1 encoding then refuses.
    table = {code: "\uffff" for code in range(256)}
    table.update({ord(c): chr(b) for b, c in bytes_to_unicode().items()})
    return table


def unicode_to_token(text: str, source: str) -> bytes:
    try:
        return text.translate(_char_to_latin1()).encode("latin-1")
    except UnicodeEncodeError as e:
        raise TokenizerFileError(
            f"{source}: {text!r} holds {text[e.start]!r}, which is not one of GPT-2's 256 byte "
            "characters"
        ) from None


def read_gpt2_files(
    encoder_json: PathLike, vocab_bpe: PathLike
) -> tuple[dict[bytes, int], dict[str, int]]:
    """Read GPT-2-format files into `(mergeable_ranks, special_tokens)`.

    The ranks are rebuilt from `vocab.bpe` and must agree with `encoder.json` entry for entry;
    entries of `encoder.json` that are not byte-level tokens (such as `<|endoftext|>`) are the
    special tokens.
    """
    vocab_path, encoder_path = Path(vocab_bpe), Path(encoder_json)
    lines = decode_utf8(vocab_path.read_bytes(), str(vocab_path)).split("\n")
    ranks = {bytes([b]): rank for rank, b in enumerate(GPT2_BYTE_ORDER)}
    start = 1 if lines and lines[0].startswith("#version") else 0
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        fields = line.split(" ")
        if len(fields) != 2 or not all(fields):
            raise TokenizerFileError(
                f"{vocab_path}, line {number}: expected one merge 'left right', got {line[:80]!r}"
            )
        left, right = (unicode_to_token(f, f"{vocab_path}, line {number}") for f in fields)
        if left not in ranks or right not in ranks:
            raise TokenizerFileError(
                f"{vocab_path}, line {number}: merge {line!r} uses a token no earlier line made"
            )
        merged = left + right
        if merged in ranks:
            raise TokenizerFileError(
                f"{vocab_path}, line {number}: merge {line!r} makes a token that already exists"
            )
        ranks[merged] = len(ranks)
    try:
        encoder = json.loads(decode_utf8(encoder_path.read_bytes(), str(encoder_path)))
    except json.JSONDecodeError as e:
        raise TokenizerFileError(
            f"{encoder_path}: line {e.lineno}: not valid JSON ({e.msg})"
        ) from None
    if not isinstance(encoder, dict):
        raise TokenizerFileError(f"{encoder_path}: expected a JSON object of token -> ID")
    specials: dict[str, int] = {}
    seen = 0
    for text, index in encoder.items():
        if not isinstance(index, int) or isinstance(index, bool):
            raise TokenizerFileError(f"{encoder_path}: {text!r} has a non-integer ID {index!r}")
        token = unicode_to_token(text, str(encoder_path))
        if token not in ranks and SPECIAL_SHAPE.fullmatch(text):  # such as <|endoftext|>
            specials[text] = index
            continue
        if ranks.get(token) != index:
            raise TokenizerFileError(
                f"{encoder_path}: {text!r} has ID {index}, but {vocab_path} gives it "
                f"{ranks.get(token, 'no ID')}; the two files do not belong together"
            )
        seen += 1
    if seen != len(ranks):
        raise TokenizerFileError(
            f"{encoder_path}: lists {seen} byte-level tokens, {vocab_path} makes {len(ranks)}"
        )
    return ranks, specials


def write_gpt2_files(
    ranks: Mapping[bytes, int], special_tokens: Mapping[str, int], directory: PathLike
) -> tuple[Path, Path]:
    """Write GPT-2's `encoder.json` (token -> ID) and `vocab.bpe` (merges in rank order).

    tiktoken's `data_gym_to_mergeable_bpe_ranks` and Hugging Face's `BPE.from_file` both load
    them to the same IDs. `vocab.bpe` has one merge per learned token (GPT-2's format), so
    Hugging Face's pair ranking can differ from tiktoken on some text; `write_hf_tokenizer_json`
    closes that gap. Only `<|endoftext|>` may be a special token here: tiktoken's loader
    accepts no other extra entry in `encoder.json`, so any other raises `ArgumentValueError`.
    Returns the two paths.
    """
    from tokprep.bpe.export import merges_from_ranks

    validate_ranks(ranks, special_tokens=dict(special_tokens))
    others = [name for name in special_tokens if name != ENDOFTEXT]
    if others:
        raise ArgumentValueError(
            f"GPT-2's encoder.json can hold only the special token {ENDOFTEXT!r}, but "
            f"special_tokens also has {others!r}. Export to tokenizer.json or .tiktoken (which "
            "keep every special token), or drop those tokens for this export."
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    encoder = {
        token_to_unicode(token): rank
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    }
    encoder.update(special_tokens)
    lines = ["#version: 0.2"]
    lines += [f"{token_to_unicode(a)} {token_to_unicode(b)}" for a, b in merges_from_ranks(ranks)]
    encoder_path, merges_path = directory / "encoder.json", directory / "vocab.bpe"
    with atomic_write(encoder_path, "w") as f:
        json.dump(encoder, f, ensure_ascii=False)
    with atomic_write(merges_path, "w") as f:
        f.write("\n".join(lines) + "\n")  # tiktoken's reader drops the first and last line
    return encoder_path, merges_path
