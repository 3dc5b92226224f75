"""Reading input text and writing tokprep's files safely.

- `read_text(path)` decodes UTF-8 strictly and names the file and byte offset of a bad byte.
- `atomic_write(path)` writes to a temporary file in the same folder, fsyncs it and renames it
  over `path`: a crash leaves the old file or none, never half a file.
- Every JSON file tokprep writes carries one envelope, `{"format": "tokprep", "kind": ...,
  "version": 1, ...}`; `write_envelope` / `read_envelope` write and check it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from tokprep.errors import TextInputError, TokenizerFileError, TokprepValueError

FORMAT = "tokprep"
VERSION = 1

PathLike = str | os.PathLike


def decode_utf8(data: bytes, source: str) -> str:
    """Decode `data` as UTF-8, raising `TextInputError` with the byte offset if it is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise utf8_error(source, e.start, data[e.start : e.end], e.reason) from None


def utf8_error(source: str, offset: int, bad: bytes, reason: str) -> TextInputError:
    """The error for bytes that are not UTF-8: names the source, the byte offset and a fix."""
    return TextInputError(
        f"{source}: invalid UTF-8 at byte offset {offset} (bytes {bad!r}: {reason}). "
        "tokprep reads text as UTF-8; re-encode the file, e.g. `iconv -f LATIN1 -t UTF-8`."
    )


def read_text_blocks(
    f: IO[bytes], source: str, block: int, on_read: Callable[[int], Any] | None = None
) -> Iterator[str]:
    """Decode a binary stream in blocks; a character split across two blocks is carried over.

    Invalid UTF-8 raises `TextInputError` with the absolute byte offset in the file.
    """
    carry, offset = b"", 0
    while True:
        data = f.read(block)
        if on_read is not None:
            on_read(len(data))
        final = not data
        buf = carry + data if carry else data
        try:
            text, carry = buf.decode("utf-8"), b""
        except UnicodeDecodeError as e:
            truncated = e.reason == "unexpected end of data" and e.end == len(buf)
            if final or not truncated:
                raise utf8_error(source, offset + e.start, buf[e.start : e.end], e.reason) from None
            text, carry = buf[: e.start].decode("utf-8"), buf[e.start :]
        offset += len(buf) - len(carry)
        if text:
            yield text
        if final:
            return


def read_text(path: PathLike, *, allow_empty: bool = False) -> str:
    """Read a whole UTF-8 text file. Missing files raise `FileNotFoundError` (an `OSError`)."""
    path = Path(path)
    with path.open("rb") as f:
        data = f.read()
    text = decode_utf8(data, str(path))
    if not text and not allow_empty:
        raise TextInputError(f"{path}: the file is empty; give a file with some text in it.")
    return text


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; on success fsync it and rename it to `path`.

    On an exception the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp_name, _default_mode(path))
        encoding = None if mode == "wb" else "utf-8"
        newline = None if mode == "wb" else "\n"
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)


def _default_mode(path: Path) -> int:
    """The existing file's mode, or 0666 less the process umask for a new file."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_envelope(path: PathLike, kind: str, payload: dict[str, Any]) -> None:
    """Write `payload` as JSON inside tokprep's envelope, atomically."""
    document = {"format": FORMAT, "kind": kind, "version": VERSION, **payload}
    with atomic_write(path, "w") as f:
        json.dump(document, f, ensure_ascii=False, indent=1)
        f.write("\n")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(Exception):
    pass


def read_envelope(
    path: PathLike, kinds: tuple[str, ...], *, error: type[TokprepValueError] = TokenizerFileError
) -> dict[str, Any]:
    """Read a tokprep JSON file and check its envelope; `kinds` lists what the caller accepts.

    Duplicate keys anywhere in the file are an error (plain `json` would keep the last one).
    """
    path = Path(path)
    with path.open("rb") as f:
        raw = f.read()
    text = decode_utf8(raw, str(path))
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as e:
        raise error(
            f"{path}: the key {e.args[0]!r} appears twice; each key must be unique."
        ) from None
    except json.JSONDecodeError as e:
        raise error(
            f"{path}: line {e.lineno} column {e.colno}: not valid JSON ({e.msg})."
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise error(
            f'{path}: not a tokprep file (expected a JSON object with "format": "{FORMAT}").'
        )
    if document.get("version") != VERSION:
        raise error(
            f"{path}: format version {document.get('version')!r} is not supported "
            f"(this tokprep reads version {VERSION}); upgrade tokprep or re-save the file."
        )
    if document.get("kind") not in kinds:
        raise error(
            f"{path}: a tokprep file of kind {document.get('kind')!r}, expected "
            + " or ".join(repr(k) for k in kinds)
            + "."
        )
    return document
