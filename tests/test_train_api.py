"""The training API without traps (issue 13): text is text, files go through `files=`, and
`tokprep train` reads the inputs `prepare` reads (text files, JSONL with a field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import corpus
from tokprep.bpe import BPETokenizer
from tokprep.bpe.train import train_bpe
from tokprep.cli import main
from tokprep.errors import DatasetFormatError, TextInputError
from tokprep.sources import documents, open_sources


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(corpus("the-verdict")[:6000], encoding="utf-8")
    return path


def test_a_path_as_text_raises_type_error_naming_files(corpus_file):
    with pytest.raises(TypeError, match=r"files='.*corpus\.txt'"):
        BPETokenizer.train(corpus_file, 300)
    with pytest.raises(TypeError, match=r"text\[0\] is the path .*files=\[\.\.\.\]"):
        BPETokenizer.train([corpus_file], 300)
    with pytest.raises(TypeError, match="first argument is the text"):
        BPETokenizer.train(b"bytes", 300)
    with pytest.raises(TypeError, match="needs the text, or files="):
        BPETokenizer.train(vocab_size=300)


def test_a_list_of_str_is_text_never_file_names(corpus_file, monkeypatch):
    # The README's old example trained on the string "corpus.txt" itself: it still does, as
    # documented, and never looks at the current directory.
    monkeypatch.chdir(corpus_file.parent)
    trained = BPETokenizer.train(["corpus.txt"] * 3, 260)
    assert all(left + right in b"corpus.txt" for left, right in trained.merges)


def test_files_accepts_a_str_a_path_or_a_list(corpus_file):
    text = corpus_file.read_text(encoding="utf-8")
    expected = BPETokenizer.train(text, 400).mergeable_ranks
    assert BPETokenizer.train(files=str(corpus_file), vocab_size=400).mergeable_ranks == expected
    assert BPETokenizer.train(files=corpus_file, vocab_size=400).mergeable_ranks == expected
    assert BPETokenizer.train(files=[corpus_file], vocab_size=400).mergeable_ranks == expected
    both = BPETokenizer.train("extra words", 400, files=[corpus_file])
    assert both.mergeable_ranks == BPETokenizer.train(["extra words", text], 400).mergeable_ranks
    with pytest.raises(TypeError, match=r"files\[1\] must be a str or os.PathLike"):
        BPETokenizer.train(files=[corpus_file, 3], vocab_size=400)
    with pytest.raises(FileNotFoundError):
        BPETokenizer.train(files=[corpus_file, corpus_file.parent / "missing.txt"], vocab_size=400)


def test_jsonl_files_are_documents_in_a_field(tmp_path):
    docs = [corpus("the-verdict")[:3000], corpus("japanese-notes")[:1000], "short one"]
    jsonl = tmp_path / "c.jsonl"
    lines = [json.dumps({"text": d, "id": i}) for i, d in enumerate(docs)]
    jsonl.write_text("\n".join(lines[:2]) + "\n\n" + lines[2] + "\n", encoding="utf-8")
    expected = train_bpe(docs, 400)
    assert train_bpe(None, 400, files=jsonl) == expected
    other = tmp_path / "c.data"
    other.write_text("\n".join(json.dumps({"body": d}) for d in docs), encoding="utf-8")
    assert train_bpe(None, 400, files=other, jsonl_field="body") == expected
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(lines[0].encode() + b"\n{not json}\n")
    with pytest.raises(
        DatasetFormatError, match=r"bad.jsonl, line 2 \(byte offset \d+\): not valid"
    ):
        train_bpe(None, 300, files=bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b'{"text": "ok"}\n{"text": "\xff"}\n')
    with pytest.raises(TextInputError, match=r"broken.jsonl, line 2: invalid UTF-8 at byte offset"):
        train_bpe(None, 300, files=broken)


def test_sources_read_documents_in_order(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("first document", encoding="utf-8")
    b = tmp_path / "b.jsonl"
    b.write_text('{"text": "x"}\n{"text": "y"}\n', encoding="utf-8")
    found = [
        (label, "".join(blocks)) for s in open_sources([a, b]) for label, blocks in documents(s)
    ]
    assert found == [(str(a), "first document"), (f"{b}, line 1", "x"), (f"{b}, line 2", "y")]


def test_sources_blocks_are_bounded_and_an_empty_jsonl_file_is_refused_by_train_too(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("é" * 5 + "xyz", encoding="utf-8")  # 13 bytes, 8 characters
    b = tmp_path / "b.jsonl"
    b.write_text('{"text": "abcdefg"}\n{"text": ""}\n', encoding="utf-8")
    blocks = [list(parts) for s in open_sources([a, b]) for _, parts in documents(s, block=3)]
    # a text file: reads of 3 bytes, a character split by a read carried into the next block;
    # a JSONL text: slices of 3 characters; an empty text: no block.
    assert blocks == [["é", "éé", "é", "éxy", "z"], ["abc", "def", "g"], []]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(TextInputError, match=r"empty\.jsonl: a JSONL file with no documents"):
        train_bpe(None, 300, files=[a, empty])


def test_train_command_reads_jsonl_takes_tie_break_and_says_every_file(tmp_path, capsys):
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps({"text": corpus("the-verdict")[i : i + 500]}) for i in range(0, 5000, 500)
        ),
        encoding="utf-8",
    )
    out, hf = tmp_path / "tok.json", tmp_path / "hf.json"
    argv = ["train", str(jsonl), "--vocab-size", "300", "-o", str(out), "--export-hf", str(hf)]
    assert main([*argv, "--tie-break", "lexicographic", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and f"wrote {hf}" in printed
    texts = [json.loads(line)["text"] for line in jsonl.read_text(encoding="utf-8").splitlines()]
    expected = train_bpe(texts, 300, tie_break="lexicographic")
    assert dict(BPETokenizer.load(out).mergeable_ranks) == expected.ranks
    assert f"on {sum(len(t.encode()) for t in texts):,} bytes" in printed
    with pytest.raises(SystemExit):
        main([*argv, "--tie-break", "smallest"])
