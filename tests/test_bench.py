"""`tokprep bench`: the command's plumbing, on toy sizes (`--plan tiny`), with no timing claims.

What is checked: results.json (envelope, machine, options, every measurement's status and
numbers), peers that are missing are skipped with a note and never faked, a failing
measurement costs only itself (exit code 1), usage errors exit with 2 before anything runs,
the charts are written, and the encode benchmark's batch chunks keep tiktoken's IDs.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conftest import corpus, corpus_path
from tokprep.bench import cli as bench_cli
from tokprep.bench import encode, report
from tokprep.cli import main

MEASUREMENTS = {
    "encode",
    "worst_case",
    "train_vs_hf",
    "train_educational",
    "train_large_corpus",
    "loader_throughput",
    "loader_memory",
    "prepare",
    "cuda_gather",
    "embeddings_cpu",
    "embeddings_cuda",
}
LIBRARIES = {"tokprep", "tiktoken", "tokenizers", "torch", "numpy", "regex", "matplotlib"}


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def load(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    """Every measurement once, on toy sizes (~10 s): the run most tests read."""
    folder = tmp_path_factory.mktemp("bench") / "results"
    code, out, err = run_main(["bench", "--plan", "tiny", "--out", str(folder)])
    return code, out, err, folder


def test_tiny_run_succeeds_and_prints_the_table(tiny_run):
    code, out, err, folder = tiny_run
    assert code == 0, err
    assert "[1/11]" in out and "est." in out  # progress with estimates
    for title in ("Encoding throughput", "Worst case", "BPE training", "DataLoader", "Embedding"):
        assert f"== {title}" in out
    for column in ("vs tiktoken", "vs HF", "vs textbook"):
        assert column in out
    assert "corpus: tinyshakespeare.txt (first" in out  # says which text was measured
    assert f"wrote {folder / 'results.json'}" in out


def test_results_json_schema(tiny_run):
    _, _, _, folder = tiny_run
    doc = load(folder)
    assert (doc["format"], doc["kind"], doc["version"]) == ("tokprep", "bench", 1)
    machine = doc["machine"]
    assert isinstance(machine["cpu"], str) and machine["cpu"]
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert "name" in machine["gpu"]
    assert isinstance(machine["python"], str)
    assert set(machine["versions"]) == LIBRARIES
    assert all(isinstance(v, str) for k, v in machine["versions"].items() if k != "matplotlib")
    run = doc["run"]
    datetime.fromisoformat(run["date"])
    assert run["command"] == f"tokprep bench --plan tiny --out {folder}"
    assert run["options"] == {
        "quick": False,
        "out": str(folder),
        "device": "cpu",
        "corpus": None,
        "only": list(bench_cli.SECTIONS),
    }
    assert run["complete"] is True and run["seconds"] > 0
    assert run["corpus"]["name"] == "tinyshakespeare.txt"
    assert run["corpus"]["measured_bytes"] <= bench_cli.TINY.text_bytes
    assert run["sizes"]["name"] == "tiny"
    assert set(doc["measurements"]) == MEASUREMENTS
    assert doc["errors"] == {}
    for name, entry in doc["measurements"].items():
        assert entry["status"] in ("ok", "skipped"), (name, entry)
        assert isinstance(entry["seconds"], float)
        if entry["status"] == "ok":
            assert isinstance(entry["parameters"], dict) and isinstance(entry["result"], dict)
        else:
            assert doc["skipped"][name] == entry["reason"]


def test_results_hold_the_measured_numbers(tiny_run):
    doc = load(tiny_run[3])
    ms = doc["measurements"]
    enc = ms["encode"]["result"]
    assert set(encode.ENCODERS) <= set(enc)
    for name in encode.ENCODERS:
        assert enc[name]["mb_per_s"] > 0 and enc[name]["min_s"] <= enc[name]["max_s"]
        assert enc[name]["same_ids"] is (None if name == "textbook V2" else True)
    assert enc["tiktoken"]["vs_tiktoken"] == 1.0
    assert ms["worst_case"]["result"]["a"]["sizes"] == list(bench_cli.TINY.worst_sizes)
    assert ms["train_vs_hf"]["result"]["same_vocab"] == 1.0
    assert ms["train_educational"]["result"]["n_merges"] == bench_cli.TINY.educational_merges
    loader = ms["loader_throughput"]["result"]
    assert loader["tokprep_median_tokens_per_s"] <= loader["tokprep_tokens_per_s"]
    assert set(ms["loader_memory"]["result"]) == set(bench_cli.TINY.memory_kinds)
    assert ms["prepare"]["result"]["prepare_1w_mb_per_s"] > 0
    emb = ms["embeddings_cpu"]["result"]
    assert emb["baseline_min_tokens_per_s"] <= emb["baseline_tokens_per_s"]


def test_cpu_run_and_tiny_plan_skip_with_a_reason(tiny_run):
    doc = load(tiny_run[3])
    for name in ("cuda_gather", "embeddings_cuda"):
        assert "tokprep bench --device cuda" in doc["skipped"][name]
    assert "without --quick" in doc["skipped"]["train_large_corpus"]
    assert "note: skipped cuda_gather" in tiny_run[1]


def test_charts_are_written(tiny_run):
    pytest.importorskip("matplotlib")
    folder = tiny_run[3]
    charts = load(folder)["charts"]
    assert set(charts) == set(report.chart_names())
    for name in charts:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_peers_are_skipped_not_faked(tmp_path, monkeypatch):
    # A None entry in sys.modules makes `import name` raise ImportError: as if not installed.
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    folder = tmp_path / "out"
    code, out, err = run_main(
        ["bench", "--plan", "tiny", "--only", "encode,train", "--out", str(folder)]
    )
    assert code == 0, err
    doc = load(folder)
    assert doc["machine"]["versions"]["tokenizers"] is None
    assert doc["machine"]["versions"]["matplotlib"] is None
    assert "huggingface" not in doc["measurements"]["encode"]["result"]
    assert "pip install tokenizers" in doc["skipped"]["encode: huggingface"]
    assert doc["measurements"]["train_vs_hf"]["status"] == "skipped"
    assert "pip install tokenizers" in doc["skipped"]["train_vs_hf"]
    assert "pip install matplotlib" in doc["skipped"]["charts"]
    assert "pip install matplotlib" in out
    assert doc["charts"] == [] and not list(folder.glob("*.png"))
    assert set(doc["measurements"]) == {
        "encode",
        "train_vs_hf",
        "train_educational",
        "train_large_corpus",
    }


def test_a_failing_measurement_costs_only_itself(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(encode, "worst_case", broken)
    folder = tmp_path / "out"
    code, out, err = run_main(
        ["bench", "--plan", "tiny", "--only", "encode,worst-case", "--out", str(folder)]
    )
    assert code == 1
    assert "worst_case failed: RuntimeError: boom" in err
    assert "FAILED: RuntimeError: boom" in out
    doc = load(folder)
    assert doc["errors"] == {"worst_case": "RuntimeError: boom"}
    assert doc["measurements"]["worst_case"]["status"] == "error"
    assert "RuntimeError: boom" in doc["measurements"]["worst_case"]["traceback"]
    assert doc["measurements"]["encode"]["status"] == "ok"  # measured before, and kept
    assert doc["run"]["complete"] is True


def test_an_interrupted_run_keeps_what_it_measured(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(encode, "worst_case", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bench_cli.run_bench(
            out=tmp_path,
            plan=bench_cli.TINY,
            sections=["encode", "worst-case"],
            stream=io.StringIO(),
            errors=io.StringIO(),
        )
    doc = load(tmp_path)
    assert doc["run"]["complete"] is False
    assert doc["measurements"]["encode"]["status"] == "ok"


def test_device_cuda_without_cuda_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    folder = tmp_path / "out"
    code, _, err = run_main(["bench", "--device", "cuda", "--out", str(folder)])
    assert code == 2
    assert "--device cuda: CUDA is not available" in err and "--device cpu" in err
    assert not folder.exists()  # refused before anything ran or was written


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "nope.txt"), (b"abc \xff", "invalid UTF-8 at byte offset 4"), (b"", "empty")],
)
def test_unreadable_corpus_is_a_usage_error(tmp_path, content, message):
    path = tmp_path / "nope.txt"
    if content is not None:
        path.write_bytes(content)
    folder = tmp_path / "out"
    code, _, err = run_main(["bench", "--corpus", str(path), "--out", str(folder)])
    assert code == 2
    assert message in err and err.startswith("tokprep bench: error:")
    assert not (folder / "results.json").exists()


@pytest.mark.parametrize("argv", [["--device", "tpu"], ["--only", "encode,nope"], ["--only", ""]])
def test_bad_options_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", *argv])
    assert exit_info.value.code == 2
    assert "bench" in capsys.readouterr().err


def test_corpus_option_is_measured_and_named(tmp_path):
    path = tmp_path / "mine.txt"
    text = "Hello there, general Kenobi.\nYou are a bold one.\n" * 20
    path.write_text(text, encoding="utf-8")
    folder = tmp_path / "out"
    code, out, err = run_main(
        ["bench", "--plan", "tiny", "--only", "encode", "--corpus", str(path), "--out", str(folder)]
    )
    assert code == 0, err
    doc = load(folder)
    assert doc["run"]["corpus"]["name"] == str(path)
    assert doc["run"]["corpus"]["source"] == "given with --corpus"
    assert doc["measurements"]["encode"]["result"]["bytes"] == len(text.encode())
    assert doc["run"]["command"].endswith(f"--corpus {path} --only encode")
    assert f"corpus: {path}; given with --corpus" in out


def test_default_corpus_outside_a_checkout_is_the_bundled_story(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_cli, "REPO_DATA", tmp_path / "no-data-here")
    inputs = bench_cli.Inputs(None, bench_cli.QUICK)
    assert inputs.corpus_name == "the-verdict.txt"
    assert inputs.text == corpus("the-verdict")  # 20 KB: under the quick limit, kept whole
    assert inputs.train_label == "the-verdict.txt"
    assert "bundled" in inputs.corpus_source


def test_default_corpus_in_a_checkout_is_tinyshakespeare():
    inputs = bench_cli.Inputs(None, bench_cli.FULL)
    assert inputs.corpus_name == "tinyshakespeare.txt"
    assert inputs.text == corpus("tinyshakespeare")
    assert inputs.train_label == "war_and_peace.txt"


@given(st.text(alphabet="ab\n é€😀", max_size=60), st.integers(0, 80))
def test_first_bytes_cuts_whole_characters_within_the_limit(text, limit):
    cut = bench_cli.first_bytes(text, limit)
    assert text.startswith(cut)
    assert len(cut.encode("utf-8")) <= max(limit, 0)
    assert bench_cli.first_bytes(text, None) == text


def test_quick_plan_sizes():
    # The quick promise (< 2 min on 2 cores) rests on these choices; the estimate agrees.
    quick = bench_cli.QUICK
    assert quick.large_corpus_bytes is None and quick.memory_stride > 1
    assert quick.educational_chars <= 10_000 and max(quick.worst_sizes) <= 65_536
    inputs = bench_cli.Inputs(None, quick)
    quick_s = sum(m.estimate_s for m in bench_cli.measurements(quick, inputs, "cpu"))
    full_s = sum(
        m.estimate_s
        for m in bench_cli.measurements(
            bench_cli.FULL, bench_cli.Inputs(None, bench_cli.FULL), "cpu"
        )
    )
    assert quick_s < 90 < full_s


def test_command_line_reruns_the_options():
    line = bench_cli.command_line(
        plan="quick", out="x", device="cuda", corpus="c.txt", sections=["encode", "train"]
    )
    assert line == "tokprep bench --quick --out x --device cuda --corpus c.txt --only encode,train"
    assert bench_cli.command_line(
        plan="full", out="bench-results", device="cpu", corpus=None, sections=bench_cli.SECTIONS
    ) == ("tokprep bench")


def test_results_file_has_no_nan(tmp_path):
    doc = {"machine": {}, "x": [float("nan"), 1.0, {"y": float("inf")}]}
    report.write_results(tmp_path / "r.json", doc)
    text = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["x"] == [None, 1.0, {"y": None}]


def test_importing_the_bench_command_does_not_import_torch():
    code = (
        "import sys, tokprep.bench, tokprep.bench.cli, tokprep.bench.report;"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@given(
    st.lists(
        st.sampled_from(["a", "B", " ", "  ", "\n", "\r\n", "\t", "1", ".", "'s", "é", "😀"]),
        max_size=40,
    ),
    st.integers(1, 8),
)
def test_batch_chunks_keep_tiktokens_ids(parts, pieces):
    # `tiktoken batch` encodes the text in chunks: its IDs must equal one call's.
    from tokprep.bpe import tiktoken_gpt2

    text = "".join(parts)
    enc = tiktoken_gpt2()
    chunks = encode._batch_parts(text, pieces)
    assert "".join(chunks) == text
    assert [i for c in chunks for i in enc.encode_ordinary(c)] == enc.encode_ordinary(text)


def test_batch_chunks_of_the_corpora_keep_ids_and_split():
    from tokprep.bpe import tiktoken_gpt2

    enc = tiktoken_gpt2()
    for name in ("taylorswift", "japanese-notes"):
        text = corpus_path(name).read_text(encoding="utf-8")
        chunks = encode._batch_parts(text, 64)
        assert len(chunks) >= 32
        ids = [i for ids in enc.encode_ordinary_batch(chunks) for i in ids]
        assert ids == enc.encode_ordinary(text)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_parts_run_on_a_gpu(tmp_path):
    only = "dataloading,embeddings"
    argv = ["bench", "--plan", "tiny", "--device", "cuda", "--only", only, "--out", str(tmp_path)]
    code, _, err = run_main(argv)
    assert code == 0, err
    doc = load(tmp_path)
    assert doc["machine"]["gpu"]["name"]
    for name in ("cuda_gather", "embeddings_cuda", "embeddings_cpu"):
        assert doc["measurements"][name]["status"] == "ok"
    assert doc["measurements"]["cuda_gather"]["result"]["device_gather_batches_per_s"] > 0
