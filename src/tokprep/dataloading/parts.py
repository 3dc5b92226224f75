"""Task parts: what each rank of a `tasks` run (or each Ray task) leaves on disk, and the merge.

A run with `-o OUT` keeps its parts in the folder `OUT.parts/`:

- `plan.json`: the run's settings and partitions, written by every rank (identical, since the
  plan is a pure function of the inputs and options; a different one is refused);
- `part-000007.bin` + `part-000007.json`: partition 7's tokens (raw, in the output dtype) and
  its document lengths, the JSON renamed into place last, so a part is complete exactly when
  its JSON is there and the sizes agree.

A rank skips the partitions whose part is complete: a killed run, run again, redoes only what
is missing. `merge(OUT)` reads the parts in partition order as one token stream and writes the
final outputs with `tokprep.dataloading.output.write_outputs`, exactly as a one-process run
would, then removes `OUT.parts/`. Without parts, `merge(OUT)` verifies a finished output.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tokprep.errors import ArgumentValueError, DatasetFormatError
from tokprep.files import atomic_files, read_envelope, write_envelope

from .output import SHARDS_KIND, Settings, shards_manifest_path, validation_path, write_outputs
from .plan import Partition
from .tokfile import MANIFEST_KIND, file_sha256, load_tokens, manifest_path, read_header

PLAN_KIND = "prepare-plan"
PART_KIND = "prepare-part"
#: Tokens per piece when a part is read back (bounded memory for any document length).
READ_TOKENS = 1 << 20


def parts_folder(out: str | Path) -> Path:
    """`OUT` -> `OUT.parts`, the folder of a run's task parts."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def part_paths(folder: Path, index: int) -> tuple[Path, Path]:
    stem = folder / f"part-{index:06d}"
    return stem.with_suffix(".bin"), stem.with_suffix(".json")


def plan_document(settings: Settings, partitions: list[Partition]) -> dict[str, Any]:
    return {
        "settings": dataclasses.asdict(settings),
        "partitions": [p.as_dict() for p in partitions],
    }


def write_plan(folder: Path, plan: dict[str, Any]) -> None:
    """Create `folder` and its `plan.json`; an existing plan must be the same one."""
    folder.mkdir(exist_ok=True)
    path = folder / "plan.json"
    if path.exists():
        old = read_envelope(path, (PLAN_KIND,), error=DatasetFormatError)
        old = {key: old.get(key) for key in plan}
        if old != plan:
            differ = sorted(
                key for key in plan["settings"] if old["settings"].get(key) != plan["settings"][key]
            ) or ["partitions"]
            raise ArgumentValueError(
                f"{folder} holds parts of another run (its plan differs in "
                f"{', '.join(differ)}). Finish that run with the same options, or remove "
                f"{folder} to start over."
            )
        return
    write_envelope(path, PLAN_KIND, plan)


def read_plan(folder: Path) -> tuple[Settings, list[Partition]]:
    document = read_envelope(folder / "plan.json", (PLAN_KIND,), error=DatasetFormatError)
    settings = Settings(**document["settings"])
    partitions = [Partition(**p) for p in document["partitions"]]
    return settings, partitions


def part_done(folder: Path, index: int, itemsize: int) -> bool:
    """Whether partition `index`'s part is complete (its JSON is there and sizes agree)."""
    tokens_path, info_path = part_paths(folder, index)
    if not info_path.exists() or not tokens_path.exists():
        return False
    try:
        info = read_envelope(info_path, (PART_KIND,), error=DatasetFormatError)
    except (DatasetFormatError, OSError):
        return False
    return tokens_path.stat().st_size == info["tokens"] * itemsize


def write_part(
    folder: Path,
    partition: Partition,
    pieces: Iterable[tuple[bool, bytes]],
    itemsize: int,
) -> dict[str, Any]:
    """Write one partition's part from its `(first, token bytes)` pieces, atomically."""
    tokens_path, info_path = part_paths(folder, partition.index)
    lengths: list[int] = []
    total = 0
    with atomic_files() as outputs:
        handle = outputs.open(tokens_path, "wb")
        for first, data in pieces:
            count = len(data) // itemsize
            if first:
                lengths.append(0)
            lengths[-1] += count
            total += count
            handle.write(data)
        info = {"partition": partition.as_dict(), "tokens": total, "documents": lengths}
        write_envelope(outputs.temp_path(info_path), PART_KIND, info)
    return info


def missing_parts(folder: Path, partitions: list[Partition], itemsize: int) -> list[int]:
    return [p.index for p in partitions if not part_done(folder, p.index, itemsize)]


def read_parts(
    folder: Path, partitions: list[Partition], dtype: np.dtype
) -> Iterator[tuple[int, bool, bytes]]:
    """The parts in partition order as the token stream `(source, first, token bytes)`."""
    for partition in partitions:
        tokens_path, info_path = part_paths(folder, partition.index)
        info = read_envelope(info_path, (PART_KIND,), error=DatasetFormatError)
        if tokens_path.stat().st_size != info["tokens"] * dtype.itemsize:
            raise DatasetFormatError(
                f"{tokens_path}: {tokens_path.stat().st_size:,} bytes, but its "
                f"{info_path.name} says {info['tokens']:,} tokens of {dtype.itemsize} bytes; "
                "the part is damaged: remove both files and run that task again."
            )
        with tokens_path.open("rb") as f:
            for length in info["documents"]:
                first = True
                left = length
                while left or first:
                    take = min(left, READ_TOKENS)
                    yield partition.source, first, f.read(take * dtype.itemsize)
                    left -= take
                    first = False


def merge(out: str | Path) -> dict[str, dict[str, Any]]:
    """Assemble `OUT.parts/` into the final outputs, or verify a finished output.

    Returns the manifests (as `write_outputs` does). Raises `ArgumentValueError` naming the
    missing partitions when some tasks have not run, `DatasetFormatError` when an output does
    not match its manifest.
    """
    out = Path(out)
    folder = parts_folder(out)
    if folder.is_dir() and (folder / "plan.json").exists():
        settings, partitions = read_plan(folder)
        settings = dataclasses.replace(settings, out=str(out))
        dtype = settings.numpy_dtype
        missing = missing_parts(folder, partitions, dtype.itemsize)
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
            raise ArgumentValueError(
                f"{folder}: {len(missing)} of {len(partitions)} partitions have no complete "
                f"part yet ({shown}); partition p is run by rank p % W of a run with "
                "--world-size W. Run the missing ranks (a rank skips the partitions it has "
                "done), then `tokprep merge` again."
            )
        manifests = write_outputs(read_parts(folder, partitions, dtype), settings)
        shutil.rmtree(folder)
        return manifests
    return verify(out)


def verify(out: str | Path) -> dict[str, dict[str, Any]]:
    """Check a finished output against its manifest(s): headers, sizes and sha256."""
    out = Path(out)
    sharded = shards_manifest_path(out)
    if sharded.exists() and _kind_of(sharded) == SHARDS_KIND:
        manifest = read_envelope(sharded, (SHARDS_KIND,), error=DatasetFormatError)
        for split in manifest["splits"].values():
            for shard in split["shards"]:
                path = out.with_name(shard["file"])
                header = read_header(path)
                if header.count != shard["tokens"]:
                    raise DatasetFormatError(
                        f"{path}: the header says {header.count:,} tokens, the manifest "
                        f"{sharded} says {shard['tokens']:,}."
                    )
                if file_sha256(path) != shard["sha256"]:
                    raise DatasetFormatError(
                        f"{path}: sha256 differs from the manifest {sharded}: the shard was "
                        "modified or damaged; run `tokprep prepare` again."
                    )
        return {"shards": manifest}
    manifests = {}
    for name, path in (("train", out), ("val", validation_path(out))):
        if manifest_path(path).exists():
            load_tokens(path, verify=True)
            manifests[name] = read_envelope(
                manifest_path(path), (MANIFEST_KIND,), error=DatasetFormatError
            )
    if not manifests:
        raise FileNotFoundError(
            f"{out}: no task parts ({parts_folder(out)}), no shards manifest ({sharded}) and no "
            f"token-file manifest ({manifest_path(out)}); give the -o of a `tokprep prepare` run."
        )
    return manifests


def _kind_of(path: Path) -> Any:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind")
    except (ValueError, OSError, AttributeError):
        return None
