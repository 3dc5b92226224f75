"""The conventions every `tokprep` command follows (tokprep.commands.options), as tests.

--json for data; `-` is standard input; decode's newline only on a terminal (and a real
`encode | decode | encode -` pipe); colour by terminal, NO_COLOR and --color/--colour; data on
stdout, progress on stderr; exit status 0 / 1 (failed check, bad input) / 2 (usage).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import pytest

from tokprep.cli import build_parser, main

# Commands whose output is not data: they need no --json (the reason is the value).
NO_JSON = {
    "demo": "a walk-through for a person to read",
    "serve": "runs a server; its API speaks JSON",
}
TOKPREP = [sys.executable, "-m", "tokprep"]
ANSI = "\x1b["


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("tokprep has no subcommands")


class _Stdin(io.TextIOWrapper):
    """Standard input holding `data`, as `sys.stdin` (with `.buffer`)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_every_command_that_prints_data_has_json():
    commands = _commands()
    assert {"encode", "decode", "show", "count", "info", "check"} <= set(commands)
    missing = [
        name
        for name, parser in commands.items()
        if name not in NO_JSON
        and not any("--json" in action.option_strings for action in parser._actions)
    ]
    assert not missing, f"commands without --json: {missing}"


def test_json_goes_to_stdout_alone(monkeypatch, capsys):
    for argv in (["encode", "--json", "Hello world"], ["count", "--json", "-"], ["info", "--json"]):
        monkeypatch.setattr(sys, "stdin", _Stdin(b"Hello world"))
        assert main(argv) == 0
        json.loads(capsys.readouterr().out)  # one JSON document, nothing else
    assert main(["encode", "--json", "Hello world"]) == 0
    as_json = capsys.readouterr().out
    assert json.loads(as_json) == [15496, 995]
    monkeypatch.setattr(sys, "stdin", _Stdin(as_json.encode()))  # decode reads it back
    assert main(["decode"]) == 0
    assert capsys.readouterr().out == "Hello world"
    assert main(["show", "--json", "a b"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [t["text"] for t in shown["tokens"]] == ["a", " b"] and shown["n_tokens"] == 2


def test_check_progress_goes_to_stderr_and_json_to_stdout(capsys):
    assert main(["check", "gpt2", "--reference", "gpt2", "--check", "goldens", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["passed"] is True
    assert "tokprep check: gpt2 against gpt2" in err


def test_dash_and_no_text_read_standard_input(monkeypatch, capsys):
    expected = "15496 995\n"
    for argv in (["encode", "-"], ["encode"]):
        monkeypatch.setattr(sys, "stdin", _Stdin(b"Hello world"))
        assert main(argv) == 0
        assert capsys.readouterr().out == expected
    for argv in (["decode", "-"], ["decode"]):
        monkeypatch.setattr(sys, "stdin", _Stdin(b"15496 995\n"))
        assert main(argv) == 0
        assert capsys.readouterr().out == "Hello world"
    monkeypatch.setattr(sys, "stdin", _Stdin("a\u00e9 b".encode()))
    assert main(["show", "--color", "never", "-"]) == 0
    assert capsys.readouterr().out.startswith("a|\u00e9| b")
    monkeypatch.setattr(sys, "stdin", _Stdin(b"Hello world"))
    assert main(["count", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["tokens"] == {"gpt2": 2}
    monkeypatch.setattr(sys, "stdin", _Stdin(b"Hello there, general Kenobi. " * 3))
    assert main(["demo", "--text", "-"]) == 0
    assert "standard input: 87 characters" in capsys.readouterr().out


def test_train_report_is_json_on_stdout_progress_elsewhere(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("low lower lowest newer wider " * 50, encoding="utf-8")
    argv = ["train", str(corpus), "--vocab-size", "270", "-o", str(tmp_path / "t.json")]
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["n_vocab"] == 270 and report["merges"] == 14
    assert report["files"]["output"] == str(tmp_path / "t.json")
    assert report["training_bytes"] == corpus.stat().st_size


def test_decode_ends_with_a_newline_only_on_a_terminal(monkeypatch, capsys):
    assert main(["decode", "15496", "995"]) == 0
    assert capsys.readouterr().out == "Hello world"
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["decode", "15496", "995"]) == 0
    assert terminal.getvalue() == "Hello world\n"


def test_encode_decode_encode_pipe_gives_the_same_ids():
    # Real processes and pipes: a newline added by decode would add a token to the last encode.
    text = "Tokens \u00e9t\u00e9 \U0001f600 ends without a newline  "
    first = subprocess.run(
        [*TOKPREP, "encode", text], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    decode = subprocess.Popen([*TOKPREP, "decode"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    encode = subprocess.Popen(
        [*TOKPREP, "encode", "-"], stdin=decode.stdout, stdout=subprocess.PIPE
    )
    assert decode.stdout is not None and decode.stdin is not None
    decode.stdout.close()  # encode holds the read end now
    decode.stdin.write(first.encode())
    decode.stdin.close()
    again, _ = encode.communicate(timeout=60)
    assert decode.wait(timeout=60) == 0 and encode.returncode == 0
    assert again.decode() == first and first.strip()


def test_colour_follows_terminal_no_color_and_the_option(monkeypatch):
    def show(*options: str, terminal: bool) -> str:
        out = _Terminal() if terminal else io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        assert main(["show", *options, "Hello world"]) == 0
        return out.getvalue()

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert ANSI in show(terminal=True)
    assert ANSI not in show(terminal=False)
    assert ANSI in show("--color", "always", terminal=False)
    assert ANSI in show("--colour", "always", terminal=False)  # the British spelling, an alias
    assert ANSI not in show("--colour", "never", terminal=True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert ANSI not in show(terminal=True)
    assert ANSI in show("--color", "always", terminal=True)  # asked for explicitly
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org)
    assert ANSI in show(terminal=True)


def test_help_states_the_exit_status_policy():
    result = subprocess.run(
        [*TOKPREP, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    help_text = " ".join(result.stdout.split())
    assert "exit status: 0 success; 1 a failed check or bad input" in help_text
    assert "2 a usage error" in help_text


def _bad_inputs(tmp_path):
    missing = str(tmp_path / "missing.txt")
    bad_utf8 = tmp_path / "latin1.txt"
    bad_utf8.write_bytes(b"caf\xe9\n")
    return {
        "encode": ["encode", "--tokenizer", "no_such_encoding_xyz.tiktoken", "x"],
        "decode": ["decode", "99999999"],
        "show": ["show", "--allowed-special", "nope", "<|endoftext|>"],
        "count": ["count", missing],
        "count-utf8": ["count", str(bad_utf8)],
        "train": ["train", missing, "--vocab-size", "300", "-o", str(tmp_path / "t.json")],
        "check": ["check", "no-such-tokenizer", "--quiet"],
        "check-trainer": ["check-trainer", "no_such_module_xyz:train"],
        "demo": ["demo", "--text", missing],
        "inspect": ["inspect", missing],
        "prepare": ["prepare", missing, "-o", str(tmp_path / "out.bin")],
        "merge": ["merge", str(tmp_path / "no-run")],
        "bench": ["bench", "--quick", "--corpus", missing],
    }


# A spec that names nothing is the one error whose message goes on: it lists every form.
SPEC_LISTS_FORMS = {"encode", "check"}


def test_bad_input_exits_1_with_a_message_not_a_traceback(tmp_path, capsys):
    for name, argv in _bad_inputs(tmp_path).items():
        assert main(argv) == 1, name
        err = capsys.readouterr().err
        first = err.splitlines()[0] if err else ""
        assert first.startswith(f"tokprep {argv[0]}: error: "), (name, err)
        assert "Traceback" not in err, name
        if name in SPEC_LISTS_FORMS:
            assert "A spec is one of:" in first, (name, err)
        else:
            assert len(err.splitlines()) == 1, (name, err)


def test_tokprep_traceback_shows_the_error_itself(monkeypatch, capsys):
    monkeypatch.setenv("TOKPREP_TRACEBACK", "1")
    with pytest.raises(ValueError, match="is not a token ID"):
        main(["decode", "abc"])
    monkeypatch.delenv("TOKPREP_TRACEBACK")
    assert main(["decode", "abc"]) == 1
    assert capsys.readouterr().err.startswith("tokprep decode: error: 'abc' is not a token ID")


def test_a_failed_check_exits_1(tmp_path, capsys):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples"
    planted = f"{examples / 'trainers' / 'forgot_tie_break.py'}:train_bpe"
    args = ["--tie-break", "lexicographic", "--examples", "0"]
    assert main(["check-trainer", planted, *args]) == 1
    assert main(["check", "cl100k_base", "--reference", "gpt2", "--check", "goldens"]) == 1
    capsys.readouterr()


def test_usage_errors_exit_2(capsys):
    for argv in (["encode", "--no-such-option"], ["count"], ["show", "--color", "pink", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
    capsys.readouterr()


def test_option_defaults_are_the_library_defaults():
    import inspect

    from tokprep.bpe import BPETokenizer
    from tokprep.resolve import DEFAULT_TOKENIZER
    from tokprep.testing.runner import run_checks

    def defaults(function):
        return {k: p.default for k, p in inspect.signature(function).parameters.items()}

    parser = build_parser()
    train = parser.parse_args(["train", "x.txt", "--vocab-size", "300", "-o", "t.json"])
    python = defaults(BPETokenizer.train)  # what `BPETokenizer.train(...)` does by itself
    for option in ("pattern", "min_frequency", "tie_break"):
        assert getattr(train, option) == python[option], option
    check = parser.parse_args(["check", "x"])
    kit = defaults(run_checks)
    assert (check.reference, check.seed) == (kit["reference"], kit["seed"])
    for command in ("encode", "decode", "show"):
        assert parser.parse_args([command, "1"]).tokenizer == DEFAULT_TOKENIZER
