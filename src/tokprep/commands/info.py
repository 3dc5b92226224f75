"""`tokprep info [--json]`: versions, pinned Unicode tables and the shipped files' sha256.

The document is `tokprep.info.info()`; exit status 1 when a shipped encoding's ranks do not
match their pin (a damaged installation).
"""

from __future__ import annotations

import argparse

from tokprep.commands.options import add_json_option, print_json


def _command(args: argparse.Namespace) -> int:
    from tokprep.info import format_info, info

    document = info()
    if args.json:
        print_json(document)
    else:
        print(format_info(document))
    return 0 if all(e["ranks_ok"] for e in document["encodings"].values()) else 1


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "info",
        help="versions, pinned Unicode tables and shipped files' sha256 (for bug reports)",
    )
    add_json_option(parser, "the same document")
    parser.set_defaults(func=_command)
