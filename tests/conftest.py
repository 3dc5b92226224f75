"""Shared test set-up: the hypothesis profiles, corpus paths and a network block.

Profiles (choose with HYPOTHESIS_PROFILE; `ci` is the default):
- `ci`: derandomized (the same examples every run), no deadline (pure-Python speed varies
  with the machine), 200 examples unless a test asks for more.
- `dev`: random examples, for finding new failures locally (`HYPOTHESIS_PROFILE=dev`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=200,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CORPORA = ("the-verdict", "tinyshakespeare", "war_and_peace", "taylorswift", "japanese-notes")


def corpus_path(name: str) -> Path:
    """Path of a shared test corpus (the story ships inside the package)."""
    if name == "the-verdict":
        return ROOT / "src" / "tokprep" / "data" / "the-verdict.txt"
    return DATA / f"{name}.txt"


def corpus(name: str) -> str:
    return corpus_path(name).read_text(encoding="utf-8")


class NetworkBlocked(RuntimeError):
    pass


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guard(sock: socket.socket, address: object) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        raise NetworkBlocked(f"test tried to open a network connection to {address!r}")


def _blocked_connect(self: socket.socket, address: object) -> None:
    _guard(self, address)
    return _real_connect(self, address)


def _blocked_connect_ex(self: socket.socket, address: object) -> int:
    _guard(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with internet sockets blocked: no tokprep code path may use the network."""
    monkeypatch.setattr(socket.socket, "connect", _blocked_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _blocked_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _blocked_getaddrinfo)


def _blocked_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    raise NetworkBlocked(f"test tried to resolve {host!r}")
