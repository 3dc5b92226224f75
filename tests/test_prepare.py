"""`prepare`, token files and `load_tokens`: streaming that never changes a token, llm.c's
format, manifests, atomic writes and the errors that name the file."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, corpus, corpus_path
from tokprep.bpe import tiktoken_gpt2
from tokprep.bpe.patterns import (
    CL100K_PATTERN,
    GPT2_ORIGINAL_PATTERN,
    GPT2_PATTERN,
    O200K_PATTERN,
)
from tokprep.bpe.pretokenize import last_safe_cut, safe_cut_regex
from tokprep.cli import main
from tokprep.dataloading import load_tokens, prepare, read_header, read_manifest, safe_chunks
from tokprep.dataloading.prepare import is_validation_document
from tokprep.dataloading.tokfile import HEADER_BYTES, file_sha256
from tokprep.errors import ArgumentValueError, DatasetFormatError, TextInputError
from tokprep.resolve import tokenizer_identity
from tokprep.testing.strategies import whitespace_text

EOT = 50256
ENC = tiktoken_gpt2()

# Characters that matter to the patterns (every kind of whitespace, letters, digits,
# punctuation, "/", a combining mark, CJK): the kit's strategy (tokprep.testing.strategies).
texts = whitespace_text(max_size=80)


WHITE_SPACE = regex.compile(r"\s")  # Unicode White_Space, what the patterns' \s means


def safe_cut_positions(text: str, *, newline: bool = True) -> list[int]:
    """Every cut the rule allows: before " " in "X Y" and (with `newline`) after "X\\n" in
    "X\\nY", X and Y non-whitespace. Written independently of tokprep's cut regexes."""
    cuts = []
    for i in range(1, len(text) - 1):
        if not WHITE_SPACE.match(text[i - 1]) and not WHITE_SPACE.match(text[i + 1]):
            if text[i] == " ":
                cuts.append(i)
            elif text[i] == "\n" and newline:
                cuts.append(i + 1)
    return cuts


def cut_everywhere_safe(text: str, *, newline: bool = True) -> list[str]:
    bounds = [0, *safe_cut_positions(text, newline=newline), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def reference(documents: list[str]) -> list[int]:
    """Every document encoded whole as ordinary text, each preceded by the end-of-text ID."""
    return [t for doc in documents for t in [EOT, *ENC.encode_ordinary(doc)]]


def blocks_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# --- the safe-cut rule, proven on the regexes ---------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "newline"),
    [
        (GPT2_PATTERN, True),
        (GPT2_ORIGINAL_PATTERN, True),
        (CL100K_PATTERN, True),
        (O200K_PATTERN, False),
    ],
)
@given(text=texts)
def test_safe_cuts_never_change_the_pieces(pattern, newline, text):
    cuts = safe_cut_regex(pattern)
    assert [m.start() for m in cuts.finditer(text)] == safe_cut_positions(text, newline=newline)
    whole = regex.findall(pattern, text)
    parts = cut_everywhere_safe(text, newline=newline)
    assert [p for part in parts for p in regex.findall(pattern, part)] == whole


def test_o200k_gets_no_newline_cut():
    # o200k's ` ?[^\s\p{L}\p{N}]+[\r\n/]*` joins "!\n/" into one piece, across that cut.
    text = "a!\n/b"
    assert cut_everywhere_safe(text) == ["a!\n", "/b"]
    whole = regex.findall(O200K_PATTERN, text)
    assert whole != [p for part in ["a!\n", "/b"] for p in regex.findall(O200K_PATTERN, part)]
    assert list(safe_cut_regex(O200K_PATTERN).finditer(text)) == []


@given(text=texts, size=st.integers(1, 30))
def test_safe_chunks_rejoin_to_the_text_and_encode_identically(text, size):
    chunks = list(safe_chunks(blocks_of(text, size), GPT2_PATTERN))
    assert "".join(chunks) == text
    ends = [len("".join(chunks[: k + 1])) for k in range(len(chunks) - 1)]
    assert set(ends) <= set(safe_cut_positions(text))
    assert last_safe_cut(text, GPT2_PATTERN) == max(safe_cut_positions(text), default=-1)
    assert [t for c in chunks for t in ENC.encode_ordinary(c)] == ENC.encode_ordinary(text)


def test_safe_chunks_cut_real_text_into_many_pieces():
    text = corpus("tinyshakespeare")
    chunks = list(safe_chunks(blocks_of(text, 4096), GPT2_PATTERN))
    assert "".join(chunks) == text
    assert len(chunks) > 250
    assert max(len(c) for c in chunks) < 4096 + 100


# --- byte-identical output, whatever the chunk size or worker count -----------------------------


@pytest.fixture(scope="module")
def story_bin(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("story") / "story.bin"
    prepare([corpus_path("the-verdict")], out, progress=False)
    return out


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 7, 64, 1000, 1 << 20])
def test_chunk_size_never_changes_the_file(tmp_path, story_bin, chunk_bytes):
    out = tmp_path / "t.bin"
    result = prepare([corpus_path("the-verdict")], out, chunk_bytes=chunk_bytes, progress=False)
    assert out.read_bytes() == story_bin.read_bytes()
    assert {**result.train, "file": "story.bin"} == read_manifest(story_bin)
    assert load_tokens(out).tolist() == reference([corpus("the-verdict")])


@pytest.mark.parametrize(
    ("name", "chunk_bytes", "workers"),
    [
        ("taylorswift", 97, 1),
        ("taylorswift", 4096, 2),
        ("japanese-notes", 5, 1),
        ("japanese-notes", 333, 2),
        ("tinyshakespeare", 65536, 2),
        ("war_and_peace", 1 << 18, 2),
    ],
)
def test_corpora_encode_exactly_as_whole_documents(tmp_path, name, chunk_bytes, workers):
    out = tmp_path / f"{name}.bin"
    result = prepare(
        [corpus_path(name)], out, chunk_bytes=chunk_bytes, workers=workers, progress=False
    )
    assert load_tokens(out).tolist() == reference([corpus(name)])
    assert result.train["chunking"] == "streamed at safe cuts"


def test_workers_and_hash_seeds_give_identical_files(tmp_path):
    # Separate processes with different PYTHONHASHSEEDs, 1 and 2 workers, a validation split.
    files = [
        str(corpus_path("taylorswift")),
        str(corpus_path("the-verdict")),
        str(corpus_path("japanese-notes")),
    ]
    outputs = []
    for workers, hash_seed in [(1, "0"), (2, "12345")]:
        out = tmp_path / f"w{workers}.bin"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        command = [
            sys.executable,
            "-m",
            "tokprep",
            "prepare",
            *files,
            "-o",
            str(out),
            "--workers",
            str(workers),
            "--chunk-bytes",
            "5000",
            "--val-fraction",
            "0.4",
            "--seed",
            "4",
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.append((out.read_bytes(), out.with_name(f"w{workers}.val.bin").read_bytes()))
    assert outputs[0] == outputs[1]


# --- round trip, documents, JSONL, special tokens -----------------------------------------------


def test_round_trip_to_the_documents(tmp_path):
    (tmp_path / "a.txt").write_text("First file.\nTwo lines.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("", encoding="utf-8")
    records = [{"text": "JSON one"}, {"text": "JSON <|endoftext|> two", "id": 2}]
    lines = "\n".join(json.dumps(r) for r in records) + "\n\n"  # a blank line is skipped
    (tmp_path / "c.jsonl").write_text(lines, encoding="utf-8")
    out = tmp_path / "out.bin"
    result = prepare(
        [tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.jsonl"],
        out,
        chunk_bytes=4,
        progress=False,
    )
    tokens = load_tokens(out).tolist()
    documents = ["First file.\nTwo lines.", "", "JSON one", "JSON <|endoftext|> two"]
    assert tokens == reference(documents)
    # The spelled special token is ordinary text: the only EOTs are the 4 separators.
    assert tokens.count(EOT) == 4 == result.train["documents"]
    decoded = ENC.decode(tokens).split("<|endoftext|>")
    assert decoded[1:] == ["First file.\nTwo lines.", "", "JSON one", "JSON ", " two"]
    assert [s["documents"] for s in result.train["sources"]] == [1, 1, 2]


def test_jsonl_field_and_errors(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text('{"body": "alpha"}\n{"body": "beta"}\n', encoding="utf-8")
    prepare([path], tmp_path / "o.bin", jsonl_field="body", progress=False)
    assert load_tokens(tmp_path / "o.bin").tolist() == reference(["alpha", "beta"])
    with pytest.raises(
        DatasetFormatError,
        match=r"docs.txt, line 1 \(byte offset 0\): no field 'text' \(found \['body'\]\)",
    ):
        prepare([path], tmp_path / "o.bin", jsonl_field="text", progress=False)
    path.write_text('{"body": "alpha"}\n{"body": \n', encoding="utf-8")
    with pytest.raises(
        DatasetFormatError, match=r"docs.txt, line 2 \(byte offset 18\): not valid JSON"
    ):
        prepare([path], tmp_path / "o.bin", jsonl_field="body", progress=False)


# --- the token file format ----------------------------------------------------------------------


def test_header_is_llm_c_format(story_bin):
    raw = story_bin.read_bytes()
    header = np.frombuffer(raw[:HEADER_BYTES], dtype="<i4")
    count = len(ENC.encode_ordinary(corpus("the-verdict"))) + 1
    assert header[:3].tolist() == [20240520, 1, count]
    assert not header[3:].any()
    assert len(raw) == HEADER_BYTES + 2 * count
    assert np.frombuffer(raw[HEADER_BYTES:], dtype="<u2")[0] == EOT


class BigVocab:
    """GPT-2's encoder claiming a 70,000-ID vocabulary, so the file needs uint32 tokens."""

    n_vocab = 70_000
    eot_token = 69_999
    pattern = GPT2_PATTERN  # it splits text like GPT-2, so prepare may stream it

    def encode_ordinary(self, text: str) -> list[int]:
        return [t + 10_000 for t in ENC.encode_ordinary(text)]

    def decode(self, tokens: list[int]) -> str:
        return ENC.decode([t - 10_000 for t in tokens])


def test_large_vocabularies_use_uint32(tmp_path):
    out = tmp_path / "big.bin"
    prepare([corpus_path("japanese-notes")], out, tokenizer=BigVocab(), progress=False)
    header = read_header(out)
    assert (header.magic, header.version, header.dtype.name) == (20240801, 7, "uint32")
    tokens = load_tokens(out)
    assert tokens[0] == 69_999 and int(tokens.max()) >= 60_000  # would wrap in uint16
    assert (tokens[1:] - 10_000).tolist() == ENC.encode_ordinary(corpus("japanese-notes"))


class Broken(BigVocab):
    n_vocab = 50_257
    eot_token = 50_256


def test_ids_are_range_checked_before_the_cast(tmp_path):
    out = tmp_path / "x.bin"
    with pytest.raises(
        ArgumentValueError, match=r"produced ID \d+, outside its vocabulary 0...50256"
    ):
        prepare([corpus_path("japanese-notes")], out, tokenizer=Broken(), progress=False)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


class NoEot:
    n_vocab = 100

    def encode_ordinary(self, text: str) -> list[int]:
        return [1]

    def decode(self, tokens: list[int]) -> str:
        return ""


def test_a_tokenizer_without_end_of_text_is_an_error(tmp_path):
    with pytest.raises(ArgumentValueError, match=r"no end-of-text token.*special_tokens"):
        prepare([corpus_path("the-verdict")], tmp_path / "x.bin", tokenizer=NoEot())


def test_workers_need_a_spec_or_a_picklable_tokenizer(tmp_path):
    class Local(BigVocab):  # a local class cannot be pickled
        pass

    with pytest.raises(ArgumentValueError, match="workers=2 needs a tokenizer each worker"):
        prepare([corpus_path("the-verdict")], tmp_path / "x.bin", tokenizer=Local(), workers=2)
    prepare(
        [corpus_path("japanese-notes")],
        tmp_path / "y.bin",
        tokenizer=BigVocab(),
        workers=2,
        progress=False,
    )
    assert read_header(tmp_path / "y.bin").dtype.name == "uint32"


# --- manifest, validation split -----------------------------------------------------------------


def test_manifest_records_file_counts_tokenizer_and_sources(story_bin):
    manifest = read_manifest(story_bin)
    assert manifest["sha256"] == file_sha256(story_bin)
    assert manifest["bytes"] == story_bin.stat().st_size
    assert manifest["tokens"] == read_header(story_bin).count
    assert manifest["documents"] == 1 and manifest["eot"] == EOT
    assert manifest["tokenizer"] == {"spec": "gpt2", **tokenizer_identity(ENC)}
    assert manifest["sources"][0]["bytes"] == corpus_path("the-verdict").stat().st_size
    assert load_tokens(story_bin, verify=True).shape == (manifest["tokens"],)


def test_validation_split_is_by_documents(tmp_path):
    lines = [json.dumps({"text": f"document number {i}."}) for i in range(200)]
    (tmp_path / "c.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = prepare(
        [tmp_path / "c.jsonl"], tmp_path / "o.bin", val_fraction=0.1, seed=1, progress=False
    )
    chosen = [i for i in range(200) if is_validation_document(i, 0.1, 1)]
    assert 5 < len(chosen) < 40
    assert result.val is not None and result.val["documents"] == len(chosen)
    assert result.train["documents"] == 200 - len(chosen)
    val = load_tokens(tmp_path / "o.val.bin", verify=True).tolist()
    train = load_tokens(tmp_path / "o.bin", verify=True).tolist()
    assert val == reference([f"document number {i}." for i in chosen])
    assert train == reference([f"document number {i}." for i in range(200) if i not in chosen])


def test_validation_split_needs_documents_on_both_sides(tmp_path):
    with pytest.raises(ArgumentValueError, match=r"val_fraction=0.5 put . of 1 documents"):
        prepare([corpus_path("the-verdict")], tmp_path / "x.bin", val_fraction=0.5)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ArgumentValueError, match=r"val_fraction must be in \[0, 1\)"):
        prepare([corpus_path("the-verdict")], tmp_path / "x.bin", val_fraction=1.0)


# --- bad input and damaged files ----------------------------------------------------------------


@pytest.mark.parametrize("chunk_bytes", [1, 3, 1 << 20])
def test_invalid_utf8_names_the_file_and_byte_offset(tmp_path, chunk_bytes):
    path = tmp_path / "bad.txt"
    path.write_bytes("héllo wörld\n".encode() * 3 + b"ok \xff end")
    with pytest.raises(TextInputError, match=r"bad.txt: invalid UTF-8 at byte offset 45 "):
        prepare([path], tmp_path / "x.bin", chunk_bytes=chunk_bytes)
    path.write_bytes("abc é".encode()[:-1])  # truncated at the very end
    with pytest.raises(TextInputError, match=r"byte offset 4 .*unexpected end of data"):
        prepare([path], tmp_path / "x.bin", chunk_bytes=chunk_bytes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]


def test_damaged_files_are_rejected(tmp_path, story_bin):
    raw = story_bin.read_bytes()
    cases = {
        "truncated": (raw[:-1], "is truncated"),
        "padded": (raw + b"\0\0", "longer than its header says"),
        "short": (raw[:100], "shorter than the 1024-byte header"),
        "magic": (b"\x01" + raw[1:], "magic number \\d+, expected 20240520"),
        "version": (raw[:4] + b"\x07" + raw[5:], "version 7 with magic 20240520"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(data)
        with pytest.raises(DatasetFormatError, match=message) as e:
            load_tokens(path)
        assert f"{name}.bin" in str(e.value)


def test_verify_detects_a_changed_token_and_a_missing_manifest(tmp_path, story_bin):
    path = tmp_path / "story.bin"
    raw = bytearray(story_bin.read_bytes())
    raw[HEADER_BYTES + 10] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetFormatError, match=r"needs the manifest story.bin.json"):
        load_tokens(path, verify=True)
    path.with_name("story.bin.json").write_bytes(story_bin.with_name("story.bin.json").read_bytes())
    assert load_tokens(path).shape[0] > 0  # the header alone cannot tell
    with pytest.raises(DatasetFormatError, match=r"sha256 is .* but the manifest says"):
        load_tokens(path, verify=True)


def test_an_error_mid_write_keeps_the_old_file(tmp_path):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old contents")

    class FailsLater(BigVocab):
        calls = 0

        def encode_ordinary(self, text: str) -> list[int]:
            FailsLater.calls += 1
            if FailsLater.calls == 5:
                raise RuntimeError("simulated crash")
            return super().encode_ordinary(text)

    with pytest.raises(RuntimeError, match="simulated crash"):
        prepare([corpus_path("the-verdict")], out, tokenizer=FailsLater(), chunk_bytes=100)
    assert out.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


@pytest.mark.slow
def test_a_killed_process_leaves_the_old_file_or_the_whole_new_one(tmp_path):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old contents")
    code = (
        "import sys; from tokprep.dataloading import prepare; "
        f"prepare([{str(corpus_path('war_and_peace'))!r}], sys.argv[1], chunk_bytes=256)"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(out)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        if process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    data = out.read_bytes()
    if data != b"old contents":  # it finished first: then the file is complete and correct
        assert load_tokens(out).tolist() == reference([corpus("war_and_peace")])
    # The killed run's temporary file (if any) is removed by the next run on the same output.
    prepare([corpus_path("the-verdict")], out, progress=False)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert load_tokens(out, verify=True).tolist() == reference([corpus("the-verdict")])


# --- the command line ---------------------------------------------------------------------------


def test_prepare_and_inspect_commands(tmp_path, capsys):
    (tmp_path / "c.jsonl").write_text(
        "\n".join(json.dumps({"text": f"Doc {i}: hello there."}) for i in range(30)),
        encoding="utf-8",
    )
    out = tmp_path / "o.bin"
    code = main(
        [
            "prepare",
            str(tmp_path / "c.jsonl"),
            "-o",
            str(out),
            "--val-fraction",
            "0.2",
            "--workers",
            "2",
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "train: o.bin:" in printed and "val: o.val.bin:" in printed
    assert main(["inspect", str(out), "--doc", "1", "--verify"]) == 0
    printed = capsys.readouterr().out
    assert "magic 20240520, version 1, uint16 tokens" in printed
    assert "(verified)" in printed
    train_docs = [i for i in range(30) if not is_validation_document(i, 0.2, 2357)]
    assert f"'Doc {train_docs[1]}: hello there.'" in printed
    assert main(["inspect", str(out), "--doc", "99"]) == 1
    assert "--doc 99 is out of range" in capsys.readouterr().err


def test_commands_report_bad_files(tmp_path, capsys):
    (tmp_path / "bad.txt").write_bytes(b"\xff")
    assert main(["prepare", str(tmp_path / "bad.txt"), "-o", str(tmp_path / "o.bin")]) == 1
    assert "bad.txt: invalid UTF-8 at byte offset 0" in capsys.readouterr().err
    (tmp_path / "o.bin").write_bytes(b"x" * 2000)
    assert main(["inspect", str(tmp_path / "o.bin")]) == 1
    assert "not an llm.c / tokprep token file" in capsys.readouterr().err


@settings(max_examples=25)
@given(documents=st.lists(texts, min_size=1, max_size=4), size=st.integers(1, 40))
def test_prepare_equals_whole_documents_on_random_text(tmp_path_factory, documents, size):
    folder = tmp_path_factory.mktemp("random")
    lines = [json.dumps({"text": d}) for d in documents]
    (folder / "d.jsonl").write_text("\n".join(lines), encoding="utf-8")
    prepare([folder / "d.jsonl"], folder / "o.bin", chunk_bytes=size, progress=False)
    assert load_tokens(folder / "o.bin").tolist() == reference(documents)
