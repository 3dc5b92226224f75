"""Issue 17, sections 4 and 5: every bad input gets a named error; overlapping special tokens;
SimpleTokenizerV2's decode.

Each test feeds one input that used to give a traceback, a silently wrong result or an unclear
message, and checks the error class and that the message names the argument or file, the value
and what to do.
"""

from __future__ import annotations

import codecs
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conftest import corpus
from tokprep.bpe import BPETokenizer
from tokprep.bpe.ranks import MAX_SPECIAL_ID_GAP, dump_tiktoken_bpe
from tokprep.bpe.train import train_bpe
from tokprep.cli import main
from tokprep.dataloading import GPTDataset, WindowLoader, read_manifest
from tokprep.dataloading.prepare import prepare
from tokprep.dataloading.tokfile import make_header, manifest_path
from tokprep.embeddings import GPTEmbedding, apply_rope, check_ids
from tokprep.errors import (
    ArgumentValueError,
    DatasetFormatError,
    TextInputError,
    TokenizerFileError,
    require_bool,
)
from tokprep.files import write_envelope
from tokprep.special import special_tokens_problem
from tokprep.tokenizers import (
    SimpleTokenizerV1,
    SimpleTokenizerV2,
    build_vocab,
    save_vocab,
    split_words,
)
from tokprep.tokenizers.words import load_word_tokenizer

BYTES = {bytes([b]): b for b in range(256)}  # the smallest valid ranks: 256 single bytes
STORY_WORDS = split_words(corpus("the-verdict"))


def tiny(specials=None, **kwargs) -> BPETokenizer:
    return BPETokenizer(dict(BYTES), special_tokens=specials or {}, **kwargs)


# --- token files: manifests and inspect -------------------------------------------------------


def write_token_file(path, ids, **manifest_changes):
    """A uint16 token file and a manifest with the fields prepare writes (then changed)."""
    path.write_bytes(make_header(np.dtype("<u2"), len(ids)) + np.array(ids, "<u2").tobytes())
    manifest = {
        "file": path.name,
        "tokens": len(ids),
        "documents": 1,
        "eot": 50256,
        "dtype": "uint16",
        "sha256": "0" * 64,
        "tokenizer": {"spec": "gpt2"},
    }
    manifest.update(manifest_changes)
    for key in [k for k, v in manifest.items() if v is None]:
        del manifest[key]
    write_envelope(manifest_path(path), "tokens", manifest)
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eot": None}, 'field "eot" is missing'),
        ({"tokenizer": "gpt2"}, "field \"tokenizer\" must be a JSON object, got 'gpt2'"),
        ({"tokenizer": {"spec": 5}}, 'field "tokenizer.spec" must be a string'),
        ({"documents": -1}, 'field "documents" must be a non-negative integer, got -1'),
        ({"sha256": None}, 'field "sha256" is missing'),
    ],
)
def test_a_malformed_manifest_is_named(tmp_path, capsys, changes, message):
    path = write_token_file(tmp_path / "t.bin", [50256, 31373], **changes)
    with pytest.raises(DatasetFormatError, match=message) as raised:
        read_manifest(path)
    assert "t.bin.json" in str(raised.value) and "tokprep prepare" in str(raised.value)
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert message.replace("\\", "") in err and "Traceback" not in err


@pytest.mark.parametrize("spec", ["gpt2", "tokprep:gpt2"])
def test_inspect_names_an_id_the_tokenizer_lacks(tmp_path, capsys, spec):
    # tiktoken raises a bare KeyError for 60000; tokprep's InvalidTokenError is also named.
    path = write_token_file(tmp_path / "t.bin", [50256, 31373, 60000, 995])
    assert main(["inspect", str(path), "--tokenizer", spec]) == 1
    err = capsys.readouterr().err
    assert "the token at index 2 is ID 60000" in err and "n_vocab 50,257" in err
    assert "--tokenizer" in err


def test_inspect_refuses_a_negative_token_count(tmp_path, capsys):
    path = write_token_file(tmp_path / "t.bin", [50256, 31373, 995])
    assert main(["inspect", str(path), "--tokens", "-5"]) == 1
    assert "--tokens must be >= 0, got -5" in capsys.readouterr().err
    assert main(["inspect", str(path), "--tokens", "1"]) == 0
    assert "'hello'" in capsys.readouterr().out


def test_a_jsonl_file_without_documents_is_refused(tmp_path):
    for content in ("", "\n  \n\n"):
        source = tmp_path / "empty.jsonl"
        source.write_text(content)
        out = tmp_path / "out.bin"
        with pytest.raises(TextInputError, match=r"empty\.jsonl: a JSONL file with no documents"):
            prepare([source], out, progress=False)
        assert not out.exists()


# --- patterns, word files, special-token IDs ---------------------------------------------------


def test_a_pattern_that_does_not_compile_is_an_argument_error(tmp_path, capsys):
    with pytest.raises(ArgumentValueError, match=r"pattern '\(' is not a valid regex"):
        BPETokenizer.train("some text to train on", 260, pattern="(")
    with pytest.raises(ArgumentValueError, match="not a valid regex"):
        train_bpe("some text", 260, pattern="[a-")
    with pytest.raises(ArgumentValueError, match="not a valid regex"):
        SimpleTokenizerV1({"a": 0}, pattern="(")
    corpus_file = tmp_path / "c.txt"
    corpus_file.write_text("some text to train on")
    out = tmp_path / "t.json"
    args = ["train", str(corpus_file), "--vocab-size", "260", "--pattern", "(", "-o", str(out)]
    assert main([*args, "--no-progress"]) == 1
    assert "pattern '(' is not a valid regex" in capsys.readouterr().err
    assert not out.exists()


def test_a_word_file_whose_tokenizer_is_a_list(tmp_path):
    path = tmp_path / "v.json"
    save_vocab(path, {"a": 0, "<|unk|>": 1}, tokenizer="SimpleTokenizerV2")
    document = json.loads(path.read_text())
    document["tokenizer"] = ["SimpleTokenizerV2"]
    path.write_text(json.dumps(document))
    with pytest.raises(TokenizerFileError, match=r"v.json: unknown \"tokenizer\" \['Simple"):
        load_word_tokenizer(path)


@pytest.mark.parametrize("index", [10**12, 300_000_000, 256 + MAX_SPECIAL_ID_GAP])
def test_special_ids_beyond_what_the_vocabulary_holds(index):
    with pytest.raises(TokenizerFileError, match=r"special IDs must be below 1,048,832") as e:
        tiny({"<|e|>": index})
    assert f"{index:,}" in str(e.value) and "2**20" in str(e.value)


def test_the_largest_allowed_special_id_works():
    tok = tiny({"<|e|>": 256 + MAX_SPECIAL_ID_GAP - 1})
    assert tok.n_vocab == 256 + MAX_SPECIAL_ID_GAP
    assert tok.decode([97, 256 + MAX_SPECIAL_ID_GAP - 1]) == "a<|e|>"


def test_special_ids_of_the_wrong_type():
    message = re.escape("special token '<|e|>' has ID '256' of type str")
    with pytest.raises(TypeError, match=message):
        tiny({"<|e|>": "256"})
    with pytest.raises(TokenizerFileError, match="negative"):
        tiny({"<|e|>": -1})


def test_numpy_integers_as_special_ids_are_ints():
    tok = tiny({"<|e|>": np.int64(256), "<|f|>": np.uint16(257)})
    assert tok.special_tokens == {"<|e|>": 256, "<|f|>": 257}
    assert all(type(i) is int for i in tok.special_tokens.values())
    assert tok.encode("a<|f|>", allowed_special="all") == [97, 257]


# --- empty and overlapping special tokens --------------------------------------------------------


def test_an_empty_special_token_is_refused_everywhere():
    with pytest.raises(TokenizerFileError, match="empty string"):
        tiny({"": 256})
    with pytest.raises(ArgumentValueError, match="empty string"):
        build_vocab(["a"], special_tokens=("<|unk|>", ""))
    with pytest.raises(ArgumentValueError, match="empty string"):
        SimpleTokenizerV1({"a": 0, "": 1}, special_tokens=[""])
    with pytest.raises(ArgumentValueError, match="empty string"):
        train_bpe("some text", 300, special_tokens=[""])


PREFIX_PAIR = ("<|a|>", "<|a|>b")


def test_special_tokens_where_one_is_a_prefix_of_another_are_refused(tmp_path):
    problem = special_tokens_problem(PREFIX_PAIR)
    assert "'<|a|>' and '<|a|>b' overlap" in problem and "Rename or drop one" in problem
    with pytest.raises(TokenizerFileError, match="overlap"):
        tiny({"<|a|>": 256, "<|a|>b": 257})
    with pytest.raises(ArgumentValueError, match="overlap"):
        build_vocab(["a"], special_tokens=PREFIX_PAIR)
    with pytest.raises(ArgumentValueError, match="overlap"):
        SimpleTokenizerV2({"<|unk|>": 0, "<|a|>": 1, "<|a|>b": 2}, special_tokens=PREFIX_PAIR)
    with pytest.raises(ArgumentValueError, match="overlap"):  # before any training work
        train_bpe("some text", 300, special_tokens=list(PREFIX_PAIR))
    # A file holding such a set is refused on load, naming the file.
    path = tmp_path / "t.json"
    tiny({"<|a|>": 256, "<|b|>": 257}).save(path)
    path.write_text(path.read_text().replace('"<|b|>"', '"<|a|>b"'))
    with pytest.raises(TokenizerFileError, match=r"t.json: .*overlap"):
        BPETokenizer.load(path)


def test_the_overlap_check_finds_any_prefix_pair():
    assert special_tokens_problem(["<|x|>", "<|y|>", "ab", "bc"]) is None  # overlap, no prefix
    assert special_tokens_problem(["<|c|>", "<|b", "<|a|>", "<|cz"]) is None
    assert "'<|b' and '<|b|>'" in special_tokens_problem(["<|c|>", "<|b|>", "<|a|>", "<|b"])
    assert special_tokens_problem([]) is None


# Specials that overlap in text but are not prefixes of each other: at most one can start at any
# position, so tiktoken's choice does not depend on its hash-map order, and tokprep's must equal it.
OVERLAPPING = {"ab": 256, "bc": 257, "<|x": 258, "x|>": 259, "c<|": 260}
OURS_OVERLAPPING = tiny(OVERLAPPING, name="overlapping")
TIKTOKEN_OVERLAPPING = OURS_OVERLAPPING.to_tiktoken()


@given(
    st.lists(st.sampled_from(["a", "b", "c", "<|", "|>", "x", " ", "<", "|"]), max_size=14).map(
        "".join
    ),
    st.sets(st.sampled_from(sorted(OVERLAPPING))),
)
def test_overlapping_specials_without_prefixes_encode_as_tiktoken(text, allowed):
    ours = OURS_OVERLAPPING.encode(text, allowed_special=allowed, disallowed_special=())
    assert ours == TIKTOKEN_OVERLAPPING.encode(text, allowed_special=allowed, disallowed_special=())
    assert OURS_OVERLAPPING.decode(ours) == text


def test_overlapping_specials_examples():
    encode = OURS_OVERLAPPING.encode
    assert encode("abc", allowed_special="all") == [256, ord("c")]
    # "<|x" starts before "x|>", so the leftmost one wins, as in tiktoken.
    assert encode("xbc<|x|>", allowed_special="all") == [ord("x"), 257, 258, ord("|"), ord(">")]
    assert encode("abc", allowed_special={"bc"}, disallowed_special=()) == [ord("a"), 257]
    for text in ("abc", "xbc<|x|>", "c<|x|>"):
        assert encode(text, allowed_special="all") == TIKTOKEN_OVERLAPPING.encode(
            text, allowed_special="all"
        )


# --- GPTDataset and WindowLoader ------------------------------------------------------------------

DATASET = GPTDataset(list(range(20)), 4, 2)


@pytest.mark.parametrize(
    "index",
    [
        1.5,
        True,
        "1",
        np.float64(1.0),
        [1.5, 2.0],
        [0, True],
        ["a"],
        np.array([1.5]),
        torch.tensor([1.0]),
        torch.tensor([True, False]),
        torch.tensor(1.0),
    ],
    ids=repr,
)
def test_window_indices_must_be_integers(index):
    with pytest.raises(TypeError, match=r"must be an int|must hold ints|must be integers"):
        DATASET[index]
    if not isinstance(index, float | bool | str | np.floating) and not (
        isinstance(index, torch.Tensor) and index.dim() == 0
    ):
        with pytest.raises(TypeError):
            DATASET.batch(index)


def test_integer_indices_of_every_kind_still_work():
    expected = DATASET.batch([1, 2])
    for index in ([np.int64(1), 2], np.array([1, 2], np.int32), torch.tensor([1, 2])):
        inputs, targets = DATASET[index]
        assert torch.equal(inputs, expected[0]) and torch.equal(targets, expected[1])
    assert torch.equal(DATASET[np.int64(3)][0], DATASET[3][0])
    assert torch.equal(DATASET[torch.tensor(3)][0], DATASET[3][0])


@pytest.mark.parametrize("tokens", [[1.5, 2.0, 3.0], [1, 2, True], (1, 2, "3")], ids=repr)
def test_token_lists_must_hold_ints(tokens):
    with pytest.raises(TypeError, match="token_ids must hold ints"):
        GPTDataset(tokens, 1, 1)


def test_numpy_integer_tokens_in_a_list_work():
    dataset = GPTDataset([np.int64(5), np.uint16(6), 7], 1, 1)
    assert dataset[1][0].tolist() == [6]


def test_loader_flags_must_be_bools():
    with pytest.raises(TypeError, match="shuffle must be True or False, got str 'no'"):
        WindowLoader(DATASET, shuffle="no")
    with pytest.raises(TypeError, match="drop_last must be True or False"):
        WindowLoader(DATASET, drop_last=1)
    with pytest.raises(TypeError, match="validate must be True or False"):
        GPTEmbedding(10, 4, 4, validate="no")
    loader = WindowLoader(DATASET, shuffle=np.bool_(False), batch_size=2)
    assert loader.shuffle is False
    assert next(iter(loader))[0].tolist() == [[0, 1, 2, 3], [2, 3, 4, 5]]
    assert require_bool("x", np.True_) is True


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_a_cuda_loader_without_cuda_fails_at_construction():
    with pytest.raises(ArgumentValueError, match="device='cuda', but CUDA is not available"):
        WindowLoader(DATASET, device="cuda")


def test_bad_devices_are_named():
    with pytest.raises(ArgumentValueError, match="device='bogus' is not a torch device"):
        WindowLoader(DATASET, device="bogus")
    with pytest.raises(TypeError, match="device must be"):
        WindowLoader(DATASET, device=1.5)
    assert WindowLoader(DATASET, device="cpu").device == torch.device("cpu")


# --- embeddings -----------------------------------------------------------------------------------


def test_rope_refuses_nan_positions_and_a_zero_width_dimension():
    x = torch.randn(3, 4)
    for bad in (float("nan"), float("inf")):
        positions = torch.tensor([0.0, bad, 2.0])
        with pytest.raises(ArgumentValueError, match="1 of 3 entries are NaN or infinite"):
            apply_rope(x, positions)
    with pytest.raises(ArgumentValueError, match=r"at least 2 .*got 0"):
        apply_rope(torch.randn(3, 0), torch.arange(3))
    assert torch.isfinite(apply_rope(x, torch.tensor([0.0, 0.5, 2.0]))).all()


def test_ids_on_the_meta_device():
    ids = torch.zeros(2, 3, dtype=torch.long, device="meta")
    with pytest.raises(ArgumentValueError, match=r"meta device.*validate=False"):
        check_ids(ids, 10)
    with pytest.raises(ArgumentValueError, match="meta device"):
        GPTEmbedding(10, 4, 4)(ids)
    # Without validation a meta run works (shapes only), as it does with nn.Embedding.
    with torch.device("meta"):
        layer = GPTEmbedding(10, 4, 4, validate=False)
    assert layer(ids).shape == (2, 3, 4)


# --- word tokenizers -----------------------------------------------------------------------------


def test_build_vocab_takes_strings_and_an_ordered_sequence_of_specials():
    with pytest.raises(TypeError, match="build_vocab takes str tokens, got int 1"):
        build_vocab([1, 2])
    with pytest.raises(TypeError, match="build_vocab takes an iterable"):
        build_vocab(5)
    with pytest.raises(TypeError, match="its order sets their IDs"):
        build_vocab(["a"], special_tokens={"<|unk|>", "<|endoftext|>"})


def test_special_token_order_follows_the_notebook_chosen():
    chapter_2 = build_vocab(STORY_WORDS)  # the notebook this project follows
    assert (chapter_2["<|unk|>"], chapter_2["<|endoftext|>"]) == (1130, 1131)
    current = build_vocab(STORY_WORDS, special_tokens=("<|endoftext|>", "<|unk|>"))
    assert (current["<|endoftext|>"], current["<|unk|>"]) == (1130, 1131)
    assert SimpleTokenizerV2(current).encode("Zebra") == [1131]


def test_v2_decode_removes_the_space_before_colon_and_semicolon():
    v2 = SimpleTokenizerV2(build_vocab(STORY_WORDS))
    assert v2.decode(v2.encode("Note: it; was")) == "<|unk|>: it; was"
    assert v2.decode(v2.encode("Hello; it: was.")) == "<|unk|>; it: was."
    v1 = SimpleTokenizerV1(build_vocab(STORY_WORDS))
    assert v1.decode(v1.encode("it; was: it")) == "it ; was : it"  # the textbook's V1 set


def test_word_decode_takes_numpy_integers():
    v2 = SimpleTokenizerV2(build_vocab(STORY_WORDS))
    ids = v2.encode("it was")
    assert v2.decode(np.array(ids)) == "it was"
    assert v2.decode([np.int32(i) for i in ids]) == "it was"
    with pytest.raises(TypeError, match="token IDs must be ints, got float64"):
        v2.decode([np.float64(ids[0])])


# --- BPE files, hashes, decoders ------------------------------------------------------------------


def saved_bpe(tmp_path):
    ranks = {**BYTES, b"ab": 256}
    path = tmp_path / "t.json"
    BPETokenizer(ranks, special_tokens={"<|e|>": 257}).save(path)
    return path, json.loads(path.read_text())


def test_a_bad_escape_names_the_token_and_the_entry(tmp_path):
    path, document = saved_bpe(tmp_path)
    document["ranks"][256] = "a\\xZZ"
    path.write_text(json.dumps(document))
    with pytest.raises(TokenizerFileError) as raised:
        BPETokenizer.load(path)
    message = str(raised.value)
    assert "t.json: ranks[256]: bad escape '\\\\xZZ'" in message
    assert "two hex digits" in message


def test_a_one_item_merge_names_the_entry(tmp_path):
    path, document = saved_bpe(tmp_path)
    document["merges"][0] = ["a"]
    path.write_text(json.dumps(document))
    with pytest.raises(TokenizerFileError, match=r"t.json: merges\[0\] is \['a'\]: each merge"):
        BPETokenizer.load(path)


def test_expected_sha256_is_checked_for_type_and_shape(tmp_path):
    path = tmp_path / "r.tiktoken"
    path.write_bytes(dump_tiktoken_bpe(BYTES))
    with pytest.raises(TypeError, match="expected_sha256 must be a str of 64 hex digits"):
        BPETokenizer.from_tiktoken_file(path, expected_sha256=5)
    with pytest.raises(ArgumentValueError, match="'abc' is not a sha256"):
        BPETokenizer.from_tiktoken_file(path, expected_sha256="abc")


def test_stream_decoder_takes_numpy_integers():
    decoder = BPETokenizer.gpt2().stream_decoder()
    ids = BPETokenizer.gpt2().encode("héllo")
    text = "".join(decoder.feed(i) for i in np.array(ids)) + decoder.flush()
    assert text == "héllo"
    assert decoder.feed(np.int64(ids[0])) == "h"
    assert decoder.feed(np.array(ids)) == "héllo"
    with pytest.raises(TypeError, match="token IDs must be ints"):
        decoder.feed([True])
    with pytest.raises(TypeError, match=r"a token ID or an iterable of them, got float 1\.0"):
        decoder.feed(1.0)


def test_decode_error_handlers_are_checked_up_front():
    tok = BPETokenizer.gpt2()
    with pytest.raises(ArgumentValueError, match="errors='bogus' is not an error handler") as e:
        tok.stream_decoder(errors="bogus")
    assert "strict, replace, ignore" in str(e.value)
    with pytest.raises(ArgumentValueError, match="errors='bogus'"):
        tok.decode([31373], errors="bogus")  # valid UTF-8, but the name is still wrong
    with pytest.raises(ArgumentValueError, match="xmlcharrefreplace"):
        tok.stream_decoder(errors="xmlcharrefreplace")  # encodes only
    with pytest.raises(TypeError, match="errors must be a str"):
        tok.stream_decoder(errors=5)
    codecs.register_error("tokprep_test_dot", lambda e: (".", e.end))
    assert tok.decode([tok.encode("é")[0]] * 1, errors="tokprep_test_dot") in ("é", ".")
    assert tok.decode_bytes([]) == b""


# --- command-line text that is not UTF-8 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["encode", "ab\udcffc"], "TEXT"),
        (["encode", "--allowed-special", "<|\udce9|>", "x"], "--allowed-special"),
        (["show", "a\ud800b"], "TEXT"),  # a lone surrogate given to main() directly
    ],
)
def test_command_line_text_that_is_not_utf8_is_refused(capsys, argv, name):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"the argument {name} is not valid UTF-8" in err and "byte offset" in err


def test_paths_may_hold_any_bytes(tmp_path, capsys):
    # A file name that is not UTF-8 is a path, not text: demo --text FILE reads it.
    assert main(["demo", "--text", str(tmp_path / "missing-\udcff.txt")]) == 1
    err = capsys.readouterr().err
    assert "missing" in err and "not valid UTF-8" not in err


def test_real_argv_bytes_are_refused():
    result = subprocess.run(
        [sys.executable, "-m", "tokprep", "encode", b"ab\xffc"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert b"the argument TEXT is not valid UTF-8: bytes b'\\xff' at byte offset 2" in (
        result.stderr
    )
