"""`tokprep bench`: tokprep against its peers, and any tokenizer or trainer you bring.

    tokprep bench --quick                                  # small inputs, about a minute
    tokprep bench                                          # the full run (prints its estimate)
    tokprep bench --quick --tokenizer mine=my_tok.py:tokenizer --trainer my_bpe.py:train
    tokprep bench --device cuda --out gpu/                 # + loader gather, CUDA embeddings

The measuring is in `tokprep.bench` (plans, runner, records, report); this module is the
command line: options, exit codes, where output goes (the report on standard output, progress
on standard error).
"""

from __future__ import annotations

import argparse
import sys

from tokprep.bench.plans import PLANS, QUICK, QUICK_SECONDS, SECTIONS
from tokprep.bench.runner import DEFAULT_OUT


def _sections(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(unknown) or '(none)'}; choose from {', '.join(SECTIONS)}"
        )
    return names


def _command(args: argparse.Namespace) -> int:
    from tokprep.bench import plans, runner
    from tokprep.errors import TokprepValueError

    plan = PLANS[args.plan] if args.plan else (plans.QUICK if args.quick else plans.FULL)
    try:
        checked = runner.setup(
            out=args.out,
            device=args.device,
            corpus=args.corpus,
            sections=args.only or SECTIONS,
            plan=plan,
            tokenizers=args.tokenizer or (),
            trainers=args.trainer or (),
            cap_s=args.cap,
        )
    except (TokprepValueError, TypeError, OSError) as e:  # bad input: nothing was measured
        print(f"tokprep bench: error: {e}", file=sys.stderr)
        return 1
    document = runner.execute(checked, json=args.json)
    return 1 if document.errors else 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure tokprep, its peers and your tokenizers: speed, worst cases, memory",
        description=(
            "Encoding (gpt2, cl100k_base, o200k_base), adversarial inputs, BPE training, "
            "DataLoader and embedding speed, in one process. Prints tables (every ratio is a "
            "time ÷ the reference named in its column: lower is better) and writes "
            "results.json and PNG charts. Exit status: 0 all ran; 1 a measurement failed (the "
            "others still ran) or bad input; 2 a usage error."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small inputs: about {QUICK_SECONDS} s on a 2-core machine, plus your "
        f"--tokenizer's own time (encoding on {QUICK.text_bytes:,} bytes)",
    )
    parser.add_argument(
        "--tokenizer",
        action="append",
        metavar="[LABEL=]SPEC",
        help="add your tokenizer to every encoding table and the adversarial cases "
        "(repeatable): an encoding name, a file, file.py:ATTR or pkg.module:ATTR, resolved by "
        "tokprep.load_tokenizer and the conformance kit's adapters",
    )
    parser.add_argument(
        "--trainer",
        action="append",
        metavar="[LABEL=]SPEC",
        help="add your BPE trainer to the training table (repeatable): file.py:ATTR or "
        "pkg.module:ATTR, as `tokprep check-trainer` takes it",
    )
    parser.add_argument(
        "--cap",
        type=float,
        metavar="SECONDS",
        help="time cap per adversarial case; a contender past it is reported as '> cap' "
        "(default: the plan's, 10 s; 3 s with --quick)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"folder for results.json and the charts (default: {DEFAULT_OUT}/)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda also runs the DataLoader's device-side gather and the embeddings on the GPU",
    )
    parser.add_argument(
        "--corpus",
        metavar="FILE",
        help="UTF-8 text for the encoding and DataLoader measurements (default: "
        "data/tinyshakespeare.txt in a checkout, else the bundled story)",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        metavar="SECTIONS",
        help=f"comma-separated sections to run: {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the results document as JSON, not tables"
    )
    # Test-only: `--plan tiny` runs every measurement on toy sizes in seconds.
    parser.add_argument("--plan", choices=sorted(PLANS), help=argparse.SUPPRESS)
    parser.set_defaults(func=_command)
