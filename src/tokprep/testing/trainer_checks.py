"""Differential checks of a BPE trainer against the reference trainer, with a report of the
first divergence: which merge, which pairs (with their counts), the tied alternatives and
which tie-break rule takes which.

    from tokprep.testing.trainer_checks import check_trainer
    report = check_trainer("mytrainer:train_bpe", tie_break="lexicographic")
    print(report.format())              # report.passed, report.to_dict()

The corpora are the given texts, else a few built-in ones that separate the rules, and then
`examples` texts drawn by hypothesis from `trainer_strategies.trainer_corpora` (shrunk to the
smallest failing text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tokprep.bpe.tie_break import TIE_BREAKS, check_tie_break
from tokprep.errors import ArgumentValueError
from tokprep.testing.trainer_adapters import AdaptedTrainer, adapt_trainer
from tokprep.testing.trainer_reference import ReferenceTrainer, pick, token_ids

__all__ = ["BUILT_IN_CORPORA", "CorpusResult", "TrainerReport", "check_trainer", "compare"]

Pair = tuple[bytes, bytes]

#: Small texts on which the four rules disagree early, or that trip common bugs.
BUILT_IN_CORPORA = {
    "worked example": "mn ab zy",
    "ties": "low lower newest widest low lower newest widest",
    "overlaps": "aaaa aaa aa a bbbbbb abab ababab",
    "vanishing pairs": "abc bcd abcd cab bcab dabc abc bcd",
    "non-ASCII": "naïve café 日本語 日本 😀😀 über über",
    "special tokens": "the cat<|endoftext|>the hat<|endoftext|> sat",
}


@dataclass
class TrainerDivergence:
    """The first merge where the trainer leaves the reference."""

    corpus: str
    index: int
    expected: Pair
    expected_count: int
    got: Pair | None  # None: the trainer stopped before this merge
    got_count: int | None  # the trainer's pair's count in the reference's state (None: absent)
    tied: list[Pair] = field(default_factory=list)  # every pair with the expected count
    picks: dict[str, Pair] = field(default_factory=dict)  # profile -> its pick among `tied`
    message: str = ""

    def format(self) -> str:
        lines = [f"  first divergence at merge {self.index}: {self.message}"]
        lines.append(f"    expected {_show(self.expected)} (count {self.expected_count})")
        if self.got is None:
            lines.append("    got      nothing (the trainer stopped)")
        else:
            count = "not a pair of the corpus" if self.got_count is None else self.got_count
            lines.append(f"    got      {_show(self.got)} (count {count})")
        if len(self.tied) > 1:
            shown = ", ".join(_show(p) for p in self.tied[:12])
            more = f" and {len(self.tied) - 12} more" if len(self.tied) > 12 else ""
            lines.append(f"    tied at count {self.expected_count}: {shown}{more}")
            for rule, pair in self.picks.items():
                lines.append(f"    {rule:>13} takes {_show(pair)}")
        return "\n".join(lines)


@dataclass
class CorpusResult:
    corpus: str
    text: str
    passed: bool
    merges_checked: int
    divergence: TrainerDivergence | None = None
    error: str | None = None


@dataclass
class TrainerReport:
    trainer: str
    kind: str
    tie_break: str
    results: list[CorpusResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def format(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [f"{verdict}: {self.trainer} ({self.kind}) against tie_break={self.tie_break!r}"]
        for r in self.results:
            status = "ok  " if r.passed else "FAIL"
            lines.append(f"{status} {r.corpus}: {r.merges_checked} merges checked")
            if r.error:
                lines.append(f"  error: {r.error}")
            if r.divergence is not None:
                lines.append(f"  text: {r.text[:200]!r}")
                lines.append(r.divergence.format())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        def convert(value: Any) -> Any:
            if isinstance(value, bytes):
                return value.decode("utf-8", "backslashreplace")
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [convert(v) for v in value]
            return value

        return {
            "passed": self.passed,
            "trainer": self.trainer,
            "kind": self.kind,
            "tie_break": self.tie_break,
            "results": [convert(asdict(r)) for r in self.results],
        }


def _show(pair: Pair) -> str:
    return f"({pair[0]!r}, {pair[1]!r})"


def _reference_merges(
    text: str, n_merges: int, tie_break: str, pattern: str, specials: Sequence[str]
) -> list[Pair]:
    trainer = ReferenceTrainer(text, tie_break=tie_break, pattern=pattern, special_tokens=specials)
    try:
        while len(trainer.merges) < n_merges and trainer.step() is not None:
            pass
    except ArgumentValueError:  # the rule would give the same bytes a second ID: stop there
        pass
    return trainer.merges


def _explain(
    corpus: str,
    text: str,
    index: int,
    got: Pair | None,
    tie_break: str,
    pattern: str,
    specials: Sequence[str],
) -> TrainerDivergence:
    """Replay the reference to merge `index` and describe the choice there."""
    reference = ReferenceTrainer(
        text, tie_break=tie_break, pattern=pattern, special_tokens=specials
    )
    for _ in range(index):
        reference.step()
    counts = reference.pair_counts()
    tokens = reference.tokens
    by_pair = {(tokens[a], tokens[b]): c for (a, b), c in counts.items()}
    best = max(by_pair.values())
    tied = [p for p, c in by_pair.items() if c == best]
    made = [a + b for a, b in reference.merges]
    picks = {rule: pick(rule, tied, token_ids(rule, made)) for rule in TIE_BREAKS}
    expected = picks[tie_break]
    got_count = by_pair.get(got) if got is not None else None
    if got is None:
        message = "the trainer made fewer merges than the reference"
    elif got_count is None:
        message = "the trainer merged a pair that does not occur in the corpus at this point"
    elif got_count < best:
        message = (
            f"the trainer's pair occurs {got_count} times, the best {best}: a counting or "
            "merging bug, not a tie-break"
        )
    else:
        agree = [rule for rule, pair in picks.items() if pair == got]
        who = ", ".join(agree) if agree else "no known rule"
        message = (
            f"a tie between {len(tied)} pairs of count {best}: tie_break={tie_break!r} takes "
            f"{_show(expected)}, the trainer took {_show(got)} (as {who} would)"
        )
    return TrainerDivergence(corpus, index, expected, best, got, got_count, tied, picks, message)


def compare(
    trainer: AdaptedTrainer,
    corpus: str,
    text: str,
    *,
    tie_break: str,
    n_merges: int,
    pattern: str = "gpt2",
    special_tokens: Sequence[str] = (),
) -> CorpusResult:
    """Run `trainer` and the reference on one text and compare their merges in order."""
    expected = _reference_merges(text, n_merges, tie_break, pattern, special_tokens)
    if not expected:
        return CorpusResult(corpus, text, True, 0)
    try:
        got = trainer.run(text, len(expected), list(special_tokens))
    except Exception as e:  # a crash in the trainer is a finding, reported with its type
        return CorpusResult(corpus, text, False, 0, error=f"{type(e).__name__}: {e}")
    for index, pair in enumerate(expected):
        mine = got[index] if index < len(got) else None
        if mine != pair:
            divergence = _explain(corpus, text, index, mine, tie_break, pattern, special_tokens)
            return CorpusResult(corpus, text, False, index, divergence)
    return CorpusResult(corpus, text, True, len(expected))


def check_trainer(
    trainer: Any,
    tie_break: str = "hf",
    corpora: Mapping[str, str] | Iterable[str] | None = None,
    *,
    n_merges: int = 60,
    pattern: str = "gpt2",
    special_tokens: Sequence[str] = ("<|endoftext|>",),
    examples: int = 0,
) -> TrainerReport:
    """Compare `trainer` (anything `adapt_trainer` takes) with the reference of `tie_break`.

    `corpora`: texts by name (or a list), default `BUILT_IN_CORPORA`; `examples`: how many
    hypothesis-drawn corpora to try after them (derandomized: the same on every run).
    """
    tie_break = check_tie_break(tie_break)
    adapted = trainer if isinstance(trainer, AdaptedTrainer) else adapt_trainer(trainer)
    if corpora is None:
        corpora = BUILT_IN_CORPORA
    elif not isinstance(corpora, Mapping):
        corpora = {f"corpus {i + 1}": text for i, text in enumerate(corpora)}
    options: dict[str, Any] = {
        "tie_break": tie_break,
        "n_merges": n_merges,
        "pattern": pattern,
        "special_tokens": list(special_tokens),
    }
    results = [compare(adapted, name, text, **options) for name, text in corpora.items()]
    if examples > 0:
        results.append(_property_check(adapted, examples, options))
    return TrainerReport(adapted.name, adapted.kind, tie_break, results)


def _property_check(
    trainer: AdaptedTrainer, examples: int, options: dict[str, Any]
) -> CorpusResult:
    from hypothesis import HealthCheck, given, settings

    from tokprep.testing.trainer_strategies import trainer_corpora

    failures: list[CorpusResult] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(text=trainer_corpora())
    def run(text: str) -> None:
        result = compare(trainer, "hypothesis corpus", text, **options)
        if not result.passed:
            failures.append(result)  # the last one recorded is the shrunk one
            raise AssertionError(result.corpus)

    try:
        run()
    except AssertionError:
        return failures[-1]
    return CorpusResult(f"{examples} hypothesis corpora", "", True, 0)
