"""`tokprep check-trainer SPEC`: compare a BPE trainer with the reference trainer of a rule.

    tokprep check-trainer examples/trainers/cs336_style.py:train_bpe --tie-break lexicographic
    tokprep check-trainer mypkg.bpe:Tokenizer --tie-break first-seen --corpus notes.txt --json

SPEC is `package.module:attribute` or `path/to/file.py:attribute`: a function
`train(text, vocab_size, special_tokens)`, CS336's `train_bpe(input_path, vocab_size,
special_tokens) -> (vocab, merges)`, or a class with `train(text, vocab_size)` and a `merges`
attribute (minbpe's). Each corpus (the `--corpus` files, else built-in texts that separate
the rules, then `--examples` hypothesis-drawn texts) is trained on by both; the first merge
where they differ is reported with both pairs and their counts, the tied pairs and which rule
takes which. Exit status: 0 when every corpus passes, 1 when any fails or SPEC cannot be
loaded, 2 for a usage error (an unknown option, `--merges 0`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tokprep.commands.options import add_json_option, library_default, print_json

#: Hypothesis-drawn corpora the command adds by default (the library function adds none).
COMMAND_EXAMPLES = 100


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse `type`: an integer of at least `minimum` (else a usage error, status 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: give an integer >= {minimum}")
        return value

    return parse


def register(commands: argparse._SubParsersAction) -> None:
    from tokprep.bpe.tie_break import TIE_BREAKS
    from tokprep.testing.trainer_checks import check_trainer

    def default(name: str) -> Any:  # check_trainer's own defaults
        return library_default(check_trainer, name)

    parser = commands.add_parser(
        "check-trainer",
        help="compare a BPE trainer with the reference of a tie-break rule",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("spec", metavar="SPEC", help="package.module:attr or file.py:attr")
    parser.add_argument(
        "--tie-break",
        choices=TIE_BREAKS,
        default=default("tie_break"),
        help=f"the rule the trainer claims to follow (default {default('tie_break')}; see "
        "tokprep.bpe.tie_break)",
    )
    parser.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="FILE",
        help="a UTF-8 text to train on (repeatable; default: built-in texts)",
    )
    parser.add_argument(
        "--merges",
        type=_count(1),
        default=default("n_merges"),
        metavar="N",
        help=f"merges compared per corpus ({default('n_merges')})",
    )
    parser.add_argument(
        "--examples",
        type=_count(0),
        default=COMMAND_EXAMPLES,
        metavar="N",
        help=f"hypothesis-drawn corpora after the others ({COMMAND_EXAMPLES}; 0 for none)",
    )
    parser.add_argument(
        "--pattern",
        default=default("pattern"),
        help=f"the trainer's pre-tokenizer (default {default('pattern')}): a preset or a regex",
    )
    parser.add_argument(
        "--special",
        action="append",
        default=None,
        metavar="TOKEN",
        help="a special token the trainer is given (repeatable; default "
        f"{' '.join(default('special_tokens'))}; 'none' for none)",
    )
    add_json_option(parser, "the report")
    parser.set_defaults(func=_command)


def _command(args: argparse.Namespace) -> int:
    from tokprep.errors import ArgumentValueError
    from tokprep.files import read_text
    from tokprep.testing.trainer_adapters import adapt_trainer
    from tokprep.testing.trainer_checks import check_trainer

    try:
        trainer = adapt_trainer(args.spec)
    except (ImportError, OSError, TypeError, ValueError) as e:  # bad input: status 1 (main)
        raise ArgumentValueError(f"cannot load {args.spec}: {e}") from None
    default_specials = library_default(check_trainer, "special_tokens")
    specials = list(default_specials) if args.special is None else args.special
    specials = [s for s in specials if s != "none"]
    corpora = {path: read_text(path) for path in args.corpus} or None
    report = check_trainer(
        trainer,
        args.tie_break,
        corpora,
        n_merges=args.merges,
        pattern=args.pattern,
        special_tokens=specials,
        examples=args.examples,
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.format())
    return 0 if report.passed else 1
