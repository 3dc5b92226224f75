"""The conformance checks. Each is usable alone and returns a `CheckResult`:

    from tokprep.testing import checks
    result = checks.same_ids(my_tokenizer, "gpt2", examples=300, seed=1)
    assert result.passed, result.format()

Property checks draw inputs with hypothesis (`examples` inputs, `seed` for the draw, shrinking
on failure; with `use_profile=True` the active hypothesis profile decides instead). The others
run over a fixed set: the whole vocabulary, the special tokens, the golden vectors, corpora.

`candidate` and `reference` may be anything `tokprep.testing.adapt` accepts.
"""

from __future__ import annotations

import functools
import pickle
import random
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokprep.testing.adapters import MATCHES, REFUSES, UNKNOWN, Subject, adapt
from tokprep.testing.edge_cases import random_text
from tokprep.testing.report import Divergence, explain, reproducer, token_bytes_of

__all__ = [
    "CHECKS",
    "CheckResult",
    "batch",
    "corpus",
    "decode",
    "deterministic",
    "encode_decode_stable",
    "goldens",
    "offsets",
    "ordinary_vs_disallowed",
    "round_trip",
    "same_ids",
    "special_refused",
    "vocabulary",
]

DEFAULT_EXAMPLES = 200
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class CheckResult:
    """What one check found. `failure` is the shrunk counterexample's report."""

    name: str
    status: str
    examples: int
    seconds: float
    note: str = ""
    failure: Divergence | None = None
    failures: int = 0  # how many inputs failed (fixed-set checks count them all)

    @property
    def passed(self) -> bool:
        """True unless the check failed (a skipped check did not fail)."""
        return self.status != FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
            "note": self.note,
            "failures": self.failures,
            "failure": self.failure.to_dict() if self.failure else None,
        }

    def format(self) -> str:
        head = f"{self.name}: {self.status} ({self.examples} examples, {self.seconds:.2f} s)"
        if self.note:
            head += f"; {self.note}"
        return head + (("\n" + self.failure.format()) if self.failure else "")


class _Found(AssertionError):
    """Raised inside a hypothesis test so that it shrinks toward a smaller failure."""


def _outcome(function: Callable[[Any], Any], value: Any) -> tuple[str, Any]:
    """("ok", result) or ("error", exception class name): a crash is an outcome to compare."""
    try:
        result = function(value)
    except Exception as e:
        return "error", type(e).__name__
    return "ok", list(result) if isinstance(result, list | tuple) else result


def _same(got: tuple[str, Any], want: tuple[str, Any]) -> bool:
    """Equal results, or both raised (libraries name their exceptions differently)."""
    return got == want or got[0] == want[0] == "error"


def _reference_ids(reference: Subject, candidate: Subject) -> Callable[[str], list[int]]:
    """The reference encoder to compare `candidate.ids` with: plain text, unless the candidate
    always matches special-token text (HF), then the reference with every special allowed."""
    if candidate.encode_ordinary is None and reference.encode_all_special is not None:
        return reference.encode_all_special
    return reference.ids


def _search(
    name: str,
    strategy: Any,
    prop: Callable[[Any], Divergence | None],
    *,
    examples: int | None,
    seed: int | None,
    use_profile: bool,
) -> CheckResult:
    """Run `prop` on inputs from `strategy` until one fails; shrink it; report it."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as fix_seed

    found: list[Divergence] = []
    tried = 0

    def test(value: Any) -> None:
        nonlocal tried
        if not found:  # inputs tried up to the first failure; later calls are shrinking
            tried += 1
        divergence = prop(value)
        if divergence is not None:
            divergence.shrunk = True
            found.append(divergence)
            raise _Found(divergence.message)

    options: dict[str, Any] = {
        "database": None,
        "report_multiple_bugs": False,
        "verbosity": Verbosity.quiet,
        "suppress_health_check": list(HealthCheck),
        "phases": [Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    }
    if not use_profile:
        options["deadline"] = None
        options["max_examples"] = examples or DEFAULT_EXAMPLES
    elif examples is not None:
        options["max_examples"] = examples
    wrapped = settings(**options)(given(strategy)(test))
    if seed is not None or not use_profile:
        wrapped = fix_seed(seed or 0)(wrapped)
    start = time.perf_counter()
    try:
        wrapped()
    except Exception:  # _Found, or hypothesis's Flaky when the failure does not repeat
        if not found:
            raise
        seconds = time.perf_counter() - start
        return CheckResult(name, FAILED, tried, seconds, failure=found[-1], failures=1)
    return CheckResult(name, PASSED, tried, time.perf_counter() - start)


#: What a property check's plan gives: the (strategy, property) to search, or a skipped result.
_Plan = CheckResult | tuple[Any, Callable[[Any], Divergence | None]]


def _property_check(plan: Callable[[Subject, Subject], _Plan]) -> Callable[..., CheckResult]:
    """The property check named after `plan`: adapt both tokenizers, ask `plan(cand, ref)` what
    to search (or why the check does not apply), then search it."""

    def check(
        candidate: Any,
        reference: Any = "gpt2",
        *,
        examples: int | None = None,
        seed: int | None = None,
        use_profile: bool = False,
    ) -> CheckResult:
        planned = plan(adapt(candidate), adapt(reference))
        if isinstance(planned, CheckResult):
            return planned
        strategy, prop = planned
        return _search(
            plan.__name__, strategy, prop, examples=examples, seed=seed, use_profile=use_profile
        )

    check.__name__ = check.__qualname__ = plan.__name__
    check.__doc__ = plan.__doc__
    return check


def _differs(
    check: str,
    text: str,
    got: tuple[str, Any],
    want: tuple[str, Any],
    cand: Subject,
    ref: Subject,
    *,
    prefix: str = "",
    guess: str | None = None,
    **explained: str,
) -> Divergence | None:
    """None when the outcomes agree; else the failure: explained token by token when both
    sides returned IDs (`explained`: explain's message and call), or which side raised."""
    if _same(got, want):
        return None
    if got[0] == want[0] == "ok":
        return explain(check, text, got[1], want[1], cand, ref, **explained)
    return Divergence(
        check,
        text,
        f"{prefix}candidate {_said(got)}, reference {_said(want)}",
        guess=guess,
        reproducer=reproducer(text, cand, ref),
    )


def _skip(name: str, why: str) -> CheckResult:
    return CheckResult(name, SKIPPED, 0, 0.0, note=why)


# --- the inputs -------------------------------------------------------------------------------


def _is_word_tokenizer(subject: Subject) -> bool:
    return hasattr(subject.source, "str_to_int")


@functools.lru_cache(maxsize=8)
def _vocabulary(subject: Subject) -> tuple[Any, ...]:
    if _is_word_tokenizer(subject):
        return tuple(t for t in subject.source.str_to_int if t not in subject.special_tokens)
    specials = set(subject.special_tokens.values())
    tokens = []
    for token in _plain_ids(subject):
        if token not in specials:
            data = token_bytes_of(subject, token)
            if data is not None:
                tokens.append(data)
    return tuple(tokens)


@functools.lru_cache(maxsize=8)
def _plain_ids(subject: Subject) -> list[int]:
    """The IDs of ordinary tokens: not special, and not a gap (o200k has IDs naming nothing)."""
    specials = set(subject.special_tokens.values())
    return [
        i
        for i in range(subject.n_vocab or 0)
        if i not in specials
        and (_is_word_tokenizer(subject) or token_bytes_of(subject, i) is not None)
    ]


def texts(reference: Subject) -> Any:
    """The text strategy for `reference`: edge-case text, vocabulary concatenations, documents."""
    from hypothesis import strategies as st

    from tokprep.testing.strategies import documents, tokenizer_text, vocab_concatenations

    specials = tuple(reference.special_tokens)
    parts = [tokenizer_text(specials), documents(specials[0] if specials else None)]
    vocabulary = _vocabulary(reference)
    if vocabulary:
        parts.insert(1, vocab_concatenations(vocabulary))
    return st.one_of(parts)


def _id_runs(reference: Subject) -> Any:
    from hypothesis import strategies as st

    plain = _plain_ids(reference)
    return st.lists(st.sampled_from(plain), min_size=1, max_size=12)


# --- property checks --------------------------------------------------------------------------


@_property_check
def same_ids(cand: Subject, ref: Subject) -> _Plan:
    """The candidate's IDs equal the reference's on every text (crashes must match too)."""
    ref_ids = _reference_ids(ref, cand)

    either_rule = cand.special_rule == UNKNOWN and ref.encode_all_special is not None

    def prop(text: str) -> Divergence | None:
        got, want = _outcome(cand.ids, text), _outcome(ref_ids, text)
        if _same(got, want):
            return None
        # An encoder without tiktoken's special-token API may treat special-token text as text
        # (a plain BPE) or as the token (the book's SimpleTokenizerV2): both conform.
        if (
            either_rule
            and any(s in text for s in ref.special_tokens)
            and _same(got, _outcome(ref.encode_all_special, text))  # type: ignore[arg-type]
        ):
            return None
        return _differs(  # the guess is for one side raising
            "same_ids", text, got, want, cand, ref, guess="special tokens or unknown words"
        )

    return texts(ref), prop


def _said(outcome: tuple[str, Any]) -> str:
    return f"raised {outcome[1]}" if outcome[0] == "error" else f"returned {outcome[1]}"


@_property_check
def round_trip(cand: Subject, ref: Subject) -> _Plan:
    """decode(encode(text)) == text, on every text the reference itself gives back exactly."""
    if cand.decode is None:
        return _skip("round_trip", "the candidate has no decode()")
    ref_ids = _reference_ids(ref, cand)

    def prop(text: str) -> Divergence | None:
        if _outcome(lambda t: ref.decode(ref_ids(t)), text) != ("ok", text):  # type: ignore[misc]
            return None  # the reference does not round-trip it either (unknown words, ...)
        got = _outcome(lambda t: cand.decode(cand.ids(t)), text)  # type: ignore[misc]
        if got == ("ok", text):
            return None
        return Divergence(
            "round_trip",
            text,
            f"decode(encode(text)) {_said(got)}, not the text",
            candidate_ids=_outcome(cand.ids, text)[1] if got[0] == "ok" else None,
            guess="decoding" if got[0] == "ok" else "crash",
            reproducer=reproducer(text, cand, ref, call="ids"),
        )

    return texts(ref), prop


@_property_check
def encode_decode_stable(cand: Subject, ref: Subject) -> _Plan:
    """For any IDs, encode(decode(ids)) is a fixed point: encoding its decoding gives it back."""
    if cand.decode is None:
        return _skip("encode_decode_stable", "the candidate has no decode()")
    if not ref.n_vocab:
        return _skip("encode_decode_stable", "the reference does not say its n_vocab")

    def stable(subject: Subject, ids: list[int]) -> tuple[bool, Any, Any]:
        first = _outcome(lambda x: subject.ids(subject.decode(x)), ids)  # type: ignore[misc]
        if first[0] != "ok":
            return True, first, first  # decode refusing IDs is the decode check's business
        again = _outcome(lambda x: subject.ids(subject.decode(x)), first[1])  # type: ignore[misc]
        return again == first, first, again

    def prop(ids: list[int]) -> Divergence | None:
        ok, first, again = stable(cand, ids)
        if ok or (ref.decode is not None and not stable(ref, ids)[0]):
            return None  # stable, or not stable in the reference either (word tokenizers)
        text = cand.decode(first[1])  # type: ignore[misc]
        return Divergence(
            "encode_decode_stable",
            text,
            f"encode(decode(ids)) is not stable: {first[1]} then {_said(again)} (from IDs {ids})",
            candidate_ids=first[1],
            guess="decoding or merge order",
            reproducer=reproducer(text, cand, ref),
        )

    return _id_runs(ref), prop


@_property_check
def decode(cand: Subject, ref: Subject) -> _Plan:
    """decode(ids) equals the reference's for any run of IDs (partial UTF-8 included)."""
    if cand.decode is None or ref.decode is None:
        return _skip("decode", "the candidate has no decode()")
    if not ref.n_vocab:
        return _skip("decode", "the reference does not say its n_vocab")

    def prop(ids: list[int]) -> Divergence | None:
        got, want = _outcome(cand.decode, ids), _outcome(ref.decode, ids)  # type: ignore[arg-type]
        if _same(got, want):
            return None
        return Divergence(
            "decode",
            None,
            f"decode({ids}): candidate {_said(got)}, reference {_said(want)}",
            candidate_ids=ids,
            guess="decoding: invalid UTF-8 must become U+FFFD, as in tiktoken",
            reproducer=_decode_reproducer(ids, cand, ref),
        )

    return _id_runs(ref), prop


def _decode_reproducer(ids: list[int], cand: Subject, ref: Subject) -> str:
    lines = reproducer("", cand, ref).splitlines()[:-3]
    return "\n".join(
        [
            *lines,
            f"ids = {ids}",
            "print(repr(candidate.decode(ids)))",
            "print(repr(reference.decode(ids)))",
        ]
    )


@_property_check
def ordinary_vs_disallowed(cand: Subject, ref: Subject) -> _Plan:
    """encode_ordinary(text) == encode(text, disallowed_special=()) (tiktoken's contract)."""
    if cand.encode is None or cand.encode_ordinary is None:
        return _skip("ordinary_vs_disallowed", "the candidate lacks tiktoken's encode() API")

    def prop(text: str) -> Divergence | None:
        got = _outcome(lambda t: cand.encode(t, disallowed_special=()), text)  # type: ignore[misc]
        want = _outcome(cand.encode_ordinary, text)  # type: ignore[arg-type]
        if _same(got, want):
            return None
        if got[0] == want[0] == "ok":
            return explain(
                "ordinary_vs_disallowed",
                text,
                got[1],
                want[1],
                cand,
                cand,
                message="encode(disallowed_special=()) differs from encode_ordinary",
            )
        return Divergence(
            "ordinary_vs_disallowed",
            text,
            f"encode(disallowed_special=()) {_said(got)}, encode_ordinary {_said(want)}",
            guess="special tokens",
            reproducer=reproducer(text, cand, ref),
        )

    return texts(ref), prop


@_property_check
def batch(cand: Subject, ref: Subject) -> _Plan:
    """encode_ordinary_batch(texts) equals encoding the texts one by one."""
    from hypothesis import strategies as st

    if cand.encode_ordinary_batch is None:
        return _skip("batch", "the candidate has no batch encoder")

    def prop(items: list[str]) -> Divergence | None:
        got = _outcome(cand.encode_ordinary_batch, items)  # type: ignore[arg-type]
        want = ("ok", [cand.ids(t) for t in items])
        if got[0] == "ok":
            got = ("ok", [list(x) for x in got[1]])
        if _same(got, want):
            return None
        return Divergence(
            "batch",
            "\n---\n".join(items),
            f"batch {_said(got)}; one by one gave {want[1]}",
            guess="batching",
            reproducer=reproducer(items[0] if items else "", cand, ref),
        )

    return st.lists(texts(ref), max_size=6), prop


@_property_check
def special_refused(cand: Subject, ref: Subject) -> _Plan:
    """encode() refuses special-token text by default; allowed, it gives the reference's IDs."""
    from hypothesis import strategies as st

    from tokprep.testing.strategies import documents

    if cand.special_rule == MATCHES:
        return _skip("special_refused", "the candidate matches special-token text (HF's rule)")
    if cand.special_rule != REFUSES or cand.encode is None:
        return _skip("special_refused", "the candidate has no encode(allowed_special=...) API")
    specials = tuple(ref.special_tokens)
    if not specials or ref.encode is None:
        return _skip("special_refused", "the reference has no special tokens to compare")

    def prop(text: str) -> Divergence | None:
        refused = _outcome(cand.encode, text)  # type: ignore[arg-type]
        if any(s in text for s in specials) and refused[0] != "error":
            return Divergence(
                "special_refused",
                text,
                f"encode() accepted special-token text and {_said(refused)}",
                guess="special tokens",
                reproducer=reproducer(text, cand, ref, call="encode"),
            )
        got = _outcome(lambda t: cand.encode(t, allowed_special="all"), text)  # type: ignore[misc]
        want = _outcome(lambda t: ref.encode(t, allowed_special="all"), text)  # type: ignore[misc]
        return _differs(
            "special_refused",
            text,
            got,
            want,
            cand,
            ref,
            prefix="encode(allowed_special='all'): ",
            guess="special tokens",
            message="encode(allowed_special='all') differs from the reference's",
            call="encode_all_special",
        )

    strategy = st.one_of(st.sampled_from(specials), *(documents(s) for s in specials[:3]))
    return strategy, prop


# --- checks over a fixed set ------------------------------------------------------------------


def _fixed_texts(count: int, seed: int | None) -> list[str]:
    rng = random.Random(seed or 0)
    return [random_text(rng) for _ in range(count)]


def deterministic(
    candidate: Any,
    reference: Any = "gpt2",
    *,
    examples: int | None = None,
    seed: int | None = None,
    use_profile: bool = False,
) -> CheckResult:
    """The same IDs after a pickle round trip and from several threads at once."""
    cand, ref = adapt(candidate), adapt(reference)
    start = time.perf_counter()
    items = _fixed_texts(examples or 100, seed)
    serial = [_outcome(cand.ids, t) for t in items]
    notes = []
    try:
        clone = adapt(pickle.loads(pickle.dumps(cand.source)))
    except Exception as e:  # not picklable: say so, test threads only
        clone = None
        notes.append(f"not picklable ({type(e).__name__}), threads only")
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda t: _outcome(cand.ids, t), items))
    for how, outcomes in (("pickled", clone), ("threads", threaded)):
        if outcomes is None:
            continue
        if how == "pickled":
            outcomes = [_outcome(clone.ids, t) for t in items]  # type: ignore[union-attr]
        for text, one, other in zip(items, serial, outcomes, strict=True):  # type: ignore[arg-type]
            if one != other:
                failure = Divergence(
                    "deterministic",
                    text,
                    f"{how}: {_said(other)}, first run {_said(one)}",
                    guess="state shared between calls or threads",
                    reproducer=reproducer(text, cand, ref),
                )
                return CheckResult(
                    "deterministic",
                    FAILED,
                    len(items),
                    time.perf_counter() - start,
                    "; ".join(notes),
                    failure,
                    1,
                )
    return CheckResult(
        "deterministic", PASSED, len(items), time.perf_counter() - start, "; ".join(notes)
    )


def vocabulary(
    candidate: Any,
    reference: Any = "gpt2",
    *,
    examples: int | None = None,
    seed: int | None = None,
    use_profile: bool = False,
) -> CheckResult:
    """Every token of the reference's vocabulary, alone: the same bytes (or decoded text) and
    the same IDs when its text is encoded. `examples` is ignored: the whole vocabulary runs."""
    cand, ref = adapt(candidate), adapt(reference)
    if _is_word_tokenizer(ref):
        return _skip("vocabulary", "word vocabularies are covered by same_ids")
    if not ref.n_vocab or (cand.decode is None and cand.token_bytes is None):
        return _skip("vocabulary", "the candidate has no decode()")
    start = time.perf_counter()
    ids = _plain_ids(ref)
    failures, first = 0, None
    ref_ids = _reference_ids(ref, cand)
    for token in ids:
        want = token_bytes_of(ref, token)
        if cand.token_bytes is not None and ref.token_bytes is not None:
            same = token_bytes_of(cand, token) == want
        else:
            same = _same(_outcome(cand.decode, [token]), _outcome(ref.decode, [token]))  # type: ignore[arg-type]
        if not same:
            failures += 1
            if first is None:
                got = (
                    _outcome(cand.decode, [token])
                    if cand.decode
                    else ("ok", token_bytes_of(cand, token))
                )
                first = Divergence(
                    "vocabulary",
                    None,
                    f"token {token}: candidate decodes it to {got[1]!r}, reference to {want!r}",
                    candidate_ids=[token],
                    guess="decoding",
                    reproducer=_decode_reproducer([token], cand, ref),
                )
            continue
        if want is None:
            continue
        try:
            text = want.decode("utf-8")
        except UnicodeDecodeError:
            continue
        got_ids, want_ids = _outcome(cand.ids, text), _outcome(ref_ids, text)
        if not _same(got_ids, want_ids):
            failures += 1
            if first is None:
                first = _differs(
                    "vocabulary",
                    text,
                    got_ids,
                    want_ids,
                    cand,
                    ref,
                    prefix=f"token {token}: ",
                    message=f"encoding token {token}'s own text differs",
                )
    status = FAILED if failures else PASSED
    note = f"{failures} of {len(ids)} tokens differ" if failures else ""
    return CheckResult(
        "vocabulary", status, len(ids), time.perf_counter() - start, note, first, failures
    )


@_property_check
def offsets(cand: Subject, ref: Subject) -> _Plan:
    """Token offsets equal the reference's, where the candidate reports them: tiktoken's
    `decode_with_offsets(ids)` on the reference's IDs, or Hugging Face's encoding offsets (the
    start character of each token) against the reference's `decode_with_offsets`."""
    if ref.decode_with_offsets is None:
        return _skip("offsets", "the reference has no decode_with_offsets()")
    if cand.decode_with_offsets is None and cand.encode_with_offsets is None:
        return _skip("offsets", "the candidate reports no offsets")
    ref_ids = _reference_ids(ref, cand)

    def prop(text: str) -> Divergence | None:
        ids = _outcome(ref_ids, text)
        if ids[0] != "ok":
            return None
        want = _outcome(lambda x: ref.decode_with_offsets(x)[1], ids[1])  # type: ignore[misc]
        if cand.encode_with_offsets is not None:
            encoded = _outcome(cand.encode_with_offsets, text)
            if encoded[0] == "ok" and encoded[1][0] != ids[1]:
                return None  # different IDs: same_ids reports that
            got = ("ok", list(encoded[1][1])) if encoded[0] == "ok" else encoded
            how = "encoding offsets"
        else:
            got = _outcome(lambda x: cand.decode_with_offsets(x)[1], ids[1])  # type: ignore[misc]
            how = "decode_with_offsets"
        if _same(got, want):
            return None
        return Divergence(
            "offsets",
            text,
            f"{how}: candidate {_said(got)}, reference {_said(want)}",
            candidate_ids=ids[1],
            guess="decoding (offsets)",
            reproducer=reproducer(text, cand, ref),
        )

    return texts(ref), prop


def goldens(
    candidate: Any,
    encoding: str = "gpt2",
    *,
    known_deviations: Mapping[str, str] | None = None,
) -> CheckResult:
    """The candidate's IDs on the golden vectors shipped for `encoding` (no oracle needed).
    `known_deviations` maps a case's `id` to the reason it is accepted."""
    from tokprep.testing.golden import load_golden

    cand = adapt(candidate)
    start = time.perf_counter()
    try:
        golden = load_golden(encoding)
    except FileNotFoundError:
        return _skip("goldens", f"no golden vectors for {encoding!r}")
    accepted = dict(known_deviations or {})
    failures, first, waived = 0, None, 0
    ref = _golden_reference(golden)
    specials = tuple(golden.get("special_tokens", {}))
    matches = cand.encode_ordinary is None  # HF's rule: special-token text becomes the token
    unfit = 0
    for case in golden["cases"]:
        if matches and any(s in case["text"] for s in specials):
            unfit += 1  # the golden IDs treat special-token text as text
            continue
        got = _outcome(cand.ids, case["text"])
        if got == ("ok", case["ids"]):
            continue
        if case["id"] in accepted:
            waived += 1
            continue
        failures += 1
        if first is None:
            if got[0] == "ok":
                first = explain(
                    "goldens",
                    case["text"],
                    got[1],
                    case["ids"],
                    cand,
                    ref,
                    message=f"golden case {case['id']}: IDs differ",
                )
            else:
                first = Divergence(
                    "goldens",
                    case["text"],
                    f"golden case {case['id']}: candidate {_said(got)}",
                    reference_ids=case["ids"],
                    reproducer=reproducer(case["text"], cand, ref),
                )
    note = f"{failures} of {len(golden['cases'])} cases differ" if failures else ""
    if waived:
        note += ("; " if note else "") + f"{waived} known deviations accepted"
    if unfit:
        note += ("; " if note else "") + (
            f"{unfit} cases spelling special tokens skipped (the candidate matches them)"
        )
    status = FAILED if failures else PASSED
    return CheckResult(
        "goldens", status, len(golden["cases"]), time.perf_counter() - start, note, first, failures
    )


def _golden_reference(golden: Mapping[str, Any]) -> Subject:
    """A reference made from a golden file: its pattern and special tokens, bytes from the
    encoding when tokprep has it (only used to explain a failure)."""
    try:
        return adapt(golden["encoding"])
    except Exception:  # not an encoding this tokprep knows: the report shows IDs only
        pass
    subject = Subject(name=f"golden {golden['encoding']}", kind="golden", source=None)
    subject.pattern = golden.get("pattern")
    subject.special_tokens = dict(golden.get("special_tokens", {}))
    subject.spec = golden["encoding"]
    return subject


def corpus(
    candidate: Any,
    reference: Any = "gpt2",
    paths: Iterable[str | Path] = (),
    *,
    max_chars: int = 2_000_000,
) -> CheckResult:
    """The same IDs as the reference on each corpus file, line by line (up to `max_chars`)."""
    cand, ref = adapt(candidate), adapt(reference)
    ref_ids = _reference_ids(ref, cand)
    start = time.perf_counter()
    lines_done = 0
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")[:max_chars]
        for line in text.splitlines(keepends=True):
            lines_done += 1
            got, want = _outcome(cand.ids, line), _outcome(ref_ids, line)
            failure = _differs(
                "corpus",
                line,
                got,
                want,
                cand,
                ref,
                prefix=f"{path}: ",
                message=f"{path}, line {lines_done}: IDs differ",
            )
            if failure is None:
                continue
            return CheckResult(
                "corpus", FAILED, lines_done, time.perf_counter() - start, str(path), failure, 1
            )
    return CheckResult("corpus", PASSED, lines_done, time.perf_counter() - start)


#: The property and fixed-set checks `run_checks` runs, in order (goldens and corpora apart).
CHECKS: dict[str, Callable[..., CheckResult]] = {
    "same_ids": same_ids,
    "round_trip": round_trip,
    "encode_decode_stable": encode_decode_stable,
    "decode": decode,
    "vocabulary": vocabulary,
    "ordinary_vs_disallowed": ordinary_vs_disallowed,
    "batch": batch,
    "special_refused": special_refused,
    "deterministic": deterministic,
    "offsets": offsets,
}
