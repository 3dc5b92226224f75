"""tokprep.testing: a conformance kit that tests any tokenizer against a reference.

Install with `pip install tokprep[testing]` (hypothesis and pytest). In a few lines::

    from tokprep.testing import run_checks
    report = run_checks(my_tokenizer, reference="gpt2")
    print(report.format())          # a table per check, and each failure's report

or in pytest::

    from tokprep.testing import TokenizerConformance

    class TestMine(TokenizerConformance):
        candidate = "mypkg.tok:tokenizer"   # a spec, or any tokenizer object
        reference = "gpt2"

or from a shell: `tokprep check mypkg.tok:tokenizer --reference gpt2`.

Parts: `adapters` (anything -> a `Subject`), `strategies` (hypothesis strategies that find
tokenizer bugs), `checks` (each check alone), `report` (what a failure says), `runner`
(`run_checks`), `golden` (golden vectors shipped with tokprep), `conformance`
(`TokenizerConformance`). Hypothesis is imported only when a check runs.

For BPE trainers (`tokprep check-trainer`): `trainer_reference` (the slow recount trainer of
every tie-break profile), `trainer_adapters` (common trainer signatures), `trainer_strategies`
(corpora that break trainers), `trainer_checks` (`check_trainer`), and `merges_vs_ranks`
(merge-list against rank BPE on one vocabulary).
"""

from __future__ import annotations

from typing import Any

from tokprep.testing.adapters import Subject, adapt

__all__ = ["Subject", "TokenizerConformance", "adapt", "run_checks"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import tokprep.testing` (the pytest plugin does) costs nothing.
    if name == "run_checks":
        from tokprep.testing.runner import run_checks

        return run_checks
    if name == "TokenizerConformance":
        from tokprep.testing.conformance import TokenizerConformance

        return TokenizerConformance
    raise AttributeError(f"module 'tokprep.testing' has no attribute {name!r}")
