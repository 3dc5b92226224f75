"""What `tokprep bench` measures and at which sizes: the plans, the inputs and the steps.

A `Plan` holds every size of a run (`FULL`, `QUICK`, and `TINY` for the tests); `steps`
turns a plan, the inputs and the user's tokenizers and trainers into the list of `Step`s the
runner (`tokprep.bench.runner`) runs one after another. Each step calls one pure measuring
function (`tokprep.bench.{encode,adversarial,train,dataloading,embeddings}`) and turns its
numbers into `tokprep.bench.records.Table`s; nothing else here knows a result's keys.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokprep.bench import adversarial, train
from tokprep.bench.records import Column, Row, Table

# The repository's shared corpora; present in a checkout, absent from an installed wheel.
REPO_DATA = Path(__file__).resolve().parents[3] / "data"

SECTIONS = ("encode", "adversarial", "train", "dataloading", "embeddings")

#: How long `tokprep bench --quick` takes on 2 cores: 18 s measured on the 2-core VM, 2026-11-30
#: (27 s with one `--tokenizer examples/tokenizers/ascii_letters.py:tokenizer`, a pure-Python
#: encoder). Stated here once: `--help` and the tests read it.
QUICK_SECONDS = 20


@dataclass(frozen=True)
class Plan:
    """The sizes of one benchmark run. `None` byte limits mean the whole text."""

    name: str
    text_bytes: int | None  # encoding and DataLoader input: the corpus' first bytes
    encode_rounds: int
    adversarial_sizes: tuple[int, ...]
    adversarial_kinds: tuple[str, ...]
    adversarial_cap_s: float  # per case; a case past it is reported as "> cap"
    adversarial_cap_mb: float
    long_token_sizes: tuple[int, ...]  # tokprep.bench.long_tokens: validate, merges, encode
    train_bytes: int | None
    train_merges: int
    train_repeats: int
    train_tie_breaks: tuple[str, ...]
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
    prepare_bytes: int | None  # the measured text repeated to this size (None: as it is)
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
    adversarial_sizes=(4_096, 65_536, 1_048_576),
    adversarial_kinds=tuple(adversarial.KINDS),
    adversarial_cap_s=10.0,
    adversarial_cap_mb=2_000.0,
    long_token_sizes=(65_536, 262_144, 1_048_576),
    train_bytes=None,
    train_merges=10_000,
    train_repeats=3,
    train_tie_breaks=train.TIE_BREAKS,
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
    prepare_bytes=10_000_000,
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
    adversarial_sizes=(256, 4_096, 65_536),
    adversarial_kinds=("a", "space", "ascii letters", "unicode letters", "long line"),
    adversarial_cap_s=3.0,
    long_token_sizes=(16_384, 65_536),
    train_bytes=200_000,
    train_merges=1_000,
    train_repeats=3,
    train_tie_breaks=("hf",),
    educational_chars=10_000,
    educational_merges=50,
    large_corpus_bytes=None,
    loader_rounds=3,
    memory_bytes=200_000,
    memory_stride=128,  # no stride-1 textbook build in a quick run
    prepare_rounds=1,
    prepare_bytes=None,
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
    adversarial_sizes=(256, 1_024),
    adversarial_kinds=("a", "ascii letters"),
    long_token_sizes=(1_024, 4_096),
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

    def repeated_file(self, n_bytes: int) -> Path:
        """The measured text repeated (whole copies, one newline apart) to at least `n_bytes`."""
        if self.workdir is None:
            raise RuntimeError("Inputs.workdir is not set; run_bench sets it for its run")
        size = len(self.text.encode("utf-8"))
        copies = max(1, -(-n_bytes // (size + 1)))
        path = self.workdir / f"repeated-{copies}.txt"
        if not path.exists():
            path.write_bytes("\n".join([self.text] * copies).encode("utf-8"))
        return path


Run = Callable[[], tuple[dict[str, Any], dict[str, Any]]]


@dataclass
class Step:
    """One measurement of a run: `run` returns (parameters, raw numbers), `tables` renders the
    numbers as records; when `skip` is set it is not run, and `skip` says why and how."""

    name: str
    section: str
    title: str
    estimate_s: float
    run: Run
    tables: Callable[[dict[str, Any], dict[str, Any]], list[Table]] = field(
        default=lambda parameters, result: []
    )
    skip: str | None = None


def _mb(text: str) -> float:
    return len(text.encode("utf-8")) / 1e6


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _tokenizers_missing() -> str | None:
    from tokprep.bench.report import library_version

    if library_version("tokenizers") is None:
        return "tokenizers is not installed (pip install tokenizers)"
    return None


def steps(
    plan: Plan,
    inputs: Inputs,
    device: str,
    *,
    tokenizers: Sequence[Any] = (),
    trainers: Sequence[Any] = (),
    cap_s: float | None = None,
) -> list[Step]:
    """Every step of a run, in order, each with its estimated seconds on 2 cores.

    `tokenizers` (`tokprep.bench.encode.UserTokenizer`) join every encoding table and the
    adversarial cases; `trainers` (`AdaptedTrainer`) join the training table; `cap_s` replaces
    the plan's adversarial time cap. The estimates are rough fits to runs on a 2-core x86
    machine; they scale with the sizes.
    """
    from tokprep.bench import dataloading, embeddings, encode

    p = plan
    text_mb, train_mb = _mb(inputs.text), _mb(inputs.train_text)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = (1,) if (cores or 1) < 2 else (1, min(cores or 1, 8))
    prepare_mb = (p.prepare_bytes or 0) / 1e6 or text_mb
    chunk_bytes = min(1 << 20, max(16 << 10, int(prepare_mb * 1e6) // (4 * max(workers))))
    cuda_note = "--device cpu; on a machine with a GPU run: tokprep bench --device cuda"
    cap = cap_s if cap_s is not None else p.adversarial_cap_s

    def run_encode() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {"corpus": inputs.label, "rounds": p.encode_rounds}
        result = encode.encode_comparison(
            inputs.text, rounds=p.encode_rounds, tokenizers=tokenizers
        )
        return params, result

    contenders, adversarial_skipped = adversarial.contenders(tokenizers)

    def run_adversarial() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {
            "sizes": list(p.adversarial_sizes),
            "kinds": list(p.adversarial_kinds),
            "cap_s": cap,
            "cap_mb": p.adversarial_cap_mb,
            "contenders": [c.label for c in contenders],
        }
        result = adversarial.run(
            contenders,
            p.adversarial_kinds,
            p.adversarial_sizes,
            cap_s=cap,
            cap_mb=p.adversarial_cap_mb,
        )
        result["skipped"] = dict(adversarial_skipped)
        return params, result

    def run_long_tokens() -> tuple[dict[str, Any], dict[str, Any]]:
        from tokprep.bench import long_tokens

        params = {"sizes": list(p.long_token_sizes)}
        return params, {"rows": long_tokens.run(p.long_token_sizes)}

    def run_train() -> tuple[dict[str, Any], dict[str, Any]]:
        params = {
            "corpus": inputs.train_label,
            "n_merges": p.train_merges,
            "repeats": p.train_repeats,
            "tie_breaks": list(p.train_tie_breaks),
            "trainers": [t.name for t in trainers],
        }
        result = train.train_comparison(
            inputs.train_text,
            p.train_merges,
            repeats=p.train_repeats,
            tie_breaks=p.train_tie_breaks,
            trainers=trainers,
        )
        return params, result

    def run_educational() -> tuple[dict[str, Any], dict[str, Any]]:
        text = inputs.train_text[: p.educational_chars]
        params = {"corpus": inputs.train_label, "n_merges": p.educational_merges}
        return params, train.educational_baseline(text, p.educational_merges)

    def run_large() -> tuple[dict[str, Any], dict[str, Any]]:
        target = p.large_corpus_bytes or 0
        params = {"target_bytes": target, "n_merges": p.large_corpus_merges}
        return params, train.large_corpus(target_bytes=target, n_merges=p.large_corpus_merges)

    large_skip = _tokenizers_missing()
    if p.large_corpus_bytes is None:
        large_skip = "full run only (a ~20 MB corpus); run without --quick"
    elif not (REPO_DATA / "war_and_peace.txt").exists():
        large_skip = "needs the repository's data/ folder; run from a checkout"

    loader_shape: dict[str, Any] = {
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
        source = inputs.repeated_file(p.prepare_bytes) if p.prepare_bytes else inputs.text_file()
        params = {
            "corpus": inputs.label
            + (f", repeated to {p.prepare_bytes / 1e6:.0f} MB" if p.prepare_bytes else ""),
            "workers": list(workers),
            "chunk_bytes": chunk_bytes,
            "rounds": p.prepare_rounds,
        }
        result = dataloading.prepare_throughput(
            [source], workers=workers, chunk_bytes=chunk_bytes, rounds=p.prepare_rounds
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

    def run_embeddings(on: str) -> Run:
        def run() -> tuple[dict[str, Any], dict[str, Any]]:
            return {**emb_shape, "device": on}, embeddings.forward_throughput(
                **emb_shape, device=on
            )

        return run

    memory_tokens = min(p.memory_bytes, len(inputs.text.encode())) / 3.3
    emb_work = p.emb_rounds * 12 * p.emb_batch * p.emb_context * p.emb_dim * 5e-9
    n_user = len(tokenizers)
    adversarial_bytes = sum(p.adversarial_sizes) * len(p.adversarial_kinds)
    return [
        Step(
            "encode",
            "encode",
            f"encoding: gpt2, cl100k_base and o200k_base on {inputs.label}, "
            f"{_count(p.encode_rounds, 'round')}"
            + (f", with {_count(n_user, 'tokenizer')} of yours" if n_user else ""),
            4.5 + text_mb * (5.2 + 2.0 * n_user) * p.encode_rounds + 2.6 * text_mb,
            run_encode,
            lambda params, result: encode.tables(result, params["corpus"]),
        ),
        Step(
            "adversarial",
            "adversarial",
            f"adversarial inputs: {_count(len(p.adversarial_kinds), 'input')} x "
            f"{', '.join(f'{s:,}' for s in p.adversarial_sizes)} bytes, "
            f"{_count(len(contenders), 'contender')}, cap {cap:g} s per case",
            len(contenders) * (1.0 + 1.2e-6 * adversarial_bytes) + 2.0,
            run_adversarial,
            lambda params, result: adversarial.tables(result),
        ),
        Step(
            "long_tokens",
            "adversarial",
            f"long tokens: a vocabulary with 'a' * 2**k up to "
            f"{max(p.long_token_sizes):,} bytes, and encoding that run",
            1.0 + 2.0e-5 * sum(p.long_token_sizes),
            run_long_tokens,
            _long_token_tables,
        ),
        Step(
            "train",
            "train",
            f"training: tokprep vs Hugging Face and rustbpe, {inputs.train_label}, "
            f"{p.train_merges:,} merges x {p.train_repeats}"
            + (f", with {_count(len(trainers), 'trainer')} of yours" if trainers else ""),
            p.train_repeats
            * (0.3 + 1.0 * train_mb)
            * (len(p.train_tie_breaks) + 1 + len(trainers)),
            run_train,
            lambda params, result: train.tables(result, params["corpus"]),
        ),
        Step(
            "train_educational",
            "train",
            f"training: tiktoken's naive _educational trainer, {p.educational_chars:,} chars",
            0.1 + p.educational_chars * p.educational_merges * 1e-6,
            run_educational,
            _educational_tables,
        ),
        Step(
            "train_large_corpus",
            "train",
            "training: large corpus, time and peak memory",
            0.0 if large_skip else 2.0 + 25.0 * (p.large_corpus_bytes or 0) / 20e6,
            run_large,
            _large_corpus_tables,
            skip=large_skip,
        ),
        Step(
            "loader_throughput",
            "dataloading",
            f"DataLoader: textbook vs tokprep, one epoch x {p.loader_rounds}",
            0.3 + 0.5 * text_mb * p.loader_rounds,
            run_loader,
            _loader_tables,
        ),
        Step(
            "loader_memory",
            "dataloading",
            f"DataLoader memory at stride {p.memory_stride}, "
            f"{_count(len(p.memory_kinds), 'fresh process', 'fresh processes')}",
            1.4 * len(p.memory_kinds)
            + ("textbook" in p.memory_kinds) * memory_tokens / p.memory_stride * 1.2e-4,
            run_memory,
            _memory_tables,
        ),
        Step(
            "prepare",
            "dataloading",
            f"prepare: token files from {prepare_mb:.1f} MB with "
            f"{' and '.join(map(str, workers))} worker{'s' if workers != (1,) else ''}",
            1.0 + p.prepare_rounds * prepare_mb * (0.25 + 0.4 * len(workers)) + 0.5 * len(workers),
            run_prepare,
            _prepare_tables,
        ),
        Step(
            "cuda_gather",
            "dataloading",
            "DataLoader on CUDA: device-side gather vs host gather + copy",
            (5.0 + 0.01 * p.cuda_batches) if device == "cuda" else 0.0,
            run_cuda_gather,
            _cuda_tables,
            skip=None if device == "cuda" else cuda_note,
        ),
        Step(
            "embeddings_cpu",
            "embeddings",
            f"embeddings on the CPU, {p.emb_batch} x {p.emb_context} tokens",
            2.0 + emb_work + p.emb_vocab * p.emb_dim * 2e-8,
            run_embeddings("cpu"),
            _embedding_tables,
        ),
        Step(
            "embeddings_cuda",
            "embeddings",
            f"embeddings on CUDA, {p.emb_batch} x {p.emb_context} tokens",
            5.0 if device == "cuda" else 0.0,
            run_embeddings("cuda"),
            _embedding_tables,
            skip=None if device == "cuda" else cuda_note,
        ),
    ]


# --- raw numbers -> tables (time ÷ reference's time, lower is better) ---------------------------


def _time_row(label: str, seconds: float, reference_s: float | None, **cells: Any) -> Row:
    ratio = seconds / reference_s if reference_s else None
    return Row(label, {"time": seconds, **cells}, ratio=ratio, ours="tokprep" in label)


def _long_token_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    table = Table(
        "long_tokens",
        "Long tokens (tokprep alone): checking a vocabulary whose longest token is n bytes "
        "(validate_ranks), recovering its merges (merges_from_ranks), encoding 'a' * n",
        columns=[
            Column("validate", "seconds"),
            Column("merges", "seconds"),
            Column("encode", "seconds"),
            Column("growth per doubling (validate, merges, encode)", "text"),
            Column("encode peak B per byte", "number"),
        ],
        notes=["growth per doubling: 2 is linear, 4 quadratic (tokprep.bench.long_tokens)"],
    )
    for row in r["rows"]:
        growth = [row.get(f"{k}_growth") for k in ("validate", "merges_from_ranks", "encode")]
        table.add(
            Row(
                f"{int(row['bytes']):,} B",
                {
                    "validate": row["validate_s"],
                    "merges": row["merges_from_ranks_s"],
                    "encode": row["encode_s"],
                    "growth per doubling (validate, merges, encode)": ", ".join(
                        f"{g:.2f}" for g in growth if g is not None
                    ),
                    "encode peak B per byte": row.get("encode_peak_bytes_per_byte"),
                },
                ours=True,
            )
        )
    return [table]


def _educational_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    table = Table(
        "train_educational",
        f"Naive trainer (tiktoken _educational: a full recount per merge), "
        f"{int(r['chars']):,} characters, {int(r['n_merges'])} merges",
        reference="tokprep train_bpe",
        columns=[Column("time", "seconds"), Column("ms per merge", "number")],
    )
    table.add(
        _time_row(
            "tokprep train_bpe",
            r["ours_s"],
            r["ours_s"],
            **{"ms per merge": r["ours_ms_per_merge"]},
        )
    )
    table.add(
        _time_row(
            "tiktoken _educational",
            r["educational_s"],
            r["ours_s"],
            **{"ms per merge": r["educational_ms_per_merge"]},
        )
    )
    return [table]


def _large_corpus_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    table = Table(
        "train_large_corpus",
        f"Training on {r['bytes'] / 1e6:.1f} MB of files, {params['n_merges']:,} merges, "
        f"{int(r['processes'])} processes (a fresh process each)",
        reference="huggingface",
        columns=[
            Column("time", "seconds"),
            Column("peak RSS", "bytes"),
            Column("largest worker", "bytes"),
        ],
    )
    table.add(
        _time_row(
            "tokprep train_bpe",
            r["ours_s"],
            r["hf_s"],
            **{
                "peak RSS": r["ours_peak_rss_mb"] * 1e6,
                "largest worker": r["ours_worker_peak_rss_mb"] * 1e6,
            },
        )
    )
    table.add(
        _time_row(
            "huggingface",
            r["hf_s"],
            r["hf_s"],
            **{"peak RSS": r["hf_peak_rss_mb"] * 1e6, "largest worker": None},
        )
    )
    return [table]


def _loader_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    served = r["batches"] * params["batch_size"] * params["max_length"]
    table = Table(
        "loader_throughput",
        f"DataLoader: {int(r['tokens']):,} tokens of {params['corpus']}, max_length "
        f"{params['max_length']}, stride {params['stride']}, batch {params['batch_size']}, "
        f"{int(r['batches'])} batches per epoch, {_count(params['rounds'], 'round')}",
        reference="textbook",
        columns=[
            Column("epoch", "seconds"),
            Column("tokens/s", "rate"),
            Column("start-up", "seconds"),
        ],
        rate_unit="tokens/s",
        notes=["epoch: the best round (the rate's spread is the median and slowest round)"],
    )
    best_textbook = served / r["textbook_tokens_per_s"] if "textbook_tokens_per_s" in r else None
    for kind in params["kinds"]:
        rate = r[f"{kind}_tokens_per_s"]
        table.add(
            Row(
                kind,
                {"epoch": served / rate, "tokens/s": rate, "start-up": r[f"{kind}_startup_s"]},
                ratio=(served / rate) / best_textbook if best_textbook else None,
                rate=rate,
                rate_low=r.get(f"{kind}_slowest_tokens_per_s", rate),
                rate_high=rate,
                ours=kind != "textbook",
            )
        )
    return [table]


def _memory_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    first = next(iter(r.values()))
    table = Table(
        "loader_memory",
        f"DataLoader memory: RSS growth to build the loader and take one batch, a fresh process "
        f"each, {int(first['tokens']):,} tokens, stride {params['stride']}",
        reference="int64 token array",
        quantity="memory",
        columns=[Column("growth", "bytes")],
    )
    table.add(Row("int64 token array", {"growth": first["token_array_bytes"]}, ratio=1.0))
    for kind, v in r.items():
        table.add(
            Row(kind, {"growth": v["growth_bytes"]}, ratio=v["ratio"], ours=kind != "textbook")
        )
    return [table]


def _prepare_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    table = Table(
        "prepare",
        f"prepare: {r['input_mb']:.1f} MB ({params['corpus']}), "
        f"{params['chunk_bytes']:,}-byte chunks, best of {_count(params['rounds'], 'round')}",
        reference="tiktoken one thread",
        columns=[Column("MB/s", "number"), Column("scaling", "text")],
        rate_unit="MB/s",
        notes=[
            "prepare includes reading, hashing and writing the token file; tiktoken "
            "encodes the text already in memory; scaling: rate / (workers x 1 worker's)"
        ],
    )
    base = r["tiktoken_mb_per_s"]
    table.add(Row("tiktoken one thread", {"MB/s": base, "scaling": ""}, ratio=1.0, rate=base))
    for n in params["workers"]:
        rate = r[f"prepare_{n}w_mb_per_s"]
        efficiency = r.get(f"prepare_{n}w_efficiency")
        table.add(
            Row(
                f"tokprep prepare, {_count(n, 'worker')}",
                {"MB/s": rate, "scaling": f"{efficiency:.2f}" if efficiency else ""},
                ratio=base / rate,
                rate=rate,
                ours=True,
            )
        )
    return [table]


def _cuda_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    table = Table(
        "cuda_gather",
        f"CUDA: {params['batches']} batches of max_length {params['max_length']}",
        reference="host gather + pinned copy",
        columns=[Column("batches/s", "rate")],
        rate_unit="batches/s",
    )
    host = r["host_gather_copy_batches_per_s"]
    for label, key in (
        ("host gather + pinned copy", "host_gather_copy"),
        ("tokprep: tokens on the GPU, gathered there", "device_gather"),
    ):
        rate = r[f"{key}_batches_per_s"]
        table.add(
            Row(
                label,
                {"batches/s": rate},
                ratio=host / rate,
                rate=rate,
                ours=key == "device_gather",
            )
        )
    return [table]


def _embedding_tables(params: dict[str, Any], r: dict[str, Any]) -> list[Table]:
    device = params["device"]
    table = Table(
        f"embeddings_{device}",
        f"Embedding forward on {device}: vocabulary {params['vocab_size']:,} x "
        f"{params['emb_dim']}, batch {params['batch_size']} x {params['context_length']}, "
        f"{_count(params['rounds'], 'round')}",
        reference="textbook: 2 x nn.Embedding",
        columns=[Column("time", "seconds"), Column("tokens/s", "rate")],
        rate_unit="tokens/s",
        notes=[
            f"the ID check alone: {r['check_us']:.0f} us, {r['check_pct']:.1f}% of the textbook "
            f"forward (end to end: {r['validated_overhead_pct']:+.1f}%)"
        ],
    )
    tokens = r["tokens"]
    base = tokens / r["baseline_tokens_per_s"]
    for name, label in (
        ("baseline", "textbook: 2 x nn.Embedding"),
        ("validated", "tokprep GPTEmbedding (ID check on)"),
        ("unvalidated", "tokprep GPTEmbedding (check off)"),
    ):
        rate = r[f"{name}_tokens_per_s"]
        table.add(
            Row(
                label,
                {"time": tokens / rate, "tokens/s": rate},
                ratio=(tokens / rate) / base,
                rate=rate,
                rate_low=r.get(f"{name}_min_tokens_per_s", rate),
                rate_high=r.get(f"{name}_max_tokens_per_s", rate),
                ours=name != "baseline",
            )
        )
    return [table]
