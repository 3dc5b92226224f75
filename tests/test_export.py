"""Export formats: .tiktoken, GPT-2 encoder.json + vocab.bpe, Hugging Face tokenizer.json."""

from __future__ import annotations

import json

import pytest
import regex
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA, corpus
from tokprep.bpe.export import (
    hf_merges,
    hf_pattern,
    merges_from_ranks,
    write_hf_tokenizer_json,
    write_tiktoken_file,
)
from tokprep.bpe.gpt2_files import bytes_to_unicode, token_to_unicode, write_gpt2_files
from tokprep.bpe.patterns import PRESETS
from tokprep.bpe.ranks import ENDOFTEXT, gpt2_ranks
from tokprep.bpe.train import TrainedBPE, train_bpe
from tokprep.errors import ArgumentValueError, TokenizerFileError

tokenizers = pytest.importorskip("tokenizers")

SPECIALS = ["<|endoftext|>", "<|pad|>"]


@pytest.fixture(scope="module")
def trained() -> dict[str, TrainedBPE]:
    text = corpus("taylorswift")[:100_000] + corpus("japanese-notes")[:20_000]
    return {
        p: train_bpe(text, 1500, pattern=p, special_tokens=SPECIALS, progress=False)
        for p in PRESETS
    }


def _tiktoken(t: TrainedBPE) -> tiktoken.Encoding:
    return tiktoken.Encoding(
        "trained", pat_str=t.pattern, mergeable_ranks=t.ranks, special_tokens=t.special_tokens
    )


def test_byte_map_is_gpt2s():
    with open(DATA / "encoder.json", encoding="utf-8") as f:
        gpt2_encoder = json.load(f)
    ranks = gpt2_ranks()
    # GPT-2's own encoder.json spells every token with this map and gives it its tiktoken rank.
    assert all(gpt2_encoder[token_to_unicode(t)] == r for t, r in ranks.items())
    assert len(set(bytes_to_unicode().values())) == 256


def test_merges_from_ranks_recovers_gpt2s_vocab_bpe():
    lines = (DATA / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:-1]
    merges = merges_from_ranks(gpt2_ranks())
    assert [f"{token_to_unicode(a)} {token_to_unicode(b)}" for a, b in merges] == lines


def test_merges_from_ranks_recovers_training_merges(trained):
    for t in trained.values():
        assert merges_from_ranks(t.ranks) == t.merges


def test_merges_from_ranks_follows_bpe_and_rejects_what_bpe_cannot_reach():
    ranks = {bytes([b]): b for b in range(256)}
    ranks.update({b"bc": 256, b"ab": 257, b"abc": 258})
    # BPE joins "bc" first, so the parents of "abc" are a + bc, not ab + c.
    assert merges_from_ranks(ranks) == [(b"b", b"c"), (b"a", b"b"), (b"a", b"bc")]
    # "abcd" is ab + cd, but BPE joins "bc" first and is then stuck at a, bc, d.
    del ranks[b"abc"]
    ranks.update({b"cd": 258, b"abcd": 259})
    with pytest.raises(ArgumentValueError, match="splits it into 3 parts"):
        merges_from_ranks(ranks)


def test_tiktoken_file_round_trip(tmp_path, trained):
    from tiktoken.load import load_tiktoken_bpe

    path = tmp_path / "t.tiktoken"
    write_tiktoken_file(trained["gpt2"].ranks, path)
    assert load_tiktoken_bpe(str(path)) == trained["gpt2"].ranks


def test_gpt2_files_load_in_tiktoken_and_hugging_face(tmp_path, trained, monkeypatch):
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tokenizers.models import BPE

    t = trained["gpt2"]
    specials = {ENDOFTEXT: t.special_tokens[ENDOFTEXT]}
    encoder_path, merges_path = write_gpt2_files(t.ranks, specials, tmp_path / "gpt2")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # read the files, not a cached copy
    assert data_gym_to_mergeable_bpe_ranks(str(merges_path), str(encoder_path)) == t.ranks
    vocab, merges = BPE.read_file(str(encoder_path), str(merges_path))
    char_to_byte = {c: b for b, c in bytes_to_unicode().items()}
    hf_ids = {bytes(char_to_byte[c] for c in k): v for k, v in vocab.items() if k != ENDOFTEXT}
    assert hf_ids == t.ranks and vocab[ENDOFTEXT] == 1498
    assert len(merges) == len(t.merges)
    model = BPE.from_file(str(encoder_path), str(merges_path))
    assert model.token_to_id(token_to_unicode(b" the")) == t.ranks[b" the"]
    with pytest.raises(ArgumentValueError, match="only the special token"):
        write_gpt2_files(t.ranks, t.special_tokens, tmp_path / "other")
    assert not (tmp_path / "other" / "encoder.json").exists()


def test_hf_pattern_keeps_cl100k_digit_groups():
    from tokenizers import Regex, pre_tokenizers

    assert hf_pattern(PRESETS["gpt2"]) == PRESETS["gpt2"]
    assert hf_pattern(PRESETS["o200k"]) == PRESETS["o200k"]
    assert r"(?>\p{N}{1,3})" in hf_pattern(PRESETS["cl100k"])
    assert hf_pattern(r"(?i:x{2}+)[{]{1,}+") == r"(?i:(?>x{2}))(?>[{]{1,})"
    text = "In 1234567 years, 12 cats don't\n\n  SAY 'hello'!!\n  "
    split = pre_tokenizers.Split(Regex(hf_pattern(PRESETS["cl100k"])), behavior="isolated")
    assert [p for p, _ in split.pre_tokenize_str(text)] == regex.findall(PRESETS["cl100k"], text)


def _hf(t: TrainedBPE, path):
    from tokenizers import Tokenizer

    write_hf_tokenizer_json(t.ranks, t.pattern, t.special_tokens, path, t.merges)
    return Tokenizer.from_file(str(path))


@pytest.mark.parametrize("pattern", ["gpt2", "cl100k", "o200k"])
def test_tokenizer_json_gives_tiktokens_ids_on_corpora(tmp_path, trained, pattern):
    t = trained[pattern]
    hf, enc = _hf(t, tmp_path / "tokenizer.json"), _tiktoken(t)
    assert hf.get_vocab_size() == t.n_vocab
    for name in ("the-verdict", "tinyshakespeare", "japanese-notes", "war_and_peace"):
        text = corpus(name)[:150_000]
        # Hugging Face always matches added (special) tokens in text: japanese-notes spells
        # <|endoftext|>, so compare with tiktoken allowing specials.
        ids = enc.encode(text, allowed_special="all")
        assert hf.encode(text, add_special_tokens=False).ids == ids
        assert hf.decode(ids, skip_special_tokens=False) == text


# Characters assigned after Unicode 14 are left out: Hugging Face's regex engine knows an older
# Unicode and classifies them differently (see write_hf_tokenizer_json).
text_strategy = st.text(st.characters(blacklist_categories=("Cs", "Cn")), max_size=40)


@settings(max_examples=60)
@given(text=text_strategy)
def test_tokenizer_json_gives_tiktokens_ids_on_any_text(tmp_path_factory, trained, text):
    for pattern, t in trained.items():
        path = tmp_path_factory.getbasetemp() / f"hyp-{pattern}.json"
        if not path.exists():
            _hf(t, path)
        from tokenizers import Tokenizer

        hf = Tokenizer.from_file(str(path))
        ids = _tiktoken(t).encode(text, allowed_special="all")
        assert hf.encode(text, add_special_tokens=False).ids == ids


def test_hf_merges_list_every_cut_in_rank_order(trained):
    t = trained["gpt2"]
    merges = hf_merges(t.ranks, t.merges)
    ranks_of_results = [t.ranks[a + b] for a, b in merges]
    assert ranks_of_results == sorted(ranks_of_results)
    assert set(t.merges) <= set(merges)
    assert all(a in t.ranks and b in t.ranks for a, b in merges)
    with pytest.raises(ArgumentValueError, match="merges has"):
        hf_merges(t.ranks, t.merges[:-1])
    with pytest.raises(ArgumentValueError, match="rank order"):
        hf_merges(t.ranks, [t.merges[1], t.merges[0], *t.merges[2:]])


def test_tokenizer_json_special_tokens_and_invalid_ranks(tmp_path, trained):
    t = trained["o200k"]
    hf = _hf(t, tmp_path / "tok.json")
    assert hf.encode("a<|pad|>b", add_special_tokens=False).ids[1] == t.special_tokens["<|pad|>"]
    document = json.loads((tmp_path / "tok.json").read_text(encoding="utf-8"))
    assert document["model"]["ignore_merges"] is True
    bad = dict(t.ranks)
    del bad[b"a"]
    with pytest.raises(TokenizerFileError):
        write_hf_tokenizer_json(bad, t.pattern, {}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()
