"""`tokprep serve`: the tokenizer playground on a local web server (`tokprep.serve`).

    tokprep serve [--port 8000] [--host 127.0.0.1] [--tokenizer LABEL=SPEC ...]

The first line of standard output is the URL to open (`--port 0` picks a free port). The page
offers the shipped encodings, the chapter-2 word tokenizers and every `--tokenizer`. It binds
127.0.0.1 unless `--host` says otherwise, which it warns about: the playground has no login.
"""

from __future__ import annotations

import argparse
import sys

from tokprep.serve.playground import BUILTIN_SPECS, Limits


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="a tokenizer playground in the browser (local web server)",
        description="Start the tokenizer playground: coloured tokens, differences between two "
        "tokenizers, DataLoader windows and BPE training step by step. Prints its URL first.",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (0: a free one; default 8000)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1, this machine only; another address lets "
        "other machines use the playground: a warning says so)",
    )
    parser.add_argument(
        "--tokenizer",
        dest="tokenizers",
        action="append",
        default=[],
        metavar="[LABEL=]SPEC",
        help="another tokenizer for the page (repeatable): any spec of --tokenizer, with an "
        f"optional label; always offered: {', '.join(BUILTIN_SPECS)}",
    )
    parser.add_argument(
        "--allow-host",
        dest="allow_hosts",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name the page may be opened as (requests naming other hosts are "
        "refused, against DNS rebinding)",
    )
    parser.add_argument(
        "--train-seconds",
        type=float,
        default=Limits.max_train_seconds,
        help=f"time limit of one training on the page (default {Limits.max_train_seconds:g})",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    parser.set_defaults(func=_serve_command)


def _serve_command(args: argparse.Namespace) -> int:
    from tokprep.errors import ArgumentValueError
    from tokprep.serve import Playground, make_server

    if not 0 <= args.port <= 65535:
        raise ArgumentValueError(f"--port {args.port}: use 0 (a free port) to 65535")
    if not args.train_seconds > 0:
        raise ArgumentValueError(f"--train-seconds {args.train_seconds}: use a positive number")
    playground = Playground.default(args.tokenizers, Limits(max_train_seconds=args.train_seconds))
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    server = make_server(
        playground, host=args.host, port=args.port, allowed_hosts=tuple(args.allow_hosts), log=log
    )
    print(server.url, flush=True)
    if not _is_loopback(args.host):
        print(
            f"tokprep serve: warning: listening on {args.host}, not only on this machine: "
            "anyone who can reach it can use the playground (it has no login). Requests must "
            "name this server as 127.0.0.1, localhost, the address given to --host or an "
            "--allow-host NAME; others are refused.",
            file=sys.stderr,
            flush=True,
        )
    print("tokprep serve: press Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
