"""`run_checks`: the whole catalogue against one candidate, with a report for each failure."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokprep.testing.adapters import Subject, adapt
from tokprep.testing.checks import CHECKS, CheckResult, corpus, goldens
from tokprep.testing.golden import golden_encoding

__all__ = ["ConformanceReport", "run_checks"]


@dataclass
class ConformanceReport:
    """Every check's result, in the order they ran."""

    candidate: str
    reference: str
    examples: int | None
    seed: int | None
    results: list[CheckResult]
    seconds: float
    notes: list[str]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "reference": self.reference,
            "examples": self.examples,
            "seed": self.seed,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
            "results": [r.to_dict() for r in self.results],
        }

    def format(self) -> str:
        """A table (check, result, examples, time), then each failure's report."""
        rows = [("check", "result", "examples", "time", "note")]
        for r in self.results:
            status = r.status.upper() if r.status == "failed" else r.status
            rows.append((r.name, status, str(r.examples), f"{r.seconds:.2f} s", r.note))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [f"tokprep check: {self.candidate} against {self.reference}"]
        for row in rows:
            cells = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
            lines.append("  " + "  ".join(cells).rstrip())
        lines += [f"  note: {note}" for note in self.notes]
        for result in self.failed:
            lines.append("")
            lines.append(result.format())
        verdict = "all checks passed" if self.passed else f"{len(self.failed)} check(s) FAILED"
        lines.append(f"\n{verdict} in {self.seconds:.1f} s")
        return "\n".join(lines)


def run_checks(
    candidate: Any,
    reference: Any = "gpt2",
    *,
    examples: int | None = None,
    seed: int | None = 0,
    checks: Iterable[str] | None = None,
    golden: bool = True,
    corpora: Iterable[str | Path] = (),
    known_deviations: Mapping[str, str] | None = None,
    use_profile: bool = False,
    progress: Callable[[str], None] | None = None,
    vocab: Mapping[str, int] | None = None,
) -> ConformanceReport:
    """Run the conformance checks on `candidate` against `reference`.

    `examples` is the number of inputs each property check draws (200 by default), `seed`
    fixes the draw; `checks` picks by name (`tokprep.testing.checks.CHECKS`); the golden
    vectors of the reference's encoding run first when there are any (`known_deviations` maps
    golden case IDs to the reason they are accepted), then each file of `corpora`. `vocab` (a
    word vocabulary) replaces the vocabulary of word-tokenizer specs, candidate and reference.

    >>> report = run_checks("tokprep:gpt2", "gpt2", examples=20)
    >>> report.passed
    True
    """
    start = time.perf_counter()
    say = progress or (lambda message: None)
    if vocab is None and isinstance(reference, str):
        from tokprep.tokenizers.presets import WORD_PRESETS, verdict_vocab

        if reference in WORD_PRESETS:  # a candidate class gets the reference's vocabulary
            vocab = verdict_vocab(reference)
    cand = adapt(candidate, vocab=vocab)
    ref = adapt(reference, vocab=vocab)
    names = list(checks) if checks is not None else list(CHECKS)
    unknown = [n for n in names if n not in CHECKS and n not in ("goldens", "corpus")]
    if unknown:
        from tokprep.errors import ArgumentValueError

        raise ArgumentValueError(f"unknown checks {unknown}; choose from {sorted(CHECKS)}")
    results: list[CheckResult] = []
    encoding = golden_encoding(reference if isinstance(reference, str) else ref)
    if golden and encoding and (checks is None or "goldens" in names):
        say(f"goldens ({encoding})")
        results.append(goldens(cand, encoding, known_deviations=known_deviations))
    paths = list(corpora)
    if paths:
        say(f"corpora ({len(paths)} files)")
        results.append(corpus(cand, ref, paths))
    for name in names:
        if name in ("goldens", "corpus"):
            continue
        say(name)
        results.append(
            CHECKS[name](cand, ref, examples=examples, seed=seed, use_profile=use_profile)
        )
        say(f"{name}: {results[-1].status} ({results[-1].seconds:.1f} s)")
    return ConformanceReport(
        candidate=_label(cand),
        reference=_label(ref),
        examples=examples,
        seed=seed,
        results=results,
        seconds=time.perf_counter() - start,
        notes=list(dict.fromkeys(cand.notes)),
    )


def _label(subject: Subject) -> str:
    return subject.spec or f"{subject.name} ({subject.kind})"


def stderr_progress(message: str) -> None:
    """Progress lines for a terminal."""
    print(f"  ... {message}", file=sys.stderr, flush=True)
