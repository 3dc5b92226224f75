"""`prepare()`: tokenize a corpus into llm.c token files or shards, on any engine.

`prepare` puts the roles together, each in its own module: reading inputs
(`tokprep.sources`), the plan of partitions and chunks (`.plan`), encoding chunks in workers
(`.encode`), running the work (`tokprep.executors`: `local`, `tasks`, `ray`), task parts and
the merge (`.parts`), and writing splits, shards and manifests (`.output`). The `local` engine
streams work through a process pool straight into the writer (a plain JSONL file as byte
ranges that the workers read and parse themselves, other inputs as chunks read here); `tasks`
and `ray` encode whole partitions into parts that `merge` feeds to the same writer, so the
bytes are the same.

The corpus is a list of files, read by `tokprep.sources` (as `tokprep train` reads them): a
document is a whole file, or one line of a JSONL file (the text is in a field, `"text"` by
default). Following llm.c, every document is preceded by the end-of-text ID, so a trainer sees
where one document ends and the next begins. Text that spells a special token
(`"<|endoftext|>"` inside a web page) is encoded as ordinary text (`encode_ordinary`): only
tokprep itself puts control tokens into the file.

Streaming without changing a single token. A BPE tokenizer first splits text into pieces with
its regex and never merges across pieces, so a document can be encoded in chunks exactly when
every cut falls on a piece boundary that does not depend on what comes after the cut. Those
places are the pre-tokenizer's safe cuts (`tokprep.bpe.pretokenize.safe_cut_regex`): right
before a space ("X| Y": X's piece stops at the space, and " Y" starts a piece) and, for GPT-2's
and cl100k's patterns, right after a newline ("X\\n|Y"), each with non-whitespace on both sides
(o200k's `[\\r\\n/]*` joins "\\n/" to the piece before it, so it gets only the space cut). The
tests check the rule on the regexes themselves with hypothesis, and the byte-identical output
on real corpora. Word tokenizers, and objects whose pattern tokprep cannot see, get each
document encoded whole.

Memory: about `chunk_bytes` of text per chunk, with up to `2 * workers` chunks in flight, plus,
where a document has no safe cut for a long stretch (text with no spaces and no single
newlines, such as some CJK text), that whole stretch: tokprep keeps reading until the next safe
cut or the document's end. A JSONL line is read whole. Output tokens go straight to disk.

Failures. The token files and their manifests are written to temporary files and renamed into
place only when all of them are complete, manifests last, so a failed or killed run leaves the
old outputs (and a reader that finds a token file whose header disagrees with its manifest says
so). A worker process that dies stops the run at once (`tokprep.pool`). tiktoken's regex engine
gives up, with a Rust panic, on a run of about a million whitespace characters; such chunks are
encoded with tokprep's own encoder on the same ranks, which gives the same IDs.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokprep.bpe.pretokenize import safe_chunks, safe_cut_regex
from tokprep.errors import ArgumentValueError, require_int
from tokprep.executors import Executor, LocalExecutor, get_executor
from tokprep.files import PathLike, check_not_input, check_output
from tokprep.resolve import Tokenizer, load_tokenizer, tokenizer_identity, tokenizer_pattern
from tokprep.sources import Source, open_sources

from .encode import _WORKER, encode_batch, end_of_text_id, init_worker, worker_payload
from .output import (
    Settings,
    is_shard_of,
    is_validation_document,
    shards_manifest_path,
    validation_path,
    write_outputs,
)
from .parts import merge, part_done, parts_folder, plan_document, write_part, write_plan
from .plan import DEFAULT_PARTITION_BYTES, Partition, batches, make_partitions, partition_chunks
from .tokfile import dtype_for_vocab, manifest_path

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "PrepareResult",
    "end_of_text_id",
    "is_validation_document",
    "prepare",
    "safe_chunks",
    "validation_path",
]

DEFAULT_CHUNK_BYTES = 1 << 20
DEFAULT_SEED = 2357  # nanoGPT's split seed


@dataclass(frozen=True)
class PrepareResult:
    """What `prepare` wrote.

    `train`/`val`: the manifest of each token file (`val` is None without a val split); with
    shards, a summary of each split (`tokens`, `documents`, `shards`) and `shards` holds the
    one manifest. A `tasks` rank writes parts only: then `train` is None, and `partitions_run`
    / `partitions_skipped` say what this rank did (`tokprep merge` writes the outputs).
    """

    train: dict[str, Any] | None
    val: dict[str, Any] | None
    input_bytes: int
    seconds: float
    shards: dict[str, Any] | None = None
    partitions_run: tuple[int, ...] = ()
    partitions_skipped: tuple[int, ...] = ()

    @property
    def mb_per_s(self) -> float:
        """Input megabytes (10**6 bytes) tokenized per second."""
        return self.input_bytes / 1e6 / self.seconds if self.seconds else 0.0


def result_from_manifests(
    manifests: dict[str, dict[str, Any]], input_bytes: int, seconds: float
) -> PrepareResult:
    """A `PrepareResult` from `write_outputs`' (or `merge`'s) manifests."""
    if "shards" not in manifests:
        return PrepareResult(manifests["train"], manifests.get("val"), input_bytes, seconds)
    shards = manifests["shards"]
    splits = {
        name: {"split": name, "dtype": shards["dtype"], **split}
        for name, split in shards["splits"].items()
    }
    return PrepareResult(splits["train"], splits.get("val"), input_bytes, seconds, shards)


def prepare(
    files: Sequence[PathLike],
    out: PathLike,
    *,
    tokenizer: str | os.PathLike | Tokenizer = "gpt2",
    workers: int = 1,
    jsonl_field: str | None = None,
    val_fraction: float = 0.0,
    val_tokens: int | None = None,
    seed: int = DEFAULT_SEED,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    shard_tokens: int | None = None,
    engine: str = "local",
    rank: int | None = None,
    world_size: int | None = None,
    ray_address: str | None = None,
    partition_bytes: int = DEFAULT_PARTITION_BYTES,
    progress: bool | None = None,
) -> PrepareResult:
    """Tokenize `files` into the llm.c token file `out` (+ manifest `out.json`), or shards.

    - `tokenizer`: any `load_tokenizer` spec; with `workers > 1` or Ray give a spec (each
      worker loads its own) or a picklable tokenizer object.
    - `jsonl_field`: read every file as JSONL, one document per line, text in this field;
      without it, files ending in `.jsonl` (or `.jsonl.gz`, ...) are read that way with
      field `"text"`.
    - `val_fraction`: each document goes to the validation split with this probability,
      chosen by a seeded hash of its number; both splits must end up non-empty.
      `val_tokens`: instead, the first `val_tokens` tokens go to the validation split (as
      llm.c's tinyshakespeare script does), so a single-document corpus gets one too.
    - `shard_tokens`: write llm.c shards `DIR/NAME_val_000000.bin`, `DIR/NAME_train_000000.bin`,
      ... of this many tokens each and one manifest `DIR/NAME.json` (for `out="DIR/NAME"`);
      without it, one file per split, `OUT` and `OUT.val.bin`, each with its manifest.
    - `engine`: `"local"` (a process pool of `workers`), `"tasks"` (run rank `rank` of
      `world_size`, or of a Slurm job array, leaving parts in `OUT.parts/` for
      `tokprep merge` / `tokprep.dataloading.merge`), or `"ray"` (Ray tasks; `ray_address`
      joins a cluster, else a local Ray with `workers` CPUs). See `tokprep.executors`.
    - `chunk_bytes` (text per chunk) and `partition_bytes` (how a big JSONL file is cut into
      tasks): the output depends on neither, nor on `engine`, `workers` or `world_size`.
    - `progress`: a progress bar on stderr; by default only on a terminal and for >= 16 MB.

    All outputs (token files and manifests) are renamed into place together, only after all
    were written: an error, a dead worker or a killed run leaves the old files or none. An
    output that is one of the inputs is refused before any work.
    """
    if isinstance(files, str | os.PathLike):
        raise TypeError("files must be a list of paths, e.g. prepare(['a.txt'], 'out.bin')")
    if not files:
        raise ArgumentValueError("prepare needs at least one input file; got an empty list.")
    workers = require_int("workers", workers, minimum=1, hint="Use workers=1 for one process.")
    chunk_bytes = require_int(
        "chunk_bytes", chunk_bytes, minimum=1, hint=f"The default is {DEFAULT_CHUNK_BYTES:,}."
    )
    partition_bytes = require_int("partition_bytes", partition_bytes, minimum=1)
    seed = require_int("seed", seed)
    if shard_tokens is not None:
        shard_tokens = require_int(
            "shard_tokens", shard_tokens, minimum=1, hint="llm.c's FineWeb shards hold 10**8."
        )
        if shard_tokens >= 2**31:
            raise ArgumentValueError(
                f"shard_tokens={shard_tokens:,} does not fit llm.c's int32 header count; use "
                "at most 2**31 - 1 (llm.c uses 100,000,000)."
            )
    _check_val(val_fraction, val_tokens)
    if val_tokens is not None:
        val_tokens = require_int("val_tokens", val_tokens, minimum=1)
    executor = get_executor(
        engine, workers=workers, rank=rank, world_size=world_size, ray_address=ray_address
    )
    sources = open_sources(files, jsonl_field=jsonl_field)  # each one readable, before any work
    if executor.name != "local" and any(s.stdin for s in sources):
        raise ArgumentValueError(
            f"standard input (-) can be read by engine='local' only; engine="
            f"{executor.name!r} runs tasks that each read their own part of files."
        )
    total = sum(s.bytes for s in sources)
    out = Path(out)
    has_val = val_fraction > 0 or bool(val_tokens)
    _check_outputs(out, has_val, shard_tokens, sources, tokenizer, executor.name != "local")

    tok = load_tokenizer(tokenizer)
    eot = end_of_text_id(tok)
    n_vocab = int(tok.n_vocab)
    dtype = dtype_for_vocab(n_vocab)
    # The pattern to cut documents by while streaming, when its safe cuts are verified.
    pattern = tokenizer_pattern(tok)
    cut_pattern = pattern if pattern is not None and safe_cut_regex(pattern) else None
    in_process = executor.workers == 1 and executor.name != "ray"
    label = f"engine={executor.name!r}" if executor.name == "ray" else f"workers={workers}"
    payload = worker_payload(tokenizer, tok, in_process=in_process, label=label)
    identity = tokenizer_identity(tok)
    if isinstance(tokenizer, str | os.PathLike):
        identity = {"spec": str(tokenizer), **identity}
    settings = Settings(
        out=str(out),
        dtype=dtype.str,
        eot=eot,
        tokenizer=identity,
        sources=[{"path": str(s.path), "bytes": s.bytes, "jsonl": s.jsonl} for s in sources],
        jsonl_field=jsonl_field,
        val_fraction=float(val_fraction),
        val_tokens=val_tokens,
        seed=seed,
        shard_tokens=shard_tokens,
        chunking="streamed at safe cuts" if cut_pattern else "whole documents",
    )
    partitions = make_partitions(sources, partition_bytes)
    job = _Job(sources, jsonl_field, chunk_bytes, cut_pattern, (payload, n_vocab, eot, dtype.str))
    bar = _progress_bar(total, progress)
    start = time.perf_counter()
    try:
        if executor.name == "local":
            pieces = _stream(executor, partitions, job, bar.update)
            manifests = write_outputs(pieces, settings)
        else:
            folder = parts_folder(out)
            # The plan names the output by its file name only: ranks (and the merge) may
            # run in other folders; `merge(OUT)` writes beside OUT.parts.
            named = dataclasses.replace(settings, out=out.name)
            write_plan(folder, plan_document(named, partitions))
            todo = [p for p in partitions if executor.owns(p.index)]
            done = tuple(p.index for p in todo if part_done(folder, p.index, dtype.itemsize))
            todo = [p for p in todo if p.index not in done]
            if executor.name == "tasks":
                for partition in todo:
                    pieces = _stream(LocalExecutor(workers), [partition], job, bar.update)
                    write_part(folder, partition, ((f, d) for _, f, d in pieces), dtype.itemsize)
                seconds = time.perf_counter() - start
                ran = tuple(p.index for p in todo)
                return PrepareResult(None, None, total, seconds, None, ran, done)
            tasks = [(str(folder), p, job) for p in todo]
            for _ in executor.map(
                _encode_partition,
                tasks,
                initializer=init_worker,
                initargs=job.initargs,
                what="tokprep prepare",
            ):
                pass
            manifests = merge(out)
    finally:
        bar.close()
        _WORKER.clear()
    # The time covers everything: reading, encoding, writing, and hashing for the manifests.
    return result_from_manifests(manifests, total, time.perf_counter() - start)


@dataclass(frozen=True)
class _Job:
    """What encoding a partition needs besides the partition (picklable, for Ray)."""

    sources: list[Source]
    jsonl_field: str | None
    chunk_bytes: int
    cut_pattern: str | None
    initargs: tuple[Any, ...]  # for init_worker


def _chunks(
    partitions: list[Partition], job: _Job, on_read: Any
) -> Iterator[tuple[str, bool, str]]:
    for partition in partitions:
        yield from partition_chunks(
            partition,
            job.sources[partition.source],
            jsonl_field=job.jsonl_field,
            chunk_bytes=job.chunk_bytes,
            cut_pattern=job.cut_pattern,
            on_read=on_read,
        )


def _stream(
    executor: Executor, partitions: list[Partition], job: _Job, on_read: Any
) -> Iterator[tuple[int, bool, bytes]]:
    """The token stream of `partitions` as `(source, first, token bytes)`, encoded by
    `executor` in order, a bounded window of work units in flight (`_units`)."""
    sources: collections.deque[int] = collections.deque()  # each unit's source, in order

    def tasks() -> Iterator[tuple[str, Any]]:
        for source, unit in _units(partitions, job, on_read):
            sources.append(source)
            yield unit

    results = executor.map(
        _encode_unit,
        tasks(),
        initializer=init_worker,
        initargs=job.initargs,
        what="tokprep prepare",
    )
    try:
        for firsts, encoded in results:
            source = sources.popleft()
            for first, data in zip(firsts, encoded, strict=True):
                yield source, first, data
    finally:
        results.close()  # type: ignore[attr-defined]


def _units(
    partitions: list[Partition], job: _Job, on_read: Any
) -> Iterator[tuple[int, tuple[str, Any]]]:
    """The work units of `partitions`, in order, as `(source number, unit)`.

    A plain JSONL file is handed out as byte ranges of about `chunk_bytes` that the worker
    reads, parses and encodes itself (lines that start in the range: documents never cross a
    range), so this process only writes; other inputs are read here, cut at safe cuts and
    handed out as batches of chunks.
    """
    for partition in partitions:
        source = job.sources[partition.source]
        if source.jsonl and source.splittable and not source.stdin:
            stop = source.bytes if partition.end is None else partition.end
            # An empty file is still one range: reading it raises "no documents".
            starts = range(partition.start, stop, job.chunk_bytes) or range(
                partition.start, stop + 1
            )
            # What the worker needs, without the tokenizer or the other inputs.
            alone = _Job([source], job.jsonl_field, job.chunk_bytes, job.cut_pattern, ())
            for number, begin in enumerate(starts):
                last = number == len(starts) - 1
                # The last range keeps the partition's end (None: the whole file, whose checks
                # need all of it, such as "a JSONL file with no documents").
                end = partition.end if last else begin + job.chunk_bytes
                if on_read is not None:
                    on_read(min(begin + job.chunk_bytes, stop) - begin)
                piece = Partition(partition.index, 0, begin, end)
                yield partition.source, ("range", (piece, alone))
            continue
        for batch in batches(_chunks([partition], job, on_read), job.chunk_bytes):
            yield partition.source, ("chunks", batch)


def _encode_unit(unit: tuple[str, Any]) -> tuple[list[bool], list[bytes]]:
    """Encode one work unit (in a worker): `(first of each piece, token bytes of each)`."""
    kind, payload = unit
    if kind == "range":
        piece, job = payload
        chunks = list(_chunks([piece], job, None))
    else:
        chunks = payload
    return [first for _, first, _ in chunks], encode_batch(chunks)


def _encode_partition(task: tuple[str, Partition, _Job]) -> dict[str, Any]:
    """One Ray task: encode a partition in this worker and write its part."""
    folder, partition, job = task
    itemsize = 2 if job.initargs[3] == "<u2" else 4

    def pieces() -> Iterator[tuple[bool, bytes]]:
        for batch in batches(_chunks([partition], job, None), job.chunk_bytes):
            yield from zip([first for _, first, _ in batch], encode_batch(batch), strict=True)

    return write_part(Path(folder), partition, pieces(), itemsize)


def _check_val(val_fraction: Any, val_tokens: Any) -> None:
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float):
        raise TypeError(f"val_fraction must be a float, got {type(val_fraction).__name__}")
    if not 0.0 <= val_fraction < 1.0:
        raise ArgumentValueError(
            f"val_fraction must be in [0, 1), got {val_fraction}; e.g. 0.1 holds out about 10% "
            "of the documents, 0 writes no validation file."
        )
    if val_tokens is not None and val_fraction > 0:
        raise ArgumentValueError(
            f"val_fraction={val_fraction} and val_tokens={val_tokens} both choose the "
            "validation split; give one: val_fraction (by documents) or val_tokens (the first "
            "N tokens)."
        )


def _progress_bar(total: int, progress: bool | None) -> Any:
    from tqdm import tqdm

    if progress is None:
        progress = sys.stderr.isatty() and total >= 16_000_000
    return tqdm(
        total=total, unit="B", unit_scale=True, desc="prepare", disable=not progress, leave=False
    )


def _check_outputs(
    out: Path,
    has_val: bool,
    shard_tokens: int | None,
    sources: list[Source],
    tokenizer: Any,
    parts: bool,
) -> None:
    """Before any work: each output can be written, and none is an input (a corpus file, or
    the tokenizer file) or another output. Errors name the outputs as the user gave them."""
    outputs: dict[str, PathLike] = {}
    if shard_tokens is None:
        paths = {"train": out, "val": validation_path(out)} if has_val else {"train": out}
        for name, path in paths.items():
            manifest = manifest_path(path)
            what = "the output" if name == "train" else "the validation file"
            outputs[f"{what} {path}"] = check_output(path)
            outputs[f"the manifest {manifest}"] = check_output(manifest)
    else:
        manifest = shards_manifest_path(out)
        outputs[f"the manifest {manifest}"] = check_output(manifest)
    if parts:
        outputs[f"the parts folder {parts_folder(out)}"] = parts_folder(out)
    inputs: list[PathLike] = [s.path for s in sources]
    if isinstance(tokenizer, str | os.PathLike) and Path(tokenizer).is_file():
        inputs.append(Path(tokenizer))
    check_not_input(outputs, inputs)
    if shard_tokens is not None:
        for item in inputs:
            if Path(item).parent.resolve() == out.parent.resolve() and is_shard_of(Path(item), out):
                raise ArgumentValueError(
                    f"the input {item} has the name of one of the shards of -o {out}: writing "
                    "the shards would destroy it. Write the output to another name or folder."
                )
