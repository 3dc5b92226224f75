"""`tokprep info`: what a bug report against a reference needs, in one command.

    tokprep info            # versions, the pinned Unicode tables, every shipped file's sha256
    tokprep info --json     # the same as JSON (tokprep's envelope, kind "info")

The IDs tokprep gives depend on the ranks files it ships, the Unicode tables its patterns are
pinned to, and, for the tiktoken oracle, tiktoken's release; `regex` is listed because
patterns outside the pinned presets use its own tables.
"""

from __future__ import annotations

import hashlib
import platform
import sys
import unicodedata
from importlib import metadata, resources
from typing import Any

LIBRARIES = ("tiktoken", "regex", "numpy", "torch", "tokenizers")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def pinned_unicode_version() -> str | None:
    """The Unicode version of the tables the preset patterns are pinned to, or None in a build
    that has no pinned tables."""
    try:
        from tokprep.bpe.unicode_tables import UNICODE_VERSION
    except ImportError:
        return None
    return UNICODE_VERSION


def info() -> dict[str, Any]:
    """Versions, Unicode tables, encodings and the sha256 of every file in `tokprep/data`.

    Each encoding's ranks are also checked against their pin (`"ranks_ok"`), so a damaged
    installation shows here rather than as wrong IDs.
    """
    from tokprep import __version__
    from tokprep.bpe.encodings import ENCODINGS
    from tokprep.bpe.ranks import read_ranks_text, sha256_hex
    from tokprep.files import FORMAT, VERSION

    data = resources.files("tokprep") / "data"
    files = {}
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if entry.is_file():
            content = entry.read_bytes()
            files[entry.name] = {
                "bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
    encodings = {}
    for info_ in ENCODINGS.values():
        with resources.as_file(data / info_.file) as path:
            actual = sha256_hex(read_ranks_text(path)) if path.exists() else None
        encodings[info_.name] = {
            "aliases": list(info_.aliases),
            "n_vocab": info_.n_vocab,
            "special_tokens": dict(info_.special_tokens),
            "file": info_.file,
            "ranks_sha256": info_.ranks_sha256,
            "ranks_ok": actual == info_.ranks_sha256,
        }
    return {
        "format": FORMAT,
        "kind": "info",
        "version": VERSION,
        "tokprep": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": f"{platform.system()} {platform.machine()}",
        "libraries": {name: _version(name) for name in LIBRARIES},
        "unicode": {
            "pinned_tables": pinned_unicode_version(),
            "python_unicodedata": unicodedata.unidata_version,
        },
        "encodings": encodings,
        "data_files": files,
    }


def format_info(document: dict[str, Any]) -> str:
    """The text `tokprep info` prints."""
    libraries = document["libraries"]
    unicode = document["unicode"]
    lines = [
        f"tokprep {document['tokprep']}",
        f"Python {document['python']} ({document['implementation']}, {document['platform']})",
        *(f"{name} {version or 'not installed'}" for name, version in libraries.items()),
        f"Unicode tables of the preset patterns: {unicode['pinned_tables'] or 'not pinned'} "
        f"(Python's unicodedata: {unicode['python_unicodedata']})",
        "encodings:",
    ]
    for name, e in document["encodings"].items():
        aliases = f" (= {', '.join(e['aliases'])})" if e["aliases"] else ""
        check = "ok" if e["ranks_ok"] else "MISMATCH: reinstall tokprep"
        lines.append(
            f"  {name}{aliases}: n_vocab {e['n_vocab']:,}, {e['file']}, ranks sha256 "
            f"{e['ranks_sha256']} {check}"
        )
    lines.append("data files (tokprep/data):")
    lines += [
        f"  {f['sha256']}  {name} ({f['bytes']:,} bytes)"
        for name, f in document["data_files"].items()
    ]
    return "\n".join(lines)
