"""Reading a corpus: text files and JSONL files, as documents streamed in blocks of text.

The one input-reading module of `train` and `prepare` (the scale-out executors add their own
inputs here). A corpus is a list of files:

- a text file is one document, read as UTF-8 in blocks (a character split across two blocks
  is carried over);
- a JSONL file (name ending in `.jsonl`, or any file when `jsonl_field` is given) holds one
  document per line, its text in a field (`"text"` by default); blank lines are skipped, and
  a JSONL file with no document at all is refused (it is most likely the wrong file).

    >>> for source in open_sources(["notes.txt", "web.jsonl"]):       # doctest: +SKIP
    ...     for label, blocks in documents(source):
    ...         text = "".join(blocks)   # or stream the blocks

Also read: standard input (`-`), compressed files (`.gz`, `.bz2`, `.xz` with the standard
library; `.zst` with the `zstd` extra), named by their inner name (`web.jsonl.gz` is JSONL),
Parquet files (`.parquet`, the `parquet` extra: one document per row, the text in the column
`jsonl_field` or `"text"`), folders (every file inside, recursively, in sorted order, hidden
files left out) and glob patterns (`'web/*.jsonl.gz'`, expanded in sorted order). A missing
extra is an error naming it. A compressed file's byte offsets count decompressed bytes.

Errors name the file and where in it: invalid UTF-8 gives the byte offset (`TextInputError`),
a bad JSON line its line number and byte offset (`DatasetFormatError`), a JSONL file without
documents its size (`TextInputError`), a missing file the path (`FileNotFoundError`, before
anything is read).
"""

from __future__ import annotations

import glob
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tokprep.errors import DatasetFormatError, TextInputError
from tokprep.files import PathLike, read_text_blocks, utf8_error

__all__ = ["DEFAULT_FIELD", "Source", "documents", "jsonl_text", "open_sources"]

#: The JSONL field read when none is named.
DEFAULT_FIELD = "text"
#: Bytes per block when a text file is streamed.
BLOCK_BYTES = 4 << 20
#: The name that means standard input.
STDIN = "-"
#: Compressed-file suffixes and the extra each needs (None: the standard library).
COMPRESSIONS = {".gz": None, ".bz2": None, ".xz": None, ".zst": "zstd"}


@dataclass(frozen=True)
class Source:
    """One input file: its path, whether it is read as JSONL, and its size in bytes.

    `splittable`: a plain file that can be read from any byte offset (a JSONL file can then be
    cut into byte ranges for several tasks); compressed files and standard input cannot.
    """

    path: Path
    jsonl: bool
    bytes: int
    splittable: bool = True
    compression: str | None = None  # "gz", "bz2", "xz", "zst", or None
    parquet: bool = False
    row_groups: int = 0  # a Parquet file's row groups (its tasks' unit)

    @property
    def stdin(self) -> bool:
        return str(self.path) == STDIN


def open_sources(paths: Iterable[PathLike], *, jsonl_field: str | None = None) -> list[Source]:
    """Check that every file can be read (before any work starts) and say how to read it.

    `jsonl_field`: read every file as JSONL; without it, files ending in `.jsonl` are JSONL.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if jsonl_field is not None and not isinstance(jsonl_field, str):
        raise TypeError(f"jsonl_field must be a str, got {type(jsonl_field).__name__}")
    sources = []
    for item in paths:
        if not isinstance(item, str | os.PathLike):
            raise TypeError(f"a corpus file must be a str or os.PathLike path, got {item!r}")
        for path in _expand(item):
            sources.append(_source(path, jsonl_field))
    return sources


def _expand(item: str | os.PathLike) -> list[Path]:
    """A path as files: itself, a folder's files (recursively, sorted), or a glob's matches."""
    path = Path(item)
    if str(item) == STDIN or path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise FileNotFoundError(f"{path}: the folder holds no files to read.")
        return found
    if glob.has_magic(str(item)) and not path.exists():
        matches = sorted(Path(m) for m in glob.glob(str(item), recursive=True))
        matches = [m for m in matches if m.is_file()]
        if not matches:
            raise FileNotFoundError(f"{item}: no file matches this pattern.")
        return matches
    return [path]


def _source(path: Path, jsonl_field: str | None) -> Source:
    if str(path) == STDIN:
        return Source(path, jsonl_field is not None, 0, splittable=False)
    with path.open("rb"):  # names the file if it is missing, a folder or unreadable
        pass
    name = path.name
    compression = None
    suffix = Path(name).suffix
    if suffix in COMPRESSIONS:
        compression = suffix[1:]
        name = name[: -len(suffix)]
        if COMPRESSIONS[suffix]:
            _require_extra("zstandard", "zstd", path)
    size = path.stat().st_size
    if name.endswith(".parquet") and compression is None:
        _require_extra("pyarrow", "parquet", path)
        groups = _parquet_file(path).num_row_groups
        return Source(path, False, size, splittable=False, parquet=True, row_groups=groups)
    jsonl = jsonl_field is not None or name.endswith(".jsonl")
    return Source(path, jsonl, size, splittable=compression is None, compression=compression)


def _require_extra(module: str, extra: str, path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(
            f"{path}: reading this file needs {module}, which is not installed: pip install "
            f"'tokprep[{extra}]' (or pip install {module})."
        )


class _Checked(io.RawIOBase):
    """A decompressing reader whose format errors (bad or truncated data) become
    `TextInputError`s naming the file, instead of EOFError / zlib / lzma errors."""

    def __init__(self, inner: Any, path: Path, compression: str) -> None:
        self.inner, self.path, self.compression = inner, path, compression

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (OSError, EOFError, ValueError) as e:
            raise TextInputError(
                f"{self.path}: not a valid .{self.compression} file, or truncated ({e})."
            ) from None
        except Exception as e:  # lzma.LZMAError, zstandard.ZstdError
            if type(e).__name__ not in ("LZMAError", "ZstdError"):
                raise
            raise TextInputError(
                f"{self.path}: not a valid .{self.compression} file, or truncated ({e})."
            ) from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def open_binary(source: Source) -> IO[bytes]:
    """The bytes of `source`, decompressed (standard input is not closed by closing this)."""
    if source.stdin:
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb") if _has_fileno() else sys.stdin.buffer
    if source.compression is None:
        return source.path.open("rb")
    if source.compression == "gz":
        import gzip

        inner: Any = gzip.open(source.path, "rb")  # noqa: SIM115 (closed with the reader)
    elif source.compression == "bz2":
        import bz2

        inner = bz2.open(source.path, "rb")  # noqa: SIM115 (closed with the reader)
    elif source.compression == "xz":
        import lzma

        inner = lzma.open(source.path, "rb")  # noqa: SIM115 (closed with the reader)
    else:
        import zstandard

        inner = zstandard.ZstdDecompressor().stream_reader(source.path.open("rb"))
    return io.BufferedReader(_Checked(inner, source.path, source.compression), 1 << 20)


def _has_fileno() -> bool:
    try:
        sys.stdin.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    return True


def documents(
    source: Source,
    *,
    jsonl_field: str | None = None,
    block: int = BLOCK_BYTES,
    on_read: Callable[[int], Any] | None = None,
    start: int = 0,
    end: int | None = None,
) -> Iterator[tuple[str, Iterator[str]]]:
    """Yield `(label, text blocks)` for each document of `source`, in file order.

    `label` names the document in messages ("web.jsonl, line 3"). Consume each document's
    blocks before asking for the next document. A text file is read `block` bytes at a time
    (a character cut by a read goes to the next block); a JSONL line is read whole and its
    text given in slices of `block` characters.
    `on_read(n)` is called with bytes read.

    `start`/`end`: a JSONL file's byte range to read (a task's share of a big file): the lines
    that *start* in `[start, end)`, so neighbouring ranges cover every line exactly once.
    """
    field = jsonl_field or DEFAULT_FIELD
    if source.parquet:
        yield from _parquet_documents(source, field, block, on_read, start, end)
        return
    with open_binary(source) as f:
        if not source.jsonl:
            name = "<stdin>" if source.stdin else str(source.path)
            yield name, read_text_blocks(f, name, block, on_read)
            return
        whole = start == 0 and end is None
        if start > 0:
            f.seek(start - 1)
            if f.read(1) != b"\n":  # this line started before `start`: it is the previous range's
                f.readline()
        offset, found = (f.tell() if start > 0 else 0), False
        name = str(source.path)
        decode = json.JSONDecoder().decode
        for number, line in enumerate(iter(f.readline, b""), start=1):
            if end is not None and offset >= end:
                break
            if on_read is not None:
                on_read(len(line))
            begin, offset = offset, offset + len(line)
            try:
                text_line = line.decode("utf-8")
            except UnicodeDecodeError as e:
                raise utf8_error(
                    f"{name}, line {number}" if whole else name,
                    begin + e.start,
                    line[e.start : e.end],
                    e.reason,
                ) from None
            if not text_line.strip():
                continue
            line_at = f"line {number}" if whole else f"the line at byte offset {begin}"
            # The common case without building the message; jsonl_text names what is wrong.
            try:
                record = decode(text_line)
                text = record[field]
            except (ValueError, KeyError, TypeError, IndexError):
                text = None
            if not isinstance(text, str) or not isinstance(record, dict):
                where = f"{name}, {line_at}" + (f" (byte offset {begin})" if whole else "")
                text = jsonl_text(text_line, field, where)
            found = True
            yield f"{name}, {line_at}", _slices(text, block)
        if whole and not found:  # an empty file, or blank lines only: likely the wrong file
            raise TextInputError(
                f"{source.path}: a JSONL file with no documents ({offset:,} bytes, no line "
                "holding a JSON object); give a file with one document per line, or leave it out."
            )


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as e:  # pyarrow.ArrowInvalid and friends
        raise DatasetFormatError(f"{path}: not a readable Parquet file ({e}).") from None


def _parquet_documents(
    source: Source,
    field: str,
    block: int,
    on_read: Callable[[int], Any] | None,
    start: int = 0,
    end: int | None = None,
) -> Iterator[tuple[str, Iterator[str]]]:
    """One document per row of a Parquet file, its text in column `field`; `start`/`end`
    select row groups (a task's share of the file)."""
    table = _parquet_file(source.path)
    names = table.schema_arrow.names
    if field not in names:
        raise DatasetFormatError(
            f"{source.path}: no column {field!r} (found {names}); pass the column that holds "
            "the text with --jsonl-field / jsonl_field=."
        )
    groups = list(range(start, table.num_row_groups if end is None else end))
    row = sum(table.metadata.row_group(i).num_rows for i in range(start))
    for batch in table.iter_batches(columns=[field], batch_size=1024, row_groups=groups):
        for text in batch.column(0).to_pylist():
            if not isinstance(text, str):
                raise DatasetFormatError(
                    f"{source.path}, row {row}: column {field!r} holds "
                    f"{type(text).__name__}, not a string."
                )
            if on_read is not None:
                on_read(len(text))
            yield f"{source.path}, row {row}", _slices(text, block)
            row += 1


def _slices(text: str, size: int) -> Iterator[str]:
    """`text` in pieces of `size` characters (none for the empty string)."""
    return (text[i : i + size] for i in range(0, len(text), size))


def jsonl_text(line: str, field: str, where: str) -> str:
    """The text in `field` of one JSONL line; `DatasetFormatError` naming `where` otherwise."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise DatasetFormatError(
            f"{where}: not valid JSON ({e.msg} at column {e.colno}); a JSONL corpus has one JSON "
            "object per line."
        ) from None
    if not isinstance(record, dict) or field not in record:
        keys = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise DatasetFormatError(
            f"{where}: no field {field!r} (found {keys}); pass the field that holds the "
            "text with --jsonl-field / jsonl_field=."
        )
    text = record[field]
    if not isinstance(text, str):
        raise DatasetFormatError(
            f"{where}: field {field!r} holds a {type(text).__name__}, not a string."
        )
    return text
