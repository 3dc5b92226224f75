"""`tokprep prepare` (corpus -> token file) and `tokprep inspect` (what a token file holds).

Neither needs torch: token files are numpy memory maps.
"""

from __future__ import annotations

import argparse


def _prepare(args: argparse.Namespace) -> int:
    from tokprep.dataloading.prepare import prepare

    result = prepare(
        args.files,
        args.output,
        tokenizer=args.tokenizer,
        workers=args.workers,
        jsonl_field=args.jsonl_field,
        val_fraction=args.val_fraction,
        seed=args.seed,
        chunk_bytes=args.chunk_bytes,
        progress=False if args.no_progress else None,
    )
    for manifest in (result.train, result.val):
        if manifest is None:
            continue
        print(
            f"{manifest['split']}: {manifest['file']}: {manifest['tokens']:,} tokens "
            f"({manifest['dtype']}), {manifest['documents']:,} documents, "
            f"sha256 {manifest['sha256'][:16]}..."
        )
    print(
        f"{result.input_bytes / 1e6:,.1f} MB in {result.seconds:.2f} s "
        f"({result.mb_per_s:,.1f} MB/s, {args.workers} worker(s), "
        f"{result.train['chunking']})"
    )
    return 0


def _inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from tokprep.dataloading.tokfile import load_tokens, manifest_path, read_header, read_manifest
    from tokprep.errors import ArgumentValueError
    from tokprep.resolve import load_tokenizer

    header = read_header(args.file)
    tokens = load_tokens(args.file, verify=args.verify)
    manifest = read_manifest(args.file) if manifest_path(args.file).exists() else None
    print(
        f"{args.file}: magic {header.magic}, version {header.version}, {header.dtype.name} tokens"
    )
    print(f"  header count {header.count:,} tokens, file {header.file_bytes:,} bytes")
    spec = args.tokenizer
    if spec is None:
        spec = (manifest or {}).get("tokenizer", {}).get("spec", "gpt2")
    tok = load_tokenizer(spec)
    if manifest is not None:
        eot = int(manifest["eot"])
        print(
            f"  manifest: {manifest['documents']:,} documents, sha256 {manifest['sha256'][:16]}..."
            + (" (verified)" if args.verify else "")
        )
    else:
        from tokprep.dataloading.prepare import end_of_text_id

        eot = end_of_text_id(tok)
    starts = np.flatnonzero(np.asarray(tokens) == eot)
    print(f"  {len(starts):,} documents (end-of-text ID {eot} before each)")
    if not len(starts):
        return 0
    if not -len(starts) <= args.doc < len(starts):
        raise ArgumentValueError(
            f"--doc {args.doc} is out of range: the file has {len(starts)} documents "
            f"(0..{len(starts) - 1})."
        )
    doc = args.doc % len(starts)
    begin = int(starts[doc]) + 1
    end = int(starts[doc + 1]) if doc + 1 < len(starts) else len(tokens)
    shown = [int(t) for t in tokens[begin : min(end, begin + args.tokens)]]
    print(f"  document {doc}: {end - begin:,} tokens; the first {len(shown)} decoded ({spec}):")
    print(f"  {tok.decode(shown)!r}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "prepare", help="tokenize text/JSONL files into an llm.c token file (OUT.bin + manifest)"
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text or .jsonl files")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.bin")
    parser.add_argument("--tokenizer", default="gpt2", metavar="SPEC", help="default: gpt2")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="processes (1)")
    parser.add_argument(
        "--jsonl-field",
        metavar="FIELD",
        help="read every file as JSONL with the text in FIELD (.jsonl files use 'text')",
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="hold out about F of the documents in OUT.val.bin",
    )
    parser.add_argument("--seed", type=int, default=2357, help="seed of the validation split")
    parser.add_argument(
        "--chunk-bytes", type=int, default=1 << 20, help="text read per chunk (output unchanged)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_prepare)

    parser = commands.add_parser("inspect", help="show a token file's header and a document")
    parser.add_argument("file", metavar="OUT.bin")
    parser.add_argument("--doc", type=int, default=0, help="which document to decode (0)")
    parser.add_argument("--tokens", type=int, default=64, help="how many tokens to decode (64)")
    parser.add_argument("--tokenizer", metavar="SPEC", help="default: the manifest's, or gpt2")
    parser.add_argument("--verify", action="store_true", help="check the manifest's sha256")
    parser.set_defaults(func=_inspect)
