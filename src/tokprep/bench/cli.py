"""`tokprep bench`: every comparison of tokprep with its peers, in one process, one command.

    tokprep bench --quick                      # ~1.5 minutes on 2 cores
    tokprep bench                              # the full run (it prints its estimate first)
    tokprep bench --device cuda --out gpu/     # on a GPU machine: loader gather + embeddings

Each measurement is a pure function in `tokprep.bench.{encode,train,dataloading,embeddings}`
that interleaves and repeats its contenders itself; this module only chooses the sizes (a
`Plan`), runs the measurements one after another with progress lines, survives the failure of
any one of them, and hands the numbers to `tokprep.bench.report` for the table, `results.json`
and the charts. `results.json` is rewritten after every measurement, so an interrupted run
keeps what it had measured.

Exit codes: 0 everything ran; 1 a measurement (or the charts) failed, the others still ran;
2 a usage error (a bad option, a corpus file that cannot be read, `--device cuda` without CUDA).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from tokprep.errors import ArgumentValueError, TokprepValueError

# The repository's shared corpora; present in a checkout, absent from an installed wheel.
REPO_DATA = Path(__file__).resolve().parents[3] / "data"

SECTIONS = ("encode", "worst-case", "train", "dataloading", "embeddings")
DEFAULT_OUT = "bench-results"


@dataclass(frozen=True)
class Plan:
    """The sizes of one benchmark run. `None` byte limits mean the whole text."""

    name: str
    text_bytes: int | None  # encoding and DataLoader input: the corpus' first bytes
    encode_rounds: int
    worst_sizes: tuple[int, ...]
    worst_kinds: tuple[str, ...]
    worst_one_megabyte: bool
    train_bytes: int | None
    train_merges: int
    train_repeats: int
    educational_chars: int
    educational_merges: int
    large_corpus_bytes: int | None  # None: not measured
    large_corpus_merges: int
    loader_max_length: int
    loader_stride: int
    loader_batch: int
    loader_rounds: int
    memory_bytes: int
    memory_stride: int
    memory_kinds: tuple[str, ...]
    prepare_rounds: int
    cuda_max_length: int
    cuda_batches: int
    emb_vocab: int
    emb_dim: int
    emb_context: int
    emb_batch: int
    emb_rounds: int


FULL = Plan(
    name="full",
    text_bytes=None,
    encode_rounds=5,
    worst_sizes=(131_072, 262_144, 524_288),
    worst_kinds=("a", "ascii", "letters"),
    worst_one_megabyte=True,
    train_bytes=None,
    train_merges=10_000,
    train_repeats=5,
    educational_chars=50_000,
    educational_merges=50,
    large_corpus_bytes=20_000_000,
    large_corpus_merges=10_000,
    loader_max_length=256,
    loader_stride=128,
    loader_batch=32,
    loader_rounds=5,
    # The textbook's loader at stride 1 holds two tensors per window: ~1.8 GB for
    # tinyshakespeare. The cap keeps a large --corpus from asking for far more.
    memory_bytes=1_200_000,
    memory_stride=1,
    memory_kinds=("textbook", "tokprep", "tokprep-memmap"),
    prepare_rounds=2,
    cuda_max_length=1024,
    cuda_batches=200,
    emb_vocab=50_257,
    emb_dim=768,
    emb_context=1024,
    emb_batch=8,
    emb_rounds=30,
)

QUICK = dataclasses.replace(
    FULL,
    name="quick",
    text_bytes=200_000,
    encode_rounds=3,
    worst_sizes=(16_384, 32_768, 65_536),
    worst_one_megabyte=False,
    train_bytes=200_000,
    train_merges=1_000,
    train_repeats=3,
    educational_chars=10_000,
    educational_merges=50,
    large_corpus_bytes=None,
    loader_rounds=3,
    memory_bytes=200_000,
    memory_stride=128,  # no stride-1 textbook build in a quick run
    prepare_rounds=1,
    cuda_batches=50,
    emb_context=256,
    emb_rounds=20,
)

# Seconds, not minutes: for the tests of the command's plumbing. The numbers mean nothing.
TINY = dataclasses.replace(
    QUICK,
    name="tiny",
    text_bytes=6_000,
    encode_rounds=1,
    worst_sizes=(256, 512),
    worst_kinds=("a",),
    train_bytes=6_000,
    train_merges=20,
    train_repeats=1,
    educational_chars=1_000,
    educational_merges=5,
    loader_max_length=32,
    loader_stride=16,
    loader_batch=4,
    loader_rounds=1,
    memory_bytes=6_000,
    memory_stride=16,
    memory_kinds=("tokprep-memmap",),
    cuda_max_length=32,
    cuda_batches=5,
    emb_vocab=1_000,
    emb_dim=16,
    emb_context=32,
    emb_batch=2,
    emb_rounds=2,
)

PLANS = {plan.name: plan for plan in (FULL, QUICK, TINY)}


def first_bytes(text: str, limit: int | None) -> str:
    """The start of `text`, at most `limit` UTF-8 bytes, cut at a line end where one is near
    (so the cut text is natural prose), never inside a character."""
    data = text.encode("utf-8")
    if limit is None or len(data) <= limit:
        return text
    cut = data[:limit].decode("utf-8", errors="ignore")
    line_end = cut.rfind("\n")
    return cut[: line_end + 1] if line_end > len(cut) // 2 else cut


def _size_label(label: str, full: str, used: str) -> str:
    n = len(used.encode("utf-8"))
    return label if len(used) == len(full) else f"{label} (first {n:,} bytes)"


class Inputs:
    """The texts a run measures on, and what is derived from them once (IDs, files)."""

    def __init__(self, corpus: str | os.PathLike | None, plan: Plan) -> None:
        from tokprep.files import read_text

        if corpus is not None:
            self.corpus_text = read_text(corpus)
            self.corpus_name = str(corpus)
            self.corpus_source = "given with --corpus"
        elif (REPO_DATA / "tinyshakespeare.txt").exists():
            self.corpus_text = read_text(REPO_DATA / "tinyshakespeare.txt")
            self.corpus_name = "tinyshakespeare.txt"
            self.corpus_source = f"the default in a checkout, from {REPO_DATA}"
        else:
            from tokprep.demo import default_text

            self.corpus_text = default_text()
            self.corpus_name = "the-verdict.txt"
            self.corpus_source = "the default outside a checkout: the story bundled in tokprep"
        self.text = first_bytes(self.corpus_text, plan.text_bytes)
        self.label = _size_label(self.corpus_name, self.corpus_text, self.text)
        # Training compares with the trainer benchmarks' text where the checkout has it.
        if corpus is None and (REPO_DATA / "war_and_peace.txt").exists():
            whole = read_text(REPO_DATA / "war_and_peace.txt")
            name = "war_and_peace.txt"
        else:
            whole, name = self.corpus_text, self.corpus_name
        self.train_text = first_bytes(whole, plan.train_bytes)
        self.train_label = _size_label(name, whole, self.train_text)
        self.workdir: Path | None = None  # set by the run: a temporary folder
        self._ids: list[int] | None = None

    def ids(self) -> list[int]:
        """GPT-2 IDs of the measured text (tiktoken: the fastest way to get them)."""
        if self._ids is None:
            from tokprep.bpe import tiktoken_gpt2

            self._ids = tiktoken_gpt2().encode_ordinary(self.text)
        return self._ids

    def text_file(self, n_bytes: int | None = None) -> Path:
        """The measured text (or its first `n_bytes`) as a file, for the file-based tools."""
        if self.workdir is None:
            raise RuntimeError("Inputs.workdir is not set; run_bench sets it for its run")
        text = first_bytes(self.text, n_bytes)
        path = self.workdir / f"corpus-{len(text.encode('utf-8'))}.txt"
        if not path.exists():
            path.write_bytes(text.encode("utf-8"))  # bytes: no newline translation
        return path


@dataclass
class Measurement:
    """One timed measurement: `run` returns (parameters, numbers); when `skip` is set it is
    not run, and `skip` says why and how to run it."""

    name: str
    section: str
    title: str
    estimate_s: float
    run: Callable[[], tuple[dict[str, Any], dict[str, Any]]]
    skip: str | None = None


def _mb(text: str) -> float:
    return len(text.encode("utf-8")) / 1e6


def _tokenizers_missing() -> str | None:
    from tokprep.bench.report import library_version

    if library_version("tokenizers") is None:
        return "tokenizers is not installed (pip install tokenizers)"
    return None


def measurements(plan: Plan, inputs: Inputs, device: str) -> list[Measurement]:
    """Every measurement of a run, in order, each with its estimated seconds on 2 cores.

    The estimates are rough fits to runs on a 2-core x86 machine; they scale with the sizes.
    """
    from tokprep.bench import dataloading, embeddings, encode, train

    p = plan
    text_mb, train_mb = _mb(inputs.text), _mb(inputs.train_text)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = (1,) if (cores or 1) < 2 else (1, min(cores or 1, 8))
    chunk_bytes = min(1 << 20, max(16 << 10, len(inputs.text.encode()) // (4 * max(workers))))
    cuda_note = "--device cpu; on a machine with a GPU run: tokprep bench --device cuda"

    def run_encode() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {"corpus": inputs.label, "rounds": p.encode_rounds}
        return params, encode.encode_comparison(inputs.text, rounds=p.encode_rounds)

    def run_worst() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {
            "sizes": list(p.worst_sizes),
            "kinds": list(p.worst_kinds),
            "one_megabyte": p.worst_one_megabyte,
        }
        result = encode.worst_case(p.worst_sizes, p.worst_kinds, one_megabyte=p.worst_one_megabyte)
        return params, result

    def run_train_hf() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {
            "corpus": inputs.train_label,
            "n_merges": p.train_merges,
            "repeats": p.train_repeats,
        }
        result = train.compare_with_hf(inputs.train_text, p.train_merges, repeats=p.train_repeats)
        return params, result

    def run_educational() -> tuple[dict[str, Any], dict[str, Any]]:
        text = inputs.train_text[: p.educational_chars]
        params = {"corpus": inputs.train_label, "n_merges": p.educational_merges}
        return params, train.educational_baseline(text, p.educational_merges)

    def run_large() -> tuple[dict[str, Any], dict[str, Any]]:
        target = p.large_corpus_bytes or 0
        params = {"target_bytes": target, "n_merges": p.large_corpus_merges}
        return params, train.large_corpus(target_bytes=target, n_merges=p.large_corpus_merges)

    hf_missing = _tokenizers_missing()
    large_skip = hf_missing
    if p.large_corpus_bytes is None:
        large_skip = "full run only (a ~20 MB corpus); run without --quick"
    elif not (REPO_DATA / "war_and_peace.txt").exists():
        large_skip = "needs the repository's data/ folder; run from a checkout"

    loader_shape = {
        "max_length": p.loader_max_length,
        "stride": p.loader_stride,
        "batch_size": p.loader_batch,
    }

    def run_loader() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {
            "corpus": inputs.label,
            **loader_shape,
            "rounds": p.loader_rounds,
            "kinds": list(dataloading.LOADERS),
        }
        result = dataloading.iteration_throughput(
            inputs.ids(), **loader_shape, rounds=p.loader_rounds
        )
        return params, result

    def run_memory() -> tuple[dict[str, Any], dict[str, Any]]:
        from tokprep.dataloading import prepare

        source = inputs.text_file(p.memory_bytes)
        token_file = source.with_suffix(".bin")
        if not token_file.exists():
            prepare([source], token_file, progress=False)
        params = {
            "corpus": _size_label(
                inputs.corpus_name, inputs.corpus_text, first_bytes(inputs.text, p.memory_bytes)
            ),
            "max_length": p.loader_max_length,
            "stride": p.memory_stride,
            "batch_size": 8,
            "kinds": list(p.memory_kinds),
        }
        result = {
            kind: dataloading.memory_growth(
                kind, token_file, max_length=p.loader_max_length, stride=p.memory_stride
            )
            for kind in p.memory_kinds
        }
        return params, result

    def run_prepare() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {
            "corpus": inputs.label,
            "workers": list(workers),
            "chunk_bytes": chunk_bytes,
            "rounds": p.prepare_rounds,
        }
        result = dataloading.prepare_throughput(
            [inputs.text_file()],
            workers=workers,
            chunk_bytes=chunk_bytes,
            rounds=p.prepare_rounds,
        )
        return params, result

    def run_cuda_gather() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {
            "corpus": inputs.label,
            "max_length": p.cuda_max_length,
            "stride": p.cuda_max_length,
            "batches": p.cuda_batches,
        }
        result = dataloading.cuda_gather(
            inputs.ids(),
            max_length=p.cuda_max_length,
            stride=p.cuda_max_length,
            batches=p.cuda_batches,
        )
        return params, result

    emb_shape = {
        "vocab_size": p.emb_vocab,
        "emb_dim": p.emb_dim,
        "context_length": p.emb_context,
        "batch_size": p.emb_batch,
        "rounds": p.emb_rounds,
    }

    def run_embeddings(on: str) -> Callable[[], tuple[dict[str, Any], dict[str, Any]]]:
        def run() -> tuple[dict[str, Any], dict[str, Any]]:
            return {**emb_shape, "device": on}, embeddings.forward_throughput(
                **emb_shape, device=on
            )

        return run

    memory_tokens = min(p.memory_bytes, len(inputs.text.encode())) / 3.3
    emb_work = p.emb_rounds * 12 * p.emb_batch * p.emb_context * p.emb_dim * 5e-9
    return [
        Measurement(
            "encode",
            "encode",
            f"encoding: {len(encode.ENCODERS)} encoders on {inputs.label}, "
            f"{_count(p.encode_rounds, 'round')}",
            3.0 + text_mb * (3.3 * p.encode_rounds + 2.0),
            run_encode,
        ),
        Measurement(
            "worst_case",
            "worst-case",
            f"worst case: single pieces of {', '.join(f'{s:,}' for s in p.worst_sizes)} bytes",
            0.5
            + 3.6e-6 * sum(p.worst_sizes) * len(p.worst_kinds)
            + (10.0 if p.worst_one_megabyte else 0.0),
            run_worst,
        ),
        Measurement(
            "train_vs_hf",
            "train",
            f"training: tokprep vs Hugging Face, {inputs.train_label}, "
            f"{p.train_merges:,} merges x {p.train_repeats}",
            p.train_repeats * (0.3 + 1.6 * train_mb),
            run_train_hf,
            skip=hf_missing,
        ),
        Measurement(
            "train_educational",
            "train",
            f"training: tiktoken's naive _educational trainer, {p.educational_chars:,} chars",
            0.1 + p.educational_chars * p.educational_merges * 1e-6,
            run_educational,
        ),
        Measurement(
            "train_large_corpus",
            "train",
            "training: large corpus, time and peak memory",
            0.0 if large_skip else 2.0 + 25.0 * (p.large_corpus_bytes or 0) / 20e6,
            run_large,
            skip=large_skip,
        ),
        Measurement(
            "loader_throughput",
            "dataloading",
            f"DataLoader: textbook vs tokprep, one epoch x {p.loader_rounds}",
            2.0 + 0.5 * text_mb * p.loader_rounds,
            run_loader,
        ),
        Measurement(
            "loader_memory",
            "dataloading",
            f"DataLoader memory at stride {p.memory_stride}, "
            f"{_count(len(p.memory_kinds), 'fresh process', 'fresh processes')}",
            4.5 * len(p.memory_kinds)
            + ("textbook" in p.memory_kinds) * memory_tokens / p.memory_stride * 1.2e-4,
            run_memory,
        ),
        Measurement(
            "prepare",
            "dataloading",
            f"prepare: token files with {' and '.join(map(str, workers))} "
            f"worker{'s' if workers != (1,) else ''}",
            1.0 + p.prepare_rounds * text_mb * (0.25 + 0.4 * len(workers)) + 0.5 * len(workers),
            run_prepare,
        ),
        Measurement(
            "cuda_gather",
            "dataloading",
            "DataLoader on CUDA: device-side gather vs host gather + copy",
            (5.0 + 0.01 * p.cuda_batches) if device == "cuda" else 0.0,
            run_cuda_gather,
            skip=None if device == "cuda" else cuda_note,
        ),
        Measurement(
            "embeddings_cpu",
            "embeddings",
            f"embeddings on the CPU, {p.emb_batch} x {p.emb_context} tokens",
            2.0 + emb_work + p.emb_vocab * p.emb_dim * 2e-8,
            run_embeddings("cpu"),
        ),
        Measurement(
            "embeddings_cuda",
            "embeddings",
            f"embeddings on CUDA, {p.emb_batch} x {p.emb_context} tokens",
            5.0 if device == "cuda" else 0.0,
            run_embeddings("cuda"),
            skip=None if device == "cuda" else cuda_note,
        ),
    ]


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def check_device(device: str) -> None:
    """Raise `ArgumentValueError` if `device` is "cuda" and torch sees no CUDA device."""
    if device != "cuda":
        return
    import torch

    if torch.cuda.is_available():
        return
    why = (
        f"this torch ({torch.__version__}) was built without CUDA"
        if torch.version.cuda is None
        else "torch sees no CUDA device"
    )
    raise ArgumentValueError(
        f"--device cuda: CUDA is not available ({why}). Run with --device cpu, or on a machine "
        "with an NVIDIA GPU and a CUDA build of torch."
    )


def command_line(
    *, plan: str, out: str | os.PathLike, device: str, corpus: Any, sections: Sequence[str]
) -> str:
    """The `tokprep bench ...` command that reruns these options."""
    words = ["tokprep", "bench"]
    if plan == "quick":
        words.append("--quick")
    elif plan != "full":
        words.append(f"--plan {plan}")
    if str(out) != DEFAULT_OUT:
        words.append(f"--out {out}")
    if device != "cpu":
        words.append(f"--device {device}")
    if corpus is not None:
        words.append(f"--corpus {corpus}")
    if tuple(sections) != SECTIONS:
        words.append(f"--only {','.join(sections)}")
    return " ".join(words)


@dataclass
class Setup:
    """A checked set of options, ready to run: what `setup` returns and `execute` takes."""

    plan: Plan
    out: Path
    device: str
    corpus: str | os.PathLike | None
    sections: list[str]
    inputs: Inputs


def setup(
    *,
    quick: bool = False,
    out: str | os.PathLike = DEFAULT_OUT,
    device: str = "cpu",
    corpus: str | os.PathLike | None = None,
    sections: Sequence[str] = SECTIONS,
    plan: Plan | None = None,
) -> Setup:
    """Check the options and read the corpus before anything is measured.

    Raises `ArgumentValueError` (an unknown section or device, `device="cuda"` without CUDA),
    `TextInputError` (a corpus that is not UTF-8 or is empty) or `OSError` (a corpus that
    cannot be read, an output folder that cannot be created).
    """
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or not sections:
        raise ArgumentValueError(
            f"unknown section(s) {unknown or '(none given)'}; choose from {', '.join(SECTIONS)}"
        )
    if device not in ("cpu", "cuda"):
        raise ArgumentValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    check_device(device)
    plan = plan or (QUICK if quick else FULL)
    inputs = Inputs(corpus, plan)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ordered = [s for s in SECTIONS if s in sections]
    return Setup(plan, out, device, corpus, ordered, inputs)


def run_bench(
    *,
    quick: bool = False,
    out: str | os.PathLike = DEFAULT_OUT,
    device: str = "cpu",
    corpus: str | os.PathLike | None = None,
    sections: Sequence[str] = SECTIONS,
    plan: Plan | None = None,
    stream: TextIO | None = None,
    errors: TextIO | None = None,
) -> dict[str, Any]:
    """Run the benchmark, write `out/results.json` (+ charts) and return the results document.

    Usage problems raise before anything is measured (see `setup`). A measurement that raises
    is reported on `errors` and recorded under the document's `errors`; the rest still run.
    """
    checked = setup(
        quick=quick, out=out, device=device, corpus=corpus, sections=sections, plan=plan
    )
    return execute(checked, stream=stream, errors=errors)


def _new_document(s: Setup, todo: list[Measurement]) -> dict[str, Any]:
    from tokprep import __version__
    from tokprep.bench.report import machine_info

    inputs = s.inputs
    return {
        "machine": machine_info(),
        "run": {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": command_line(
                plan=s.plan.name, out=s.out, device=s.device, corpus=s.corpus, sections=s.sections
            ),
            "argv": list(sys.argv),
            "tokprep": __version__,
            "plan": s.plan.name,
            "options": {
                "quick": s.plan.name == "quick",
                "out": str(s.out),
                "device": s.device,
                "corpus": None if s.corpus is None else str(s.corpus),
                "only": s.sections,
            },
            "sizes": dataclasses.asdict(s.plan),
            "sections": s.sections,
            "corpus": {
                "name": inputs.corpus_name,
                "source": inputs.corpus_source,
                "bytes": len(inputs.corpus_text.encode("utf-8")),
                "measured_bytes": len(inputs.text.encode("utf-8")),
                "train_text": inputs.train_label,
            },
            "estimate_s": sum(m.estimate_s for m in todo if m.skip is None),
            "seconds": None,
            "complete": False,
        },
        "measurements": {},
        "skipped": {},
        "errors": {},
        "charts": [],
    }


def execute(
    s: Setup, *, stream: TextIO | None = None, errors: TextIO | None = None
) -> dict[str, Any]:
    """Run a checked `Setup`: progress on `stream`, failures on `errors`, files in `s.out`."""
    from tokprep.bench import report

    stream = stream or sys.stdout
    errors = errors or sys.stderr

    def say(line: str = "") -> None:
        print(line, file=stream, flush=True)

    results_path = s.out / "results.json"
    with tempfile.TemporaryDirectory(prefix="tokprep-bench-") as folder:
        s.inputs.workdir = Path(folder)
        todo = [m for m in measurements(s.plan, s.inputs, s.device) if m.section in s.sections]
        document = _new_document(s, todo)
        machine, run = document["machine"], document["run"]
        say(
            f"tokprep bench, {s.plan.name} run: {len(todo)} measurements, estimated "
            f"{_duration(run['estimate_s'])} (the estimates come from a 2-core machine)"
        )
        say(
            f"machine: {machine['cpu']}, {machine['cores']} cores, "
            f"GPU: {machine['gpu'].get('name') or 'none'}"
        )
        say(f"corpus: {s.inputs.label}; {s.inputs.corpus_source}")
        if "train" in s.sections:
            say(f"training text: {s.inputs.train_label}")
        say()
        start = time.perf_counter()
        for number, m in enumerate(todo, start=1):
            say(
                f"[{number}/{len(todo)}] {_clock(time.perf_counter() - start)} {m.title}"
                + ("" if m.skip else f" (est. {_duration(m.estimate_s)})")
            )
            entry = _measure(m, document, errors)
            if entry["status"] == "skipped":
                say(f"      skipped: {m.skip}")
            elif entry["status"] == "ok":
                say(f"      done in {_duration(entry['seconds'])}")
            document["measurements"][m.name] = entry
            report.write_results(results_path, document)
        run["seconds"] = time.perf_counter() - start
        s.inputs.workdir = None

    if not report.matplotlib_available():
        document["skipped"]["charts"] = report.MATPLOTLIB_MISSING
    else:
        try:
            document["charts"] = report.write_charts(document, s.out)
        except Exception as e:  # a chart must not cost the numbers
            document["errors"]["charts"] = f"{type(e).__name__}: {e}"
            print(f"tokprep bench: charts failed: {type(e).__name__}: {e}", file=errors)
    run["complete"] = True
    report.write_results(results_path, document)
    say()
    say(report.format_table(document))
    say()
    say(f"total {_duration(run['seconds'])}; wrote {results_path}")
    if document["charts"]:
        say(f"charts: {', '.join(str(s.out / name) for name in document['charts'])}")
    for name, why in document["skipped"].items():
        say(f"note: skipped {name}: {why}")
    if document["errors"]:
        print(
            f"tokprep bench: {len(document['errors'])} part(s) failed: "
            f"{', '.join(document['errors'])}; the others are in {results_path}",
            file=errors,
        )
    return document


def _measure(m: Measurement, document: dict[str, Any], errors: TextIO) -> dict[str, Any]:
    """Run one measurement; its numbers, skip reason or error go into an entry for the file."""
    entry: dict[str, Any] = {"section": m.section, "title": m.title, "estimate_s": m.estimate_s}
    began = time.perf_counter()
    if m.skip:
        entry.update(status="skipped", reason=m.skip)
        document["skipped"][m.name] = m.skip
    else:
        try:
            parameters, result = m.run()
        except Exception as e:  # one failure must not lose the other measurements
            message = f"{type(e).__name__}: {e}"
            entry.update(status="error", error=message, traceback=traceback.format_exc())
            document["errors"][m.name] = message
            print(f"tokprep bench: {m.name} failed: {message}", file=errors, flush=True)
        else:
            entry.update(status="ok", parameters=parameters, result=result)
            for peer, why in result.get("skipped", {}).items():
                document["skipped"][f"{m.name}: {peer}"] = why
    entry["seconds"] = time.perf_counter() - began
    return entry


def _sections(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(unknown) or '(none)'}; choose from {', '.join(SECTIONS)}"
        )
    return names


def _command(args: argparse.Namespace) -> int:
    plan = PLANS[args.plan] if args.plan else (QUICK if args.quick else FULL)
    try:
        checked = setup(
            out=args.out,
            device=args.device,
            corpus=args.corpus,
            sections=args.only or SECTIONS,
            plan=plan,
        )
    except (TokprepValueError, OSError) as e:  # usage errors: nothing was measured
        print(f"tokprep bench: error: {e}", file=sys.stderr)
        return 2
    document = execute(checked)
    return 1 if document["errors"] else 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure tokprep against tiktoken, Hugging Face and the textbook",
        description=(
            "Encoding, worst cases, BPE training, DataLoader and embedding speed, in one "
            "process; prints a table of speed ratios and writes results.json and PNG charts."
        ),
    )
    parser.add_argument(
        "--quick", action="store_true", help="small inputs: under 2 minutes on 2 cores"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"folder for results.json and the charts (default: {DEFAULT_OUT}/)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda also runs the DataLoader's device-side gather and the embeddings on the GPU",
    )
    parser.add_argument(
        "--corpus",
        metavar="FILE",
        help="UTF-8 text for the encoding and DataLoader measurements (default: "
        "data/tinyshakespeare.txt in a checkout, else the bundled story)",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        metavar="SECTIONS",
        help=f"comma-separated sections to run: {','.join(SECTIONS)} (default: all)",
    )
    # Test-only: `--plan tiny` runs every measurement on toy sizes in seconds.
    parser.add_argument("--plan", choices=sorted(PLANS), help=argparse.SUPPRESS)
    parser.set_defaults(func=_command)
