"""`tokprep demo [--text FILE]`: every stage of the pipeline on one text (`tokprep.demo`).

Its output is a walk-through for a person, not data, so it has no `--json`. The last stages
(the data loader, the embeddings) need torch: without it they say how to install it.
"""

from __future__ import annotations

import argparse


def _command(args: argparse.Namespace) -> int:
    from tokprep.commands.options import STDIN, read_text_argument
    from tokprep.demo import run_demo
    from tokprep.errors import TextInputError
    from tokprep.files import read_text

    if args.text is None:
        run_demo()
    elif args.text == STDIN:
        text = read_text_argument(STDIN)
        if not text:
            raise TextInputError("standard input is empty; give some text, or no --text")
        run_demo(text, name="standard input")
    else:
        run_demo(read_text(args.text), name=str(args.text))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("demo", help="run every stage of the pipeline on a text")
    parser.add_argument(
        "--text",
        metavar="FILE",
        help="a UTF-8 text file, or - for standard input (default: the bundled story)",
    )
    parser.set_defaults(func=_command)
