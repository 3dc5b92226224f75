"""Word tokenizers: `words-v1/v2/v3` names and a learner's chapter-2 class checked against them."""

import json

import tokprep
from tokprep.cli import main
from tokprep.testing import adapt
from tokprep.tokenizers import SimpleTokenizerV1, SimpleTokenizerV2, SimpleTokenizerV3, save_vocab

# A learner's SimpleTokenizerV2 as the chapter writes it; SPLIT is where a bug goes.
LEARNER = """
import re

SPLIT = {split!r}


class SimpleTokenizerV2:
    def __init__(self, vocab):
        self.str_to_int = vocab
        self.int_to_str = {{i: s for s, i in vocab.items()}}

    def encode(self, text):
        pieces = [p.strip() for p in re.split(SPLIT, text) if p.strip()]
        return [self.str_to_int.get(p, self.str_to_int["<|unk|>"]) for p in pieces]

    def decode(self, ids):
        text = " ".join(self.int_to_str[i] for i in ids)
        return re.sub(r'\\s+([,.:;?!"()\\'])', r"\\1", text)
"""
BOOK_SPLIT = r'([,.:;?_!"()\']|--|\s)'


def _learner(tmp_path, split):
    path = tmp_path / "learner.py"
    path.write_text(LEARNER.format(split=split), encoding="utf-8")
    return f"{path}:SimpleTokenizerV2"


def test_word_presets_are_registry_names():
    cases = (
        ("words-v1", SimpleTokenizerV1, 1130),
        ("words-v2", SimpleTokenizerV2, 1132),
        ("words-v3", SimpleTokenizerV3, 1134),
    )
    for name, cls, n_vocab in cases:
        tokenizer = tokprep.load_tokenizer(name)
        assert type(tokenizer) is cls and tokenizer.n_vocab == n_vocab
    assert tokprep.load_tokenizer("words-v2").encode("Hello, do you like tea?") == [
        1130,
        5,
        355,
        1126,
        628,
        975,
        10,
    ]  # the chapter's own example


def test_learner_class_conforms_and_a_split_bug_is_found(tmp_path, capsys):
    good = _learner(tmp_path, BOOK_SPLIT)
    assert main(["check", good, "--reference", "words-v2", "--quiet", "--examples", "60"]) == 0
    capsys.readouterr()
    (tmp_path / "bug").mkdir()
    bad = _learner(tmp_path / "bug", r'([,.?_!"()\']|--|\s)')  # forgot ":" and ";"
    code = main(
        ["check", bad, "--reference", "words-v2", "--quiet", "--json", "--check", "same_ids"]
    )
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert code == 1 and result["failure"]["guess"].startswith("pre-tokenizer split")
    assert set(result["failure"]["text"]) & {":", ";"}


def test_vocab_file_replaces_both_vocabularies(tmp_path, capsys):
    vocab = {w: i for i, w in enumerate(["hello", "world", "<|unk|>", "<|endoftext|>"])}
    save_vocab(tmp_path / "v.json", vocab)
    assert tokprep.load_tokenizer("words-v2", vocab=vocab).n_vocab == 4
    spec = _learner(tmp_path, BOOK_SPLIT)
    assert adapt(spec, vocab=vocab).source.str_to_int == vocab
    args = ["--vocab", str(tmp_path / "v.json"), "--quiet", "--json", "--examples", "40"]
    code = main(["check", spec, "--reference", "words-v2", *args])
    document = json.loads(capsys.readouterr().out)
    assert code == 0, document
