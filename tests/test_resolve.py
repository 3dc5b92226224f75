"""`load_tokenizer`'s one spec grammar, lossless `.tiktoken` files, and `--pattern`/`--special`.

The holes this closes: a `.tiktoken` file used to load with GPT-2's pattern and
`<|endoftext|>` = len(ranks) whatever it held (wrong for cl100k, and for any tokenizer trained
with another pattern); only GPT-2 had a name.
"""

from __future__ import annotations

import gzip
import json
import textwrap

import pytest

from conftest import ROOT, assert_equal_to_tiktoken, corpus
from tokprep import (
    ArgumentValueError,
    TokenizerFileError,
    TokenizerSpecError,
    load_tokenizer,
    parse_spec,
)
from tokprep.bpe import BPETokenizer, tiktoken_encoding
from tokprep.bpe.encodings import ENCODINGS
from tokprep.cli import main
from tokprep.tokenizers import SimpleTokenizerV1, build_vocab, save_vocab, split_words

EXAMPLE = "I DON'T know!!!\n\n   x 1234567"  # the example
TEXT = "Hello, world! I'm fine: 12345 tokens, 日本語 and é.\n\n  next <|endoftext|> line"


def shipped_copy(tmp_path, name, gz=False):
    data = (ROOT / "src" / "tokprep" / "data" / f"{name}.tiktoken.gz").read_bytes()
    path = tmp_path / (f"copy-{name}.tiktoken" + (".gz" if gz else ""))
    path.write_bytes(data if gz else gzip.decompress(data))
    return path


def run_main(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def encode_command(capsys, *argv):
    code, out, err = run_main(capsys, ["encode", *argv])
    assert code == 0, err
    return [int(x) for x in out.split()]


# --- the spec grammar ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpt2", "r50k_base", "cl100k_base", "o200k_base"])
def test_encoding_names_give_tiktokens_own_encoding(name):
    tok = load_tokenizer(name)
    assert tok is tiktoken_encoding(name)
    mine = load_tokenizer(f"tokprep:{name}")
    assert isinstance(mine, BPETokenizer) and mine.name == tok.name
    assert mine.encode(TEXT, allowed_special="all") == tok.encode(TEXT, allowed_special="all")


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("gz", [False, True])
def test_a_copied_tiktoken_file_gets_its_encodings_facts(tmp_path, name, gz):
    tok = load_tokenizer(shipped_copy(tmp_path, name, gz))
    reference = tiktoken_encoding(name)
    assert isinstance(tok, BPETokenizer)
    assert dict(tok.special_tokens) == reference._special_tokens
    assert tok.pattern == reference._pat_str and tok.n_vocab == reference.n_vocab
    text = corpus("taylorswift")[:20_000] + EXAMPLE
    assert_equal_to_tiktoken(tok.encode_ordinary(text), reference.encode_ordinary(text), name)


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("form", ["name", "tokprep:name", "file"])
def test_encode_command_gives_tiktokens_ids(tmp_path, capsys, name, form):
    spec = {"name": name, "tokprep:name": f"tokprep:{name}"}.get(form)
    spec = spec or str(shipped_copy(tmp_path, name))
    text = corpus("japanese-notes")[:3000] + EXAMPLE
    ids = encode_command(capsys, "--tokenizer", spec, text)
    assert_equal_to_tiktoken(ids, tiktoken_encoding(name).encode_ordinary(text), spec)


def test_tokprep_json_files_and_objects(tmp_path):
    bpe = tmp_path / "tok.json"
    BPETokenizer.from_encoding("gpt2").save(bpe)
    assert load_tokenizer(str(bpe)).encode_ordinary(TEXT) == tiktoken_encoding(
        "gpt2"
    ).encode_ordinary(TEXT)
    words = tmp_path / "words.json"
    save_vocab(words, build_vocab(split_words("a b c")))
    assert load_tokenizer(words).encode_ordinary("a b") == [0, 1]
    obj = SimpleTokenizerV1({"a": 0})
    assert load_tokenizer(obj) is obj
    with pytest.raises(TypeError, match="tokenizer must be one of"):
        load_tokenizer(42)


PLUGIN = '''
from tokprep.bpe import BPETokenizer


class Bytes(BPETokenizer):
    """A class: called with no arguments."""

    def __init__(self):
        super().__init__({bytes([b]): b for b in range(256)}, "gpt2", {"<|eot|>": 256})


def make():
    """A factory: called."""
    return BPETokenizer.from_encoding("cl100k_base")


INSTANCE = BPETokenizer.from_encoding("o200k_base")
NOT_A_TOKENIZER = "text"
'''


@pytest.mark.parametrize(
    ("attr", "name"), [("Bytes", "bpe"), ("make", "cl100k_base"), ("INSTANCE", "o200k_base")]
)
def test_python_attributes_from_a_file_and_a_module(tmp_path, monkeypatch, attr, name):
    (tmp_path / "my_tokenizers.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    from_file = load_tokenizer(f"{tmp_path / 'my_tokenizers.py'}:{attr}")
    monkeypatch.syspath_prepend(str(tmp_path))
    from_module = load_tokenizer(f"my_tokenizers:{attr}")
    assert from_file.name == from_module.name == name
    assert from_file.encode_ordinary(TEXT) == from_module.encode_ordinary(TEXT)


def test_a_python_attribute_that_is_not_a_tokenizer(tmp_path, monkeypatch):
    (tmp_path / "my_tokenizers.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="gave a str, which is not a tokenizer"):
        load_tokenizer("my_tokenizers:NOT_A_TOKENIZER")
    with pytest.raises(TokenizerSpecError, match="has no attribute 'missing'"):
        load_tokenizer("my_tokenizers:missing")
    with pytest.raises(TokenizerSpecError, match="no module 'no_such_module_here'"):
        load_tokenizer("no_such_module_here.sub:Thing")


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ("nonsense", ""),
        ("gpt-4o", "'gpt-4o' is a model name; its encoding is o200k_base"),
        ("p50k_base", "tokprep does not ship p50k_base"),
        ("tokprep:cl100k", "'cl100k' is not an encoding name"),
        ("missing/file.py:make", "the file 'missing/file.py' does not exist"),
        ("mine=gpt2", "LABEL=TARGET is accepted only where --tokenizer repeats"),
    ],
)
def test_an_unknown_spec_lists_every_form(spec, hint):
    with pytest.raises(TokenizerSpecError) as info:
        load_tokenizer(spec)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and hint in message
    for form in (*ENCODINGS, "r50k_base", "tokprep:NAME", ".tiktoken", "tokprep .json"):
        assert form in message
    for form in ("path/to/file.py:ATTR", "pkg.module:ATTR", "LABEL=TARGET", "a class is called"):
        assert form in message


def test_parse_spec(tmp_path, monkeypatch):
    assert parse_spec("gpt2") == (None, "gpt2")
    assert parse_spec("mine=tok.json") == ("mine", "tok.json")
    assert parse_spec("tk-2.0=tokprep:o200k_base") == ("tk-2.0", "tokprep:o200k_base")
    assert parse_spec("pkg.mod:Thing") == (None, "pkg.mod:Thing")
    assert parse_spec("dir/a=b.tiktoken") == (None, "dir/a=b.tiktoken")  # no label: has "/"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a=b.json").write_text("{}")
    assert parse_spec("a=b.json") == (None, "a=b.json")  # an existing file is never split
    with pytest.raises(TokenizerSpecError, match="no target"):
        parse_spec("mine=")


# --- lossless .tiktoken files -------------------------------------------------------------------


def train_cl100k(tmp_path, capsys):
    """The issue's steps: train with --pattern cl100k, save with -o x.tiktoken."""
    source = tmp_path / "corpus.txt"
    source.write_text(corpus("tinyshakespeare")[:300_000], encoding="utf-8")
    out = tmp_path / "x.tiktoken"
    code, _, err = run_main(
        capsys,
        [
            "train",
            str(source),
            "--vocab-size",
            "1000",
            "--pattern",
            "cl100k",
            "--special",
            "<|endoftext|>",
            "-o",
            str(out),
            "--no-progress",
        ],
    )
    assert code == 0, err
    return out


def test_a_trained_tiktoken_file_reloads_with_its_pattern(tmp_path, capsys):
    out = train_cl100k(tmp_path, capsys)
    sidecar = json.loads((tmp_path / "x.tiktoken.json").read_text(encoding="utf-8"))
    assert (sidecar["format"], sidecar["kind"]) == ("tokprep", "tiktoken-facts")
    trained = BPETokenizer(
        dict(load_tokenizer(out).mergeable_ranks), "cl100k", {"<|endoftext|>": 999}
    )
    ids = encode_command(capsys, "--tokenizer", str(out), EXAMPLE)
    assert ids == trained.encode_ordinary(EXAMPLE)
    # What the old loader did (GPT-2's pattern) splits this text differently.
    as_gpt2 = encode_command(capsys, "--tokenizer", str(out), "--pattern", "gpt2", EXAMPLE)
    assert len(as_gpt2) != len(ids)
    assert (
        encode_command(
            capsys, "--tokenizer", str(out), "--allowed-special", "all", "a<|endoftext|>"
        )[-1]
        == 999
    )


def test_an_unknown_tiktoken_file_needs_its_facts(tmp_path, capsys):
    out = train_cl100k(tmp_path, capsys)
    (tmp_path / "x.tiktoken.json").unlink()
    with pytest.raises(TokenizerFileError, match=r"--pattern.*--special") as info:
        load_tokenizer(out)
    assert "no sidecar x.tiktoken.json" in str(info.value)
    code, _, err = run_main(capsys, ["encode", "--tokenizer", str(out), EXAMPLE])
    assert code == 1 and "--pattern NAME|REGEX" in err and "--special" in err
    given = encode_command(
        capsys,
        "--tokenizer",
        str(out),
        "--pattern",
        "cl100k_base",  # an encoding name stands for its pattern
        "--special",
        "<|endoftext|>=999",
        "--allowed-special",
        "all",
        EXAMPLE + "<|endoftext|>",
    )
    tok = load_tokenizer(out, pattern="cl100k", special_tokens={"<|endoftext|>": 999})
    assert given == tok.encode(EXAMPLE + "<|endoftext|>", allowed_special="all")
    assert given[-1] == 999


def test_a_sidecar_of_other_ranks_is_refused(tmp_path):
    first, second = tmp_path / "a.tiktoken", tmp_path / "b.tiktoken"
    BPETokenizer.train(corpus("the-verdict"), 300, pattern="o200k").save_tiktoken(first)
    BPETokenizer.train(corpus("the-verdict"), 400, pattern="o200k").save_tiktoken(second)
    (tmp_path / "a.tiktoken.json").replace(tmp_path / "b.tiktoken.json")
    with pytest.raises(TokenizerFileError, match="the ranks were replaced"):
        load_tokenizer(second)


def test_no_sidecar_for_a_shipped_encoding(tmp_path):
    path = tmp_path / "cl.tiktoken"
    (tmp_path / "cl.tiktoken.json").write_text("stale")  # must not outlive a save
    assert BPETokenizer.from_encoding("cl100k_base").save_tiktoken(path) is None
    assert not (tmp_path / "cl.tiktoken.json").exists()
    assert load_tokenizer(path).name == "cl100k_base"
    # The same ranks with other special tokens are not cl100k_base: a sidecar says so.
    changed = load_tokenizer("tokprep:cl100k_base", special_tokens={"<|endoftext|>": 100256})
    assert changed.save_tiktoken(path) == tmp_path / "cl.tiktoken.json"
    reloaded = load_tokenizer(path)
    assert dict(reloaded.special_tokens) == {"<|endoftext|>": 100256}
    assert load_tokenizer(tmp_path / "cl.tiktoken.json").special_tokens == reloaded.special_tokens


def test_gzipped_tiktoken_files_round_trip(tmp_path):
    path = tmp_path / "g.tiktoken.gz"
    assert BPETokenizer.gpt2().save_tiktoken(path) is None  # GPT-2's facts: no sidecar
    assert gzip.decompress(path.read_bytes()).startswith(b"IQ== 0\n")
    assert load_tokenizer(path).name == "gpt2"
    trained = BPETokenizer.train(
        corpus("the-verdict"), 300, pattern="o200k", special_tokens=["<|e|>"]
    )
    assert trained.save_tiktoken(path) == tmp_path / "g.tiktoken.gz.json"
    loaded = load_tokenizer(path)
    assert (loaded.pattern, dict(loaded.special_tokens)) == (trained.pattern, {"<|e|>": 299})
    assert loaded.encode_ordinary(EXAMPLE) == trained.encode_ordinary(EXAMPLE)


def test_hash_checks(tmp_path):
    path = shipped_copy(tmp_path, "cl100k_base")
    with pytest.raises(TokenizerFileError, match="sha256 is 2239"):
        BPETokenizer.from_tiktoken_file(path, expected_sha256="ab" * 32)
    pinned = ENCODINGS["cl100k_base"].ranks_sha256
    assert BPETokenizer.from_tiktoken_file(path, expected_sha256=pinned).n_vocab == 100277


# --- pattern and special tokens given by the caller -----------------------------------------


def test_facts_replace_an_encodings_own():
    tok = load_tokenizer("cl100k_base", special_tokens={"<|im_start|>": 100264})
    assert tok._special_tokens == {"<|im_start|>": 100264}
    assert tok.encode("<|im_start|>", allowed_special="all") == [100264]
    mine, gpt2 = load_tokenizer("tokprep:gpt2", pattern="cl100k"), BPETokenizer.gpt2()
    assert mine.pattern == ENCODINGS["cl100k_base"].pattern  # digits in threes now
    assert mine.encode_ordinary("123456") == gpt2.encode_ordinary("123") + gpt2.encode_ordinary(
        "456"
    )
    assert mine.encode_ordinary(" 1234567") != gpt2.encode_ordinary(" 1234567")
    with pytest.raises(TokenizerFileError, match="already a mergeable rank"):
        load_tokenizer("gpt2", special_tokens={"<|x|>": 5})
    words = SimpleTokenizerV1({"a": 0})
    with pytest.raises(ArgumentValueError, match="apply to BPE tokenizers"):
        load_tokenizer(words, pattern="gpt2")


def test_every_tokenizer_command_takes_the_options(tmp_path, capsys):
    reference = tiktoken_encoding("o200k_base")
    ids = encode_command(capsys, "--tokenizer", "o200k_base", TEXT.replace("<|endoftext|>", ""))
    assert ids == reference.encode_ordinary(TEXT.replace("<|endoftext|>", ""))
    code, out, err = run_main(
        capsys, ["decode", "--tokenizer", "cl100k_base", "--special", "<|x|>=100300", "100300"]
    )
    assert code == 0 and out == "<|x|>", err  # not a terminal: no newline
    code, out, err = run_main(
        capsys, ["show", "--tokenizer", "tokprep:o200k_base", "--colour", "never", "Hello world"]
    )
    assert code == 0 and out.startswith("Hello| world"), err
    with pytest.raises(SystemExit):
        main(["encode", "--special", "no-id-here", "x"])
    assert "is not TEXT=ID" in capsys.readouterr().err
    code, _, err = run_main(
        capsys, ["encode", "--special", "<|a|>=50300", "--special", "<|a|>=50301", "x"]
    )
    assert code == 1 and "given twice" in err
    ranks = tmp_path / "r.tiktoken"
    BPETokenizer.train(corpus("the-verdict"), 300).save_tiktoken(ranks)
    (tmp_path / "r.tiktoken.json").unlink()
    source = tmp_path / "doc.txt"
    source.write_text(corpus("the-verdict")[:3000], encoding="utf-8")
    out_bin = tmp_path / "out.bin"
    prepare = ["prepare", str(source), "-o", str(out_bin), "--no-progress", "--tokenizer"]
    code, _, err = run_main(capsys, [*prepare, str(ranks)])
    assert code == 1 and "--pattern" in err
    facts = ["--pattern", "gpt2", "--special", "<|endoftext|>=300"]
    code, _, err = run_main(capsys, [*prepare, str(ranks), *facts])
    assert code == 0, err
    code, out, err = run_main(capsys, ["inspect", str(out_bin), "--tokenizer", str(ranks), *facts])
    assert code == 0 and "1 documents" in out, err
