"""Reliability of workers and outputs (issue 17, sections 1 and 2): a dead worker stops the run
at once; tiktoken's panic on a million spaces is survived; an output is never an input; a failed
or killed run leaves the old outputs (or a detectable error), and its temporary files go away."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, corpus_path
from tokprep import files as files_module
from tokprep.bpe import BPETokenizer, tiktoken_gpt2
from tokprep.cli import main
from tokprep.dataloading import load_tokens, prepare, read_manifest
from tokprep.errors import ArgumentValueError, DatasetFormatError
from tokprep.files import remove_stale_temps
from tokprep.pool import map_ordered

ENC = tiktoken_gpt2()
encode_module = importlib.import_module("tokprep.dataloading.encode")
output_module = importlib.import_module("tokprep.dataloading.output")
EOT = 50256
MILLION_SPACES = "a" + " " * 999_999 + "x"


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def children(pid: int) -> list[int]:
    """PIDs whose parent is `pid`, read from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


# --- 1. workers -------------------------------------------------------------------------------


# The real command, with tiktoken slowed to 0.2 s per chunk so the run lasts long enough to
# kill a worker in the middle of it (fork: the workers inherit the slowed method).
SLOW_PREPARE = """
import sys, time
import tiktoken.core
encode = tiktoken.core.Encoding.encode_ordinary
def slow(self, text):
    time.sleep(0.2)
    return encode(self, text)
tiktoken.core.Encoding.encode_ordinary = slow
from tokprep.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="finds workers in /proc")
def test_a_killed_worker_stops_the_run_promptly_and_leaves_the_old_files(tmp_path):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(f'{{"text": "document {i} says hello"}}\n' for i in range(200)))
    out = tmp_path / "out.bin"
    out.write_bytes(b"old tokens")
    out.with_name("out.bin.json").write_text("old manifest")
    command = [sys.executable, "-c", SLOW_PREPARE, "prepare", str(corpus), "-o", str(out)]
    process = subprocess.Popen(
        [*command, "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while len(workers := children(process.pid)) < 2:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.02)
        time.sleep(0.3)  # mid-run: 200 chunks take 20 s of worker time
        os.kill(workers[0], signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert time.monotonic() - killed < 10
    assert process.returncode == 1, stderr
    message = stderr.decode()
    assert "error: a worker process of tokprep prepare was killed by SIGKILL" in message
    assert "Traceback" not in message
    assert out.read_bytes() == b"old tokens"
    assert out.with_name("out.bin.json").read_text() == "old manifest"
    assert temp_files(tmp_path) == []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="finds workers in /proc")
def test_a_killed_run_takes_its_workers_along_and_the_next_run_cleans_up(tmp_path):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(f'{{"text": "document {i}"}}\n' for i in range(200)))
    out = tmp_path / "out.bin"
    command = [sys.executable, "-c", SLOW_PREPARE, "prepare", str(corpus), "-o", str(out)]
    process = subprocess.Popen([*command, "--workers", "2"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while len(workers := children(process.pid)) < 2:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.kill()
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers):  # orphans would wait for work forever
        assert time.monotonic() < deadline, "the workers outlived their parent"
        time.sleep(0.02)
    [left] = temp_files(tmp_path)
    assert f"-{process.pid}-" in left
    prepare([corpus], out, workers=2, progress=False)
    expected = sum(1 + len(ENC.encode(f"document {i}")) for i in range(200))
    assert temp_files(tmp_path) == [] and load_tokens(out, verify=True).size == expected


def _die_on_three(x: int) -> int:
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return x * 10


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ArgumentValueError(f"bad task {x}")
    return x


def test_the_pool_keeps_order_and_fails_promptly():
    assert list(map_ordered(_fail_on_two, range(2), workers=2)) == [0, 1]
    results = map_ordered(_die_on_three, range(50), workers=2, what="job")
    start = time.monotonic()
    with pytest.raises(OSError, match="a worker process of job was killed by SIGKILL"):
        for _ in results:
            pass
    assert time.monotonic() - start < 10
    # an exception in the function arrives with its own type and message
    with pytest.raises(ArgumentValueError, match="bad task 2"):
        list(map_ordered(_fail_on_two, range(5), workers=2))


@pytest.fixture(scope="module")
def million_spaces_ids() -> list[int]:
    """tokprep's encoder on the text tiktoken panics on (about 0.3 s)."""
    return BPETokenizer.from_tiktoken(ENC).encode_ordinary(MILLION_SPACES)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_million_spaces_are_encoded_like_tokprep_encoder(tmp_path, workers, million_spaces_ids):
    # tiktoken panics on this text; tokprep's encoder on the same ranks takes it. The command,
    # in its own process, prints no traceback (and no Rust panic: tiktoken is not called).
    (tmp_path / "a.txt").write_text(MILLION_SPACES)
    (tmp_path / "b.txt").write_text("after the spaces")
    command = ["prepare", "a.txt", "b.txt", "-o", "out.bin", "--workers", str(workers)]
    done = subprocess.run(
        [sys.executable, "-m", "tokprep", *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "panicked" not in done.stderr
    expected = [EOT, *million_spaces_ids, EOT, *ENC.encode("after the spaces")]
    assert load_tokens(tmp_path / "out.bin").tolist() == expected
    assert ENC.decode(million_spaces_ids) == MILLION_SPACES


def test_a_tiktoken_panic_is_caught_and_the_chunk_encoded_by_tokprep(
    tmp_path, monkeypatch, million_spaces_ids
):
    # Without the look-ahead for long whitespace, tiktoken is called and panics (a
    # BaseException): the chunk is encoded by tokprep's encoder instead.
    monkeypatch.setattr(encode_module, "_has_long_whitespace", lambda text: False)
    (tmp_path / "a.txt").write_text(MILLION_SPACES)
    with pytest.raises(BaseException, match="StackOverflow"):
        ENC.encode_ordinary(MILLION_SPACES)  # still true of tiktoken, or this test is moot
    prepare([tmp_path / "a.txt"], tmp_path / "out.bin", progress=False)
    tokens = load_tokens(tmp_path / "out.bin").tolist()
    assert tokens == [EOT, *million_spaces_ids]


# --- 2. outputs -------------------------------------------------------------------------------


def test_an_output_that_is_an_input_is_refused_before_any_work(tmp_path, capsys):
    text = tmp_path / "a.txt"
    text.write_text("some text to keep")
    (tmp_path / "link.bin").symlink_to(text)
    os.link(text, tmp_path / "hard.bin")
    for output in ("a.txt", "link.bin", "hard.bin"):
        assert main(["prepare", str(text), "-o", str(tmp_path / output)]) == 1
        assert "is the input" in capsys.readouterr().err
    (tmp_path / "b.txt.json").write_text("more text")
    with pytest.raises(ArgumentValueError, match=r"the manifest .*b\.txt\.json is the input"):
        prepare([text, tmp_path / "b.txt.json"], tmp_path / "b.txt")
    # the manifest would overwrite the tokenizer file
    tok = tmp_path / "tok.json"
    BPETokenizer.train("a small tokenizer", 260, special_tokens=["<|endoftext|>"]).save(tok)
    with pytest.raises(ArgumentValueError, match=r"the manifest .*tok\.json is the input"):
        prepare([text], tmp_path / "tok", tokenizer=tok)
    corpus = tmp_path / "b.json"
    corpus.write_text("train on this")
    (tmp_path / "b-link.json").symlink_to(corpus)
    for output in ("b.json", "b-link.json"):
        assert main(["train", str(corpus), "--vocab-size", "260", "-o", str(tmp_path / output)])
        assert "is the input" in capsys.readouterr().err
    assert text.read_text() == "some text to keep" and corpus.read_text() == "train on this"
    assert temp_files(tmp_path) == []


def _prepare_twice(tmp_path: Path) -> tuple[Path, int]:
    """An old pair of outputs, then the text that gives a different number of tokens."""
    source = tmp_path / "a.txt"
    source.write_text("old text")
    out = tmp_path / "out.bin"
    prepare([source], out, progress=False)
    old_tokens = read_manifest(out)["tokens"]
    source.write_text("new text, longer than before")
    return out, old_tokens


def test_a_failing_manifest_write_leaves_the_old_pair(tmp_path, monkeypatch):
    out, old_tokens = _prepare_twice(tmp_path)
    old = out.read_bytes(), out.with_name("out.bin.json").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(output_module, "write_envelope", broken)
    with pytest.raises(OSError, match="simulated"):
        prepare([tmp_path / "a.txt"], out, progress=False)
    assert (out.read_bytes(), out.with_name("out.bin.json").read_bytes()) == old
    assert load_tokens(out, verify=True).size == old_tokens
    assert temp_files(tmp_path) == []


def test_a_stop_between_the_two_renames_is_detected_by_every_reader(tmp_path, monkeypatch, capsys):
    out, old_tokens = _prepare_twice(tmp_path)
    replace = os.replace

    def stops_at_manifest(src, dst):  # as if killed after renaming the token file
        if str(dst).endswith(".json"):
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(files_module.os, "replace", stops_at_manifest)
    with pytest.raises(KeyboardInterrupt):
        prepare([tmp_path / "a.txt"], out, progress=False)
    monkeypatch.undo()
    assert temp_files(tmp_path) == []
    new_tokens = int(np.frombuffer(out.read_bytes()[8:12], dtype="<i4")[0])
    assert new_tokens != old_tokens
    stale = rf"out\.bin: the header says tokens={new_tokens} but its manifest .*out\.bin\.json says"
    with pytest.raises(DatasetFormatError, match=stale + rf" tokens={old_tokens}"):
        load_tokens(out)
    assert main(["inspect", str(out)]) == 1
    assert "do not belong together" in capsys.readouterr().err
    prepare([tmp_path / "a.txt"], out, progress=False)  # recovery: run it again
    assert load_tokens(out, verify=True).size == new_tokens


def test_train_checks_everything_before_training_and_writes_all_or_nothing(
    tmp_path, monkeypatch, capsys
):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("low lower lowest newer newest " * 20)
    out = tmp_path / "tok.json"
    base = ["train", str(corpus), "--vocab-size", "270", "--no-progress", "-o", str(out)]
    trained = []
    real_train = BPETokenizer.train.__func__

    def counting_train(cls, *args, **kwargs):
        trained.append(1)
        return real_train(cls, *args, **kwargs)

    monkeypatch.setattr(BPETokenizer, "train", classmethod(counting_train))
    (tmp_path / "a-file").write_text("x")
    refused = {
        "only the special token": [
            *("--special", "<|endoftext|>", "--special", "<|pad|>"),
            *("--export-gpt2", str(tmp_path / "gpt2")),
        ],
        "missing/h.json: the folder": ["--export-hf", str(tmp_path / "missing" / "h.json")],
        "a-file: is a file": ["--export-gpt2", str(tmp_path / "a-file")],
        "are the same file": ["--export-hf", str(out)],
    }
    for message, extra in refused.items():
        assert main([*base, *extra]) == 1
        assert message in capsys.readouterr().err
    assert main([*base[:-1], str(tmp_path / "no" / "tok.json")]) == 1
    assert "-o " + str(tmp_path / "no" / "tok.json") in capsys.readouterr().err
    assert trained == []  # every refusal came before training
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "corpus.txt"]

    # An export that fails while writing: -o is not written either.
    def broken_export(self, path):
        raise OSError("export failed (simulated)")

    monkeypatch.setattr(BPETokenizer, "save_hf_tokenizer_json", broken_export)
    out.write_text("old tokenizer")
    gpt2 = tmp_path / "gpt2"
    hf = tmp_path / "h.json"
    assert main([*base, "--export-gpt2", str(gpt2), "--export-hf", str(hf)]) == 1
    assert "export failed" in capsys.readouterr().err
    assert out.read_text() == "old tokenizer" and not gpt2.exists() and not hf.exists()
    assert temp_files(tmp_path) == []
    monkeypatch.undo()
    assert main([*base, "--export-gpt2", str(gpt2), "--export-hf", str(hf)]) == 0
    assert BPETokenizer.load(out).n_vocab == 270
    assert sorted(p.name for p in gpt2.iterdir()) == ["encoder.json", "vocab.bpe"]
    assert hf.exists() and temp_files(tmp_path) == []


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(tmp_path):
    out = tmp_path / "out.bin"
    code = (
        "import os, signal, sys\n"
        "from tokprep.files import atomic_write\n"
        "with atomic_write(sys.argv[1]) as f:\n"
        "    f.write(b'half a file')\n"
        "    f.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.Popen([sys.executable, "-c", code, str(out)], cwd=ROOT)
    assert killed.wait(timeout=60) == -signal.SIGKILL
    [left] = temp_files(tmp_path)
    assert left.startswith(".out.bin.tokprep-") and f"-{killed.pid}-" in left
    # Other temporary files stay: this (live) process's, and another machine's of that PID.
    mine = tmp_path / f".out.bin.tokprep-{files_module._host_tag()}-{os.getpid()}-x.tmp"
    other_host = tmp_path / f".out.bin.tokprep-000000-{killed.pid}-x.tmp"
    mine.write_bytes(b"in use")
    other_host.write_bytes(b"elsewhere")
    prepare([corpus_path("the-verdict")], out, progress=False)
    assert sorted(temp_files(tmp_path)) == sorted([mine.name, other_host.name])
    assert remove_stale_temps(out) == []
    assert load_tokens(out, verify=True).size > 0
