"""`tokprep check CANDIDATE`: run the conformance kit from a shell.

    tokprep check examples/tokenizers/ascii_letters.py:tokenizer
    tokprep check mypkg.tok:tokenizer --reference cl100k_base --examples 500 --seed 3 --json

Golden vectors of the reference's encoding run first, then each `--corpus` file, then the
property checks. A table per check goes to standard output (or one JSON object with `--json`),
followed by each failure's report; progress goes to standard error. Exit status: 0 when every
check passes, 1 when any fails (or the command cannot run).
"""

from __future__ import annotations

import argparse
import json
import sys

from tokprep.commands.options import add_json_option, library_default, print_json
from tokprep.files import PathLike


def register(commands: argparse._SubParsersAction) -> None:
    from tokprep.testing.checks import DEFAULT_EXAMPLES
    from tokprep.testing.runner import run_checks

    parser = commands.add_parser(
        "check",
        help="test a tokenizer against a reference (goldens, corpora, property checks)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "candidate",
        metavar="CANDIDATE",
        help="the tokenizer to test: an encoding name, tokprep:NAME, a file, file.py:ATTR or "
        "pkg.module:ATTR",
    )
    parser.add_argument(
        "--reference",
        default=library_default(run_checks, "reference"),
        metavar="SPEC",
        help=f"what it must equal (default: {library_default(run_checks, 'reference')})",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=None,
        metavar="N",
        help=f"inputs per property check (default: {DEFAULT_EXAMPLES})",
    )
    seed = library_default(run_checks, "seed")
    parser.add_argument(
        "--seed", type=int, default=seed, metavar="S", help=f"seed (default: {seed})"
    )
    parser.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="FILE",
        help="a UTF-8 text whose lines must encode as the reference's (repeatable)",
    )
    parser.add_argument(
        "--check",
        action="append",
        dest="checks",
        metavar="NAME",
        help="run only this check (repeatable); names: goldens, corpus and those in "
        "tokprep.testing.checks.CHECKS",
    )
    parser.add_argument("--no-goldens", action="store_true", help="skip the golden vectors")
    parser.add_argument(
        "--accept",
        metavar="FILE",
        help="known deviations: a JSON object mapping golden case IDs to the reason each is "
        "accepted",
    )
    parser.add_argument(
        "--vocab",
        metavar="FILE",
        help="a tokprep word vocabulary (.json): replaces the vocabulary of words-v1/v2/v3 and "
        "is passed to a candidate class (`mymod:SimpleTokenizerV2`)",
    )
    add_json_option(parser, "the report")
    parser.add_argument("--quiet", action="store_true", help="no progress on standard error")
    parser.set_defaults(func=_command)


def _read_deviations(path: PathLike | None) -> dict[str, str] | None:
    if path is None:
        return None
    from tokprep.errors import ArgumentValueError

    with open(path, encoding="utf-8") as f:
        deviations = json.load(f)
    if not isinstance(deviations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in deviations.items()
    ):
        raise ArgumentValueError(
            f"{path}: --accept takes a JSON object of golden case ID -> reason, such as "
            '{"gpt2-0042": "we split digits by three"}'
        )
    return deviations


def _read_vocab(path: PathLike | None) -> dict[str, int] | None:
    if path is None:
        return None
    from tokprep.tokenizers import load_vocab

    return load_vocab(path)


def _command(args: argparse.Namespace) -> int:
    from tokprep.errors import ArgumentValueError
    from tokprep.testing.runner import run_checks, stderr_progress

    if args.examples is not None and args.examples < 1:
        raise ArgumentValueError(f"--examples must be at least 1, got {args.examples}")
    if not args.quiet:
        print(f"tokprep check: {args.candidate} against {args.reference}", file=sys.stderr)
    report = run_checks(
        args.candidate,
        args.reference,
        examples=args.examples,
        seed=args.seed,
        checks=args.checks,
        golden=not args.no_goldens,
        corpora=args.corpus,
        known_deviations=_read_deviations(args.accept),
        progress=None if args.quiet else stderr_progress,
        vocab=_read_vocab(args.vocab),
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.format())
    return 0 if report.passed else 1
