"""`TokenizerConformance`: the whole catalogue in a user's pytest suite, one test per check.

    from tokprep.testing import TokenizerConformance

    class TestMyTokenizer(TokenizerConformance):
        candidate = "mypkg.tok:tokenizer"   # a spec, or the tokenizer object itself
        reference = "gpt2"

gives `test_goldens`, `test_same_ids`, `test_round_trip`, ... Optional attributes: `examples`
(inputs per property check; default: the active hypothesis profile's `max_examples`), `seed`,
`skip_checks` (names), `known_deviations` (golden case ID -> reason), `corpora` (paths).
Hypothesis profiles apply (`settings.load_profile(...)`, `--hypothesis-seed`); a failure is
printed as the check's report.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tokprep.testing.plugin import ConformanceFailure

__all__ = ["ConformanceFailure", "TokenizerConformance"]

#: Check names in the order the tests are defined (goldens and corpus first, as in run_checks).
CHECK_NAMES = (
    "goldens",
    "corpus",
    "same_ids",
    "round_trip",
    "encode_decode_stable",
    "decode",
    "vocabulary",
    "ordinary_vs_disallowed",
    "batch",
    "special_refused",
    "deterministic",
    "offsets",
)


def _static(cls: type, name: str) -> Any:
    """A class attribute as written (a function stays a function, not a method)."""
    value = inspect.getattr_static(cls, name)
    return value.__func__ if isinstance(value, staticmethod | classmethod) else value


class TokenizerConformance:
    """Subclass it with `candidate` (and optionally `reference`, ...) set; see the module."""

    candidate: ClassVar[Any] = None
    reference: ClassVar[Any] = "gpt2"
    examples: ClassVar[int | None] = None
    seed: ClassVar[int | None] = None
    skip_checks: ClassVar[Sequence[str]] = ()
    known_deviations: ClassVar[Mapping[str, str]] = {}
    corpora: ClassVar[Sequence[str | Path]] = ()

    _subjects: ClassVar[dict[type, tuple[Any, Any]]] = {}

    def _pair(self) -> tuple[Any, Any]:
        cls = type(self)
        if cls not in TokenizerConformance._subjects:
            from tokprep.testing.adapters import adapt

            candidate = _static(cls, "candidate")
            if candidate is None:
                raise TypeError(f"{cls.__name__} must set `candidate` (a spec or a tokenizer)")
            pair = (adapt(candidate), adapt(_static(cls, "reference")))
            TokenizerConformance._subjects[cls] = pair
        return TokenizerConformance._subjects[cls]

    def _run(self, name: str) -> None:
        __tracebackhide__ = True
        import pytest

        if name in self.skip_checks:
            pytest.skip(f"{name} is in skip_checks")
        from tokprep.testing import checks
        from tokprep.testing.golden import golden_encoding

        candidate, reference = self._pair()
        if name == "goldens":
            encoding = golden_encoding(_static(type(self), "reference"))
            if encoding is None:
                pytest.skip("no golden vectors for this reference")
            result = checks.goldens(candidate, encoding, known_deviations=self.known_deviations)
        elif name == "corpus":
            if not self.corpora:
                pytest.skip("no corpora given (set `corpora`)")
            result = checks.corpus(candidate, reference, self.corpora)
        else:
            result = checks.CHECKS[name](
                candidate, reference, examples=self.examples, seed=self.seed, use_profile=True
            )
        if result.status == "skipped":
            pytest.skip(result.note)
        if not result.passed:
            raise ConformanceFailure(result.format())


def _make_test(name: str) -> Callable[[TokenizerConformance], None]:
    def test(self: TokenizerConformance) -> None:
        __tracebackhide__ = True
        self._run(name)

    test.__name__ = f"test_{name}"
    test.__qualname__ = f"TokenizerConformance.test_{name}"
    test.__doc__ = f"The `{name}` conformance check (tokprep.testing.checks)."
    return test


for _name in CHECK_NAMES:
    setattr(TokenizerConformance, f"test_{_name}", _make_test(_name))
