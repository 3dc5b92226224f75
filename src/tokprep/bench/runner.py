"""Running a benchmark: check the options, run each step, survive failures, write the results.

The runner knows no measurement: it takes the `Step`s of `tokprep.bench.plans`, runs them one
after another with progress lines, records each as a `tokprep.bench.records.Measurement`
(numbers, tables, or the reason it was skipped or failed), rewrites `results.json` after
every step (so an interrupted run keeps what it measured) and hands the document to
`tokprep.bench.report` for the table and the charts.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from json import dumps, loads
from pathlib import Path
from typing import Any, TextIO

from tokprep.bench.plans import FULL, QUICK, SECTIONS, Inputs, Plan, Step, steps
from tokprep.bench.records import Document, Measurement
from tokprep.errors import ArgumentValueError

DEFAULT_OUT = "bench-results"


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
    *,
    plan: str,
    out: str | os.PathLike,
    device: str,
    corpus: Any,
    sections: Sequence[str],
    tokenizers: Sequence[str] = (),
    trainers: Sequence[str] = (),
    cap_s: float | None = None,
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
    words += [f"--tokenizer {spec}" for spec in tokenizers]
    words += [f"--trainer {spec}" for spec in trainers]
    if cap_s is not None:
        words.append(f"--cap {cap_s:g}")
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
    tokenizers: list[Any] = field(default_factory=list)  # encode.UserTokenizer
    trainers: list[Any] = field(default_factory=list)  # AdaptedTrainer
    tokenizer_specs: list[str] = field(default_factory=list)
    trainer_specs: list[str] = field(default_factory=list)
    cap_s: float | None = None


def setup(
    *,
    quick: bool = False,
    out: str | os.PathLike = DEFAULT_OUT,
    device: str = "cpu",
    corpus: str | os.PathLike | None = None,
    sections: Sequence[str] = SECTIONS,
    plan: Plan | None = None,
    tokenizers: Sequence[str] = (),
    trainers: Sequence[str] = (),
    cap_s: float | None = None,
) -> Setup:
    """Check the options, load the user's tokenizers and trainers and read the corpus before
    anything is measured.

    Raises `ArgumentValueError` (an unknown section or device, `device="cuda"` without CUDA, a
    cap that is not positive), the resolver's errors for a bad tokenizer spec
    (`TokenizerSpecError`, ...), `TextInputError` (a corpus that is not UTF-8 or is empty) or
    `OSError` (a corpus that cannot be read, an output folder that cannot be created).
    """
    from tokprep.bench.encode import UserTokenizer

    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or not sections:
        raise ArgumentValueError(
            f"unknown section(s) {unknown or '(none given)'}; choose from {', '.join(SECTIONS)}"
        )
    if device not in ("cpu", "cuda"):
        raise ArgumentValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if cap_s is not None and not cap_s > 0:
        raise ArgumentValueError(f"--cap must be a positive number of seconds, got {cap_s!r}")
    check_device(device)
    loaded = [UserTokenizer.parse(spec) for spec in tokenizers]
    labels = [t.label for t in loaded]
    if len(set(labels)) != len(labels):
        raise ArgumentValueError(
            f"--tokenizer labels repeat ({', '.join(labels)}); give each a LABEL=SPEC"
        )
    adapted = []
    if trainers:
        from tokprep.resolve import parse_spec
        from tokprep.testing.trainer_adapters import adapt_trainer

        for spec in trainers:
            label, target = parse_spec(spec)
            adapted.append(adapt_trainer(target, name=label or target))
    plan = plan or (QUICK if quick else FULL)
    inputs = Inputs(corpus, plan)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ordered = [s for s in SECTIONS if s in sections]
    return Setup(
        plan,
        out,
        device,
        corpus,
        ordered,
        inputs,
        loaded,
        adapted,
        list(tokenizers),
        list(trainers),
        cap_s,
    )


def run_bench(
    *,
    stream: TextIO | None = None,
    errors: TextIO | None = None,
    json: bool = False,
    **options: Any,
) -> Document:
    """`setup(**options)` then `execute`: write `out/results.json` (+ charts), return the run.

    Usage problems raise before anything is measured (see `setup`). A step that raises is
    reported on `errors` and recorded under the document's `errors`; the rest still run.
    """
    return execute(setup(**options), stream=stream, errors=errors, json=json)


def _new_document(s: Setup, todo: list[Step]) -> Document:
    from tokprep import __version__
    from tokprep.bench.report import machine_info

    inputs = s.inputs
    run = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command_line(
            plan=s.plan.name,
            out=s.out,
            device=s.device,
            corpus=s.corpus,
            sections=s.sections,
            tokenizers=s.tokenizer_specs,
            trainers=s.trainer_specs,
            cap_s=s.cap_s,
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
            "tokenizers": s.tokenizer_specs,
            "trainers": s.trainer_specs,
            "cap_s": s.cap_s,
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
    }
    return Document(machine=machine_info(), run=run)


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def execute(
    s: Setup,
    *,
    stream: TextIO | None = None,
    errors: TextIO | None = None,
    json: bool = False,
) -> Document:
    """Run a checked `Setup`: the report on `stream` (data: standard output), progress, notes
    and failures on `errors` (standard error), files in `s.out`. With `json`, the report is
    the results document as JSON."""
    from tokprep.bench import report

    stream = stream or sys.stdout
    errors = errors or sys.stderr

    def say(line: str = "") -> None:
        print(line, file=errors, flush=True)

    results_path = s.out / "results.json"
    with tempfile.TemporaryDirectory(prefix="tokprep-bench-") as folder:
        s.inputs.workdir = Path(folder)
        todo = [
            m
            for m in steps(
                s.plan,
                s.inputs,
                s.device,
                tokenizers=s.tokenizers,
                trainers=s.trainers,
                cap_s=s.cap_s,
            )
            if m.section in s.sections
        ]
        document = _new_document(s, todo)
        machine, run = document.machine, document.run
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
        for user in s.tokenizers:
            say(f"your tokenizer {user.label}: {user.spec} ({user.subject.kind})")
        for trainer in s.trainers:
            say(f"your trainer {trainer.name}: {trainer.kind}")
        say()
        start = time.perf_counter()
        for number, step in enumerate(todo, start=1):
            say(
                f"[{number}/{len(todo)}] {_clock(time.perf_counter() - start)} {step.title}"
                + ("" if step.skip else f" (est. {_duration(step.estimate_s)})")
            )
            record = _measure(step, document, errors)
            if record.status == "skipped":
                say(f"      skipped: {record.reason}")
            elif record.status == "ok":
                say(f"      done in {_duration(record.seconds or 0.0)}")
            document.measurements[step.name] = record
            report.write_results(results_path, document)
        run["seconds"] = time.perf_counter() - start
        s.inputs.workdir = None

    if not report.matplotlib_available():
        document.skipped["charts"] = report.MATPLOTLIB_MISSING
    else:
        try:
            document.charts = report.write_charts(document, s.out)
        except Exception as e:  # a chart must not cost the numbers
            document.errors["charts"] = f"{type(e).__name__}: {e}"
            print(f"tokprep bench: charts failed: {type(e).__name__}: {e}", file=errors)
    run["complete"] = True
    report.write_results(results_path, document)
    say()
    if json:
        document_json = loads(results_path.read_text(encoding="utf-8"))
        print(dumps(document_json, ensure_ascii=False, indent=1), file=stream, flush=True)
    else:
        print(report.format_table(document), file=stream, flush=True)
    say()
    say(f"total {_duration(run['seconds'])}; wrote {results_path}")
    if document.charts:
        say(f"charts: {', '.join(str(s.out / name) for name in document.charts)}")
    for name, why in document.skipped.items():
        say(f"note: skipped {name}: {why}")
    if document.errors:
        print(
            f"tokprep bench: {len(document.errors)} part(s) failed: "
            f"{', '.join(document.errors)}; the others are in {results_path}",
            file=errors,
        )
    return document


def _measure(step: Step, document: Document, errors: TextIO) -> Measurement:
    """Run one step; its numbers and tables, skip reason or error become a record."""
    record = Measurement(step.name, step.section, step.title, step.estimate_s)
    began = time.perf_counter()
    if step.skip:
        record.status, record.reason = "skipped", step.skip
        document.skipped[step.name] = step.skip
    else:
        try:
            record.parameters, record.result = step.run()
            record.tables = step.tables(record.parameters, record.result)
        except Exception as e:  # one failure must not lose the other measurements
            from tokprep.optional import missing_dependency

            missing = missing_dependency(e, step.name)
            if missing:  # tokprep without an extra (torch): skipped, saying how to add it
                record.status, record.reason = "skipped", missing
                document.skipped[step.name] = missing
                record.seconds = time.perf_counter() - began
                return record
            message = f"{type(e).__name__}: {e}"
            record.status, record.error = "error", message
            record.traceback = traceback.format_exc()
            document.errors[step.name] = message
            print(f"tokprep bench: {step.name} failed: {message}", file=errors, flush=True)
        else:
            record.status = "ok"
            for peer, why in record.result.get("skipped", {}).items():
                document.skipped[f"{step.name}: {peer}"] = why
    record.seconds = time.perf_counter() - began
    return record
