"""The encodings registry: gpt2 (r50k_base), cl100k_base and o200k_base, offline and pinned.

The facts (pins, patterns, special tokens, n_vocab, the model table) are checked against
tiktoken's own source, and the IDs against tiktoken running the same shipped ranks; the shipped
files against what tiktoken's loader accepts under its pinned hashes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import socket
import subprocess
import sys

import pytest
import tiktoken
import tiktoken.model
import tiktoken_ext.openai_public as openai_public
from hypothesis import given
from hypothesis import strategies as st

import conftest
from conftest import CORPORA, NetworkBlocked, assert_equal_to_tiktoken, corpus
from tokprep import TokenizerFileError, UnknownEncodingError, tokenizer_identity
from tokprep.bpe import (
    ENCODINGS,
    BPETokenizer,
    encoding_for_model,
    encoding_name_for_model,
    encoding_ranks,
    get_encoding,
    list_encoding_names,
    tiktoken_encoding,
    tiktoken_gpt2,
    validate_ranks,
)
from tokprep.bpe import encodings as registry
from tokprep.bpe.ranks import _packaged_ranks
from tokprep.cli import main

SHIPPED = ("gpt2", "cl100k_base", "o200k_base")
BIG = ("cl100k_base", "o200k_base")
DOWNLOADS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def tiktokens_definition(name: str) -> dict:
    """tiktoken's constructor for `name` (tiktoken_ext/openai_public.py), run with its file
    loaders replaced by a stub that records the pinned hash it asks for."""
    asked = {}

    def load(url, expected_hash=None):
        asked["sha256"] = expected_hash
        return {}

    def data_gym(**kwargs):
        asked["sha256"] = "data_gym"
        return {}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(openai_public, "load_tiktoken_bpe", load)
        mp.setattr(openai_public, "data_gym_to_mergeable_bpe_ranks", data_gym)
        definition = openai_public.ENCODING_CONSTRUCTORS[name]()
    return {**definition, "asked_sha256": asked["sha256"]}


@pytest.mark.parametrize("name", ["r50k_base", *BIG])
def test_registry_facts_are_tiktokens(name):
    theirs = tiktokens_definition(name)
    ours = registry.encoding_info(name)
    assert ours.ranks_sha256 == theirs["asked_sha256"]
    assert ours.pattern == theirs["pat_str"]
    assert dict(ours.special_tokens) == theirs["special_tokens"]
    encoding = tiktoken_encoding(name)
    assert encoding.n_vocab == ours.n_vocab == max(ours.special_tokens.values()) + 1
    assert len(encoding_ranks(name)) == ours.n_ranks
    if "explicit_n_vocab" in theirs:
        assert ours.n_vocab == theirs["explicit_n_vocab"]


@pytest.mark.parametrize("name", BIG)
def test_shipped_ranks_are_valid(name):
    # Loading trusts the sha256 pin instead of validating; this is the validation it stands for.
    validate_ranks(encoding_ranks(name), name, special_tokens=dict(ENCODINGS[name].special_tokens))


def test_gpt2_and_r50k_base_are_one_entry():
    assert tiktokens_definition("gpt2")["special_tokens"] == dict(ENCODINGS["gpt2"].special_tokens)
    assert tiktoken_encoding("r50k_base") is tiktoken_encoding("gpt2") is tiktoken_gpt2()
    assert list_encoding_names() == ["gpt2", "r50k_base", "cl100k_base", "o200k_base"]
    # Not shipped: said, not silently mapped elsewhere.
    for name in ("p50k_base", "p50k_edit", "o200k_harmony"):
        with pytest.raises(UnknownEncodingError, match=f"{name}.*not shipped"):
            get_encoding(name)
    with pytest.raises(ValueError, match="unknown encoding 'cl100k'"):
        BPETokenizer.from_encoding("cl100k")


@pytest.fixture(scope="module")
def tiktokens_own(tmp_path_factory):
    """tiktoken.get_encoding(name) for cl100k/o200k, offline: the shipped files, decompressed,
    placed where tiktoken's cache looks (the sha1 of the download URL). tiktoken itself checks
    them against its pinned sha256."""
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name, url in DOWNLOADS.items():
        raw = gzip.decompress(
            (conftest.ROOT / "src/tokprep/data" / f"{name}.tiktoken.gz").read_bytes()
        )
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(raw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        mp.setattr(socket, "getaddrinfo", _refuse)  # the module fixture runs outside no_network
        mp.setattr(tiktoken.registry, "ENCODINGS", {})  # built here, not taken from a cache
        return {name: tiktoken.get_encoding(name) for name in DOWNLOADS}


def _refuse(*args, **kwargs):
    raise NetworkBlocked("network used while building tiktoken's encodings")


@pytest.mark.parametrize("name", BIG)
def test_offline_encoding_equals_tiktokens_get_encoding(tiktokens_own, name):
    theirs, ours = tiktokens_own[name], tiktoken_encoding(name)
    assert ours._mergeable_ranks == theirs._mergeable_ranks
    assert ours._special_tokens == theirs._special_tokens
    assert ours._pat_str == theirs._pat_str and ours.n_vocab == theirs.n_vocab
    text = corpus("japanese-notes")[:5000]
    assert_equal_to_tiktoken(ours.encode_ordinary(text), theirs.encode_ordinary(text), name)


@pytest.mark.parametrize("name", BIG)
@pytest.mark.parametrize("corpus_name", CORPORA)
def test_ids_equal_tiktoken_on_corpus_slices(name, corpus_name):
    text = corpus(corpus_name)
    if corpus_name != "taylorswift":  # one whole corpus; slices of the others
        text = text[:40_000] + text[len(text) // 2 : len(text) // 2 + 40_000]
    ours = BPETokenizer.from_encoding(name).encode_ordinary(text)
    assert_equal_to_tiktoken(ours, tiktoken_encoding(name).encode_ordinary(text), name)


SPECIALS = ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|fim_middle|>"]
pieces = st.one_of(
    st.text(max_size=30),
    st.sampled_from([" ", "\n", "'s", "'LL", "123456", "Hello", "日本語", "é", "\r\n", "!!", "/"]),
    st.sampled_from(SPECIALS),
)


@pytest.mark.parametrize("name", BIG)
@given(parts=st.lists(pieces, max_size=12))
def test_ids_equal_tiktoken_on_any_text(name, parts):
    text = "".join(parts)
    ours, theirs = get_encoding(name), tiktoken_encoding(name)
    assert_equal_to_tiktoken(ours.encode_ordinary(text), theirs.encode_ordinary(text), name)
    assert_equal_to_tiktoken(
        ours.encode(text, allowed_special="all"), theirs.encode(text, allowed_special="all"), name
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_special_tokens_and_n_vocab_match_tiktoken(name):
    ours, theirs = BPETokenizer.from_encoding(name), tiktoken_encoding(name)
    assert dict(ours.special_tokens) == theirs._special_tokens
    assert (ours.n_vocab, ours.eot_token, ours.name) == (theirs.n_vocab, theirs.eot_token, name)
    assert tokenizer_identity(ours) == tokenizer_identity(theirs)  # one digest, both backends
    for text, index in theirs._special_tokens.items():
        assert ours.encode(text, allowed_special="all") == [index]
        assert ours.decode([index]) == text


def test_get_encoding_is_shared_from_encoding_is_new():
    assert get_encoding("cl100k_base") is get_encoding("cl100k_base")
    assert BPETokenizer.from_encoding("cl100k_base") is not get_encoding("cl100k_base")
    assert get_encoding("r50k_base") is get_encoding("gpt2")
    assert get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


def test_model_table_is_tiktokens():
    assert registry.MODEL_TO_ENCODING == tiktoken.model.MODEL_TO_ENCODING
    assert registry.MODEL_PREFIX_TO_ENCODING == tiktoken.model.MODEL_PREFIX_TO_ENCODING
    for model in [*tiktoken.model.MODEL_TO_ENCODING, "gpt-4o-2024-05-13", "gpt-4-0314", "gpt-5.1"]:
        assert encoding_name_for_model(model) == tiktoken.model.encoding_name_for_model(model)


def test_encoding_for_model():
    assert encoding_for_model("gpt-4o") is get_encoding("o200k_base")
    assert encoding_for_model("gpt-3.5-turbo-0301").name == "cl100k_base"
    assert encoding_for_model("text-davinci-001").name == "gpt2"  # r50k_base: same encoding
    for model, name in (("text-davinci-003", "p50k_base"), ("gpt-oss-120b", "o200k_harmony")):
        with pytest.raises(UnknownEncodingError, match=f"{model}.*{name}.*not shipped"):
            encoding_for_model(model)
    with pytest.raises(KeyError, match="no known encoding for model 'llama-3'"):
        encoding_for_model("llama-3")


def test_a_damaged_shipped_file_is_refused():
    with pytest.raises(TokenizerFileError, match=r"cl100k_base\.tiktoken\.gz: sha256 is 2239"):
        _packaged_ranks.__wrapped__("cl100k_base.tiktoken.gz", "0" * 64)


def test_rank_files_load_lazily():
    code = (
        "import tokprep, tokprep.bpe, tokprep.resolve\n"
        "from tokprep.bpe.ranks import _packaged_ranks\n"
        "assert _packaged_ranks.cache_info().currsize == 0\n"
        "tokprep.bpe.get_encoding('o200k_base')\n"
        "assert _packaged_ranks.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_info_command(capsys):
    assert main(["info", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["format"], document["kind"]) == ("tokprep", "info")
    from importlib.metadata import version

    assert document["libraries"]["tiktoken"] == version("tiktoken")
    assert document["libraries"]["regex"] == version("regex")
    data = conftest.ROOT / "src" / "tokprep" / "data"
    shipped = {p.name for p in data.iterdir() if p.is_file()}
    assert set(document["data_files"]) == shipped
    for name, entry in document["data_files"].items():
        assert entry["sha256"] == hashlib.sha256((data / name).read_bytes()).hexdigest()
    assert {name: e["ranks_ok"] for name, e in document["encodings"].items()} == {
        name: True for name in SHIPPED
    }
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "tiktoken " + version("tiktoken") in text and "cl100k_base.tiktoken.gz" in text


def test_a_different_tiktoken_is_named_in_failures(monkeypatch):
    monkeypatch.setattr(conftest, "pinned_tiktoken", lambda: "0.0.1")
    with pytest.raises(AssertionError) as info:
        assert_equal_to_tiktoken([1], [2], "ids")
    from importlib.metadata import version

    assert "tiktoken 0.0.1" in str(info.value) and f"tiktoken {version('tiktoken')}" in str(
        info.value
    )


def test_shipped_copy_on_disk_is_recognised(tmp_path):
    raw = gzip.decompress((conftest.ROOT / "src/tokprep/data/o200k_base.tiktoken.gz").read_bytes())
    path = tmp_path / "some-name.tiktoken"
    path.write_bytes(raw)
    tok = BPETokenizer.from_tiktoken_file(path)
    assert tok.name == "o200k_base" and dict(tok.special_tokens) == {
        "<|endoftext|>": 199999,
        "<|endofprompt|>": 200018,
    }
    shutil.copy(path, tmp_path / "x.tiktoken")
    damaged = bytearray(raw)
    damaged[-3] = ord("1") if damaged[-3] != ord("1") else ord("2")  # another rank number
    (tmp_path / "x.tiktoken").write_bytes(bytes(damaged))
    with pytest.raises(TokenizerFileError):  # not recognised, and not silently GPT-2's facts
        BPETokenizer.from_tiktoken_file(tmp_path / "x.tiktoken")
