"""Reading text and writing files: clear errors, atomic writes, one JSON envelope."""

import json
import os

import pytest

from tokprep import files
from tokprep.errors import TextInputError, TokenizerFileError
from tokprep.files import (
    atomic_files,
    atomic_write,
    check_output,
    read_envelope,
    read_text,
    same_file,
    write_envelope,
)


def test_read_text_names_file_and_byte_offset_of_invalid_utf8(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xc3\xa9 ok \xff rest")
    with pytest.raises(TextInputError, match=r"bad\.txt: invalid UTF-8 at byte offset 9"):
        read_text(path)


def test_read_text_empty_and_missing(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(TextInputError, match="empty"):
        read_text(tmp_path / "empty.txt")
    assert read_text(tmp_path / "empty.txt", allow_empty=True) == ""
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        read_text(tmp_path / "missing.txt")


def test_atomic_write_replaces_whole_file_or_leaves_old(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write(b"new, half-written")
        raise RuntimeError("crash mid-write")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]  # no temporary file left behind
    # a temporary file carries tokprep's mark, this host's tag and this process's PID
    with atomic_write(path) as f:
        [tmp] = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
        assert tmp.startswith(f".out.bin.tokprep-{files._host_tag()}-{os.getpid()}-")
        f.write(b"old")
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"


def test_envelope_round_trip_and_checks(tmp_path):
    path = tmp_path / "x.json"
    write_envelope(path, "word", {"vocab": {"a": 0}})
    doc = json.loads(path.read_text())
    assert doc["format"] == "tokprep" and doc["kind"] == "word" and doc["version"] == 1
    assert read_envelope(path, ("word",))["vocab"] == {"a": 0}
    with pytest.raises(TokenizerFileError, match="kind 'word', expected 'bpe'"):
        read_envelope(path, ("bpe",))
    path.write_text('{"format": "tokprep", "kind": "word", "version": 2}')
    with pytest.raises(TokenizerFileError, match="version 2 is not supported"):
        read_envelope(path, ("word",))
    path.write_text('{"format": "other"}')
    with pytest.raises(TokenizerFileError, match="not a tokprep file"):
        read_envelope(path, ("word",))
    path.write_text('{"format": "tokprep", "kind": "word", "kind": "bpe", "version": 1}')
    with pytest.raises(TokenizerFileError, match="'kind' appears twice"):
        read_envelope(path, ("word",))
    path.write_text('{"format": "tokprep",\n "kind": }')
    with pytest.raises(TokenizerFileError, match="line 2 column"):
        read_envelope(path, ("word",))


def test_atomic_write_gives_new_files_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "new.bin"
        with atomic_write(path) as f:
            f.write(b"x")
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o600)
        with atomic_write(path) as f:
            f.write(b"y")
        assert path.stat().st_mode & 0o777 == 0o600  # an existing file keeps its mode
    finally:
        os.umask(old)


def test_atomic_files_renames_all_or_none_in_order(tmp_path, monkeypatch):
    tokens, manifest, folder = tmp_path / "t.bin", tmp_path / "t.bin.json", tmp_path / "gpt2"
    tokens.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_files() as out:
        out.open(tokens).write(b"new")
        out.temp_path(manifest).write_text("{}")
        (out.temp_folder(folder) / "vocab.bpe").write_text("merges")
        raise RuntimeError("a later output failed")
    assert sorted(os.listdir(tmp_path)) == ["t.bin"] and tokens.read_bytes() == b"old"
    renamed = []
    replace = os.replace

    def recording(src, dst):
        renamed.append(os.path.basename(dst))
        replace(src, dst)

    monkeypatch.setattr(files.os, "replace", recording)
    with atomic_files() as out:
        out.open(tokens).write(b"new")
        out.temp_path(manifest).write_text("{}")
        (out.temp_folder(folder) / "vocab.bpe").write_text("merges")
        assert not folder.exists()  # nothing in place before the block ends
    assert renamed == ["t.bin", "t.bin.json", "vocab.bpe"]  # in the order they were added
    assert tokens.read_bytes() == b"new" and (folder / "vocab.bpe").read_text() == "merges"
    assert sorted(os.listdir(tmp_path)) == ["gpt2", "t.bin", "t.bin.json"]


def test_output_checks_name_the_output_not_a_temporary_file(tmp_path):
    missing = tmp_path / "no" / "out.bin"
    with pytest.raises(FileNotFoundError, match=r"-o .*no/out\.bin: the folder .*no does not"):
        check_output(missing, "-o")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        check_output(tmp_path)
    with (
        pytest.raises(FileNotFoundError, match=r"cannot write .*no/out\.bin") as error,
        atomic_write(missing) as f,
    ):
        f.write(b"x")
    assert ".tmp" not in str(error.value)
    assert check_output(tmp_path / "new.bin") == tmp_path / "new.bin"


def test_same_file_sees_through_symbolic_and_hard_links(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("a")
    (tmp_path / "soft").symlink_to(a)
    os.link(a, tmp_path / "hard")
    assert same_file(a, tmp_path / "soft") and same_file(a, tmp_path / "hard")
    assert same_file(a, tmp_path / "." / "a.txt")
    assert not same_file(a, b) and not same_file(a, tmp_path / "missing")
