"""The `tokprep` command. Each feature module registers its own subcommands.

Command modules import their heavy dependencies (torch, tiktoken) inside the command function,
so `tokprep --help` and the tokenizer commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence

from tokprep import __version__
from tokprep.errors import TextInputError

# Each module has `register(subparsers)`, which adds parsers whose `func(args) -> int` runs them.
COMMAND_MODULES = (
    "tokprep.commands.demo",
    "tokprep.commands.encode",
    "tokprep.commands.count",
    "tokprep.commands.train",
    "tokprep.commands.prepare",
    "tokprep.commands.inspect",
    "tokprep.commands.merge",
    "tokprep.commands.bench",
    "tokprep.commands.info",
    "tokprep.commands.check",
    "tokprep.commands.check_trainer",
    "tokprep.commands.serve",
)


#: Arguments (by `dest`) that hold text, not paths. Python turns argument bytes that are not
#: UTF-8 into lone surrogates (surrogateescape); tokprep refuses those in text, as it refuses
#: invalid UTF-8 on standard input, instead of encoding U+FFFD. Paths keep any bytes: a POSIX
#: file name need not be UTF-8, and surrogateescape opens the right file. An argument whose
#: metavar names a file (demo's `--text FILE`) is a path whatever its dest.
TEXT_ARGUMENTS = frozenset({"text", "allowed_special", "special", "pattern", "jsonl_field"})
_PATH_METAVARS = ("FILE", "DIR", "OUT")
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Raise `TextInputError` if a text argument of the chosen command is not valid UTF-8."""
    for action in _command_actions(parser, args.command):
        metavar = action.metavar if isinstance(action.metavar, str) else ""
        if action.dest not in TEXT_ARGUMENTS or metavar.startswith(_PATH_METAVARS):
            continue
        values = getattr(args, action.dest, None)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and _SURROGATE.search(value):
                name = "/".join(action.option_strings) or metavar or action.dest
                raise _argument_error(name, value)


def _command_actions(parser: argparse.ArgumentParser, command: str) -> list[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]._actions
    return []


def _argument_error(name: str, value: str) -> TextInputError:
    # The bytes the user typed: surrogateescape undoes Python's decoding; surrogatepass covers
    # lone surrogates given to main() directly.
    handler = "surrogateescape" if re.fullmatch("[^\ud800-\udc7f]*", value) else "surrogatepass"
    data = value.encode("utf-8", handler)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        offset, bad = e.start, data[e.start : e.end]
    else:  # pragma: no cover (a surrogate always gives invalid UTF-8)
        offset, bad = 0, b""
    return TextInputError(
        f"the argument {name} is not valid UTF-8: bytes {bad!r} at byte offset {offset}. "
        "tokprep reads command-line text as UTF-8; fix the terminal's encoding (a UTF-8 "
        "locale such as LANG=C.UTF-8), or pass the text on standard input as UTF-8."
    )


def build_parser() -> argparse.ArgumentParser:
    from tokprep.commands.options import EXIT_STATUS_HELP

    parser = argparse.ArgumentParser(
        prog="tokprep",
        description="Raw text to model input: tokenize, map to IDs, window, batch, embed.",
        epilog=EXIT_STATUS_HELP,
    )
    parser.add_argument("--version", action="version", version=f"tokprep {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


#: What a command may raise for bad input: tokprep's errors (ValueErrors, a few also KeyErrors),
#: tiktoken's, the OS's (a missing file), a `--tokenizer file.py:ATTR` that cannot be imported
#: or is not a tokenizer (ImportError, TypeError). Anything else is a bug and shows its
#: traceback; so does any error with TOKPREP_TRACEBACK=1 in the environment.
BAD_INPUT_ERRORS = (ValueError, LookupError, OSError, ImportError, TypeError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status follows `tokprep.commands.options.EXIT_STATUS_HELP`:
    0 success, 1 a failed check or bad input (one line on standard error), 2 a usage error
    (argparse exits with it before a command runs; a command may return it too); 130 when
    interrupted (Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_text_arguments(parser, args)
        status = int(args.func(args) or 0)
    except BAD_INPUT_ERRORS as e:
        if isinstance(e, BrokenPipeError):  # `tokprep encode ... | head`
            return 0
        if os.environ.get("TOKPREP_TRACEBACK"):
            raise
        print(f"tokprep {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tokprep {args.command}: interrupted", file=sys.stderr)
        return 130
    return status if status in (0, 1, 2) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
