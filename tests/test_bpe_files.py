"""Loading, validating and saving BPE vocabularies; `load_tokenizer`; the BPE commands."""

import base64
import json
import re
from importlib import resources

import pytest
import tiktoken

import tokprep
from conftest import DATA, corpus
from tokprep.bpe import GPT2_TIKTOKEN_SHA256, BPETokenizer, tiktoken_gpt2
from tokprep.bpe.ranks import dump_tiktoken_bpe, gpt2_ranks
from tokprep.cli import main
from tokprep.errors import TokenizerFileError

SHIPPED = resources.files("tokprep") / "data" / "gpt2.tiktoken"
SAMPLE = corpus("taylorswift")[:20_000] + corpus("japanese-notes")[:2_000]
SMALL = {bytes([b]): r for r, b in enumerate(range(256))}


def ranks_file(tmp_path, lines):
    path = tmp_path / "bad.tiktoken"
    path.write_bytes("\n".join(lines).encode() + b"\n")
    return path


def line(token: bytes, rank) -> str:
    return f"{base64.b64encode(token).decode()} {rank}"


def byte_lines():
    return [line(bytes([b]), b) for b in range(256)]


# --- constructors ---------------------------------------------------------------------------


def test_from_tiktoken_file_with_hash():
    tok = BPETokenizer.from_tiktoken_file(SHIPPED, expected_sha256=GPT2_TIKTOKEN_SHA256)
    assert tok.encode_ordinary(SAMPLE) == tiktoken_gpt2().encode_ordinary(SAMPLE)
    assert tok.eot_token == 50256
    with pytest.raises(TokenizerFileError, match=r"sha256 is 306cd27f.*expected 0000"):
        BPETokenizer.from_tiktoken_file(SHIPPED, expected_sha256="0" * 64)


def test_from_gpt2_files_and_tiktoken_round_trips():
    from_files = BPETokenizer.from_gpt2_files(DATA / "encoder.json", DATA / "vocab.bpe")
    assert dict(from_files.mergeable_ranks) == gpt2_ranks()
    assert from_files.special_tokens == {"<|endoftext|>": 50256}
    from_encoding = BPETokenizer.from_tiktoken(tiktoken_gpt2())
    assert from_encoding.encode_ordinary(SAMPLE) == from_files.encode_ordinary(SAMPLE)
    exported = BPETokenizer.gpt2().to_tiktoken(name="copy")
    assert isinstance(exported, tiktoken.Encoding) and exported.name == "copy"
    assert exported.encode_ordinary(SAMPLE) == tiktoken_gpt2().encode_ordinary(SAMPLE)


def test_gpt2_files_that_disagree_are_refused(tmp_path):
    encoder = json.loads((DATA / "encoder.json").read_text(encoding="utf-8"))
    encoder["the"], encoder["Ġthe"] = encoder["Ġthe"], encoder["the"]
    (tmp_path / "encoder.json").write_text(json.dumps(encoder), encoding="utf-8")
    with pytest.raises(
        TokenizerFileError, match=r"'Ġthe' has ID 1169, but .*vocab\.bpe gives it 262"
    ):
        BPETokenizer.from_gpt2_files(tmp_path / "encoder.json", DATA / "vocab.bpe")
    (tmp_path / "vocab.bpe").write_text("#version: 0.2\nĠ t\nĠt x y\n", encoding="utf-8")
    with pytest.raises(TokenizerFileError, match=r"vocab\.bpe, line 3: expected one merge"):
        BPETokenizer.from_gpt2_files(DATA / "encoder.json", tmp_path / "vocab.bpe")


# --- malformed rank files: each a TokenizerFileError naming file and line ----------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([*byte_lines(), "!!notbase64 256"], r"line 257: '!!notbase64' is not valid base64"),
        ([*byte_lines(), line(b"ab", 256), line(b"ba", 256)], r"line 258: rank 256 was already"),
        ([*byte_lines(), line(b"ab", 257)], r"ranks must be contiguous 0\.\.256, but rank 256"),
        (byte_lines()[1:], r"1 of the 256 single-byte tokens are missing"),
        ([*byte_lines(), line(b"ab", 256), line(b"ab", 257)], r"line 258: token b'ab' was"),
        ([*byte_lines(), line(b"abc", 256)], r"line 257: token b'abc' \(rank 256\) is not the"),
        ([*byte_lines(), "YWI= x1"], r"line 257: rank 'x1' is not a non-negative integer"),
        ([*byte_lines(), "YWI="], r"line 257: expected 'base64-token rank'"),
        (["", *byte_lines(), ""], None),
    ],
)
def test_malformed_rank_files(tmp_path, lines, message):
    path = ranks_file(tmp_path, lines)
    if message is None:  # blank lines are fine
        assert BPETokenizer.from_tiktoken_file(path, pattern="gpt2").n_vocab == 256
        return
    with pytest.raises(TokenizerFileError, match=message) as info:
        BPETokenizer.from_tiktoken_file(path)
    assert str(path) in str(info.value)


def test_colliding_special_token(tmp_path):
    path = ranks_file(tmp_path, byte_lines())
    with pytest.raises(
        TokenizerFileError, match=re.escape("special token '<|x|>' has ID 7, which is")
    ):
        BPETokenizer.from_tiktoken_file(path, pattern="gpt2", special_tokens={"<|x|>": 7})
    assert BPETokenizer.from_tiktoken_file(path, pattern="gpt2", special_tokens={}).n_vocab == 256


def test_constructor_validates():
    with pytest.raises(TokenizerFileError, match="missing"):
        BPETokenizer({b"a": 0})
    with pytest.raises(TypeError, match="mergeable_ranks must be a dict"):
        BPETokenizer([b"a"])
    with pytest.raises(ValueError, match="not a valid regex"):
        BPETokenizer(SMALL, "(unclosed", {})


def test_a_pickle_is_never_loaded(tmp_path):
    import pickle

    path = tmp_path / "evil.tiktoken"
    path.write_bytes(pickle.dumps({b"a": 0}))
    with pytest.raises(TokenizerFileError):
        BPETokenizer.from_tiktoken_file(path)


# --- tokprep's JSON format --------------------------------------------------------------------


def test_json_round_trip_keeps_everything(tmp_path):
    trained = BPETokenizer.train(SAMPLE, 600, special_tokens=["<|endoftext|>", "<|pad|>"])
    path = tmp_path / "tok.json"
    trained.save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert (document["format"], document["kind"], document["version"]) == ("tokprep", "bpe", 1)
    assert document["special_tokens"] == {"<|endoftext|>": 598, "<|pad|>": 599}
    assert len(document["ranks"]) == 598 and len(document["merges"]) == 598 - 256
    loaded = tokprep.load_tokenizer(path)
    assert isinstance(loaded, BPETokenizer)
    assert dict(loaded.mergeable_ranks) == dict(trained.mergeable_ranks)
    assert loaded.merges == trained.merges
    text = SAMPLE + "<|pad|>"
    assert loaded.encode(text, allowed_special="all") == trained.encode(text, allowed_special="all")


def test_json_bytes_that_are_not_utf8_round_trip(tmp_path):
    tok = BPETokenizer.gpt2()
    path = tmp_path / "gpt2.json"
    tok.save(path)
    loaded = BPETokenizer.load(path)
    assert dict(loaded.mergeable_ranks) == gpt2_ranks()
    assert loaded.merges[0] == (b" ", b"t")  # GPT-2's first merge, "Ġ t" in vocab.bpe
    assert b"\xe2\x80" in loaded.mergeable_ranks  # half a character, stored as \xNN escapes


def test_json_that_lies_about_merges_is_refused(tmp_path):
    path = tmp_path / "tok.json"
    BPETokenizer.train(SAMPLE, 300).save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["merges"][0] = ["x", "y"]
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(TokenizerFileError, match='"merges" does not match "ranks"'):
        BPETokenizer.load(path)
    document.pop("ranks")
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(TokenizerFileError, match=r'needs "pattern".*"ranks"'):
        BPETokenizer.load(path)


def test_load_tokenizer_learns_bpe_files(tmp_path):
    path = tmp_path / "gpt2.tiktoken"
    path.write_bytes(dump_tiktoken_bpe(gpt2_ranks()))
    from_file = tokprep.load_tokenizer(path)
    assert isinstance(from_file, BPETokenizer) and from_file.eot_token == 50256
    assert from_file.encode_ordinary(SAMPLE) == tiktoken_gpt2().encode_ordinary(SAMPLE)
    assert isinstance(tokprep.load_tokenizer("tokprep:gpt2"), BPETokenizer)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(TokenizerFileError, match=r"unknown tokenizer file type '\.txt'"):
        tokprep.load_tokenizer(tmp_path / "x.txt")


def test_identity_is_the_same_for_both_backends():
    from tokprep import tokenizer_identity

    assert tokenizer_identity(BPETokenizer.gpt2()) == tokenizer_identity(tiktoken_gpt2())
    other = BPETokenizer(gpt2_ranks(), "cl100k", {"<|endoftext|>": 50256})
    assert tokenizer_identity(other)["sha256"] != tokenizer_identity(tiktoken_gpt2())["sha256"]


# --- command line -----------------------------------------------------------------------------


def test_encode_decode_commands(capsys, monkeypatch):
    assert main(["encode", "Hello world"]) == 0
    assert capsys.readouterr().out == "15496 995\n"
    assert main(["decode", "15496", "995"]) == 0
    assert capsys.readouterr().out == "Hello world"  # not a terminal: the text exactly
    assert (
        main(
            ["encode", "--tokenizer", "tokprep:gpt2", "--allowed-special", "all", "a<|endoftext|>"]
        )
        == 0
    )
    assert capsys.readouterr().out == "64 50256\n"
    assert main(["encode", "a<|endoftext|>"]) == 1
    assert "--allowed-special '<|endoftext|>'" in capsys.readouterr().err
    assert main(["decode", "15496", "99999"]) == 1
    assert "token ID 99999 is outside" in capsys.readouterr().err


def test_show_command_plain_and_coloured(capsys):
    assert main(["show", "--colour", "never", "Hello, world"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Hello|,| world"
    assert "3 tokens, 12 characters: [15496, 11, 995]" in out
    assert main(["show", "--colour", "always", "Hi"]) == 0
    assert "\x1b[" in capsys.readouterr().out


def test_train_command(tmp_path, capsys):
    out = tmp_path / "tok.json"
    corpus_file = tmp_path / "c.txt"
    corpus_file.write_text(SAMPLE, encoding="utf-8")
    assert (
        main(
            [
                "train",
                str(corpus_file),
                "--vocab-size",
                "400",
                "--special",
                "<|endoftext|>",
                "-o",
                str(out),
                "--export-hf",
                str(tmp_path / "hf.json"),
                "--no-progress",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert re.search(r"trained 400 tokens \(256 bytes \+ 143 merges \+ 1 special\)", printed)
    assert re.search(r"compression on the training text: \d+\.\d\d bytes per token", printed)
    tok = tokprep.load_tokenizer(out)
    assert tok.n_vocab == 400
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(tmp_path / "hf.json"))
    assert hf.encode(SAMPLE[:3000]).ids == tok.encode_ordinary(SAMPLE[:3000])
    assert main(["encode", "--tokenizer", str(out), "Taylor"]) == 0
    assert capsys.readouterr().out.strip() == " ".join(map(str, tok.encode_ordinary("Taylor")))
