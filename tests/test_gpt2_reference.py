"""The offline GPT-2 reference: shipped ranks, pinned hashes, equal to tiktoken's own gpt2."""

import hashlib
import shutil
import socket

import pytest
import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks

import tokprep
from conftest import CORPORA, DATA, NetworkBlocked, corpus
from tokprep.bpe import (
    GPT2_PATTERN,
    GPT2_TIKTOKEN_SHA256,
    gpt2_ranks,
    tiktoken_gpt2,
    validate_ranks,
)
from tokprep.bpe.ranks import _gpt2_ranks

# The hashes tiktoken pins for GPT-2's original files.
ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
GPT2_URLS = {
    "vocab.bpe": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    "encoder.json": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
}


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_test_data_is_gpt2s_original_files():
    assert sha256(DATA / "encoder.json") == ENCODER_JSON_SHA256
    assert sha256(DATA / "vocab.bpe") == VOCAB_BPE_SHA256


@pytest.fixture(scope="module")
def tiktoken_own_gpt2(tmp_path_factory):
    """tiktoken.get_encoding("gpt2"), offline: GPT-2's files placed where tiktoken's cache
    looks for them (the sha1 of each download URL). tiktoken checks their sha256 itself."""
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name, url in GPT2_URLS.items():
        shutil.copy(DATA / name, cache / hashlib.sha1(url.encode()).hexdigest())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        mp.setattr(socket, "getaddrinfo", _refuse)  # the module fixture runs outside no_network
        return tiktoken.get_encoding("gpt2")


def _refuse(*args, **kwargs):
    raise NetworkBlocked("network used while building tiktoken's gpt2")


def test_shipped_ranks_equal_gpt2_original_files(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    original = data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(DATA / "vocab.bpe"),
        encoder_json_file=str(DATA / "encoder.json"),
        vocab_bpe_hash=VOCAB_BPE_SHA256,
        encoder_json_hash=ENCODER_JSON_SHA256,
    )
    assert gpt2_ranks() == original
    assert len(original) == 50256


def test_shipped_ranks_are_valid_and_pinned():
    from importlib import resources

    data = (resources.files("tokprep") / "data" / "gpt2.tiktoken").read_bytes()
    assert hashlib.sha256(data).hexdigest() == GPT2_TIKTOKEN_SHA256
    validate_ranks(gpt2_ranks(), "gpt2", special_tokens={"<|endoftext|>": 50256})


def test_gpt2_ranks_returns_a_copy():
    ranks = gpt2_ranks()
    ranks[b"zzz-not-a-token"] = 1
    assert b"zzz-not-a-token" not in _gpt2_ranks()


def test_tiktoken_gpt2_equals_tiktokens_own(tiktoken_own_gpt2):
    ours = tiktoken_gpt2()
    assert isinstance(ours, tiktoken.Encoding)
    assert ours._mergeable_ranks == tiktoken_own_gpt2._mergeable_ranks
    assert ours._special_tokens == tiktoken_own_gpt2._special_tokens == {"<|endoftext|>": 50256}
    assert ours._pat_str == tiktoken_own_gpt2._pat_str == GPT2_PATTERN
    assert ours.n_vocab == tiktoken_own_gpt2.n_vocab == 50257
    assert ours.eot_token == 50256


@pytest.mark.parametrize("name", CORPORA)
def test_identical_ids_on_corpora(tiktoken_own_gpt2, name):
    text = corpus(name)
    assert tiktoken_gpt2().encode_ordinary(text) == tiktoken_own_gpt2.encode_ordinary(text)


def test_textbook_facts():
    enc = tiktoken_gpt2()
    assert len(enc.encode(corpus("the-verdict"))) == 5145
    text = "Hello, do you like tea?<|endoftext|>In the sunlit terraces of someunknownPlace."
    assert enc.encode(text, allowed_special={"<|endoftext|>"}) == [
        15496,
        11,
        466,
        345,
        588,
        8887,
        30,
        50256,
        818,
        262,
        4252,
        18250,
        8812,
        2114,
        286,
        617,
        34680,
        27271,
        13,
    ]
    assert enc.encode("Akwirw ier") == [33901, 86, 343, 86, 220, 959]


def test_load_tokenizer_gpt2_and_pass_through():
    assert tokprep.load_tokenizer("gpt2") is tiktoken_gpt2()

    class Mine:
        n_vocab = 3

        def encode_ordinary(self, text):
            return [0]

        def decode(self, ids):
            return ""

    mine = Mine()
    assert tokprep.load_tokenizer(mine) is mine
    with pytest.raises(TypeError, match="tokenizer must be one of"):
        tokprep.load_tokenizer(42)
    with pytest.raises(tokprep.TokenizerSpecError, match="neither an encoding name"):
        tokprep.load_tokenizer("gpt-2")


def test_network_is_blocked_in_tests():
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("openaipublic.blob.core.windows.net", 443), timeout=1)
    with pytest.raises(NetworkBlocked), socket.socket() as s:
        s.connect(("10.255.255.1", 9))  # loopback is allowed (tests/test_network_guard.py)
