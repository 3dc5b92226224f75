"""The golden vectors shipped with tokprep: current, stamped, small, and oracle-free to use."""

import importlib.metadata

import pytest

from tokprep.bpe.encodings import tiktoken_encoding
from tokprep.testing.golden import golden_encoding, golden_names, load_golden


def test_a_golden_file_per_encoding_and_small():
    assert golden_names() == ["cl100k_base", "gpt2", "o200k_base"]
    from importlib import resources

    folder = resources.files("tokprep.testing.golden")
    assert sum((folder / f"{n}.json").stat().st_size for n in golden_names()) < 1_000_000


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "o200k_base"])
def test_golden_ids_are_tiktokens(name):
    golden = load_golden(name)
    made = golden["made_with"]
    assert made["tiktoken"] and made["unicode"] and len(golden["cases"]) >= 250
    encoding = tiktoken_encoding(name)
    installed = importlib.metadata.version("tiktoken")
    for case in golden["cases"]:
        assert encoding.encode_ordinary(case["text"]) == case["ids"], (
            f"{case['id']}: the golden file was made with tiktoken {made['tiktoken']}, this is "
            f"tiktoken {installed}; rerun scripts/make_golden_vectors.py if they differ"
        )


def test_golden_encoding_of_a_reference():
    assert golden_encoding("gpt2") == "gpt2"
    assert golden_encoding("r50k_base") == "gpt2"
    assert golden_encoding("tokprep:cl100k_base") == "cl100k_base"
    assert golden_encoding("my.json") is None
    with pytest.raises(FileNotFoundError, match="no golden vectors"):
        load_golden("p50k_base")
