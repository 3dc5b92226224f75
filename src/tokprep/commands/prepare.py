"""`tokprep prepare`: a corpus -> llm.c token files (one per split, or shards) + manifests.

    tokprep prepare corpus.txt -o data/train.bin --val-tokens 32768
    tokprep prepare 'web/*.jsonl.gz' -o data/fw --shard-tokens 100000000 --workers 8
    tokprep prepare web/ -o data/fw --shard-tokens 100000000 --engine ray
    tokprep prepare web/ -o data/fw --shard-tokens 100000000 --engine tasks --rank 3 --world-size 16
    tokprep merge data/fw            # once every rank has run

The work is `tokprep.dataloading.prepare`; the engines are `tokprep.executors`. Needs no torch.
"""

from __future__ import annotations

import argparse

from tokprep.commands.options import add_json_option, library_default, print_json


def _prepare(args: argparse.Namespace) -> int:
    from tokprep.dataloading.prepare import prepare
    from tokprep.resolve import tokenizer_from_args

    # With --pattern/--special the tokenizer is resolved here; a bare spec goes to prepare().
    facts_given = args.pattern is not None or args.special_tokens is not None
    result = prepare(
        args.files,
        args.output,
        tokenizer=tokenizer_from_args(args) if facts_given else args.tokenizer,
        workers=args.workers,
        jsonl_field=args.jsonl_field,
        val_fraction=args.val_fraction,
        val_tokens=args.val_tokens,
        seed=args.seed,
        chunk_bytes=args.chunk_bytes,
        shard_tokens=args.shard_tokens,
        engine=args.engine,
        rank=args.rank,
        world_size=args.world_size,
        ray_address=args.ray_address,
        progress=False if args.no_progress else None,
    )
    if args.json:
        print_json(
            {
                "train": result.train,
                "val": result.val,
                "shards": result.shards,
                "input_bytes": result.input_bytes,
                "seconds": round(result.seconds, 3),
                "partitions_run": list(result.partitions_run),
                "partitions_skipped": list(result.partitions_skipped),
            }
        )
        return 0
    report(result, args.output)
    return 0


def report(result: object, output: str) -> None:
    """Print what a `prepare` (or `merge`) wrote, one line per split."""
    train = getattr(result, "train", None)
    if train is None:
        run, skipped = result.partitions_run, result.partitions_skipped  # type: ignore[attr-defined]
        print(
            f"partitions run: {len(run)} ({', '.join(map(str, run)) or 'none'}); already done: "
            f"{len(skipped)}. When every rank has run: tokprep merge {output}"
        )
        return
    for manifest in (train, result.val):  # type: ignore[attr-defined]
        if manifest is None:
            continue
        if "shards" in manifest:
            where = f"{len(manifest['shards'])} shard(s) {manifest['shards'][0]['file']}..."
            digest = ""
        else:
            where = manifest["file"]
            digest = f", sha256 {manifest['sha256'][:16]}..."
        print(
            f"{manifest['split']}: {where}: {manifest['tokens']:,} tokens "
            f"({manifest['dtype']}), {manifest['documents']:,} documents{digest}"
        )
    seconds = result.seconds  # type: ignore[attr-defined]
    if seconds:
        print(
            f"{result.input_bytes / 1e6:,.1f} MB in {seconds:.2f} s "  # type: ignore[attr-defined]
            f"({result.mb_per_s:,.1f} MB/s)"  # type: ignore[attr-defined]
        )


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """`--engine`, `--workers`, `--rank`, `--world-size`, `--ray-address` (prepare, train)."""
    from tokprep.executors import ENGINES

    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: a process pool here (default); tasks: run one rank of --world-size and "
        "leave parts for `tokprep merge`; ray: Ray tasks (pip install 'tokprep[ray]')",
    )
    parser.add_argument(
        "--rank",
        type=int,
        metavar="R",
        help="with --engine tasks: this rank (default: a Slurm array's SLURM_ARRAY_TASK_ID)",
    )
    parser.add_argument(
        "--world-size",
        type=int,
        metavar="W",
        help="with --engine tasks: how many ranks (default: SLURM_ARRAY_TASK_COUNT)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="with --engine ray: the cluster to join (default: start a local Ray)",
    )


def register(commands: argparse._SubParsersAction) -> None:
    from tokprep.dataloading.prepare import prepare
    from tokprep.resolve import add_tokenizer_options

    parser = commands.add_parser(
        "prepare",
        help="tokenize text/JSONL/Parquet files into llm.c token files or shards + manifest",
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="UTF-8 text, .jsonl (also .gz/.bz2/.xz/.zst), .parquet, folders, globs, or - "
        "(standard input)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="the token file (OUT, OUT.val.bin, OUT.json), or DIR/NAME with --shard-tokens",
    )
    add_tokenizer_options(parser)
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="processes (1)")
    add_engine_options(parser)
    parser.add_argument(
        "--jsonl-field",
        metavar="FIELD",
        help="read every file as JSONL with the text in FIELD (.jsonl files use 'text'); "
        "for Parquet, the text column",
    )
    val = parser.add_mutually_exclusive_group()
    val.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="hold out about F of the documents in the validation split",
    )
    val.add_argument(
        "--val-tokens",
        type=int,
        metavar="N",
        help="the first N tokens go to the validation split (llm.c's tinyshakespeare)",
    )
    parser.add_argument(
        "--shard-tokens",
        type=int,
        metavar="N",
        help="write llm.c shards OUT_val_000000.bin, OUT_train_000000.bin, ... of N tokens "
        "and one manifest OUT.json",
    )
    parser.add_argument(
        "--seed", type=int, default=library_default(prepare, "seed"), help="seed of the val split"
    )
    parser.add_argument(
        "--chunk-bytes",
        type=int,
        default=library_default(prepare, "chunk_bytes"),
        help="text read per chunk (output unchanged)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_option(parser, "the manifests")
    parser.set_defaults(func=_prepare)
