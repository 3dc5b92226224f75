"""`tokprep count FILE... [--tokenizer SPEC ...] [--json]`: tokens per file and per tokenizer.

    tokprep count notes.txt book.txt                         # GPT-2 tokens of each, and total
    tokprep count *.md --tokenizer gpt2 --tokenizer o200k_base --json
    cat notes.txt | tokprep count -                          # standard input

Files are read as `prepare` and `train` read them (`tokprep.sources`): a `.jsonl` file counts
the text of its documents (`--jsonl-field`), compressed and Parquet files are read through.
Special-token text counts as ordinary text (`encode_ordinary`), so any text can be counted.
Registry names (gpt2, cl100k_base, ...) count with tiktoken's own encoder; any tokenizer
`load_tokenizer` resolves can be counted.

Files are streamed: read in blocks (`tokprep.sources`) and encoded in chunks cut where the
tokenizer's pre-tokenizer pieces never cross (`tokprep.bpe.pretokenize.last_safe_cut`), so
the counts equal encoding each document whole while memory stays at a few blocks. A tokenizer
whose pattern tokprep has not verified (a custom one) gets each document whole.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from tokprep.commands.options import (
    DEFAULT_TOKENIZER,
    STDIN,
    add_json_option,
    add_tokenizer_options,
    print_json,
    tokenizer_from_args,
)
from tokprep.errors import ArgumentValueError


class TokenCounter:
    """Counts one tokenizer's tokens over a document given in blocks of text.

    >>> from tokprep import load_tokenizer
    >>> counter = TokenCounter(load_tokenizer("gpt2"))
    >>> for block in ["Hello wor", "ld, hello world"]:
    ...     counter.feed(block)
    >>> counter.end_document()   # Hello| world|,| hello| world
    5
    """

    def __init__(self, tokenizer: Any) -> None:
        from tokprep.bpe.pretokenize import safe_cut_regex
        from tokprep.resolve import tokenizer_pattern

        self.tokenizer = tokenizer
        pattern = tokenizer_pattern(tokenizer)
        # Only a verified pattern is cut; otherwise the document is encoded whole.
        self._pattern = pattern if pattern and safe_cut_regex(pattern) is not None else None
        self._pending: list[str] = []
        self._document = 0

    def feed(self, text: str) -> None:
        """Take the next block of the current document; encode what can be encoded now."""
        from tokprep.bpe.pretokenize import last_safe_cut

        if self._pattern is None:
            self._pending.append(text)
            return
        window = "".join(self._pending) + text
        cut = last_safe_cut(window, self._pattern)
        if cut > 0:
            self._document += self._count(window[:cut])
            window = window[cut:]
        self._pending = [window]

    def _count(self, text: str) -> int:
        try:
            return len(self.tokenizer.encode_ordinary(text))
        except BaseException as e:  # pyo3's PanicException derives from BaseException only
            tiktoken = type(self.tokenizer).__module__.startswith("tiktoken")
            if isinstance(e, Exception | KeyboardInterrupt | SystemExit) or not tiktoken:
                raise
        # tiktoken's regex engine panics on a whitespace run of about a million characters;
        # tokprep's encoder on the same ranks gives the same IDs and does not.
        from tokprep.bpe import BPETokenizer

        self.tokenizer = BPETokenizer.from_tiktoken(self.tokenizer)
        return len(self.tokenizer.encode_ordinary(text))

    def end_document(self) -> int:
        """Encode the rest of the document; return its token count and start the next one."""
        rest = "".join(self._pending)
        count = self._document + (self._count(rest) if rest else 0)
        self._pending, self._document = [], 0
        return count


def _documents(path: str, jsonl_field: str | None, block: int) -> Iterator[Iterator[str]]:
    """The documents of one input, each as text blocks; `-` is standard input (one document
    of text)."""
    from tokprep.files import read_text_blocks
    from tokprep.sources import documents, open_sources

    if path == STDIN:
        yield read_text_blocks(sys.stdin.buffer, "standard input", block)
        return
    for source in open_sources([path], jsonl_field=jsonl_field):
        for _, blocks in documents(source, jsonl_field=jsonl_field, block=block):
            yield blocks


def count_tokens(
    paths: list[str],
    tokenizers: dict[str, Any],
    *,
    jsonl_field: str | None = None,
    block: int | None = None,
) -> dict[str, Any]:
    """Tokens per file and per tokenizer, with totals: the document `tokprep count --json`
    prints (tokprep's envelope fields, kind "count"). `block`: bytes read at a time (default
    `tokprep.sources.BLOCK_BYTES`)."""
    from tokprep.files import FORMAT, VERSION
    from tokprep.sources import BLOCK_BYTES

    if sum(path == STDIN for path in paths) > 1:
        raise ArgumentValueError("standard input (-) can be counted once; give - once")
    counters = {label: TokenCounter(tokenizer) for label, tokenizer in tokenizers.items()}
    rows: list[dict[str, Any]] = []
    for path in paths:
        n_bytes = n_documents = 0
        tokens = dict.fromkeys(counters, 0)
        for blocks in _documents(path, jsonl_field, block or BLOCK_BYTES):
            for text in blocks:
                n_bytes += len(text.encode("utf-8"))
                for counter in counters.values():
                    counter.feed(text)
            n_documents += 1
            for label, counter in counters.items():
                tokens[label] += counter.end_document()
        rows.append({"file": path, "bytes": n_bytes, "documents": n_documents, "tokens": tokens})
    return {
        "format": FORMAT,
        "kind": "count",
        "version": VERSION,
        "tokenizers": list(tokenizers),
        "files": rows,
        "total": {
            "bytes": sum(row["bytes"] for row in rows),
            "documents": sum(row["documents"] for row in rows),
            "tokens": {label: sum(row["tokens"][label] for row in rows) for label in tokenizers},
        },
    }


def format_counts(document: dict[str, Any]) -> str:
    """The table `tokprep count` prints: a row per file and a total row (with several files)."""
    labels = document["tokenizers"]
    rows = [(row["file"], row["bytes"], row["tokens"]) for row in document["files"]]
    if len(rows) > 1:
        total = document["total"]
        rows.append(("total", total["bytes"], total["tokens"]))
    header = ["file", "bytes", *labels]
    cells = [
        [name, f"{n_bytes:,}", *(f"{tokens[label]:,}" for label in labels)]
        for name, n_bytes, tokens in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *cells]) for i in range(len(header))]
    lines = []
    for line in [header, *cells]:
        first = line[0].ljust(widths[0])
        lines.append(
            "  ".join([first, *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True))])
        )
    return "\n".join(lines)


def _tokenizers(args: argparse.Namespace) -> dict[str, Any]:
    from tokprep.resolve import parse_spec

    tokenizers: dict[str, Any] = {}
    for spec in args.tokenizer or [DEFAULT_TOKENIZER]:
        label, target = parse_spec(spec)
        label = label or target
        if label in tokenizers:
            raise ArgumentValueError(
                f"--tokenizer {spec}: the label {label!r} is given twice; name each tokenizer "
                "once, or label them (--tokenizer a=SPEC --tokenizer b=SPEC)"
            )
        tokenizers[label] = tokenizer_from_args(args, target)
    return tokenizers


def _command(args: argparse.Namespace) -> int:
    document = count_tokens(args.files, _tokenizers(args), jsonl_field=args.jsonl_field)
    if args.json:
        print_json(document)
    else:
        print(format_counts(document))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "count",
        help="count the tokens of files, per file and per tokenizer, with totals",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="UTF-8 text or .jsonl files; - for standard input"
    )
    add_tokenizer_options(parser, repeat=True)
    parser.add_argument(
        "--jsonl-field",
        metavar="FIELD",
        help="read every file as JSONL with the text in FIELD (.jsonl files use 'text')",
    )
    add_json_option(parser, "the counts")
    parser.set_defaults(func=_command)
