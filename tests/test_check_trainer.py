"""`tokprep check-trainer` and `tokprep.testing.trainer_checks`: differential runs against the
reference trainer, adapters for common trainer signatures, and the planted-bug example."""

from __future__ import annotations

import itertools
import json

import pytest
import regex

from conftest import ROOT
from tokprep.bpe.patterns import GPT2_PATTERN
from tokprep.bpe.tie_break import TIE_BREAKS
from tokprep.bpe.train import train_bpe
from tokprep.cli import main
from tokprep.testing.trainer_adapters import adapt_trainer, load_object
from tokprep.testing.trainer_checks import check_trainer

EXAMPLES = ROOT / "examples" / "trainers"
PLANTED = f"{EXAMPLES / 'forgot_tie_break.py'}:train_bpe"
CORRECT = f"{EXAMPLES / 'cs336_style.py'}:train_bpe"


def test_check_trainer_finds_the_planted_tie_break_bug(capsys):
    code = main(["check-trainer", PLANTED, "--tie-break", "lexicographic", "--examples", "0"])
    out = capsys.readouterr().out
    assert code == 1
    # The worked example: five pairs tied at count 1; the bug takes the first seen.
    assert "first divergence at merge 0" in out
    assert "expected (b'z', b'y') (count 1)" in out
    assert "got      (b'm', b'n') (count 1)" in out
    assert "tied at count 1: (b'm', b'n'), (b' ', b'a'), (b'a', b'b')" in out
    assert "(as first-seen would)" in out
    assert "lexicographic takes (b'z', b'y')" in out


def test_check_trainer_json_and_a_correct_trainer(capsys):
    args = ["--tie-break", "lexicographic", "--examples", "15", "--json"]
    assert main(["check-trainer", CORRECT, *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True and len(report["results"]) == 7
    assert main(["check-trainer", PLANTED, *args]) == 1
    report = json.loads(capsys.readouterr().out)
    first = next(r for r in report["results"] if not r["passed"])
    divergence = first["divergence"]
    assert divergence["index"] == 0 and divergence["expected"] == ["z", "y"]
    assert divergence["picks"]["first-seen"] == divergence["got"] == ["m", "n"]


def test_check_trainer_bad_spec_exits_1_usage_errors_exit_2(capsys, tmp_path):
    # The exit-code policy of every command: a SPEC that cannot be loaded is bad input (1, one
    # line naming it); an option argparse refuses is a usage error (2).
    for spec in ("no_such_module_here:train", f"{EXAMPLES / 'cs336_style.py'}:nothing"):
        assert main(["check-trainer", spec]) == 1
        err = capsys.readouterr().err
        assert err.startswith("tokprep check-trainer: error: cannot load") and spec in err
    assert main(["check-trainer", "missing-colon"]) == 1
    for bad in (["--tie-break", "smallest"], ["--merges", "0"], ["--examples", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["check-trainer", CORRECT, *bad])
        assert exit_info.value.code == 2
    corpus = tmp_path / "c.txt"
    corpus.write_text("low lower lowest " * 3, encoding="utf-8")
    args = ["--tie-break", "lexicographic", "--examples", "0", "--corpus", str(corpus)]
    assert main(["check-trainer", CORRECT, *args]) == 0
    assert "ok   " + str(corpus) in capsys.readouterr().out


class MinbpeStyle:
    """A minbpe-like class: train(text, vocab_size), then merges {(id, id): id}, vocab."""

    def train(self, text: str, vocab_size: int) -> None:
        chunks = [list(c.encode()) for c in regex.findall(GPT2_PATTERN, text)]
        self.merges: dict[tuple[int, int], int] = {}
        self.vocab = {i: bytes([i]) for i in range(256)}
        for new in range(256, vocab_size):
            stats: dict[tuple[int, int], int] = {}
            for ids in chunks:
                for pair in itertools.pairwise(ids):
                    stats[pair] = stats.get(pair, 0) + 1
            if not stats:
                break
            pair = max(stats, key=stats.get)
            self.merges[pair] = new
            self.vocab[new] = self.vocab[pair[0]] + self.vocab[pair[1]]
            chunks = [self._merge(ids, pair, new) for ids in chunks]

    @staticmethod
    def _merge(ids: list[int], pair: tuple[int, int], new: int) -> list[int]:
        out, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                out.append(new)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        return out


def test_adapters_for_minbpe_class_and_vocabulary_functions():
    minbpe = adapt_trainer(MinbpeStyle)
    assert minbpe.kind.startswith("class")
    assert check_trainer(minbpe, "first-seen", special_tokens=(), examples=10).passed
    assert not check_trainer(minbpe, "hf", special_tokens=(), examples=0).passed

    def vocabulary_only(text, vocab_size, special_tokens):
        return train_bpe(text, vocab_size, special_tokens=special_tokens).ranks

    assert check_trainer(vocabulary_only, "hf", n_merges=20, examples=10).passed


def test_rustbpe_through_an_adapter_passes_its_profile():
    rustbpe = pytest.importorskip("rustbpe")

    def rust(text, vocab_size):
        tok = rustbpe.Tokenizer()
        tok.train_from_iterator(iter([text]), vocab_size, pattern=GPT2_PATTERN)
        return dict(tok.get_mergeable_ranks())

    report = check_trainer(rust, "rustbpe", special_tokens=(), examples=10)
    assert report.passed, report.format()


@pytest.mark.parametrize("tie_break", TIE_BREAKS)
def test_the_fast_trainer_passes_its_own_check(tie_break):
    def fast(text, vocab_size, special_tokens):
        trained = train_bpe(text, vocab_size, special_tokens=special_tokens, tie_break=tie_break)
        return trained.merge_log

    # n_merges beyond what a corpus holds: the reference's count decides how many are asked.
    report = check_trainer(fast, tie_break, examples=10)
    assert report.passed, report.format()


def test_load_object_reads_modules_and_files():
    assert load_object("tokprep.bpe.train:train_bpe") is train_bpe
    assert callable(load_object(CORRECT))
