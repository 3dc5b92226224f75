"""`tokprep merge OUT`: finish a `--engine tasks` run, or verify any `prepare` output.

    tokprep prepare web/ -o fw --shard-tokens 100000000 --engine tasks --rank 0 --world-size 4
    ...                                   # ranks 1, 2, 3, anywhere that sees the same folder
    tokprep merge fw                      # assembles fw.parts/ into shards + fw.json

With task parts (`OUT.parts/`) it writes the final outputs, byte for byte what one process would
have written, and removes the parts; it names the missing partitions if some rank has not run.
Without parts it checks the outputs against their manifest (headers, sizes, sha256).
"""

from __future__ import annotations

import argparse

from tokprep.commands.options import add_json_option, print_json


def _merge(args: argparse.Namespace) -> int:
    from tokprep.commands.prepare import report
    from tokprep.dataloading.parts import merge, parts_folder
    from tokprep.dataloading.prepare import result_from_manifests

    assembling = parts_folder(args.output).is_dir()
    manifests = merge(args.output)
    if args.json:
        print_json({"assembled": assembling, **manifests})
        return 0
    print(f"{args.output}: " + ("assembled from task parts" if assembling else "verified"))
    report(result_from_manifests(manifests, 0, 0.0), args.output)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "merge", help="assemble a `prepare --engine tasks` run's parts, or verify an output"
    )
    parser.add_argument("output", metavar="OUT", help="the -o of the prepare run")
    add_json_option(parser, "the manifests")
    parser.set_defaults(func=_merge)
