"""Token files on disk in llm.c's format, read back as a memory map.

The format (from Karpathy's llm.c, `dev/data/data_common.py`), so llm.c-style trainers and
nanoGPT-style `np.memmap` readers use tokprep's files as they are:

    header: 256 little-endian int32 = 1,024 bytes
        [0] magic    20240520 (2-byte tokens) or 20240801 (4-byte tokens)
        [1] version  1 (uint16 tokens)        or 7        (uint32 tokens)
        [2] number of tokens that follow; the rest of the header is zeros
    body:   the tokens, little-endian uint16 (vocabularies under 65,536) or uint32

Beside `OUT.bin`, tokprep writes a manifest `OUT.bin.json` (see `tokprep.dataloading.prepare`)
with the sha256 of the whole file, so a copy can be checked before a long training run. Every
read through `load_tokens` compares the header's token count and dtype with the manifest's, when
there is one, so a token file and a manifest that do not belong together (a run killed between
the two renames, a file copied without its manifest) are an error even without `verify=True`.

A sharded output (`prepare(..., shard_tokens=N)`) is llm.c's shards, each a token file with
this header, and one manifest `NAME.json` of kind "token-shards" listing them;
`load_tokens("NAME.json", split="train")` or `load_tokens([shard, ...])` reads them.

This module needs numpy only (no torch).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokprep.errors import DatasetFormatError
from tokprep.files import PathLike, read_envelope

HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
MAGIC_U16, VERSION_U16 = 20240520, 1
MAGIC_U32, VERSION_U32 = 20240801, 7
#: The largest vocabulary that fits 2-byte tokens, as llm.c decides it: 65,536 or more -> uint32.
U16_VOCAB_LIMIT = 65_536
MANIFEST_KIND = "tokens"


@dataclass(frozen=True)
class TokenFileHeader:
    """What the 1,024-byte header says: the format (magic, version), token dtype and count."""

    magic: int
    version: int
    dtype: np.dtype
    count: int

    @property
    def file_bytes(self) -> int:
        """The size a file with this header must have."""
        return HEADER_BYTES + self.count * self.dtype.itemsize


def dtype_for_vocab(n_vocab: int) -> np.dtype:
    """uint16 for vocabularies under 65,536 IDs (GPT-2's 50,257), else uint32 (llm.c's rule)."""
    if n_vocab < U16_VOCAB_LIMIT:
        return np.dtype("<u2")
    if n_vocab <= 2**32:
        return np.dtype("<u4")
    raise DatasetFormatError(
        f"n_vocab={n_vocab:,} does not fit the llm.c token format (at most 2**32 IDs)."
    )


def make_header(dtype: np.dtype, count: int) -> bytes:
    """The 1,024-byte header for `count` tokens of `dtype` (uint16 or uint32)."""
    dtype = np.dtype(dtype)
    if dtype == np.dtype("<u2"):
        magic, version = MAGIC_U16, VERSION_U16
    elif dtype == np.dtype("<u4"):
        magic, version = MAGIC_U32, VERSION_U32
    else:
        raise DatasetFormatError(f"token files hold uint16 or uint32 tokens, not {dtype}.")
    if not 0 <= count < 2**31:
        # The count is an int32 in llm.c's header.
        raise DatasetFormatError(
            f"{count:,} tokens do not fit llm.c's int32 header count (at most 2**31 - 1); "
            "split the corpus into several files."
        )
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:3] = (magic, version, count)
    return header.tobytes()


def read_header(path: PathLike) -> TokenFileHeader:
    """Read and check the header of a token file against the file's size.

    Raises `DatasetFormatError` naming the file and what is wrong (too short, unknown magic,
    wrong version, or a size that does not match the count: a truncated or padded file).
    """
    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise DatasetFormatError(
            f"{path}: {size} bytes, shorter than the {HEADER_BYTES}-byte header; the file is "
            "truncated or not a token file. Re-create it with `tokprep prepare`."
        )
    with path.open("rb") as f:
        magic, version, count = (int(x) for x in np.frombuffer(f.read(12), dtype="<i4"))
    formats = {MAGIC_U16: (VERSION_U16, "<u2"), MAGIC_U32: (VERSION_U32, "<u4")}
    if magic not in formats:
        raise DatasetFormatError(
            f"{path}: magic number {magic}, expected {MAGIC_U16} (uint16 tokens) or "
            f"{MAGIC_U32} (uint32 tokens); this is not an llm.c / tokprep token file."
        )
    expected_version, dtype = formats[magic]
    if version != expected_version:
        raise DatasetFormatError(
            f"{path}: version {version} with magic {magic}; that magic requires version "
            f"{expected_version}. The header is corrupt; re-create the file."
        )
    if count < 0:
        raise DatasetFormatError(f"{path}: the header's token count is negative ({count}).")
    header = TokenFileHeader(magic, version, np.dtype(dtype), count)
    if size != header.file_bytes:
        what = "truncated" if size < header.file_bytes else "longer than its header says"
        raise DatasetFormatError(
            f"{path}: the header promises {count:,} tokens ({header.file_bytes:,} bytes) but the "
            f"file has {size:,} bytes: it is {what}. Re-create it with `tokprep prepare`."
        )
    return header


def manifest_path(path: PathLike) -> Path:
    """`OUT.bin` -> `OUT.bin.json`."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def file_sha256(path: PathLike, *, block: int = 1 << 23) -> str:
    """sha256 of a whole file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while data := f.read(block):
            digest.update(data)
    return digest.hexdigest()


def read_manifest(path: PathLike) -> dict[str, Any]:
    """The manifest beside token file `path` (`path + ".json"`), envelope-checked, with the
    fields readers use checked too (`DatasetFormatError` naming the manifest and the field)."""
    mpath = manifest_path(path)
    manifest = read_envelope(mpath, (MANIFEST_KIND,), error=DatasetFormatError)
    _check_manifest_fields(manifest, mpath)
    return manifest


# Fields every manifest has (tokprep.dataloading.prepare writes them) and their types.
_MANIFEST_FIELDS = (
    ("tokens", int),
    ("documents", int),
    ("eot", int),
    ("dtype", str),
    ("sha256", str),
    ("tokenizer", dict),
)


def _check_manifest_fields(manifest: dict[str, Any], mpath: Path) -> None:
    fix = "re-create the token file and its manifest with `tokprep prepare`"
    for field, kind in _MANIFEST_FIELDS:
        value = manifest.get(field)
        if field not in manifest:
            raise DatasetFormatError(f'{mpath}: field "{field}" is missing; {fix}.')
        negative = isinstance(value, int) and value < 0
        if isinstance(value, bool) or not isinstance(value, kind) or (kind is int and negative):
            what = {int: "a non-negative integer", str: "a string", dict: "a JSON object"}[kind]
            raise DatasetFormatError(
                f'{mpath}: field "{field}" must be {what}, got {value!r}; {fix}.'
            )
    spec = manifest["tokenizer"].get("spec")
    if spec is not None and not isinstance(spec, str):
        raise DatasetFormatError(
            f'{mpath}: field "tokenizer.spec" must be a string such as "gpt2", got {spec!r}; {fix}.'
        )


def load_tokens(
    path: PathLike | list[PathLike] | tuple[PathLike, ...],
    *,
    verify: bool = False,
    split: str = "train",
) -> np.memmap:
    """Open a token file as a read-only memory map of its tokens (uint16 or uint32).

    `path` may also be a list of token files (llm.c shards), or the manifest `NAME.json` of
    a sharded `prepare` output, whose `split` ("train" or "val") shards are read: one file
    stays a memory map, several are concatenated in memory (for a corpus larger than memory,
    load one shard at a time). With `verify=True` a shard is checked against the sha256 the
    manifest lists.

    Nothing is read into memory: the operating system pages tokens in as they are used, so a
    file far larger than RAM works. The header is always checked (magic, version, dtype, size
    against the count). With `verify=True` the manifest `path + ".json"` must exist and match:
    the sha256 of the whole file, its size and the token count (this reads the file once).
    Without it, a manifest that is there must still agree on the token count and dtype.
    """
    if isinstance(path, list | tuple):
        return _concatenate([load_tokens(p, verify=verify) for p in path], path)
    path = Path(path)
    if path.suffix == ".json":
        return _load_shards(path, split, verify)
    header = read_header(path)
    if verify:
        _verify_manifest(path, header)
    else:
        check_manifest_agrees(path, header)
    if header.count == 0:
        # np.memmap cannot map zero bytes; an empty array is the same thing here.
        return np.zeros(0, dtype=header.dtype)  # type: ignore[return-value]
    return np.memmap(path, dtype=header.dtype, mode="r", offset=HEADER_BYTES, shape=header.count)


def check_manifest_agrees(path: PathLike, header: TokenFileHeader | None = None) -> None:
    """If `path` has a manifest, check that it describes this file: the header's token count
    and dtype equal the manifest's. Cheap (no hashing); raises `DatasetFormatError` naming both
    files and both values."""
    path = Path(path)
    mpath = manifest_path(path)
    if not mpath.exists():
        return
    header = read_header(path) if header is None else header
    manifest = read_manifest(path)
    for key, actual in (("tokens", header.count), ("dtype", header.dtype.name)):
        if manifest.get(key) != actual:
            raise DatasetFormatError(
                f"{path}: the header says {key}={actual!r} but its manifest {mpath} says "
                f"{key}={manifest.get(key)!r}: the two files do not belong together (a run "
                "stopped between writing them, or one was copied without the other). Run "
                "`tokprep prepare` again to write both."
            )


def _verify_manifest(path: Path, header: TokenFileHeader) -> None:
    mpath = manifest_path(path)
    if not mpath.exists():
        raise DatasetFormatError(
            f"{path}: verify=True needs the manifest {mpath.name} beside it, and it is missing; "
            "re-create both with `tokprep prepare`, or load with verify=False."
        )
    manifest = read_manifest(path)
    checks = (
        ("tokens", header.count),
        ("bytes", os.path.getsize(path)),
        ("dtype", header.dtype.name),
    )
    for key, actual in checks:
        if manifest.get(key) != actual:
            raise DatasetFormatError(
                f"{path}: the manifest says {key}={manifest.get(key)!r} but the file has "
                f"{actual!r}; the file and {mpath.name} do not belong together."
            )
    actual_sha = file_sha256(path)
    if manifest.get("sha256") != actual_sha:
        raise DatasetFormatError(
            f"{path}: sha256 is {actual_sha} but the manifest says {manifest.get('sha256')}; "
            "the file was modified or corrupted. Re-create it with `tokprep prepare`."
        )


SHARDS_KIND = "token-shards"


def _concatenate(arrays: list[Any], what: Any) -> Any:
    if not arrays:
        raise DatasetFormatError(f"no token files to load ({what!r} is empty).")
    if len(arrays) == 1:
        return arrays[0]
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:
        raise DatasetFormatError(
            f"the token files hold different token types ({sorted(map(str, dtypes))}); they "
            "come from different tokenizers and cannot be read as one stream."
        )
    return np.concatenate(arrays)


def _load_shards(manifest_file: Path, split: str, verify: bool) -> Any:
    """The `split` shards listed by a sharded output's manifest `NAME.json`, in order."""
    manifest = read_envelope(manifest_file, (SHARDS_KIND,), error=DatasetFormatError)
    splits = manifest.get("splits")
    if not isinstance(splits, dict) or split not in splits:
        have = sorted(splits) if isinstance(splits, dict) else []
        raise DatasetFormatError(
            f"{manifest_file}: no split {split!r} (it has {have}); pass split= one of those."
        )
    arrays = []
    for shard in splits[split]["shards"]:
        shard_path = manifest_file.with_name(shard["file"])
        header = read_header(shard_path)
        if header.count != shard["tokens"] or header.dtype.name != manifest.get("dtype"):
            raise DatasetFormatError(
                f"{shard_path}: the header says {header.count:,} {header.dtype.name} tokens, the "
                f"manifest {manifest_file.name} {shard['tokens']:,} {manifest.get('dtype')}: the "
                "files do not belong together; run `tokprep prepare` again."
            )
        if verify and file_sha256(shard_path) != shard["sha256"]:
            raise DatasetFormatError(
                f"{shard_path}: sha256 differs from {manifest_file.name}: the shard was "
                "modified or damaged; run `tokprep prepare` again."
            )
        arrays.append(load_tokens(shard_path))
    return _concatenate(arrays, str(manifest_file))
