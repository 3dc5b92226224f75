"""Scale-out (#15): the same bytes from every engine, shards, task parts + merge, resume, inputs.

The corpus spans several partitions (JSONL byte ranges) and several shards, so the tests reach
every seam: the plan, the executors, the parts and the shard writer.
"""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import json
import lzma
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import corpus
from tokprep.bpe import tiktoken_gpt2
from tokprep.bpe.counting import TasksPending
from tokprep.bpe.train import count_words, train_bpe
from tokprep.cli import main
from tokprep.dataloading import load_tokens, merge, prepare
from tokprep.dataloading import parts as parts_module
from tokprep.errors import ArgumentValueError, DatasetFormatError, TextInputError
from tokprep.executors import Executor, get_executor, rank_from_environment

ENC = tiktoken_gpt2()
EOT = 50256
# Small numbers, so a ~250 KB corpus makes 8 partitions and 7 shards.
OPTIONS = {"shard_tokens": 10_000, "partition_bytes": 32_000, "val_fraction": 0.1}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """A JSONL file of Shakespeare's paragraphs, and a text file (one document)."""
    folder = tmp_path_factory.mktemp("corpus")
    paragraphs = corpus("tinyshakespeare").split("\n\n")[:1500]
    with (folder / "plays.jsonl").open("w", encoding="utf-8") as f:
        for paragraph in paragraphs:
            f.write(json.dumps({"text": paragraph}) + "\n")
    (folder / "story.txt").write_text(corpus("the-verdict"), encoding="utf-8")
    return folder


def inputs(folder: Path) -> list[Path]:
    return [folder / "plays.jsonl", folder / "story.txt"]


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def run_tasks(corpus_dir: Path, out: Path, world_size: int, **options) -> None:
    for rank in range(world_size):
        result = prepare(
            inputs(corpus_dir), out, engine="tasks", rank=rank, world_size=world_size, **options
        )
        assert result.train is None and result.partitions_run  # parts only
    merge(out)


def expected_stream(corpus_dir: Path) -> list[int]:
    """The corpus's tokens as tiktoken gives them, an EOT before every document."""
    tokens: list[int] = []
    for line in (corpus_dir / "plays.jsonl").read_text(encoding="utf-8").splitlines():
        tokens += [EOT, *ENC.encode_ordinary(json.loads(line)["text"])]
    return [*tokens, EOT, *ENC.encode_ordinary(corpus("the-verdict"))]


def test_shards_are_byte_identical_for_every_local_engine(corpus_dir, tmp_path):
    outputs = {}
    for name, options in {
        "one": {"workers": 1},
        "pool": {"workers": 2, "chunk_bytes": 3000},
        "tasks": {"world_size": 3, "chunk_bytes": 7000},
    }.items():
        folder = tmp_path / name
        folder.mkdir()
        if name == "tasks":
            run_tasks(corpus_dir, folder / "fw", options["world_size"], **OPTIONS)
        else:
            prepare(inputs(corpus_dir), folder / "fw", **options, **OPTIONS)
        outputs[name] = files_in(folder)
    assert outputs["one"] == outputs["pool"] == outputs["tasks"]
    names = sorted(outputs["one"])
    assert names[0] == "fw.json" and "fw_val_000000.bin" in names
    train_shards = [n for n in names if n.startswith("fw_train_")]
    assert len(train_shards) >= 5  # the corpus spans several shards
    assert not (tmp_path / "tasks" / "fw.parts").exists()  # merged, then removed

    # The shards hold the stream, split by documents, cut every 10,000 tokens.
    manifest = json.loads(outputs["one"]["fw.json"])
    train = load_tokens(tmp_path / "one" / "fw.json", verify=True)
    val = load_tokens(tmp_path / "one" / "fw.json", split="val")
    assert len(train) + len(val) == len(expected_stream(corpus_dir))
    assert sorted(np.concatenate([train, val]).tolist()) == sorted(expected_stream(corpus_dir))
    shards = manifest["splits"]["train"]["shards"]
    assert [s["tokens"] for s in shards[:-1]] == [10_000] * (len(shards) - 1)
    assert sum(s["documents"] for s in shards) == manifest["splits"]["train"]["documents"]
    # Nothing about the run, and no absolute path, is recorded.
    text = outputs["one"]["fw.json"].decode()
    assert str(tmp_path) not in text and str(corpus_dir) not in text
    for word in ("engine", "workers", "host", "time", "seconds"):
        assert f'"{word}"' not in text


def test_unsharded_output_from_tasks_equals_local(corpus_dir, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    options = {"partition_bytes": 50_000, "val_fraction": 0.2}
    local = prepare(inputs(corpus_dir), tmp_path / "a" / "train.bin", **options)
    run_tasks(corpus_dir, tmp_path / "b" / "train.bin", 2, **options)
    assert sorted(files_in(tmp_path / "a")) == [
        "train.bin",
        "train.bin.json",
        "train.val.bin",
        "train.val.bin.json",
    ]
    assert files_in(tmp_path / "a") == files_in(tmp_path / "b")
    tokens = np.concatenate([load_tokens(tmp_path / "a" / "train.bin"), []])
    assert local.train["tokens"] == len(tokens)


def test_a_killed_tasks_run_reruns_only_the_missing_partitions(corpus_dir, tmp_path, monkeypatch):
    out = tmp_path / "fw"
    run = {"engine": "tasks", "world_size": 3, **OPTIONS}
    prepare(inputs(corpus_dir), out, rank=0, **run)
    prepare(inputs(corpus_dir), out, rank=2, **run)
    with pytest.raises(
        ArgumentValueError, match=r"3 of 9 partitions have no complete part yet \(1, 4, 7\)"
    ):
        merge(out)

    # Rank 1 dies after its first partition: that part is complete, the next one never began.
    real_write_part = parts_module.write_part
    calls = []

    def dies_on_second(folder, partition, pieces, itemsize):
        calls.append(partition.index)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_write_part(folder, partition, pieces, itemsize)

    prepare_module = sys.modules["tokprep.dataloading.prepare"]
    monkeypatch.setattr(prepare_module, "write_part", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        prepare(inputs(corpus_dir), out, rank=1, **run)
    monkeypatch.undo()
    assert not list((tmp_path / "fw.parts").glob("part-000004*"))  # nothing half-written

    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "fw.parts").iterdir()}
    again = prepare(inputs(corpus_dir), out, rank=1, **run)
    assert again.partitions_run == (4, 7) and again.partitions_skipped == (1,)
    assert prepare(inputs(corpus_dir), out, rank=0, **run).partitions_run == ()
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "fw.parts").iterdir()}
    assert all(after[name] == mtime for name, mtime in before.items() if "plan" not in name)
    merge(out)

    (tmp_path / "local").mkdir()
    prepare(inputs(corpus_dir), tmp_path / "local" / "fw", **OPTIONS)
    assert files_in(tmp_path / "local") == {
        k: v for k, v in files_in(tmp_path).items() if k.startswith("fw")
    }


def test_parts_of_another_run_are_refused(corpus_dir, tmp_path):
    run = {"engine": "tasks", "world_size": 2, "partition_bytes": 32_000}
    prepare(inputs(corpus_dir), tmp_path / "fw", rank=0, shard_tokens=10_000, **run)
    with pytest.raises(
        ArgumentValueError, match=r"fw.parts holds parts of another run .*shard_tokens"
    ):
        prepare(inputs(corpus_dir), tmp_path / "fw", rank=1, shard_tokens=20_000, **run)


def test_val_tokens_takes_the_first_tokens(corpus_dir, tmp_path):
    story = corpus_dir / "story.txt"
    stream = [EOT, *ENC.encode_ordinary(corpus("the-verdict"))]
    result = prepare([story], tmp_path / "s.bin", val_tokens=1000)
    assert result.val["tokens"] == 1000 and result.val["documents"] == 1
    assert load_tokens(tmp_path / "s.val.bin").tolist() == stream[:1000]
    assert load_tokens(tmp_path / "s.bin").tolist() == stream[1000:]
    with pytest.raises(ArgumentValueError, match=r"give one: val_fraction .* or val_tokens"):
        prepare([story], tmp_path / "x.bin", val_tokens=10, val_fraction=0.1)
    with pytest.raises(ArgumentValueError, match=r"val_tokens=100,000 needs more tokens"):
        prepare([story], tmp_path / "x.bin", val_tokens=100_000)
    assert not (tmp_path / "x.bin").exists()


def test_compressed_parquet_folders_globs_and_stdin_read_the_same(corpus_dir, tmp_path):
    data = (corpus_dir / "plays.jsonl").read_bytes()[:40_000]
    data = data[: data.rindex(b"\n") + 1]
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jsonl").write_bytes(data)
    (folder / "sub" / "b.jsonl.gz").write_bytes(gzip.compress(data))
    (folder / "sub" / "c.jsonl.bz2").write_bytes(bz2.compress(data))
    (folder / "sub" / "d.jsonl.xz").write_bytes(lzma.compress(data))
    (folder / ".hidden.jsonl").write_bytes(b"not json\n")  # left out of a folder
    texts = [json.loads(line)["text"] for line in data.decode().splitlines()]
    names = ["a.jsonl", "b.jsonl.gz", "c.jsonl.bz2", "d.jsonl.xz"]
    if importlib.util.find_spec("zstandard"):
        import zstandard

        (folder / "sub" / "e.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
        names.append("e.jsonl.zst")
    if importlib.util.find_spec("pyarrow"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"text": texts}), folder / "sub" / "f.parquet")
        names.append("f.parquet")
    result = prepare([folder], tmp_path / "all.bin")
    assert [s["path"].split("/")[-1] for s in result.train["sources"]] == names
    one = [EOT, *ENC.encode_ordinary(texts[0])]
    tokens = load_tokens(tmp_path / "all.bin").tolist()
    per_file = len(tokens) // len(names)
    assert tokens == tokens[:per_file] * len(names) and tokens[: len(one)] == one
    globbed = prepare([str(folder / "sub" / "*.jsonl.*")], tmp_path / "glob.bin")
    assert globbed.train["tokens"] == per_file * len([n for n in names if ".jsonl." in n])

    (folder / "cut.jsonl.gz").write_bytes(gzip.compress(data)[:5000])
    with pytest.raises(TextInputError, match=r"cut.jsonl.gz: not a valid .gz file, or truncated"):
        prepare([folder / "cut.jsonl.gz"], tmp_path / "cut.bin")
    assert not (tmp_path / "cut.bin").exists()

    command = [sys.executable, "-m", "tokprep", "prepare", "-", "-o", str(tmp_path / "in.bin")]
    done = subprocess.run(command, input=corpus("the-verdict").encode(), capture_output=True)
    assert done.returncode == 0, done.stderr
    assert load_tokens(tmp_path / "in.bin").tolist() == [
        EOT,
        *ENC.encode_ordinary(corpus("the-verdict")),
    ]


def test_a_missing_extra_is_named(tmp_path, monkeypatch):
    (tmp_path / "a.jsonl.zst").write_bytes(b"")
    (tmp_path / "b.parquet").write_bytes(b"")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("zstandard", "pyarrow") else real(name, *a),
    )
    with pytest.raises(ImportError, match=r"pip install 'tokprep\[zstd\]'"):
        prepare([tmp_path / "a.jsonl.zst"], tmp_path / "o.bin")
    with pytest.raises(ImportError, match=r"pip install 'tokprep\[parquet\]'"):
        prepare([tmp_path / "b.parquet"], tmp_path / "o.bin")
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ArgumentValueError, match=r"pip install 'tokprep\[ray\]'"):
        list(get_executor("ray").map(abs, [1]))


def test_executor_choice_and_slurm_environment(monkeypatch):
    for engine in ("local", "ray"):
        assert isinstance(get_executor(engine), Executor)
    assert isinstance(get_executor("tasks", rank=0, world_size=1), Executor)
    assert rank_from_environment({}) is None
    slurm = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "3"}
    assert rank_from_environment(slurm) == (2, 4)
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    executor = get_executor("tasks", workers=1)
    assert (executor.rank, executor.world_size) == (2, 4)
    assert list(executor.map(abs, range(-10, 0))) == [8, 4]  # tasks 2 and 6
    with pytest.raises(ArgumentValueError, match="rank=4 is not below world_size=4"):
        get_executor("tasks", rank=4, world_size=4)
    with pytest.raises(ArgumentValueError, match="engine='spark' is not one of"):
        get_executor("spark")
    with pytest.raises(ArgumentValueError, match="rank/world_size are for engine='tasks'"):
        get_executor("local", rank=0)


def test_cli_tasks_merge_verify_and_inspect(corpus_dir, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "fw")
    # The ranks name the output relative to their folder; the merge runs elsewhere.
    args = ["prepare", *map(str, inputs(corpus_dir)), "-o", "fw", "--shard-tokens", "20000"]
    args += ["--val-tokens", "5000", "--engine", "tasks", "--no-progress"]
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "2")
    monkeypatch.chdir(tmp_path)
    for task in ("1", "0"):
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", task)
        assert main(args) == 0
    assert "tokprep merge" in capsys.readouterr().out
    monkeypatch.chdir(corpus_dir)
    assert main(["merge", out, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["assembled"] is True
    assert main(["merge", out]) == 0
    assert "verified" in capsys.readouterr().out
    shard = tmp_path / "fw_train_000000.bin"
    assert main(["inspect", str(shard), "--json", "--tokens", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tokens"] == 20_000
    first = int(np.flatnonzero(load_tokens(shard) == EOT)[0])  # val took the first tokens
    assert report["document"]["ids"] == load_tokens(shard)[first + 1 : first + 6].tolist()
    assert main(["inspect", out + ".json", "--json", "--verify"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["verified"] and shown["manifest"]["splits"]["val"]["tokens"] == 5000
    data = bytearray(shard.read_bytes())
    data[-1] ^= 1
    shard.write_bytes(bytes(data))
    assert main(["merge", out]) == 1
    assert "sha256 differs" in capsys.readouterr().err
    with pytest.raises(DatasetFormatError, match="sha256 differs"):
        load_tokens(tmp_path / "fw.json", verify=True)


def test_an_input_named_like_a_shard_is_refused(tmp_path):
    (tmp_path / "fw_train_000000.bin").write_text("some text", encoding="utf-8")
    with pytest.raises(ArgumentValueError, match="has the name of one of the shards"):
        prepare([tmp_path / "fw_train_000000.bin"], tmp_path / "fw", shard_tokens=5)
    assert (tmp_path / "fw_train_000000.bin").read_text(encoding="utf-8") == "some text"


# --- training ------------------------------------------------------------------------------


@pytest.mark.parametrize("tie_break", ["first-seen", "hf"])
def test_training_counts_and_merges_are_identical_on_every_local_engine(
    corpus_dir, tmp_path, monkeypatch, tie_break
):
    monkeypatch.setattr("tokprep.bpe.train.PARALLEL_THRESHOLD", 100_000)
    files = inputs(corpus_dir)
    counts_one = count_words(list(map(str, files)), processes=1)
    counts_pool = count_words(list(map(str, files)), processes=2)
    assert list(counts_one[0].items()) == list(counts_pool[0].items())  # order too

    one = train_bpe(None, 400, files=files, tie_break=tie_break, processes=1)
    pool = train_bpe(None, 400, files=files, tie_break=tie_break, processes=2)
    run = {"engine": "tasks", "world_size": 3, "counts_folder": tmp_path / "counts"}
    for rank in (2, 0):
        with pytest.raises(TasksPending, match="have not finished yet"):
            train_bpe(None, 400, files=files, tie_break=tie_break, processes=1, rank=rank, **run)
    tasks = train_bpe(None, 400, files=files, tie_break=tie_break, processes=1, rank=1, **run)
    assert one.merges == pool.merges == tasks.merges
    assert one.merge_log == tasks.merge_log


def test_train_cli_with_tasks(corpus_dir, tmp_path, capsys):
    out = tmp_path / "tok.json"
    base = ["train", *map(str, inputs(corpus_dir)), "--vocab-size", "300", "--no-progress"]
    assert main([*base, "-o", str(tmp_path / "one.json"), "--workers", "1"]) == 0
    for rank in ("0", "1"):
        args = [*base, "-o", str(out), "--engine", "tasks", "--rank", rank, "--world-size", "2"]
        assert main(args) == 0
    assert "have not finished yet" in capsys.readouterr().out
    one = json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert one["ranks"] == tasks["ranks"] if "ranks" in one else one == tasks


# --- Ray ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module's Ray tests (it takes seconds to start)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_gives_the_same_shards_and_merges(corpus_dir, tmp_path, local_ray, monkeypatch):
    (tmp_path / "ray").mkdir()
    (tmp_path / "local").mkdir()
    prepare(inputs(corpus_dir), tmp_path / "ray" / "fw", engine="ray", workers=2, **OPTIONS)
    prepare(inputs(corpus_dir), tmp_path / "local" / "fw", **OPTIONS)
    assert files_in(tmp_path / "ray") == files_in(tmp_path / "local")
    assert len(files_in(tmp_path / "ray")) >= 6

    monkeypatch.setattr("tokprep.bpe.train.PARALLEL_THRESHOLD", 100_000)
    files = inputs(corpus_dir)
    one = train_bpe(None, 400, files=files, tie_break="first-seen", processes=1)
    ray = train_bpe(None, 400, files=files, tie_break="first-seen", processes=2, engine="ray")
    assert one.merges == ray.merges


def test_datasets_read_a_manifest_and_fewer_shards_replace_more(corpus_dir, tmp_path):
    from tokprep.dataloading import GPTDataset

    prepare(inputs(corpus_dir), tmp_path / "fw", shard_tokens=10_000)
    assert len(list(tmp_path.glob("fw_train_*.bin"))) >= 5
    train = load_tokens(tmp_path / "fw.json")
    dataset = GPTDataset(tmp_path / "fw.json", max_length=8, stride=8)
    shards = sorted(tmp_path.glob("fw_train_*.bin"))
    assert len(dataset) == len(GPTDataset(shards, max_length=8, stride=8)) == (len(train) - 1) // 8
    assert dataset[3][0].tolist() == train[24:32].tolist()
    # A second run with bigger shards leaves no shard of the first one behind (llm.c globs them).
    prepare(inputs(corpus_dir), tmp_path / "fw", shard_tokens=10**6)
    assert sorted(p.name for p in tmp_path.glob("fw_*.bin")) == ["fw_train_000000.bin"]
    assert load_tokens(tmp_path / "fw.json").tolist() == train.tolist()


def test_parquet_row_groups_are_partitions(corpus_dir, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    lines = (corpus_dir / "plays.jsonl").read_text(encoding="utf-8").splitlines()[:600]
    texts = [json.loads(line)["text"] for line in lines]
    pq.write_table(pa.table({"text": texts}), tmp_path / "plays.parquet", row_group_size=100)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    options = {"shard_tokens": 5000, "val_fraction": 0.1}
    prepare([tmp_path / "plays.parquet"], tmp_path / "a" / "p", **options)
    for rank in range(3):
        ran = prepare(
            [tmp_path / "plays.parquet"],
            tmp_path / "b" / "p",
            engine="tasks",
            rank=rank,
            world_size=3,
            **options,
        ).partitions_run
        assert ran == (rank, rank + 3)  # six row groups, six partitions
    merge(tmp_path / "b" / "p")
    assert files_in(tmp_path / "a") == files_in(tmp_path / "b")
    stream = [t for text in texts for t in (EOT, *ENC.encode_ordinary(text))]
    train = load_tokens(tmp_path / "a" / "p.json").tolist()
    val = load_tokens(tmp_path / "a" / "p.json", split="val").tolist()
    assert sorted(train + val) == sorted(stream)


KILLED_RANK = """
import os, signal, sys
from tokprep.dataloading import parts, prepare

module = sys.modules["tokprep.dataloading.prepare"]  # the package's `prepare` is the function

real = parts.write_part
calls = []

def write_part(folder, partition, pieces, itemsize):
    calls.append(partition.index)

    def dying():
        for number, piece in enumerate(pieces):
            if len(calls) == 3 and number == 5:  # the third part, half written: kill -9
                os.kill(os.getpid(), signal.SIGKILL)
            yield piece

    return real(folder, partition, dying(), itemsize)

module.write_part = write_part
files, out = sys.argv[1:3], sys.argv[3]
prepare(files, out, engine="tasks", rank=0, world_size=1, shard_tokens=10_000,
        partition_bytes=32_000, val_fraction=0.1)
"""


def test_a_rank_killed_with_sigkill_resumes_where_it_stopped(corpus_dir, tmp_path):
    files = list(map(str, inputs(corpus_dir)))
    out = tmp_path / "fw"
    command = [sys.executable, "-c", KILLED_RANK, *files, str(out)]
    done = subprocess.run(command, capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr
    folder = tmp_path / "fw.parts"
    complete = sorted(p.name for p in folder.glob("part-*.json"))
    assert complete == ["part-000000.json", "part-000001.json"]  # the third died half-way
    assert list(folder.glob(".part-000002*.tmp"))  # its temporary file, left by the kill
    again = prepare(files, out, engine="tasks", rank=0, world_size=1, **OPTIONS)
    assert again.partitions_skipped == (0, 1) and again.partitions_run == tuple(range(2, 9))
    assert not list(folder.glob("*.tmp"))  # a dead process's temporary files are removed
    merge(out)
    (tmp_path / "local").mkdir()
    prepare(inputs(corpus_dir), tmp_path / "local" / "fw", **OPTIONS)
    assert files_in(tmp_path / "local") == {
        k: v for k, v in files_in(tmp_path).items() if k.startswith("fw")
    }
