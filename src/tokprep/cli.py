"""The `tokprep` command. Each feature module registers its own subcommands.

Command modules import their heavy dependencies (torch, tiktoken) inside the command function,
so `tokprep --help` and the tokenizer commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tokprep import __version__

# Each module has `register(subparsers)`, which adds parsers whose `func(args) -> int` runs them.
COMMAND_MODULES = (
    "tokprep.demo",
    "tokprep.bpe.cli",
    "tokprep.dataloading.cli",
    "tokprep.bench.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokprep",
        description="Raw text to model input: tokenize, map to IDs, window, batch, embed.",
    )
    parser.add_argument("--version", action="version", version=f"tokprep {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError) as e:  # bad input: tokprep's errors, tiktoken's, the OS's
        if isinstance(e, BrokenPipeError):  # `tokprep encode ... | head`
            return 0
        print(f"tokprep {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tokprep {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
