"""`tokprep check`: the table, the reports, --json and the exit status."""

import json

from kit_helpers import example_spec

from tokprep.cli import main


def test_check_passes_an_equal_tokenizer_with_exit_0(capsys):
    code = main(
        [
            "check",
            "tokprep:gpt2",
            "--examples",
            "20",
            "--check",
            "goldens",
            "--check",
            "same_ids",
            "--check",
            "round_trip",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "goldens" in out and "same_ids" in out and "all checks passed in" in out
    assert "same_ids" in err  # progress on standard error


def test_check_fails_a_buggy_tokenizer_with_exit_1_and_a_report(capsys):
    code = main(
        [
            "check",
            example_spec("whitespace_lookahead"),
            "--examples",
            "60",
            "--check",
            "same_ids",
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    assert "FAILED" in out and "likely cause: pre-tokenizer split" in out
    assert "reproduce with:" in out


def test_check_json_and_corpus(capsys, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("naïve café\n", encoding="utf-8")
    code = main(
        [
            "check",
            example_spec("ascii_letters"),
            "--json",
            "--quiet",
            "--examples",
            "20",
            "--check",
            "decode",
            "--corpus",
            str(corpus),
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["passed"] is False
    by_name = {r["name"]: r for r in document["results"]}
    assert by_name["corpus"]["status"] == "failed" and by_name["decode"]["status"] == "passed"
    assert by_name["corpus"]["failure"]["reference_ids"]
    assert document["reference"] == "gpt2" and document["seconds"] > 0


def test_check_accept_file_waives_golden_cases(capsys, tmp_path):
    main(["check", example_spec("ascii_letters"), "--check", "goldens", "--json", "--quiet"])
    before = json.loads(capsys.readouterr().out)["results"][0]
    accept = tmp_path / "accept.json"
    case = before["failure"]["message"].split()[2].rstrip(":")
    accept.write_text(json.dumps({case: "known"}), encoding="utf-8")
    main(
        [
            "check",
            example_spec("ascii_letters"),
            "--check",
            "goldens",
            "--json",
            "--quiet",
            "--accept",
            str(accept),
        ]
    )
    after = json.loads(capsys.readouterr().out)["results"][0]
    assert after["failures"] == before["failures"] - 1


def test_check_bad_arguments_exit_1(capsys):
    assert main(["check", "no-such-tokenizer", "--quiet"]) == 1
    assert "no-such-tokenizer" in capsys.readouterr().err
    assert main(["check", "gpt2", "--examples", "0", "--quiet"]) == 1
