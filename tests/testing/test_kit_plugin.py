"""The pytest plugin and TokenizerConformance, run in a fresh pytest (a subprocess)."""

import re
import subprocess
import sys
import textwrap

from kit_helpers import example_spec

USER_TESTS = """
from hypothesis import settings

from tokprep.testing import TokenizerConformance

settings.register_profile("tiny", max_examples=15, derandomize=True, deadline=None)
settings.load_profile("tiny")
FAST = ("vocabulary", "batch", "deterministic", "offsets", "encode_decode_stable")


class TestGood(TokenizerConformance):
    candidate = "tokprep:gpt2"
    skip_checks = FAST


class TestBuggy(TokenizerConformance):
    candidate = {buggy!r}
    skip_checks = FAST


def encode(text):  # a bare function: decode-based checks skip
    from tokprep.bpe import BPETokenizer

    return BPETokenizer.gpt2().encode_ordinary(text)


class TestFunction(TokenizerConformance):
    candidate = encode
    skip_checks = FAST
"""


def _pytest(tmp_path, *args):
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(USER_TESTS.format(buggy=example_spec("whitespace_lookahead")))
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *args, "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plugin_module_imports_no_heavy_library():
    code = (
        "import sys, tokprep.testing.plugin, tokprep.testing;"
        "print([m for m in ('hypothesis', 'tiktoken', 'torch') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_conformance_class_gives_one_named_test_per_check(tmp_path):
    run = _pytest(tmp_path)
    out = run.stdout
    assert run.returncode == 1, out  # the buggy tokenizer fails
    assert "test_user.py::TestGood::test_same_ids PASSED" in out
    assert "test_user.py::TestGood::test_goldens PASSED" in out
    assert "test_user.py::TestGood::test_vocabulary SKIPPED" in out
    assert "test_user.py::TestBuggy::test_same_ids FAILED" in out
    assert "test_user.py::TestBuggy::test_round_trip PASSED" in out
    assert "test_user.py::TestFunction::test_round_trip SKIPPED" in out
    assert "test_user.py::TestFunction::test_same_ids PASSED" in out
    # The failure is printed as the report (not as a traceback), under the profile's budget.
    assert "likely cause: pre-tokenizer split" in out and "reproduce with:" in out
    assert "def _run" not in out
    tried = [int(n) for n in re.findall(r"same_ids: failed \((\d+) examples", out)]
    assert tried and all(n <= 15 for n in tried)


def test_plugin_can_be_disabled(tmp_path):
    run = _pytest(tmp_path, "-p", "no:tokprep", "-k", "TestBuggy and same_ids")
    assert run.returncode == 1
    assert "ConformanceFailure" in run.stdout  # a plain traceback without the plugin
