"""`tokprep encode`, `decode`, `show` and `train`: tokenizers from the command line.

    tokprep encode "Hello world"                 ->  15496 995
    echo "15496 995" | tokprep decode            ->  Hello world
    tokprep show --tokenizer tok.json "Hello"    ->  the text with token boundaries coloured
    tokprep train corpus.txt --vocab-size 5000 -o tok.json

Every `--tokenizer` goes through `tokprep.load_tokenizer` (default "gpt2"). Text that spells a
special token is refused unless `--allowed-special` names it (or says `all`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tokprep.errors import ArgumentValueError
from tokprep.files import decode_utf8

# Background colours for `show`, cycled token by token (ANSI 256-colour codes).
_COLOURS = (153, 216, 151, 223, 183, 187)


def _read_text(args: argparse.Namespace) -> str:
    if args.text is None or args.text == "-":
        return decode_utf8(sys.stdin.buffer.read(), "standard input")
    return args.text


def _encode(tokenizer: Any, text: str, allowed: list[str]) -> list[int]:
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
    from tokprep import load_tokenizer

    tokenizer = load_tokenizer(args.tokenizer)
    ids = _encode(tokenizer, _read_text(args), args.allowed_special)
    print(" ".join(map(str, ids)))
    return 0


def _decode_command(args: argparse.Namespace) -> int:
    from tokprep import load_tokenizer

    fields = args.ids or decode_utf8(sys.stdin.buffer.read(), "standard input").split()
    ids = []
    for field in fields:
        for part in field.replace(",", " ").replace("[", " ").replace("]", " ").split():
            try:
                ids.append(int(part))
            except ValueError:
                raise ArgumentValueError(
                    f"{part!r} is not a token ID; give integers separated by spaces or commas"
                ) from None
    tokenizer = load_tokenizer(args.tokenizer)
    for token in ids:  # named here, whatever the backend (tiktoken raises a bare KeyError)
        if not 0 <= token < tokenizer.n_vocab:
            raise ArgumentValueError(
                f"token ID {token} is outside this tokenizer's vocabulary of "
                f"{tokenizer.n_vocab:,} IDs (0..{tokenizer.n_vocab - 1})"
            )
    sys.stdout.write(tokenizer.decode(ids))
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
    from tokprep import load_tokenizer

    tokenizer = load_tokenizer(args.tokenizer)
    text = _read_text(args)
    ids = _encode(tokenizer, text, args.allowed_special)
    spans = token_spans(tokenizer, ids)
    colour = args.colour == "always" or (args.colour == "auto" and sys.stdout.isatty())
    if colour:
        shown = "".join(
            f"\x1b[30;48;5;{_COLOURS[n % len(_COLOURS)]}m{span}\x1b[0m"
            for n, span in enumerate(spans)
        )
    else:
        shown = "|".join(spans)
    print(shown)
    print(f"{len(ids)} tokens, {len(text)} characters: {ids}")
    return 0


def _train_command(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from tokprep.bpe import BPETokenizer

    output = Path(args.output)
    if output.suffix not in (".json", ".tiktoken"):
        raise ArgumentValueError(
            f"-o {output}: give a .json file (tokprep's format, keeps the special tokens and "
            "merges) or a .tiktoken file (ranks only)"
        )
    paths = [Path(p) for p in args.files]
    start = time.perf_counter()
    tokenizer = BPETokenizer.train(
        paths,
        args.vocab_size,
        pattern=args.pattern,
        special_tokens=args.special,
        min_frequency=args.min_frequency,
        progress=False if args.no_progress else None,
        name=output.stem,
    )
    seconds = time.perf_counter() - start
    if output.suffix == ".json":
        tokenizer.save(output)
    else:
        tokenizer.save_tiktoken(output)
    if args.export_hf:
        tokenizer.save_hf_tokenizer_json(args.export_hf)
    if args.export_gpt2:
        tokenizer.save_gpt2_files(args.export_gpt2)
    # Compression on the training text, counted with tiktoken running the same ranks (fast,
    # and equal to tokprep's own encoder, which the tests check).
    fast = tokenizer.to_tiktoken()
    n_bytes = n_tokens = 0
    for path in paths:
        data = path.read_bytes()
        n_bytes += len(data)
        n_tokens += len(fast.encode_ordinary(decode_utf8(data, str(path))))
    merges = len(tokenizer.mergeable_ranks) - 256
    print(
        f"trained {tokenizer.n_vocab:,} tokens (256 bytes + {merges:,} merges + "
        f"{len(tokenizer.special_tokens)} special) on {n_bytes:,} bytes in {seconds:.2f} s"
    )
    print(f"compression on the training text: {n_bytes / max(n_tokens, 1):.2f} bytes per token")
    print(f"wrote {output}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--tokenizer",
            default="gpt2",
            metavar="SPEC",
            help="gpt2 (default), tokprep:gpt2, a .tiktoken file or a tokprep .json file",
        )

    def text_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("text", nargs="?", metavar="TEXT", help="the text, or - for stdin")
        parser.add_argument(
            "--allowed-special",
            action="append",
            default=[],
            metavar="TOKEN",
            help="encode this special token's spelling as the special token (repeatable; 'all')",
        )

    encode = commands.add_parser("encode", help="print the token IDs of a text")
    common(encode)
    text_options(encode)
    encode.set_defaults(func=_encode_command)

    decode = commands.add_parser("decode", help="print the text of token IDs")
    common(decode)
    decode.add_argument("ids", nargs="*", metavar="ID", help="token IDs (default: read stdin)")
    decode.set_defaults(func=_decode_command)

    show = commands.add_parser("show", help="show a text's tokens with coloured boundaries")
    common(show)
    text_options(show)
    show.add_argument(
        "--colour",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the token boundaries (auto: only on a terminal)",
    )
    show.set_defaults(func=_show_command)

    train = commands.add_parser("train", help="train a byte-level BPE vocabulary on text files")
    train.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files (documents)")
    train.add_argument(
        "--vocab-size",
        type=int,
        required=True,
        metavar="N",
        help="IDs in all: 256 bytes + merges + special tokens",
    )
    train.add_argument(
        "--pattern",
        default="gpt2",
        help="pre-tokenizer: gpt2, cl100k, o200k or a regex (default gpt2)",
    )
    train.add_argument(
        "--special",
        action="append",
        default=[],
        metavar="TOKEN",
        help="a special token, such as '<|endoftext|>' (repeatable)",
    )
    train.add_argument(
        "--min-frequency",
        type=int,
        default=0,
        metavar="N",
        help="stop when the best pair occurs fewer than N times",
    )
    train.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="tok.json (tokprep format) or ranks.tiktoken",
    )
    train.add_argument(
        "--export-hf", metavar="FILE", help="also write a Hugging Face tokenizer.json"
    )
    train.add_argument(
        "--export-gpt2",
        metavar="DIR",
        help="also write GPT-2's encoder.json and vocab.bpe into DIR",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train_command)
