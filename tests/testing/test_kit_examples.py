"""examples/tokenizers: each classic bug is found by `tokprep check FILE.py:tokenizer`."""

import json

import pytest
from kit_helpers import BUGS, example_spec

from tokprep.bpe import gpt2_ranks
from tokprep.cli import main
from tokprep.testing import adapt, checks

# The check that must catch each bug at the default budget and seed 0, and the guess it makes.
CAUGHT_BY = {
    "ascii_letters": ("same_ids", "pre-tokenizer split"),
    "whitespace_lookahead": ("same_ids", "pre-tokenizer split"),
    "contractions_any_case": ("same_ids", "pre-tokenizer split"),
    "first_pair_merge": ("vocabulary", "merge order"),
    "decode_drops_bytes": ("decode", "decoding"),
}


def test_every_example_is_listed():
    assert set(CAUGHT_BY) == set(BUGS)


@pytest.mark.parametrize("bug", BUGS)
def test_tokprep_check_finds_the_bug(bug, capsys):
    check, guess = CAUGHT_BY[bug]
    code = main(["check", example_spec(bug), "--check", check, "--json", "--quiet"])
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert code == 1 and result["status"] == "failed"
    assert result["failure"]["guess"].startswith(guess)


def test_the_example_tokenizer_without_its_bug_conforms():
    buggy = adapt(example_spec("decode_drops_bytes")).source  # its pattern and merges are right
    fixed = type(buggy)(gpt2_ranks(), buggy.pattern.pattern)
    fixed.decode = lambda ids: b"".join(fixed.decoder[i] for i in ids).decode("utf-8", "replace")
    for check in ("same_ids", "round_trip", "decode"):
        result = checks.CHECKS[check](fixed, "gpt2", examples=60)
        assert result.passed, result.format()
    assert checks.goldens(fixed, "gpt2").passed
