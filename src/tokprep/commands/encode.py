"""`tokprep encode`, `decode` and `show`: a tokenizer on the command line.

    tokprep encode "Hello world"                        ->  15496 995
    echo "15496 995" | tokprep decode                   ->  Hello world
    tokprep encode "Hello" | tokprep decode | tokprep encode -   (the same IDs)
    tokprep show --tokenizer cl100k_base "Hello world"  ->  the text, token boundaries coloured

Every `--tokenizer` goes through `tokprep.load_tokenizer` (default "gpt2"), with `--pattern`
and `--special TEXT=ID` for a `.tiktoken` file that does not say them. Text that spells a
special token is refused unless `--allowed-special` names it (or says `all`). `decode` ends
its text with a newline only on a terminal, so that a pipe carries the text exactly.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tokprep.commands.options import (
    STDIN,
    add_color_option,
    add_json_option,
    add_text_argument,
    add_tokenizer_options,
    print_json,
    read_text_argument,
    tokenizer_from_args,
    use_color,
)
from tokprep.errors import ArgumentValueError
from tokprep.files import decode_utf8

# `encode` prints the IDs this many at a time.
_PRINT_BLOCK = 1 << 16
# Background colours for `show`, cycled token by token (ANSI 256-colour codes).
_COLOURS = (153, 216, 151, 223, 183, 187)


def encode_allowing(tokenizer: Any, text: str, allowed: list[str]) -> list[int]:
    """`tokenizer.encode(text)` with the special tokens `--allowed-special` names (or `all`);
    a special token's spelling that is not allowed is an error naming that option."""
    from tokprep.errors import DisallowedSpecialTokenError
    from tokprep.special import check_special

    allowed_special: Any = "all" if "all" in allowed else set(allowed)
    try:  # checked here so that the error names the command-line fix
        check_special(text, getattr(tokenizer, "special_tokens_set", ()), allowed_special)
    except DisallowedSpecialTokenError as e:
        raise ArgumentValueError(
            f"the text spells the special token {e.token!r} at character {e.offset}; pass "
            f"--allowed-special '{e.token}' to encode it as that token (or --allowed-special all)"
        ) from None
    if hasattr(tokenizer, "encode"):
        return tokenizer.encode(text, allowed_special=allowed_special)
    return tokenizer.encode_ordinary(text)


def _encode_command(args: argparse.Namespace) -> int:
    tokenizer = tokenizer_from_args(args)
    ids = encode_allowing(tokenizer, read_text_argument(args.text), args.allowed_special)
    if args.json:
        print_json(ids)
        return 0
    # Written in blocks: one string of all IDs would take ~14 bytes per ID more at the peak.
    for start in range(0, len(ids), _PRINT_BLOCK):
        sys.stdout.write(" " if start else "")
        sys.stdout.write(" ".join(map(str, ids[start : start + _PRINT_BLOCK])))
    sys.stdout.write("\n")
    return 0


def parse_ids(fields: list[str]) -> list[int]:
    """Token IDs from text: integers separated by spaces or commas, brackets allowed (so
    `encode`'s output and `encode --json`'s both read back)."""
    ids = []
    for field in fields:
        for part in field.replace(",", " ").replace("[", " ").replace("]", " ").split():
            try:
                ids.append(int(part))
            except ValueError:
                raise ArgumentValueError(
                    f"{part!r} is not a token ID; give integers separated by spaces or commas"
                ) from None
    return ids


def _decode_command(args: argparse.Namespace) -> int:
    fields = args.ids
    if not fields or fields == [STDIN]:
        fields = decode_utf8(sys.stdin.buffer.read(), "standard input").split()
    ids = parse_ids(fields)
    tokenizer = tokenizer_from_args(args)
    for token in ids:  # named here, whatever the backend (tiktoken raises a bare KeyError)
        if not 0 <= token < tokenizer.n_vocab:
            raise ArgumentValueError(
                f"token ID {token} is outside this tokenizer's vocabulary of "
                f"{tokenizer.n_vocab:,} IDs (0..{tokenizer.n_vocab - 1})"
            )
    text = tokenizer.decode(ids)
    if args.json:
        print_json(text)
        return 0
    sys.stdout.write(text)
    if sys.stdout.isatty():  # a prompt after the text; a pipe or file gets the text exactly
        sys.stdout.write("\n")
    return 0


def token_spans(tokenizer: Any, ids: list[int]) -> list[str]:
    """The text of each token, for display. A token that ends inside a character gets the
    whole character; the tokens that finish it show as empty."""
    if hasattr(tokenizer, "decode_with_offsets"):
        try:
            text, offsets = tokenizer.decode_with_offsets(ids)
        except UnicodeDecodeError:
            pass
        else:
            ends = [*offsets[1:], len(text)]
            return [text[start:end] for start, end in zip(offsets, ends, strict=True)]
    return [tokenizer.decode([i]) for i in ids]


def _show_command(args: argparse.Namespace) -> int:
    tokenizer = tokenizer_from_args(args)
    text = read_text_argument(args.text)
    ids = encode_allowing(tokenizer, text, args.allowed_special)
    spans = token_spans(tokenizer, ids)
    if args.json:
        print_json(
            {
                "tokens": [{"id": i, "text": span} for i, span in zip(ids, spans, strict=True)],
                "n_tokens": len(ids),
                "n_characters": len(text),
            }
        )
        return 0
    if use_color(args.color):
        shown = "".join(
            f"\x1b[30;48;5;{_COLOURS[n % len(_COLOURS)]}m{span}\x1b[0m"
            for n, span in enumerate(spans)
        )
    else:
        shown = "|".join(spans)
    print(shown)
    print(f"{len(ids)} tokens, {len(text)} characters: {ids}")
    return 0


def _allowed_special_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allowed-special",
        action="append",
        default=[],
        metavar="TOKEN",
        help="encode this special token's spelling as the special token (repeatable; 'all')",
    )


def register(commands: argparse._SubParsersAction) -> None:
    encode = commands.add_parser("encode", help="print the token IDs of a text")
    add_tokenizer_options(encode)
    add_text_argument(encode)
    _allowed_special_option(encode)
    add_json_option(encode, "the IDs")
    encode.set_defaults(func=_encode_command)

    decode = commands.add_parser(
        "decode",
        help="print the text of token IDs",
        description="Print the text of token IDs, with a final newline only on a terminal.",
    )
    add_tokenizer_options(decode)
    decode.add_argument(
        "ids", nargs="*", metavar="ID", help="token IDs (none, or -: read standard input)"
    )
    add_json_option(decode, "the text")
    decode.set_defaults(func=_decode_command)

    show = commands.add_parser("show", help="show a text's tokens with coloured boundaries")
    add_tokenizer_options(show)
    add_text_argument(show)
    _allowed_special_option(show)
    add_color_option(show)
    add_json_option(show, "each token's ID and text")
    show.set_defaults(func=_show_command)
