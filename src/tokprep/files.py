"""Reading input text and writing tokprep's files safely.

- `read_text(path)` decodes UTF-8 strictly and names the file and byte offset of a bad byte.
- `atomic_write(path)` writes to a temporary file in the same folder, fsyncs it and renames it
  over `path`: a crash leaves the old file or none, never half a file. `atomic_files()` does
  the same for several outputs at once: nothing is renamed into place until all are written.
- Temporary files are named `.NAME.tokprep-HOST-PID-RANDOM.tmp`. A process killed with
  `kill -9` cannot remove its own; the next write of the same output removes those whose
  process (on this host) is gone (`remove_stale_temps`).
- `check_output(path)` and `check_not_input(...)` check an output before any work: its folder
  exists and is writable, and it is not one of the inputs (links and hard links included).
- Every JSON file tokprep writes carries one envelope, `{"format": "tokprep", "kind": ...,
  "version": 1, ...}`; `write_envelope` / `read_envelope` write and check it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from tokprep.errors import (
    ArgumentValueError,
    TextInputError,
    TokenizerFileError,
    TokprepValueError,
)

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

    On an exception the temporary file is removed and `path` is left as it was. Temporary
    files of killed tokprep processes beside `path` are removed first.
    """
    path = Path(path)
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    directory = path.parent if str(path.parent) else Path(".")
    tmp_name = _make_temp(path)
    try:
        with _open_temp(tmp_name, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)


class AtomicFiles:
    """Several outputs, each written to a temporary file and renamed into place by `commit()`.

    Use it through `atomic_files()`. `commit()` renames in the order the outputs were added
    (so add the file that vouches for the others, such as a manifest, last).
    """

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path, IO[Any] | None]] = []  # (temp, final, handle)
        self._dirs: list[tuple[Path, Path]] = []  # (temp folder, final folder)

    def open(self, path: PathLike, mode: str = "wb") -> IO[Any]:
        """A file object on a new temporary file that `commit()` renames to `path`."""
        if mode not in ("wb", "w"):
            raise ValueError(f"AtomicFiles.open mode must be 'wb' or 'w', got {mode!r}")
        tmp = _make_temp(Path(path))
        handle = _open_temp(tmp, mode)
        self._files.append((tmp, Path(path), handle))
        return handle

    def temp_path(self, path: PathLike) -> Path:
        """The temporary file that stands for `path`: write it by name; `commit()` renames it."""
        path = Path(path)
        for tmp, final, _ in self._files:
            if final == path:
                return tmp
        tmp = _make_temp(path)
        self._files.append((tmp, path, None))
        return tmp

    def temp_folder(self, folder: PathLike) -> Path:
        """A temporary folder for files that belong in `folder`: `commit()` moves each file
        written into it into `folder` (created if missing), replacing files of the same name.
        For writers that name their own files (`save_gpt2_files`, a sidecar beside a file)."""
        folder = Path(folder)
        # Inside `folder` when it exists, else beside it: either way on the same file system.
        tmp = _make_temp(folder / "staging" if folder.is_dir() else folder, folder=True)
        self._dirs.append((tmp, folder))
        return tmp

    def commit(self) -> None:
        """fsync every temporary file, then rename them all into place."""
        for tmp, _, handle in self._files:
            if handle is not None and not handle.closed:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
            else:  # written by name, or closed by the caller
                _fsync_file(tmp)
        moves = [(tmp, final) for tmp, final, _ in self._files]
        for tmp_dir, folder in self._dirs:
            for name in sorted(os.listdir(tmp_dir)):
                _fsync_file(tmp_dir / name)
                moves.append((tmp_dir / name, folder / name))
        for _, folder in self._dirs:
            folder.mkdir(parents=True, exist_ok=True)
        for tmp, final in moves:
            os.replace(tmp, final)
        for tmp_dir, _ in self._dirs:
            with contextlib.suppress(OSError):
                os.rmdir(tmp_dir)
        for directory in {final.parent for _, final in moves}:
            _fsync_directory(directory if str(directory) else Path("."))
        self._files, self._dirs = [], []

    def discard(self) -> None:
        """Remove every temporary file and folder not yet committed."""
        for tmp, _, handle in self._files:
            if handle is not None and not handle.closed:
                handle.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for tmp_dir, _ in self._dirs:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        self._files, self._dirs = [], []


@contextlib.contextmanager
def atomic_files() -> Iterator[AtomicFiles]:
    """Write several outputs; all are renamed into place when the block succeeds, none if it
    raises (their temporary files are removed).

        >>> with atomic_files() as out:  # doctest: +SKIP
        ...     out.open("train.bin").write(data)
        ...     write_envelope(out.temp_path("train.bin.json"), "tokens", manifest)
    """
    group = AtomicFiles()
    try:
        yield group
        group.commit()
    finally:
        group.discard()


# --- temporary files: named by host and process, removed when their process is gone -----------

_TEMP_MARK = "tokprep"


def _host_tag() -> str:
    # A short stable tag of this machine, so a shared folder's temporary files of a process on
    # another machine (whose PID means nothing here) are never removed.
    return hashlib.blake2b(socket.gethostname().encode(), digest_size=3).hexdigest()


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{_TEMP_MARK}-{_host_tag()}-"


def _make_temp(path: Path, *, folder: bool = False) -> Path:
    """Create a new temporary file (or folder) beside `path`, after removing stale ones.

    A missing or unwritable folder raises an `OSError` naming `path`, not the temporary name.
    """
    directory = path.parent if str(path.parent) else Path(".")
    remove_stale_temps(path)
    prefix = f"{_temp_prefix(path)}{os.getpid()}-"
    try:
        if folder:
            return Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=directory))
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    except OSError as e:
        raise type(e)(f"cannot write {path}: {e.strerror} (in the folder {directory})") from None
    os.close(fd)
    # mkstemp makes the file private (0600); give it the mode a plain open() would.
    os.chmod(name, _default_mode(path))
    return Path(name)


def _open_temp(tmp: Path, mode: str) -> IO[Any]:
    encoding = None if mode == "wb" else "utf-8"
    newline = None if mode == "wb" else "\n"
    return open(tmp, mode, encoding=encoding, newline=newline)  # closed by the caller


def remove_stale_temps(path: PathLike) -> list[Path]:
    """Remove the temporary files (and folders) that tokprep processes on this machine left
    beside `path` and that are no longer running (killed mid-write). Returns what was removed.

    A temporary file of a running process is never touched. On Windows nothing is removed
    (there is no harmless way to ask whether a process is alive).
    """
    path = Path(path)
    if sys.platform == "win32":
        return []
    directory = path.parent if str(path.parent) else Path(".")
    prefix = _temp_prefix(path)
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or _process_alive(int(pid)):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue  # another process removed it first, or it is not ours to remove
        removed.append(Path(entry.path))
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by another user
    try:  # a zombie (killed, not yet reaped by its parent) is gone too
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


# --- checking outputs before the work -----------------------------------------------------


def check_output(path: PathLike, option: str = "") -> Path:
    """Check, before any work, that the file `path` can be written; return it as a `Path`.

    Its folder must exist and be writable, and `path` must not be a folder. An existing file
    is replaced (atomically) when the run succeeds. Errors are `OSError`s that name `path` as
    the user gave it (with `option`, such as "-o", in front).
    """
    path = Path(path)
    label = f"{option} {path}" if option else str(path)
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise IsADirectoryError(f"{label}: is a folder; give a file name for this output.")
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise FileNotFoundError(
            f"{label}: the folder {directory} {what}; create it first or write elsewhere."
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"{label}: the folder {directory} is not writable.")
    return path


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether `a` and `b` name the same file: the same resolved path (symbolic links
    followed), or, when both exist, the same device and inode (hard links)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_not_input(
    outputs: dict[str, PathLike], inputs: list[PathLike], *, inputs_label: str = "input"
) -> None:
    """Refuse an output that is one of the inputs, or the same file as another output.

    `outputs` maps how the user named each output ("-o out.bin", "the manifest out.bin.json")
    to its path. Raises `ArgumentValueError`.
    """
    items = list(outputs.items())
    for index, (label, out) in enumerate(items):
        for source in inputs:
            if same_file(out, source):
                raise ArgumentValueError(
                    f"{label} is the {inputs_label} {source} (the same file): writing it would "
                    "destroy the input. Write the output to another file."
                )
        for other_label, other in items[:index]:
            if same_file(out, other):
                raise ArgumentValueError(
                    f"{label} and {other_label} are the same file; give each output its own."
                )


def _default_mode(path: Path) -> int:
    """The existing file's mode, or 0666 less the process umask for a new file."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


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
