"""Options and conventions shared by every `tokprep` command, spelled once.

- `--tokenizer SPEC` (with `--pattern` and `--special`): `add_tokenizer_options`, from the
  resolver, so every command takes the same specs with the same help.
- `--json`: a command that prints data prints one JSON document instead of text.
- `--color {auto,always,never}` (alias `--colour`): colour only on a terminal by default, never
  when the `NO_COLOR` environment variable is set (https://no-color.org), unless asked for.
- `-` names standard input wherever a command reads text (`read_text_argument`).
- Data goes to standard output; progress and messages go to standard error.
- Exit status: 0 success, 1 a failed check or bad input (one line on standard error), 2 a
  usage error (argparse's message). `EXIT_STATUS_HELP` says so in `tokprep --help`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

from tokprep.files import decode_utf8
from tokprep.resolve import DEFAULT_TOKENIZER, add_tokenizer_options, tokenizer_from_args

__all__ = [
    "DEFAULT_TOKENIZER",
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_STATUS_HELP",
    "EXIT_USAGE",
    "STDIN",
    "add_color_option",
    "add_json_option",
    "add_text_argument",
    "add_tokenizer_options",
    "library_default",
    "print_json",
    "read_text_argument",
    "tokenizer_from_args",
    "use_color",
]

EXIT_OK = 0
#: A check that failed, or input tokprep cannot use (a missing file, invalid UTF-8, a bad ID).
EXIT_BAD_INPUT = 1
#: The command line itself is wrong (an unknown option, a missing argument): argparse's status.
EXIT_USAGE = 2

EXIT_STATUS_HELP = (
    "exit status: 0 success; 1 a failed check or bad input (a one-line message on standard "
    "error); 2 a usage error. Data goes to standard output, progress and messages to standard "
    "error; '-' reads text from standard input; --json prints JSON; colour follows the "
    "terminal, NO_COLOR and --color."
)

#: The text standing for standard input.
STDIN = "-"


def add_json_option(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """`--json`: print `what` as one JSON document instead of text."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def print_json(document: Any, out: TextIO | None = None) -> None:
    """One JSON document, UTF-8 as is (not \\u escapes), on its own line."""
    print(json.dumps(document, ensure_ascii=False, indent=1), file=out or sys.stdout)


def add_color_option(parser: argparse.ArgumentParser) -> None:
    """`--color {auto,always,never}`, also spelled `--colour`."""
    parser.add_argument(
        "--color",
        "--colour",
        dest="color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output: auto (on a terminal, unless NO_COLOR is set), always or never",
    )


def use_color(choice: str, stream: TextIO | None = None) -> bool:
    """Whether to colour: `always`/`never` as asked; `auto` only on a terminal and only
    without a non-empty `NO_COLOR` in the environment."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def read_text_argument(value: str | None) -> str:
    """A text given on the command line, or standard input (as UTF-8) for `-` or no value."""
    if value is None or value == STDIN:
        return decode_utf8(sys.stdin.buffer.read(), "standard input")
    return value


def add_text_argument(parser: argparse.ArgumentParser) -> None:
    """The positional TEXT of `encode` and `show` (`-` or nothing: standard input)."""
    parser.add_argument(
        "text", nargs="?", metavar="TEXT", help="the text, or - (the default) for standard input"
    )


def library_default(function: Any, parameter: str) -> Any:
    """The default of `function`'s `parameter`: an option that passes its value to a library
    function defaults to what the function does when called without it.

    >>> from tokprep.bpe.train import train_bpe
    >>> library_default(train_bpe, "tie_break")
    'hf'
    """
    import inspect

    default = inspect.signature(function).parameters[parameter].default
    if default is inspect.Parameter.empty:  # pragma: no cover (a programming error)
        raise TypeError(f"{function.__qualname__}() has no default for {parameter}")
    return default
