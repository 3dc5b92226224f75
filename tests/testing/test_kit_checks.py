"""tokprep.testing.checks: each check passes on tiktoken's equal and catches its planted bug."""

import json
import threading

import pytest
from kit_helpers import Planted, example_spec

from tokprep.bpe import BPETokenizer
from tokprep.testing import checks, run_checks

FEW = 60  # examples per property check: enough for every planted bug at seed 0


def _decode_appends_space(self, ids):
    return self.inner.decode(ids) + " "


def _decode_drops_last_character(self, ids):
    return self.inner.decode(ids)[:-1]


def _disallowed_drops_last(self, text, **special):
    ids = self.inner.encode(text, **special)
    return ids[:-1] if special.get("disallowed_special") == () else ids


def _batch_reversed(self, texts):
    return [self.inner.encode_ordinary(t) for t in reversed(texts)]


def _encode_never_refuses(self, text, **special):
    return self.inner.encode_ordinary(text)


_lock = threading.Lock()


def _drifts_after_a_while(self, text):
    with _lock:
        self.calls += 1
        late = self.calls > FEW + 10  # the first, serial, run sees FEW calls
    return self.inner.encode_ordinary(text) + ([0] if late else [])


def _offsets_shifted(self, ids):
    text, offsets = self.inner.decode_with_offsets(ids)
    return text, [o + 1 for o in offsets]


PLANTED = {
    "round_trip": lambda: Planted(decode=_decode_drops_last_character),
    "encode_decode_stable": lambda: Planted(decode=_decode_appends_space),
    "ordinary_vs_disallowed": lambda: Planted(encode=_disallowed_drops_last),
    "batch": lambda: Planted(encode_ordinary_batch=_batch_reversed),
    "special_refused": lambda: Planted(encode=_encode_never_refuses),
    "deterministic": lambda: Planted(encode_ordinary=_drifts_after_a_while),
    "offsets": lambda: Planted(decode_with_offsets=_offsets_shifted),
    "same_ids": lambda: example_spec("whitespace_lookahead"),
    "decode": lambda: example_spec("decode_drops_bytes"),
    "vocabulary": lambda: example_spec("first_pair_merge"),
}


def test_every_check_has_a_planted_bug():
    assert set(PLANTED) == set(checks.CHECKS)


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_check_catches_its_planted_bug(name):
    result = checks.CHECKS[name](PLANTED[name](), "gpt2", examples=FEW, seed=0)
    assert result.status == "failed", result.format()
    assert result.failure is not None and result.failure.message
    assert result.failure.reproducer.startswith("from tokprep.testing import adapt")
    json.dumps(result.to_dict())  # machine-readable


def test_an_equal_tokenizer_passes_every_check():
    report = run_checks(BPETokenizer.gpt2(), "gpt2", examples=FEW, seed=1)
    assert report.passed, report.format()
    assert [r.name for r in report.results] == ["goldens", *checks.CHECKS]
    assert {r.status for r in report.results} == {"passed"}


def test_goldens_catch_a_bug_and_accept_declared_deviations():
    spec = example_spec("ascii_letters")
    result = checks.goldens(spec, "gpt2")
    assert result.status == "failed" and result.failures > 0
    first = result.failure.message.split()[2].rstrip(":")  # "golden case gpt2-0067: ..."
    again = checks.goldens(spec, "gpt2", known_deviations={first: "accepted for the test"})
    assert again.failures == result.failures - 1 and "1 known deviations accepted" in again.note


def test_corpus_check_reports_the_file_and_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("plain ascii words\na naïve café\n", encoding="utf-8")
    result = checks.corpus(example_spec("ascii_letters"), "gpt2", [path])
    assert result.status == "failed" and result.examples == 2
    assert "line 2" in result.failure.message and result.failure.text == "a naïve café\n"
    assert checks.corpus("tokprep:gpt2", "gpt2", [path]).passed


def test_the_same_seed_finds_the_same_counterexample():
    one = checks.same_ids(example_spec("ascii_letters"), examples=FEW, seed=0)
    two = checks.same_ids(example_spec("ascii_letters"), examples=FEW, seed=0)
    assert one.failure is not None and one.failure.text == two.failure.text


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_tokprep_encoders_conform_to_tiktoken_on_every_encoding(encoding):
    # Dogfooding: tokprep's own encoder is a candidate like any other.
    report = run_checks(
        f"tokprep:{encoding}",
        encoding,
        examples=FEW,
        checks=["goldens", "same_ids", "round_trip", "special_refused"],
    )
    assert report.passed, report.format()
    assert [r.name for r in report.results] == [
        "goldens",
        "same_ids",
        "round_trip",
        "special_refused",
    ]
