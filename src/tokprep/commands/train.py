"""`tokprep train`: a byte-level BPE vocabulary from text files.

    tokprep train corpus.txt --vocab-size 5000 -o tok.json
    tokprep train web.jsonl --vocab-size 32000 -o ranks.tiktoken --export-hf tokenizer.json

Training is `BPETokenizer.train`; this module checks the outputs before training (nothing is
written if a check fails), writes every output atomically, and reports the compression on the
training text (`--json` for the report as JSON). Defaults are `BPETokenizer.train`'s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from tokprep.commands.options import add_json_option, library_default, print_json
from tokprep.errors import ArgumentValueError

_GPT2_FILES = ("encoder.json", "vocab.bpe")
_TRANSFORMERS_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
)


def _train_command(args: argparse.Namespace) -> int:
    from tokprep.bpe.counting import TasksPending, counts_folder

    output = Path(args.output)
    if output.suffix not in (".json", ".tiktoken"):
        raise ArgumentValueError(
            f"-o {output}: give a .json file (tokprep's format, keeps the special tokens and "
            "merges) or a .tiktoken file (the ranks; the pattern and special tokens go in a "
            f"sidecar {output.name}.json)"
        )
    paths = [Path(p) for p in args.files]
    _check_train_files(args, paths)  # before training: nothing is written if a check fails
    start = time.perf_counter()
    try:
        tokenizer = _train(args, paths, output, counts_folder(output))
    except TasksPending as e:  # this rank's counts are written; the last rank trains
        print(e)
        return 0
    seconds = time.perf_counter() - start
    return _write_outputs(args, tokenizer, output, paths, seconds)


def _train(args: argparse.Namespace, paths: list[Path], output: Path, counts: Path) -> Any:
    from tokprep.bpe import BPETokenizer

    return BPETokenizer.train(
        files=paths,
        jsonl_field=args.jsonl_field,
        vocab_size=args.vocab_size,
        pattern=args.pattern,
        special_tokens=args.special,
        min_frequency=args.min_frequency,
        progress=False if args.no_progress else None,
        name=output.stem,
        tie_break=args.tie_break,
        processes=args.workers,
        engine=args.engine,
        rank=args.rank,
        world_size=args.world_size,
        ray_address=args.ray_address,
        counts_folder=counts,
    )


def _write_outputs(
    args: argparse.Namespace, tokenizer: Any, output: Path, paths: list[Path], seconds: float
) -> int:
    from tokprep.files import atomic_files

    # Every output is written into temporary files first and all are renamed into place only
    # after all were written: a failing export leaves the old files (or none), never a mix.
    sidecar = None
    with atomic_files() as files:
        staged = files.temp_folder(output.parent) / output.name
        if output.suffix == ".json":
            tokenizer.save(staged)
        else:
            sidecar = tokenizer.save_tiktoken(staged)
        if args.export_hf:
            hf = Path(args.export_hf)
            tokenizer.save_hf_tokenizer_json(files.temp_folder(hf.parent) / hf.name)
        if args.export_gpt2:
            tokenizer.save_gpt2_files(files.temp_folder(args.export_gpt2))
        if args.export_transformers:
            tokenizer.save_pretrained(files.temp_folder(args.export_transformers))
    n_bytes, n_tokens = _compression(tokenizer, paths, args.jsonl_field)
    written = {"output": str(output)}
    if sidecar:
        written["sidecar"] = str(output.with_name(Path(sidecar).name))
    for key in ("export_hf", "export_gpt2", "export_transformers"):
        if getattr(args, key):
            written[key] = str(getattr(args, key))
    merges = len(tokenizer.mergeable_ranks) - 256
    if args.json:
        print_json(
            {
                "n_vocab": tokenizer.n_vocab,
                "merges": merges,
                "special_tokens": len(tokenizer.special_tokens),
                "training_bytes": n_bytes,
                "training_tokens": n_tokens,
                "bytes_per_token": n_bytes / max(n_tokens, 1),
                "seconds": seconds,
                "files": written,
            }
        )
        return 0
    if sidecar:
        print(f"wrote {written['sidecar']} (the pattern and special tokens a .tiktoken can't hold)")
    print(
        f"trained {tokenizer.n_vocab:,} tokens (256 bytes + {merges:,} merges + "
        f"{len(tokenizer.special_tokens)} special) on {n_bytes:,} bytes in {seconds:.2f} s"
    )
    print(f"compression on the training text: {n_bytes / max(n_tokens, 1):.2f} bytes per token")
    print(f"wrote {output}")
    if args.export_hf:
        print(f"wrote {args.export_hf}")
    if args.export_gpt2:
        print(f"wrote {Path(args.export_gpt2) / 'encoder.json'} and vocab.bpe beside it")
    if args.export_transformers:
        print(f"wrote the transformers tokenizer folder {args.export_transformers}")
    return 0


def _compression(tokenizer: Any, paths: list[Path], jsonl_field: str | None) -> tuple[int, int]:
    """(bytes, tokens) of the training text, the documents as trained on.

    Counted with tokprep's own encoder (equal to tiktoken running the same ranks, which the
    tests check). Not tiktoken: its merge is quadratic in a piece's length (6 s for a 5 MB run
    of one letter, minutes at 50 MB) and it panics on a million spaces; tokprep's is
    O(n log n) with bounded memory.
    """
    from tokprep.sources import documents, open_sources

    n_bytes = n_tokens = 0
    texts = (
        "".join(blocks)
        for source in open_sources(paths, jsonl_field=jsonl_field)
        for _, blocks in documents(source, jsonl_field=jsonl_field)
    )
    for text in texts:  # a JSONL line's text field, a text file's whole text
        n_bytes += len(text.encode("utf-8"))
        n_tokens += len(tokenizer.encode_ordinary(text))
    return n_bytes, n_tokens


def _check_train_files(args: argparse.Namespace, paths: list[Any]) -> None:
    """What can be checked before training: the inputs can be read; every output's folder
    exists and is writable; no output is an input or another output; `--export-gpt2` gets at
    most the special token <|endoftext|>. Existing output files are replaced on success."""
    from tokprep.files import check_not_input, check_output
    from tokprep.sources import open_sources

    # Names a missing or unreadable file; folders and globs stand for the files they hold.
    inputs = [source.path for source in open_sources(paths, jsonl_field=args.jsonl_field)]
    output = check_output(args.output, "-o")
    outputs: dict[str, Any] = {f"-o {output}": output}
    if output.suffix == ".tiktoken":  # its sidecar, when the format cannot hold everything
        outputs[f"the sidecar {output}.json"] = output.with_name(output.name + ".json")
    if args.export_hf:
        outputs[f"--export-hf {args.export_hf}"] = check_output(args.export_hf, "--export-hf")
    if args.export_gpt2:
        outputs.update(_check_folder(args.export_gpt2, "--export-gpt2", _GPT2_FILES))
        others = [token for token in args.special if token != "<|endoftext|>"]
        if others:
            raise ArgumentValueError(
                f"--export-gpt2: GPT-2's encoder.json can hold only the special token "
                f"'<|endoftext|>', but --special also gives {others!r}. Export with --export-hf "
                "or -o (which keep every special token), or drop those tokens."
            )
    if getattr(args, "export_transformers", None):
        outputs.update(
            _check_folder(args.export_transformers, "--export-transformers", _TRANSFORMERS_FILES)
        )
    check_not_input(outputs, list(inputs))


def _check_folder(folder: Any, option: str, names: tuple[str, ...]) -> dict[str, Any]:
    """An export folder: a folder if it exists, else creatable (its parent exists and is
    writable); returns its files, labelled, for the input/output clash check."""
    from tokprep.files import check_output

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            f"{option} {folder}: is a file; give a folder (it gets {', '.join(names)})."
        )
    if not folder.exists():  # created when the files are written; its parent must exist
        check_output(folder, option)
    return {
        f"{option} {folder / name}": (
            check_output(folder / name, option) if folder.exists() else folder / name
        )
        for name in names
    }


def register(commands: argparse._SubParsersAction) -> None:
    from tokprep.bpe.tie_break import TIE_BREAKS
    from tokprep.bpe.train import train_bpe  # BPETokenizer.train's defaults are its defaults

    def default(name: str) -> Any:
        return library_default(train_bpe, name)

    train = commands.add_parser("train", help="train a byte-level BPE vocabulary on text files")
    train.add_argument(
        "files", nargs="+", metavar="FILE", help="UTF-8 text files or .jsonl files (as prepare)"
    )
    train.add_argument(
        "--vocab-size",
        type=int,
        required=True,
        metavar="N",
        help="IDs in all: 256 bytes + merges + special tokens",
    )
    train.add_argument(
        "--pattern",
        default=default("pattern"),
        help=f"pre-tokenizer: gpt2, cl100k, o200k or a regex (default {default('pattern')})",
    )
    train.add_argument(
        "--special",
        action="append",
        default=[],
        metavar="TOKEN",
        help="a special token, such as '<|endoftext|>' (repeatable)",
    )
    train.add_argument(
        "--min-frequency",
        type=int,
        default=default("min_frequency"),
        metavar="N",
        help="stop when the best pair occurs fewer than N times",
    )
    train.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="tok.json (tokprep format) or ranks.tiktoken",
    )
    train.add_argument(
        "--export-hf", metavar="FILE", help="also write a Hugging Face tokenizer.json"
    )
    train.add_argument(
        "--export-gpt2",
        metavar="DIR",
        help="also write GPT-2's encoder.json and vocab.bpe into DIR",
    )
    train.add_argument(
        "--export-transformers",
        metavar="DIR",
        help="also write a transformers tokenizer folder (AutoTokenizer.from_pretrained(DIR))",
    )
    train.add_argument(
        "--jsonl-field",
        "--text-field",
        metavar="FIELD",
        help="read every file as JSONL with the text in FIELD (.jsonl files use 'text'), "
        "as prepare does",
    )
    train.add_argument(
        "--tie-break",
        choices=TIE_BREAKS,
        default=default("tie_break"),
        help=f"whose rule picks between pairs of equal count (default {default('tie_break')}: "
        "Hugging Face's merges exactly; see tokprep.bpe.tie_break)",
    )
    from tokprep.commands.prepare import add_engine_options

    train.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes counting pre-tokens (default: the CPU count)",
    )
    add_engine_options(train)  # --engine tasks keeps each rank's counts in OUTPUT.counts/
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_option(train, "the training report")
    train.set_defaults(func=_train_command)
