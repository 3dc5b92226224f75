"""tokprep.testing.adapters: every kind of tokenizer becomes a Subject the checks can drive."""

import pytest
from kit_helpers import example_spec

import tokprep
from tokprep.bpe import BPETokenizer
from tokprep.testing import adapt, checks
from tokprep.testing.adapters import MATCHES, REFUSES, KitTokenizer

EOT = "<|endoftext|>"


@pytest.fixture(scope="module")
def hf_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("hf") / "tokenizer.json"
    BPETokenizer.gpt2().save_hf_tokenizer_json(path)
    return path


def test_tiktoken_and_tokprep_tokenizers_keep_their_whole_api():
    for spec, kind in (("gpt2", "tiktoken"), ("tokprep:gpt2", "tokprep")):
        subject = adapt(spec)
        assert subject.kind == kind and subject.spec == spec
        assert subject.ids("Hello world") == [15496, 995]
        assert subject.special_rule == REFUSES
        assert subject.encode_all_special(f"a{EOT}") == [64, 50256]
        assert subject.token_bytes(995) == b" world"
        assert subject.decode_with_offsets is not None and subject.n_vocab == 50257
    assert adapt(BPETokenizer.gpt2()).kind == "tokprep"


def test_hugging_face_tokenizer_matches_special_text_and_is_compared_so(hf_json):
    from tokenizers import Tokenizer

    subject = adapt(Tokenizer.from_file(str(hf_json)))
    assert subject.kind == "hf-tokenizers" and subject.special_rule == MATCHES
    assert subject.encode_ordinary is None
    assert subject.ids(f"Hello{EOT}") == [15496, 50256]
    assert subject.decode([15496, 995]) == "Hello world"
    assert subject.special_tokens == {EOT: 50256} and subject.pattern
    assert checks.same_ids(subject, "gpt2", examples=30).status == "passed"
    assert checks.offsets(subject, "gpt2", examples=30).status == "passed"  # HF's own offsets
    assert checks.special_refused(subject).status == "skipped"


def test_transformers_tokenizer_adds_no_special_tokens(hf_json):
    transformers = pytest.importorskip("transformers")
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_file=str(hf_json))
    subject = adapt(tokenizer)
    assert subject.kind == "transformers"
    assert subject.ids("Hello world") == [15496, 995]
    assert subject.decode([15496, 50256]) == f"Hello{EOT}"


def test_encode_only_objects_and_bare_functions():
    gpt2 = BPETokenizer.gpt2()

    class EncodeOnly:
        def encode(self, text):
            return gpt2.encode_ordinary(text)

    subject = adapt(EncodeOnly())
    assert subject.ids("a b") == gpt2.encode_ordinary("a b") and subject.decode is None
    assert subject.special_rule != REFUSES  # encode() takes no allowed_special

    def encode(text):
        return gpt2.encode_ordinary(text)

    function = adapt(encode)
    assert function.kind == "function" and function.ids("hi") == gpt2.encode_ordinary("hi")
    assert any("decode" in note for note in function.notes)
    result = checks.round_trip(encode)
    assert result.status == "skipped" and "decode" in result.note
    assert checks.same_ids(encode, "gpt2", examples=30).passed


def test_load_tokenizer_takes_what_the_adapters_handle():
    def encode(text):
        return [0] * len(text)

    loaded = tokprep.load_tokenizer(encode)
    assert isinstance(loaded, KitTokenizer) and loaded.encode_ordinary("ab") == [0, 0]
    assert adapt(loaded).source is encode
    small = tokprep.load_tokenizer(example_spec("ascii_letters"))
    assert isinstance(small, KitTokenizer) and small.n_vocab == 50256
    assert adapt(example_spec("ascii_letters")).spec == example_spec("ascii_letters")
    with pytest.raises(TypeError):
        tokprep.load_tokenizer(object())
    with pytest.raises(TypeError, match="cannot test"):
        adapt(42)
