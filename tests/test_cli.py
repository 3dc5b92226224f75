"""The command line: `tokprep demo`, `python -m tokprep`, and a fast, torch-free start."""

import io
import subprocess
import sys

import pytest

from tokprep.cli import main
from tokprep.demo import run_demo


def test_demo_shows_the_textbook_facts():
    out = io.StringIO()
    run_demo(out=out)
    text = out.getvalue()
    assert "20,479 characters" in text
    assert "4,690 word tokens" in text
    assert "1,130 unique tokens + 2 special = 1,132 entries" in text
    assert "<|unk|> = 1130, <|endoftext|> = 1131" in text
    assert "UnknownTokenError" in text and "'Hello' at character 0" in text
    assert "[1130, 5, 355, 1126, 628, 975, 10, 1131, 55" in text
    assert "5,145 tokens" in text
    assert "[40, 367, 2885, 1464, 1807, 3619, 402, 271, 10899, 2138" in text
    assert "[33901, 86, 343, 86, 220, 959]" in text


def test_demo_on_another_file(tmp_path, capsys):
    path = tmp_path / "t.txt"
    path.write_text("Hello there, general Kenobi. You are a bold one.", encoding="utf-8")
    assert main(["demo", "--text", str(path)]) == 0
    assert "t.txt: 48 characters" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"abc \xff", "invalid UTF-8 at byte offset 4"), (b"", "the file is empty")],
)
def test_demo_bad_input_is_a_clear_error(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert main(["demo", "--text", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_demo_missing_file(tmp_path, capsys):
    assert main(["demo", "--text", str(tmp_path / "nope.txt")]) == 1
    assert "nope.txt" in capsys.readouterr().err


def test_importing_tokenizer_parts_does_not_import_torch():
    code = (
        "import sys, tokprep, tokprep.tokenizers, tokprep.bpe, tokprep.cli;"
        "tokprep.cli.build_parser();"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_python_m_tokprep():
    result = subprocess.run(
        [sys.executable, "-m", "tokprep", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout
