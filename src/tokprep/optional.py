"""Optional dependencies: import one, or say which extra installs it.

`pip install tokprep` gives the tokenizers, the conformance kit and the command line's
tokenizer commands; the rest comes with extras (README, "Install"):

    torch = require_torch("tokprep.embeddings")
    # without torch: MissingDependencyError: tokprep.embeddings needs torch, which is not
    # installed; install it with: pip install 'tokprep[torch]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tokprep.errors import MissingDependencyError

__all__ = ["EXTRAS", "missing_dependency", "require", "require_torch"]

#: Module -> the extra of tokprep that installs it (pyproject.toml's optional-dependencies).
EXTRAS = {
    "torch": "torch",
    "hypothesis": "testing",
    "pytest": "testing",
    "matplotlib": "bench",
    "ray": "ray",
    "pyarrow": "parquet",
    "zstandard": "zstd",
}


def require(module: str, what: str) -> ModuleType:
    """Import `module`, or raise `MissingDependencyError` saying that `what` needs it and which
    `pip install` adds it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        message = missing_dependency(e, what) or (
            f"{what} needs {top}, which is not installed; install it with: pip install {top}"
        )
        raise MissingDependencyError(message) from e


def missing_dependency(error: BaseException, what: str) -> str | None:
    """If `error` says an optional dependency is not installed, the message for `what` (naming
    the extra); None for any other error.

    >>> missing_dependency(ModuleNotFoundError("No module named 'ray'", name="ray"), "engine")
    "engine needs ray, which is not installed; install it with: pip install 'tokprep[ray]'"
    """
    if isinstance(error, MissingDependencyError):
        return str(error)
    name = getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None
    top = (name or "").partition(".")[0]
    if top not in EXTRAS:
        return None
    return (
        f"{what} needs {top}, which is not installed; install it with: "
        f"pip install 'tokprep[{EXTRAS[top]}]'"
    )


def require_torch(what: str) -> ModuleType:
    """`import torch`, or a `MissingDependencyError` naming `what` and `tokprep[torch]`."""
    return require("torch", what)
