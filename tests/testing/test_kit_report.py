"""tokprep.testing.report: a failure says where, what, in which pre-token, why, and how to
reproduce it."""

import contextlib
import io

import pytest
from kit_helpers import example_spec

from tokprep.testing import adapt, checks
from tokprep.testing.report import explain, first_difference


@pytest.fixture(scope="module")
def whitespace_failure():
    result = checks.same_ids(example_spec("whitespace_lookahead"), "gpt2", examples=60, seed=0)
    assert result.failure is not None
    return result.failure


def test_report_has_every_part(whitespace_failure):
    failure = whitespace_failure
    assert failure.shrunk and len(failure.text) <= 16  # shrunk to a few atoms
    assert failure.candidate_ids != failure.reference_ids
    assert failure.index == first_difference(failure.candidate_ids, failure.reference_ids)
    assert failure.context and failure.context in failure.text
    assert failure.candidate_tokens and failure.reference_tokens
    assert failure.pretoken and failure.pretoken in failure.text
    assert failure.guess.startswith("pre-tokenizer split")
    text = failure.format()
    for part in (
        "input (shrunk)",
        "first divergent token",
        "pre-token",
        "candidate IDs",
        "reference tokens",
        "likely cause",
        "reproduce with",
    ):
        assert part in text


def test_reproducer_runs_and_shows_the_difference(whitespace_failure):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(whitespace_failure.reproducer, {})
    candidate, reference = out.getvalue().splitlines()
    assert candidate == str(whitespace_failure.candidate_ids)
    assert reference == str(whitespace_failure.reference_ids)


@pytest.mark.parametrize(
    ("bug", "text", "kind"),
    [
        ("first_pair_merge", " develop", "merge order"),
        ("ascii_letters", "a naïve", "pre-tokenizer split"),
        ("contractions_any_case", "a'Sam", "pre-tokenizer split"),
    ],
)
def test_guess_names_the_kind_of_bug(bug, text, kind):
    candidate, reference = adapt(example_spec(bug)), adapt("gpt2")
    divergence = explain(
        "same_ids", text, candidate.ids(text), reference.ids(text), candidate, reference
    )
    assert divergence.guess.startswith(kind), divergence.format()


def test_guess_names_special_tokens_and_decoding():
    reference = adapt("gpt2")
    text = "a <|endoftext|>"
    hf_like = reference.encode_all_special(text)
    special = explain("same_ids", text, hf_like, reference.ids(text), reference, reference)
    assert special.guess.startswith("special tokens")
    decoding = checks.decode(example_spec("decode_drops_bytes"), "gpt2", examples=60)
    assert decoding.failure.guess.startswith("decoding")
