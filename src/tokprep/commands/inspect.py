"""`tokprep inspect`: what a token file holds (its header, manifest and a decoded document).

    tokprep inspect data/train.bin --doc 3 --verify
    tokprep inspect data/fw_train_000000.bin --json

Needs no torch: token files are numpy memory maps.
"""

from __future__ import annotations

import argparse
from typing import Any

from tokprep.commands.options import add_json_option, print_json


def _inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from tokprep.dataloading.tokfile import load_tokens, manifest_path, read_header, read_manifest
    from tokprep.errors import ArgumentValueError, require_int
    from tokprep.resolve import tokenizer_from_args

    require_int("--tokens", args.tokens, minimum=0, hint="It is how many tokens to decode.")
    if args.file.endswith(".json"):
        return _inspect_shards(args)
    header = read_header(args.file)
    tokens = load_tokens(args.file, verify=args.verify)
    manifest = read_manifest(args.file) if manifest_path(args.file).exists() else None
    say = _printer(args.json)
    say(f"{args.file}: magic {header.magic}, version {header.version}, {header.dtype.name} tokens")
    say(f"  header count {header.count:,} tokens, file {header.file_bytes:,} bytes")
    spec = args.tokenizer
    if spec is None:
        spec = (manifest or {}).get("tokenizer", {}).get("spec", "gpt2")
    tok = tokenizer_from_args(args, spec)
    if manifest is not None:
        eot = int(manifest["eot"])
        say(
            f"  manifest: {manifest['documents']:,} documents, sha256 {manifest['sha256'][:16]}..."
            + (" (verified)" if args.verify else "")
        )
    else:
        from tokprep.dataloading.encode import end_of_text_id

        eot = end_of_text_id(tok)
    starts = np.flatnonzero(np.asarray(tokens) == eot)
    say(f"  {len(starts):,} documents (end-of-text ID {eot} before each)")
    report: dict[str, Any] = {
        "file": args.file,
        "magic": header.magic,
        "version": header.version,
        "dtype": header.dtype.name,
        "tokens": header.count,
        "bytes": header.file_bytes,
        "manifest": manifest,
        "verified": bool(args.verify and manifest is not None),
        "eot": eot,
        "documents": len(starts),
    }
    if not len(starts):
        if args.json:
            print_json(report)
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
    text = _decode(tok, shown, begin, args.file, spec)
    say(f"  document {doc}: {end - begin:,} tokens; the first {len(shown)} decoded ({spec}):")
    say(f"  {text!r}")
    if args.json:
        report["document"] = {
            "index": doc,
            "tokens": end - begin,
            "ids": shown,
            "text": text,
            "tokenizer": spec,
        }
        print_json(report)
    return 0


def _inspect_shards(args: argparse.Namespace) -> int:
    """A sharded output's manifest `NAME.json`: its splits and shards (checked with --verify)."""
    from tokprep.dataloading.parts import verify
    from tokprep.dataloading.tokfile import SHARDS_KIND
    from tokprep.errors import DatasetFormatError
    from tokprep.files import read_envelope

    manifest = read_envelope(args.file, (SHARDS_KIND,), error=DatasetFormatError)
    if args.verify:
        verify(args.file[: -len(".json")])
    if args.json:
        print_json({"file": args.file, "verified": bool(args.verify), "manifest": manifest})
        return 0
    spec = manifest["tokenizer"].get("spec", "?")
    print(f"{args.file}: llm.c shards of {manifest['shard_tokens']:,} tokens, {spec}")
    for name, split in manifest["splits"].items():
        print(
            f"  {name}: {split['tokens']:,} tokens, {split['documents']:,} documents in "
            f"{len(split['shards'])} shard(s)" + (" (verified)" if args.verify else "")
        )
        for shard in split["shards"]:
            print(
                f"    {shard['file']}: {shard['tokens']:,} tokens, sha256 {shard['sha256'][:16]}..."
            )
    return 0


def _printer(quiet: bool) -> Any:
    return (lambda line: None) if quiet else print


def _decode(tok: Any, ids: list[int], first: int, path: str, spec: str) -> str:
    """`tok.decode(ids)`, where `ids` start at token index `first` of the file; an ID the
    tokenizer lacks (tiktoken raises a bare KeyError) is named with its index in the file."""
    from tokprep.errors import DatasetFormatError

    try:
        return tok.decode(ids)
    except (KeyError, ValueError):
        for index, token in enumerate(ids, start=first):
            try:
                tok.decode([token])
            except (KeyError, ValueError):
                raise DatasetFormatError(
                    f"{path}: the token at index {index:,} is ID {token}, which the tokenizer "
                    f"{spec} does not have (n_vocab {tok.n_vocab:,}): the file was made by "
                    "another tokenizer; pass --tokenizer SPEC naming the one that made it."
                ) from None
        raise


def register(commands: argparse._SubParsersAction) -> None:
    from tokprep.resolve import add_tokenizer_options

    parser = commands.add_parser(
        "inspect", help="show a token file's header and a document, or a shards manifest"
    )
    parser.add_argument("file", metavar="OUT.bin", help="a token file or shard, or NAME.json")
    parser.add_argument("--doc", type=int, default=0, help="which document to decode (0)")
    parser.add_argument("--tokens", type=int, default=64, help="how many tokens to decode (64)")
    add_tokenizer_options(parser, default=None, help="default: the manifest's, or gpt2")
    parser.add_argument("--verify", action="store_true", help="check the manifest's sha256")
    add_json_option(parser, "the header, manifest and document")
    parser.set_defaults(func=_inspect)
