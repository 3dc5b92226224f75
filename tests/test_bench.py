"""`tokprep bench`: the command's plumbing, on toy sizes (`--plan tiny`), with no timing claims.

What is checked: results.json (envelope, schema version, machine, options, every
measurement's status, numbers and tables), a user's tokenizer (`--tokenizer`) in every encoding
table, one ratio direction (time ÷ reference) in tables, JSON and chart labels, the adversarial
cap, peers that are missing are skipped with a note and never faked, a failing measurement
costs only itself (exit code 1), bad input exits with 1 before anything runs, the charts are
written, and the encode benchmark's batch chunks keep tiktoken's IDs.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conftest import corpus, corpus_path
from tokprep.bench import adversarial, encode, plans, records, report, runner
from tokprep.cli import main

ROOT = Path(__file__).resolve().parents[1]
MINE = f"mine={ROOT / 'examples' / 'tokenizers' / 'ascii_letters.py'}:tokenizer"

MEASUREMENTS = {
    "encode",
    "adversarial",
    "long_tokens",
    "train",
    "train_educational",
    "train_large_corpus",
    "loader_throughput",
    "loader_memory",
    "prepare",
    "cuda_gather",
    "embeddings_cpu",
    "embeddings_cuda",
}
SECTION_TITLES = ("Encoding", "Adversarial", "BPE training", "DataLoader", "Embedding")
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
    """Every measurement once, on toy sizes (~10 s), with a user's tokenizer: the run most
    tests read."""
    folder = tmp_path_factory.mktemp("bench") / "results"
    code, out, err = run_main(
        ["bench", "--plan", "tiny", "--out", str(folder), "--tokenizer", MINE]
    )
    return code, out, err, folder


def test_tiny_run_succeeds_and_prints_the_table(tiny_run):
    code, out, err, folder = tiny_run
    assert code == 0, err
    assert "[1/12]" in err and "est." in err  # progress with estimates, on standard error
    for title in SECTION_TITLES:
        assert f"== {title}" in out
    for column in ("time ÷ tiktoken", "time ÷ huggingface", "time ÷ textbook"):
        assert column in out
    assert "corpus: tinyshakespeare.txt (first" in err  # says which text was measured
    assert f"wrote {folder / 'results.json'}" in err
    assert "cold: a new encoder per round" in out and "warm: one encoder" in out


def test_results_json_schema(tiny_run):
    _, _, _, folder = tiny_run
    doc = load(folder)
    assert (doc["format"], doc["kind"], doc["version"]) == ("tokprep", "bench", 1)
    assert doc["schema_version"] == records.SCHEMA_VERSION == 2
    machine = doc["machine"]
    assert isinstance(machine["cpu"], str) and machine["cpu"]
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert "name" in machine["gpu"]
    assert isinstance(machine["python"], str)
    assert set(machine["versions"]) == LIBRARIES
    assert all(isinstance(v, str) for k, v in machine["versions"].items() if k != "matplotlib")
    run = doc["run"]
    datetime.fromisoformat(run["date"])
    assert run["command"] == f"tokprep bench --plan tiny --out {folder} --tokenizer {MINE}"
    assert run["options"] == {
        "quick": False,
        "out": str(folder),
        "device": "cpu",
        "corpus": None,
        "only": list(plans.SECTIONS),
        "tokenizers": [MINE],
        "trainers": [],
        "cap_s": None,
    }
    assert run["complete"] is True and run["seconds"] > 0
    assert run["corpus"]["name"] == "tinyshakespeare.txt"
    assert run["corpus"]["measured_bytes"] <= plans.TINY.text_bytes
    assert run["sizes"]["name"] == "tiny"
    assert set(doc["measurements"]) == MEASUREMENTS
    assert doc["errors"] == {}
    for name, entry in doc["measurements"].items():
        assert entry["status"] in ("ok", "skipped"), (name, entry)
        assert isinstance(entry["seconds"], float)
        if entry["status"] == "ok":
            assert isinstance(entry["parameters"], dict) and isinstance(entry["result"], dict)
            assert entry["tables"], name  # every measurement renders as records
            for table in map(records.Table.from_json, entry["tables"]):
                assert table.rows and table.columns
        else:
            assert doc["skipped"][name] == entry["reason"]


def test_results_hold_the_measured_numbers(tiny_run):
    doc = load(tiny_run[3])
    ms = doc["measurements"]
    enc = ms["encode"]["result"]
    measured = [name for name in encode.ENCODERS if name not in enc["skipped"]]
    assert set(measured) <= set(enc)
    for name in measured:
        assert enc[name]["mb_per_s"] > 0 and enc[name]["min_s"] <= enc[name]["max_s"]
        assert enc[name]["same_ids"] is (None if name == "textbook V2" else True)
    assert enc["tiktoken"]["vs_tiktoken"] == enc["tiktoken o200k_base"]["vs_tiktoken"] == 1.0
    assert ms["adversarial"]["result"]["sizes"] == list(plans.TINY.adversarial_sizes)
    trained = ms["train"]["result"]
    assert trained["reference"] == "huggingface" and trained["huggingface"]["ratio"] == 1.0
    assert trained["tokprep (hf)"]["merges"] == trained["huggingface"]["merges"] == 20
    assert ms["train_educational"]["result"]["n_merges"] == plans.TINY.educational_merges
    loader = ms["loader_throughput"]["result"]
    assert loader["tokprep_median_tokens_per_s"] <= loader["tokprep_tokens_per_s"]
    assert set(ms["loader_memory"]["result"]) == set(plans.TINY.memory_kinds)
    assert ms["prepare"]["result"]["prepare_1w_mb_per_s"] > 0
    emb = ms["embeddings_cpu"]["result"]
    assert emb["baseline_min_tokens_per_s"] <= emb["baseline_tokens_per_s"]


def test_cpu_run_and_tiny_plan_skip_with_a_reason(tiny_run):
    doc = load(tiny_run[3])
    for name in ("cuda_gather", "embeddings_cuda"):
        assert "tokprep bench --device cuda" in doc["skipped"][name]
    assert "without --quick" in doc["skipped"]["train_large_corpus"]
    assert "note: skipped cuda_gather" in tiny_run[2]


def test_charts_are_written(tiny_run):
    pytest.importorskip("matplotlib")
    folder = tiny_run[3]
    doc = load(folder)
    charts = doc["charts"]
    tables = [t for m in doc["measurements"].values() for t in m.get("tables", [])]
    expected = {f"{t['key']}.png" for t in tables if t["rate_unit"]} | {"summary.png"}
    assert set(charts) == expected and "encode_gpt2.png" in charts
    for name in charts:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_peers_are_skipped_not_faked(tmp_path, monkeypatch):
    # A None entry in sys.modules makes `import name` raise ImportError: as if not installed.
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    folder = tmp_path / "out"
    code, _out, err = run_main(
        ["bench", "--plan", "tiny", "--only", "encode,train", "--out", str(folder)]
    )
    assert code == 0, err
    doc = load(folder)
    assert doc["machine"]["versions"]["tokenizers"] is None
    assert doc["machine"]["versions"]["matplotlib"] is None
    assert "huggingface" not in doc["measurements"]["encode"]["result"]
    assert "pip install tokenizers" in doc["skipped"]["encode: huggingface"]
    assert "huggingface" not in doc["measurements"]["train"]["result"]
    assert "pip install tokenizers" in doc["skipped"]["train: huggingface"]
    assert doc["measurements"]["train"]["result"]["reference"] == "tokprep (hf)"
    assert "pip install matplotlib" in doc["skipped"]["charts"]
    assert "pip install matplotlib" in err
    assert doc["charts"] == [] and not list(folder.glob("*.png"))
    assert set(doc["measurements"]) == {
        "encode",
        "train",
        "train_educational",
        "train_large_corpus",
    }


def test_a_failing_measurement_costs_only_itself(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(encode, "encode_comparison", broken)
    folder = tmp_path / "out"
    code, out, err = run_main(
        ["bench", "--plan", "tiny", "--only", "encode,train", "--out", str(folder)]
    )
    assert code == 1
    assert "encode failed: RuntimeError: boom" in err
    assert "FAILED: RuntimeError: boom" in out
    doc = load(folder)
    assert doc["errors"] == {"encode": "RuntimeError: boom"}
    assert doc["measurements"]["encode"]["status"] == "error"
    assert "RuntimeError: boom" in doc["measurements"]["encode"]["traceback"]
    assert doc["measurements"]["train"]["status"] == "ok"  # measured after, and kept
    assert doc["run"]["complete"] is True


def test_an_interrupted_run_keeps_what_it_measured(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    from tokprep.bench import train

    monkeypatch.setattr(train, "educational_baseline", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_bench(
            out=tmp_path,
            plan=plans.TINY,
            sections=["encode", "train"],
            stream=io.StringIO(),
            errors=io.StringIO(),
        )
    doc = load(tmp_path)
    assert doc["run"]["complete"] is False
    assert doc["measurements"]["encode"]["status"] == "ok"
    assert doc["measurements"]["train"]["status"] == "ok"


def test_device_cuda_without_cuda_is_refused_first(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    folder = tmp_path / "out"
    code, _, err = run_main(["bench", "--device", "cuda", "--out", str(folder)])
    assert code == 1
    assert "--device cuda: CUDA is not available" in err and "--device cpu" in err
    assert not folder.exists()  # refused before anything ran or was written


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "nope.txt"), (b"abc \xff", "invalid UTF-8 at byte offset 4"), (b"", "empty")],
)
def test_unreadable_corpus_is_refused_first(tmp_path, content, message):
    path = tmp_path / "nope.txt"
    if content is not None:
        path.write_bytes(content)
    folder = tmp_path / "out"
    code, _, err = run_main(["bench", "--corpus", str(path), "--out", str(folder)])
    assert code == 1
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
    code, _out, err = run_main(
        ["bench", "--plan", "tiny", "--only", "encode", "--corpus", str(path), "--out", str(folder)]
    )
    assert code == 0, err
    doc = load(folder)
    assert doc["run"]["corpus"]["name"] == str(path)
    assert doc["run"]["corpus"]["source"] == "given with --corpus"
    assert doc["measurements"]["encode"]["result"]["bytes"] == len(text.encode())
    assert doc["run"]["command"].endswith(f"--corpus {path} --only encode")
    assert f"corpus: {path}; given with --corpus" in err


def test_default_corpus_outside_a_checkout_is_the_bundled_story(monkeypatch, tmp_path):
    monkeypatch.setattr(plans, "REPO_DATA", tmp_path / "no-data-here")
    inputs = plans.Inputs(None, plans.QUICK)
    assert inputs.corpus_name == "the-verdict.txt"
    assert inputs.text == corpus("the-verdict")  # 20 KB: under the quick limit, kept whole
    assert inputs.train_label == "the-verdict.txt"
    assert "bundled" in inputs.corpus_source


def test_default_corpus_in_a_checkout_is_tinyshakespeare():
    inputs = plans.Inputs(None, plans.FULL)
    assert inputs.corpus_name == "tinyshakespeare.txt"
    assert inputs.text == corpus("tinyshakespeare")
    assert inputs.train_label == "war_and_peace.txt"


@given(st.text(alphabet="ab\n é€😀", max_size=60), st.integers(0, 80))
def test_first_bytes_cuts_whole_characters_within_the_limit(text, limit):
    cut = plans.first_bytes(text, limit)
    assert text.startswith(cut)
    assert len(cut.encode("utf-8")) <= max(limit, 0)
    assert plans.first_bytes(text, None) == text


def test_quick_plan_sizes():
    # The measured quick time (plans.QUICK_SECONDS, in --help) rests on these choices; the
    # estimates agree with it to within a factor of 2.
    quick = plans.QUICK
    assert quick.large_corpus_bytes is None and quick.memory_stride > 1
    assert quick.educational_chars <= 10_000 and max(quick.adversarial_sizes) <= 65_536
    inputs = plans.Inputs(None, quick)
    quick_s = sum(m.estimate_s for m in plans.steps(quick, inputs, "cpu"))
    full_s = sum(
        m.estimate_s for m in plans.steps(plans.FULL, plans.Inputs(None, plans.FULL), "cpu")
    )
    assert plans.QUICK_SECONDS / 2 < quick_s < plans.QUICK_SECONDS * 2 < full_s


def test_command_line_reruns_the_options():
    line = runner.command_line(
        plan="quick", out="x", device="cuda", corpus="c.txt", sections=["encode", "train"]
    )
    assert line == "tokprep bench --quick --out x --device cuda --corpus c.txt --only encode,train"
    assert runner.command_line(
        plan="full", out="bench-results", device="cpu", corpus=None, sections=plans.SECTIONS
    ) == ("tokprep bench")


def test_results_file_has_no_nan(tmp_path):
    doc = {"machine": {}, "x": [float("nan"), 1.0, {"y": float("inf")}]}
    report.write_results(tmp_path / "r.json", doc)
    text = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["x"] == [None, 1.0, {"y": None}]


def test_importing_the_bench_command_does_not_import_torch():
    code = (
        "import sys, tokprep.bench, tokprep.commands.bench, tokprep.bench.report;"
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


def test_a_user_tokenizer_is_in_every_encoding_table(tiny_run):
    _, out, err, folder = tiny_run
    doc = load(folder)
    assert "your tokenizer mine:" in err
    encoding_tables = [records.Table.from_json(t) for t in doc["measurements"]["encode"]["tables"]]
    assert [t.key for t in encoding_tables] == [
        "encode_gpt2",
        "encode_cl100k_base",
        "encode_o200k_base",
    ]
    for table in encoding_tables:
        mine = [row for row in table.rows if row.label == "mine"]
        assert len(mine) == 1 and mine[0].ratio > 0 and mine[0].rate > 0
        assert f"{table.title}" in out
    # ascii_letters gives GPT-2's IDs on plain English, and not cl100k's.
    same = {t.key: t.rows[-1].cells[t.columns[-1].name] for t in encoding_tables}
    assert same == {"encode_gpt2": "yes", "encode_cl100k_base": "NO", "encode_o200k_base": "NO"}
    assert doc["measurements"]["encode"]["result"]["tokenizers"] == {"mine": MINE.split("=", 1)[1]}
    adversarial_rows = doc["measurements"]["adversarial"]["tables"][0]["rows"]
    assert any(row["label"].startswith("a | mine") for row in adversarial_rows)


def test_ratios_read_the_same_way_in_table_json_and_charts(tiny_run):
    _, out, _, folder = tiny_run
    doc = load(folder)
    gpt2 = records.Table.from_json(doc["measurements"]["encode"]["tables"][0])
    rows = {row.label: row for row in gpt2.rows}
    enc = doc["measurements"]["encode"]["result"]
    # JSON: time ÷ tiktoken's time, from the per-round times (one round in the tiny plan).
    warm = enc["tokprep warm"]["times"][0] / enc["tiktoken"]["times"][0]
    assert rows["tokprep warm"].ratio == pytest.approx(warm)
    assert rows["tiktoken"].ratio == 1.0
    # The faster contender has the smaller ratio and the larger throughput.
    for a, b in [("tokprep warm", "tokprep cold"), ("tiktoken", "mine")]:
        assert (rows[a].ratio < rows[b].ratio) == (rows[a].rate > rows[b].rate)
    # Table: the header names the reference and the direction; the cell is the JSON number.
    assert gpt2.ratio_header() == "time ÷ tiktoken"
    line = next(line for line in out.splitlines() if line.startswith("tokprep warm "))
    assert line.split()[-1] == report.format_ratio(rows["tokprep warm"].ratio)
    assert "lower is better" in out and "x faster" not in out
    # Charts: the same number, named as a time ratio.
    label = report.bar_label(rows["tokprep warm"], gpt2)
    assert label == f"tokprep warm ({report.format_ratio(warm)} x tiktoken's time)"
    assert report.bar_label(rows["tiktoken"], gpt2) == "tiktoken (reference)"


def test_every_table_has_a_reference_row_at_ratio_1(tiny_run):
    doc = load(tiny_run[3])
    for entry in doc["measurements"].values():
        for table in map(records.Table.from_json, entry.get("tables", [])):
            if table.rows and table.reference and not table.key.startswith("adversarial"):
                reference = [r for r in table.rows if r.label == table.reference]
                assert reference and reference[0].ratio == pytest.approx(1.0), table.key


SLOW = """
import time


def tokenizer(text):
    time.sleep(0.05 * len(text) / 256)  # 12.8 s for the 64 kB case
    return [0] * len(text)
"""


def test_adversarial_cap_reports_a_blow_up_without_stalling(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text(SLOW, encoding="utf-8")
    slow = adversarial.Contender("slow", "spec", f"{path}:tokenizer")
    fast = adversarial.Contender("tiktoken", "spec", "gpt2")
    start = time.perf_counter()
    result = adversarial.run(
        [slow, fast], kinds=("a", "space"), sizes=(256, 65_536, 131_072), cap_s=1.0
    )
    assert time.perf_counter() - start < 20  # two caps, not 2 x 38 s of sleeping
    cases = result["cases"]
    for kind in ("a", "space"):
        assert cases["slow"][kind][256]["seconds"] > 0
        assert cases["slow"][kind][65_536] == {"capped": "time"}
        assert "not_run" in cases["slow"][kind][131_072]
        assert cases["tiktoken"][kind][131_072]["seconds"] > 0
    time_table = adversarial.tables(result)[0]
    row = next(r for r in time_table.rows if r.label.startswith("a | slow"))
    assert row.cells["65,536 B"] == "> 1 s cap" and row.cells["131,072 B"] == "not run"
    assert "> 1 s cap" in "\n".join(report.table_lines(time_table))


HOG = """
def tokenizer(text):
    hog = bytearray(400_000_000)  # 400 MB, touched so that it is resident
    hog[::4096] = b"x" * len(range(0, len(hog), 4096))
    return [0] * len(text)
"""


def test_adversarial_memory_cap_stops_a_hog(tmp_path):
    path = tmp_path / "hog.py"
    path.write_text(HOG, encoding="utf-8")
    hog = adversarial.Contender("hog", "spec", f"{path}:tokenizer")
    result = adversarial.run([hog], kinds=("a",), sizes=(256, 1_024), cap_s=30, cap_mb=200)
    assert result["cases"]["hog"]["a"][256] == {"capped": "memory"}
    assert "not_run" in result["cases"]["hog"]["a"][1_024]
    row = adversarial.tables(result)[1].rows[0]
    assert row.cells["256 B"] == "> 200 MB cap"


def test_bench_command_takes_a_cap_and_a_trainer(tmp_path):
    trainer = f"cs336={ROOT / 'examples' / 'trainers' / 'cs336_style.py'}:train_bpe"
    folder = tmp_path / "out"
    code, out, err = run_main(
        [
            "bench",
            "--plan",
            "tiny",
            "--only",
            "train",
            "--trainer",
            trainer,
            "--out",
            str(folder),
            "--cap",
            "2",
            "--json",
        ]
    )
    assert code == 0, err
    doc = json.loads(out)  # --json: the results document on standard output
    assert doc["schema_version"] == records.SCHEMA_VERSION
    table = records.Table.from_json(doc["measurements"]["train"]["tables"][0])
    labels = [row.label for row in table.rows]
    assert "cs336" in labels and "huggingface" in labels and table.reference == "huggingface"
    assert doc["run"]["command"].endswith(f"--trainer {trainer} --cap 2")


@pytest.mark.parametrize(
    "argv", [["--tokenizer", "nope-not-a-spec"], ["--trainer", "nope:x"], ["--cap", "0"]]
)
def test_bad_tokenizer_trainer_or_cap_is_refused_first(tmp_path, argv):
    folder = tmp_path / "out"
    code, _, err = run_main(["bench", "--plan", "tiny", "--out", str(folder), *argv])
    assert code == 1 and err.startswith("tokprep bench: error:")
    assert not (folder / "results.json").exists()
