"""Golden vectors: texts and the IDs tiktoken gives them, for each encoding tokprep ships.

Each `<encoding>.json` is a tokprep JSON envelope (`"kind": "golden"`) holding the encoding's
name, pattern and special tokens, the versions that produced it (tiktoken, Unicode), and
`cases`: `{"id": "gpt2-0001", "text": ..., "ids": [...]}`, with IDs from `encode_ordinary`.
`scripts/make_golden_vectors.py` regenerates them. A port in another language can read the
files directly: they are plain JSON.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from typing import Any

__all__ = ["golden_encoding", "golden_names", "load_golden"]

ALIASES = {"r50k_base": "gpt2"}


def golden_names() -> list[str]:
    """The encodings that have golden vectors."""
    folder = resources.files(__name__)
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


@functools.cache
def load_golden(encoding: str) -> dict[str, Any]:
    """The golden file of `encoding` (`gpt2`, `cl100k_base`, `o200k_base`), read and checked."""
    from tokprep.files import read_envelope

    name = ALIASES.get(encoding, encoding)
    if name not in golden_names():
        raise FileNotFoundError(
            f"no golden vectors for {encoding!r}; there are: {', '.join(golden_names())}"
        )
    with resources.as_file(resources.files(__name__) / f"{name}.json") as path:
        return read_envelope(path, ("golden",))


def golden_encoding(reference: Any) -> str | None:
    """The encoding whose golden vectors fit `reference` (a spec or a tokenizer), or None."""
    if isinstance(reference, str | os.PathLike):
        name = os.fspath(reference).removeprefix("tokprep:")
    else:
        name = getattr(getattr(reference, "source", reference), "name", None)
        if not isinstance(name, str):
            return None
    name = ALIASES.get(name, name)
    return name if name in golden_names() else None
