"""Hugging Face both ways: reading tokenizer.json files (tokprep's own exports and files made by
Hugging Face's trainer), refusing what is not byte-level BPE, and writing transformers folders."""

from __future__ import annotations

import json
import re

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import corpus
from tokprep.bpe import BPETokenizer
from tokprep.bpe.export import hf_pattern, write_hf_tokenizer_json
from tokprep.bpe.gpt2_files import token_to_unicode
from tokprep.bpe.hf import pattern_from_hf, read_hf_tokenizer_json
from tokprep.bpe.patterns import GPT2_ORIGINAL_PATTERN, PRESETS
from tokprep.bpe.ranks import ENDOFTEXT
from tokprep.errors import ArgumentValueError, TokenizerFileError

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402

SPECIALS = ["<|endoftext|>", "<|pad|>"]
CORPORA = ("the-verdict", "tinyshakespeare", "war_and_peace", "taylorswift", "japanese-notes")


def _training_text() -> str:
    return corpus("taylorswift")[:60_000] + corpus("japanese-notes")[:15_000]


def _hf_trained(pattern: str | None, vocab_size: int = 1200, **trainer: object) -> Tokenizer:
    """A byte-level BPE trained by Hugging Face itself: special tokens get IDs 0 and 1."""
    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=pattern is None)
    if pattern is None:
        tok.pre_tokenizer = byte_level
    else:
        split = pre_tokenizers.Split(Regex(hf_pattern(PRESETS[pattern])), behavior="isolated")
        tok.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    tok.decoder = decoders.ByteLevel()
    options = {"initial_alphabet": pre_tokenizers.ByteLevel.alphabet(), **trainer}
    tok.train_from_iterator(
        [_training_text()],
        trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False, **options
        ),
    )
    return tok


@pytest.fixture(scope="module")
def hf_files(tmp_path_factory) -> dict[str, str]:
    """tokenizer.json files written by Hugging Face's trainer (GPT-2's ByteLevel regex, and a
    cl100k Split + ByteLevel)."""
    folder = tmp_path_factory.mktemp("hf")
    paths = {}
    for label, pattern in (("bytelevel", None), ("cl100k", "cl100k")):
        paths[label] = str(folder / f"{label}.json")
        _hf_trained(pattern).save(paths[label])
    return paths


@pytest.fixture(scope="module")
def trained_cl100k() -> BPETokenizer:
    return BPETokenizer.train(
        _training_text(), 900, pattern="cl100k", special_tokens=SPECIALS, progress=False
    )


def _hf(path: str, *, match_specials: bool = False) -> Tokenizer:
    tok = Tokenizer.from_file(path)
    tok.encode_special_tokens = not match_specials  # special-token text as ordinary text
    return tok


def _read_text(path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _read_json(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _same_table(a: BPETokenizer, b: BPETokenizer) -> None:
    assert dict(a.mergeable_ranks) == dict(b.mergeable_ranks)
    assert dict(a.special_tokens) == dict(b.special_tokens)
    assert a.pattern == b.pattern and a.n_vocab == b.n_vocab
    assert a.merges == b.merges


# --- tokprep -> tokenizer.json -> tokprep -----------------------------------------------------


def test_gpt2_round_trip_keeps_every_id(tmp_path):
    gpt2 = BPETokenizer.gpt2()
    gpt2.save_hf_tokenizer_json(tmp_path / "tokenizer.json")
    back = BPETokenizer.from_hf_tokenizer_json(tmp_path)  # a folder holding tokenizer.json
    _same_table(back, gpt2)
    text = corpus("japanese-notes")[:20_000]
    assert back.encode(text, allowed_special="all") == gpt2.encode(text, allowed_special="all")


def test_trained_cl100k_round_trip_and_equal_to_hugging_face(tmp_path, trained_cl100k):
    path = tmp_path / "trained.json"
    trained_cl100k.save_hf_tokenizer_json(path)
    back = BPETokenizer.from_hf_tokenizer_json(path)
    _same_table(back, trained_cl100k)
    assert back.name == "trained"
    hf = _hf(str(path))
    for name in CORPORA:
        text = corpus(name)[:30_000]
        assert back.encode_ordinary(text) == hf.encode(text, add_special_tokens=False).ids


def test_special_ids_after_a_gap_survive_the_export(tmp_path, trained_cl100k):
    # cl100k leaves ID 100256 unused before <|endoftext|>; Hugging Face gives an added token
    # missing from the model's vocabulary the next free ID, so the writer puts it there too.
    ranks = dict(trained_cl100k.mergeable_ranks)
    tok = BPETokenizer(ranks, "cl100k", {ENDOFTEXT: len(ranks) + 1, "<|x|>": len(ranks) + 7})
    tok.save_hf_tokenizer_json(tmp_path / "gap.json")
    hf = _hf(str(tmp_path / "gap.json"), match_specials=True)
    assert hf.encode("a<|endoftext|>b<|x|>", add_special_tokens=False).ids == tok.encode(
        "a<|endoftext|>b<|x|>", allowed_special="all"
    )
    _same_table(BPETokenizer.from_hf_tokenizer_json(tmp_path / "gap.json"), tok)


# --- files from Hugging Face's own trainer ---------------------------------------------------


@pytest.mark.parametrize("label", ["bytelevel", "cl100k"])
def test_hugging_face_trained_file_keeps_its_ids(hf_files, label):
    path = hf_files[label]
    tok = BPETokenizer.from_hf_tokenizer_json(path)
    vocab = _read_json(path)["model"]["vocab"]
    assert tok.special_tokens == {"<|endoftext|>": 0, "<|pad|>": 1}
    assert {token_to_unicode(t): i for t, i in tok.mergeable_ranks.items()} == {
        k: v for k, v in vocab.items() if k not in SPECIALS
    }
    assert min(tok.mergeable_ranks.values()) == 2 and tok.n_vocab == len(vocab)
    assert tok.pattern == PRESETS["gpt2" if label == "bytelevel" else "cl100k"]
    hf, hf_special = _hf(path), _hf(path, match_specials=True)
    fast = tok.to_tiktoken()
    for name in CORPORA:
        text = corpus(name)[:40_000]
        ids = tok.encode_ordinary(text)
        assert ids == hf.encode(text, add_special_tokens=False).ids, name
        assert ids == fast.encode_ordinary(text)
        assert tok.decode(ids) == text
    # japanese-notes spells <|endoftext|>: Hugging Face's default matches it, as does
    # tiktoken's encode when it is allowed.
    text = corpus("japanese-notes")[:40_000]
    assert ENDOFTEXT in text
    expected = hf_special.encode(text, add_special_tokens=False).ids
    assert tok.encode(text, allowed_special="all") == expected and 0 in expected
    assert tok.decode(expected) == text


text_strategy = st.text(st.characters(blacklist_categories=("Cs", "Cn")), max_size=40)


@settings(max_examples=80)
@given(text=text_strategy)
def test_hugging_face_trained_file_encodes_any_text_as_hugging_face(hf_files, text):
    for path in hf_files.values():
        tok = _cached(path)
        assert tok.encode_ordinary(text) == _hf(path).encode(text, add_special_tokens=False).ids


_LOADED: dict[str, BPETokenizer] = {}


def _cached(path: str) -> BPETokenizer:
    if path not in _LOADED:
        _LOADED[path] = BPETokenizer.from_hf_tokenizer_json(path)
    return _LOADED[path]


def test_file_ids_keep_decode_tiktoken_and_exports_working(tmp_path, hf_files):
    tok = BPETokenizer.from_hf_tokenizer_json(hf_files["cl100k"])
    assert tok.decode([0]) == ENDOFTEXT and tok.eot_token == 0
    fast = tok.to_tiktoken()  # tiktoken takes any IDs
    assert fast.encode("x<|pad|>", allowed_special="all") == tok.encode(
        "x<|pad|>", allowed_special="all"
    )
    # tokprep's bpe format numbers ranks from 0, so it refuses; tokenizer.json keeps the IDs.
    with pytest.raises(ArgumentValueError, match="save_pretrained"):
        tok.save(tmp_path / "tok.json")
    tok.save_hf_tokenizer_json(tmp_path / "again.json")
    _same_table(BPETokenizer.from_hf_tokenizer_json(tmp_path / "again.json"), tok)


# --- what tokprep refuses ------------------------------------------------------------------------


def _save(tok: Tokenizer, path) -> str:
    tok.save(str(path))
    return str(path)


def _refusals(tmp_path) -> dict[str, tuple[str, str]]:
    """File -> a phrase its error must hold."""
    words = ["hello", "world", "[UNK]"]
    out = {}
    wordpiece = Tokenizer(models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    out["wordpiece"] = (_save(wordpiece, tmp_path / "wp.json"), "the model is 'WordPiece'")
    unigram = Tokenizer(models.Unigram([("hello", -1.0), ("world", -2.0), ("<unk>", -3.0)], 2))
    out["unigram"] = (_save(unigram, tmp_path / "uni.json"), "the model is 'Unigram'")
    wordlevel = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, "[UNK]"))
    out["wordlevel"] = (_save(wordlevel, tmp_path / "wl.json"), "the model is 'WordLevel'")
    metaspace = _hf_trained(None, vocab_size=400)
    metaspace.pre_tokenizer = pre_tokenizers.Metaspace()
    out["metaspace"] = (_save(metaspace, tmp_path / "ms.json"), "'Metaspace'")
    nfc = _hf_trained(None, vocab_size=400)
    nfc.normalizer = normalizers.NFKC()
    out["normalizer"] = (_save(nfc, tmp_path / "nfkc.json"), "normalizer is 'NFKC'")
    prefix = _hf_trained(None, vocab_size=400)
    prefix.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    out["prefix"] = (_save(prefix, tmp_path / "prefix.json"), "add_prefix_space")
    added = _hf_trained(None, vocab_size=400)
    added.add_tokens(["<user>"])
    out["added"] = (_save(added, tmp_path / "added.json"), "'<user>' (ID 400) is not special")
    no_alphabet = _hf_trained(None, vocab_size=400, initial_alphabet=[])
    out["bytes"] = (_save(no_alphabet, tmp_path / "bytes.json"), "single-byte tokens are missing")
    fallback = _read_json(_save(_hf_trained(None, 400), tmp_path / "x.json"))
    fallback["model"]["byte_fallback"] = True
    (tmp_path / "fallback.json").write_text(json.dumps(fallback), encoding="utf-8")
    out["fallback"] = (str(tmp_path / "fallback.json"), "byte_fallback: True")
    return out


def test_refuses_what_is_not_byte_level_bpe(tmp_path):
    for label, (path, phrase) in _refusals(tmp_path).items():
        with pytest.raises(TokenizerFileError) as caught:
            BPETokenizer.from_hf_tokenizer_json(path)
        message = str(caught.value)
        assert message.startswith(path) and phrase in message, (label, message)


def test_misnumbered_merges_name_the_token(tmp_path, hf_files):
    document = _read_json(hf_files["bytelevel"])
    vocab, merges = document["model"]["vocab"], document["model"]["merges"]
    first, second = ("".join(pair) for pair in merges[:2])
    vocab[first], vocab[second] = vocab[second], vocab[first]
    (tmp_path / "swapped.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(TokenizerFileError, match=rf"merges\[1\] makes {re.escape(repr(second))}"):
        BPETokenizer.from_hf_tokenizer_json(tmp_path / "swapped.json")


def test_special_ids_must_not_be_ranks(tmp_path, hf_files):
    document = _read_json(hf_files["bytelevel"])
    del document["model"]["vocab"]["<|pad|>"]
    document["added_tokens"][1]["id"] = 5  # a byte's ID
    (tmp_path / "clash.json").write_text(json.dumps(document), encoding="utf-8")
    message = re.escape("'<|pad|>' has ID 5, which a mergeable token already has")
    with pytest.raises(TokenizerFileError, match=message):
        BPETokenizer.from_hf_tokenizer_json(tmp_path / "clash.json")


def _hand_made(tmp_path, merges: list[str]) -> str:
    """A byte-level tokenizer.json over a b c + ab, bc, abc with the given merges."""
    from tokprep.bpe.gpt2_files import GPT2_BYTE_ORDER

    vocab = {token_to_unicode(bytes([b])): i for i, b in enumerate(GPT2_BYTE_ORDER)}
    vocab.update({"bc": 256, "ab": 257, "abc": 258})
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True}
    document = {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {**byte_level, "use_regex": True},
        "post_processor": None,
        "decoder": {**byte_level, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_pair_ranks_and_result_ranks_can_disagree(tmp_path):
    # Hugging Face joins only listed pairs; tiktoken joins any two parts that spell a token.
    path = _hand_made(tmp_path, ["b c", "a b", "ab c"])
    tok = BPETokenizer.from_hf_tokenizer_json(path)
    assert tok.encode_ordinary("abc") == [258]
    assert _hf(path).encode("abc", add_special_tokens=False).ids == [ord("a") - 33, 256]
    # A token no merge makes from lower IDs can never come out of BPE: refused.
    with pytest.raises(TokenizerFileError, match=r"'abc' \(ID 258\) is in model\.vocab but"):
        BPETokenizer.from_hf_tokenizer_json(_hand_made(tmp_path, ["b c", "a b"]))
    with pytest.raises(TokenizerFileError, match=r"not in model\.vocab"):
        BPETokenizer.from_hf_tokenizer_json(_hand_made(tmp_path, ["b c", "a b", "a d"]))


def test_patterns_from_files():
    for name, preset in PRESETS.items():
        assert pattern_from_hf(hf_pattern(preset)) == preset, name
    assert pattern_from_hf(GPT2_ORIGINAL_PATTERN) == PRESETS["gpt2"]
    # tiktoken's cl100k string run by Oniguruma keeps any run of digits together; the import
    # keeps that meaning rather than silently becoming cl100k.
    raw = PRESETS["cl100k"]
    text = "In 1234567 years, don't\n\n  stop!!"
    split = pre_tokenizers.Split(Regex(raw), behavior="isolated")
    ours = pattern_from_hf(raw)
    assert ours != raw and "(?:\\p{N}{1,3})+" in ours
    assert regex.findall(ours, text) == [p for p, _ in split.pre_tokenize_str(text)]


def test_refuses_a_split_that_drops_text(tmp_path, hf_files):
    document = _read_json(hf_files["cl100k"])
    document["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\p{L}+"
    (tmp_path / "letters.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(TokenizerFileError, match="leaves some characters unmatched"):
        read_hf_tokenizer_json(tmp_path / "letters.json")


# --- transformers folders ------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return pytest.importorskip("transformers")


def _check_folder(folder, tok: BPETokenizer, transformers) -> None:
    loaded = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert loaded.eos_token == ENDOFTEXT and loaded.eos_token_id == tok.eot_token
    for name in ("the-verdict", "japanese-notes"):
        text = corpus(name)[:5_000] + " <|endoftext|> done"
        # transformers matches special-token text (Hugging Face's default).
        assert loaded(text)["input_ids"] == tok.encode(text, allowed_special="all")
    assert loaded.decode(tok.encode_ordinary("héllo wörld")) == "héllo wörld"


def test_save_pretrained_loads_in_transformers(tmp_path, offline, hf_files):
    gpt2 = BPETokenizer.gpt2()
    paths = gpt2.save_pretrained(tmp_path / "gpt2")
    assert sorted(p.name for p in paths) == sorted(p.name for p in (tmp_path / "gpt2").iterdir())
    _check_folder(tmp_path / "gpt2", gpt2, offline)
    config = json.loads((tmp_path / "gpt2" / "tokenizer_config.json").read_text("utf-8"))
    assert config["model_max_length"] == 1024 and config["bos_token"] == ENDOFTEXT
    vocab = json.loads((tmp_path / "gpt2" / "vocab.json").read_text("utf-8"))
    assert vocab[ENDOFTEXT] == 50256 and vocab["Ġthe"] == gpt2.encode_ordinary(" the")[0]
    # A Hugging Face-trained file (special tokens first) goes back out with the same IDs.
    imported = BPETokenizer.from_hf_tokenizer_json(hf_files["cl100k"])
    imported.save_pretrained(tmp_path / "imported")
    _check_folder(tmp_path / "imported", imported, offline)


def test_train_export_transformers(tmp_path, offline):
    from tokprep.cli import main

    text_file = tmp_path / "corpus.txt"
    text_file.write_text(corpus("the-verdict"), encoding="utf-8")
    folder = tmp_path / "tf"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--vocab-size",
                "400",
                "--special",
                ENDOFTEXT,
                "--pattern",
                "cl100k",
                "-o",
                str(tmp_path / "tok.json"),
                "--export-transformers",
                str(folder),
                "--no-progress",
            ]
        )
        == 0
    )
    _check_folder(folder, BPETokenizer.load(tmp_path / "tok.json"), offline)


def test_bench_compares_hugging_face_like_with_like():
    from tokprep.bench.encode import _huggingface_gpt2
    from tokprep.bpe import tiktoken_gpt2

    text = corpus("japanese-notes")[:20_000]
    assert ENDOFTEXT in text
    assert _huggingface_gpt2().encode(text, add_special_tokens=False).ids == (
        tiktoken_gpt2().encode_ordinary(text)
    )


def test_writer_refuses_a_special_token_spelled_like_a_rank(tmp_path):
    ranks = {bytes([b]): b for b in range(256)}
    with pytest.raises(ArgumentValueError, match="spelled like the mergeable token"):
        write_hf_tokenizer_json(ranks, "gpt2", {"a": 256}, tmp_path / "t.json")


def test_load_tokenizer_reads_tokenizer_json_files_and_folders(tmp_path, hf_files):
    from tokprep import load_tokenizer

    expected = BPETokenizer.from_hf_tokenizer_json(hf_files["bytelevel"])
    text = corpus("the-verdict")[:3_000]
    renamed = tmp_path / "mine.json"  # recognised by its content, not only by its name
    renamed.write_text(_read_text(hf_files["bytelevel"]), encoding="utf-8")
    trained = BPETokenizer.train(text, 300, special_tokens=[ENDOFTEXT], progress=False)
    trained.save_pretrained(tmp_path / "folder")
    trained.save(tmp_path / "tokprep.json")  # tokprep's own format still loads
    for spec, want in (
        (hf_files["bytelevel"], expected),
        (str(renamed), expected),
        (str(tmp_path / "folder"), trained),
        (str(tmp_path / "folder" / "tokenizer.json"), trained),
        (str(tmp_path / "tokprep.json"), trained),
    ):
        tok = load_tokenizer(spec)
        assert isinstance(tok, BPETokenizer), spec
        assert tok.encode_ordinary(text) == want.encode_ordinary(text), spec
        assert dict(tok.special_tokens) == dict(want.special_tokens), spec
