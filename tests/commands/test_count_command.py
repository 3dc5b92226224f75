"""`tokprep count`: tokens per file and per tokenizer, streamed, equal to encoding whole."""

from __future__ import annotations

import io
import json
import sys

import pytest

from conftest import corpus, corpus_path
from tokprep import load_tokenizer
from tokprep.cli import main
from tokprep.commands.count import TokenCounter, count_tokens, format_counts


def _whole(spec: str, text: str) -> int:
    return len(load_tokenizer(spec).encode_ordinary(text))


@pytest.mark.parametrize("spec", ["gpt2", "cl100k_base", "o200k_base"])
def test_streamed_counts_equal_encoding_the_whole_file(spec):
    # Blocks of 997 bytes cut words, lines and UTF-8 characters; the safe cuts keep the count.
    paths = [str(corpus_path("the-verdict")), str(corpus_path("japanese-notes"))]
    document = count_tokens(paths, {spec: load_tokenizer(spec)}, block=997)
    counts = [row["tokens"][spec] for row in document["files"]]
    assert counts == [_whole(spec, corpus("the-verdict")), _whole(spec, corpus("japanese-notes"))]
    assert document["total"]["tokens"][spec] == sum(counts)
    assert document["total"]["bytes"] == sum(
        corpus_path(p).stat().st_size for p in ("the-verdict", "japanese-notes")
    )


def test_a_tokenizer_without_verified_cuts_counts_each_document_whole():
    tokenizer = load_tokenizer("words-v2")
    counter = TokenCounter(tokenizer)
    text = corpus("the-verdict")[:3000]
    for start in range(0, len(text), 101):
        counter.feed(text[start : start + 101])
    assert counter.end_document() == len(tokenizer.encode_ordinary(text))
    assert counter.end_document() == 0  # the next document starts empty


def test_the_command_with_several_tokenizers_jsonl_and_stdin(tmp_path, monkeypatch, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("Hello world, hello world", encoding="utf-8")
    lines = tmp_path / "docs.jsonl"
    lines.write_text('{"text": "Hello world"}\n\n{"text": "one more"}\n', encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from a pipe")))
    argv = ["count", str(notes), str(lines), "-", "--tokenizer", "gpt2"]
    assert main([*argv, "--tokenizer", "o=o200k_base", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kind"] == "count" and document["tokenizers"] == ["gpt2", "o"]
    rows = {row["file"]: row for row in document["files"]}
    assert rows[str(lines)]["documents"] == 2
    for label, spec in (("gpt2", "gpt2"), ("o", "o200k_base")):
        assert rows[str(notes)]["tokens"][label] == _whole(spec, "Hello world, hello world")
        expected = _whole(spec, "Hello world") + _whole(spec, "one more")
        assert rows[str(lines)]["tokens"][label] == expected
        assert rows["-"]["tokens"][label] == _whole(spec, "from a pipe")
        assert document["total"]["tokens"][label] == sum(
            row["tokens"][label] for row in document["files"]
        )
    table = format_counts(document).splitlines()
    assert table[0].split() == ["file", "bytes", "gpt2", "o"]
    assert table[-1].split()[0] == "total" and len(table) == 5


def test_registry_names_count_with_tiktoken_itself():
    from tokprep.cli import build_parser
    from tokprep.commands.count import _tokenizers

    args = build_parser().parse_args(
        ["count", "x", "--tokenizer", "o200k_base", "--tokenizer", "mine=tokprep:gpt2"]
    )
    tokenizers = _tokenizers(args)
    assert type(tokenizers["o200k_base"]).__module__.startswith("tiktoken")
    assert type(tokenizers["mine"]).__name__ == "BPETokenizer"


def test_count_refuses_repeated_labels_and_stdin_twice(tmp_path, capsys):
    path = tmp_path / "a.txt"
    path.write_text("a", encoding="utf-8")
    assert main(["count", str(path), "--tokenizer", "gpt2", "--tokenizer", "gpt2"]) == 1
    assert "given twice" in capsys.readouterr().err
    assert main(["count", "-", "-"]) == 1
    assert "standard input (-) can be counted once" in capsys.readouterr().err


def test_the_docstring_examples_hold():
    import doctest

    import tokprep.commands.count
    import tokprep.commands.options
    import tokprep.optional

    for module in (tokprep.commands.count, tokprep.commands.options, tokprep.optional):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__
