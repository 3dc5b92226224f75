"""Shared test set-up: the hypothesis profiles, corpus paths and a network block (loopback only).

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


# --- tiktoken, the oracle: which release the tests meet ---------------------------------------


def pinned_tiktoken() -> str | None:
    """The tiktoken release the tests are written against: the Makefile's TIKTOKEN pin."""
    import re

    found = re.search(r"^TIKTOKEN \?= tiktoken==(\S+)", (ROOT / "Makefile").read_text(), re.M)
    return found.group(1) if found else None


def tiktoken_version_note() -> str:
    """'' when the installed tiktoken is the pinned one; else a sentence naming both."""
    from importlib.metadata import version

    installed, pinned = version("tiktoken"), pinned_tiktoken()
    if installed == pinned:
        return ""
    return (
        f"these tests compare with tiktoken {pinned} (the Makefile's pin) but tiktoken "
        f"{installed} is installed; a difference may be tiktoken's (make clean test reinstalls "
        "the pinned release)"
    )


def assert_equal_to_tiktoken(actual: object, expected: object, what: str = "") -> None:
    """`actual == expected` (tiktoken's result); the failure names both tiktoken versions."""
    if actual != expected:
        note = tiktoken_version_note() or f"tiktoken {pinned_tiktoken()}, the pinned release"
        where = ""
        if isinstance(actual, list) and isinstance(expected, list):
            first = next(
                (i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b),
                min(len(actual), len(expected)),
            )
            where = (
                f": {len(actual)} vs {len(expected)} items, first difference at {first}: "
                f"{actual[first : first + 5]} vs {expected[first : first + 5]}"
            )
        raise AssertionError(f"{what or 'result'} differs from tiktoken's ({note}){where}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """A failing test, run with a tiktoken other than the pinned one, says so."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when == "call" and (note := tiktoken_version_note()):
        report.sections.append(("tiktoken version", note))


class NetworkBlocked(RuntimeError):
    pass


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

#: Names that resolve to this machine only. Loopback is allowed (a test may talk to a server it
#: started: the playground, a local cluster); every other address stays blocked.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: object) -> bool:
    """Whether `host` (an address or a name) means this machine: 127.0.0.0/8, ::1, localhost."""
    import ipaddress

    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _guard(sock: socket.socket, address: object) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0] if isinstance(address, tuple) and address else address
        if not is_loopback(host):
            raise NetworkBlocked(f"test tried to open a network connection to {address!r}")


def _blocked_connect(self: socket.socket, address: object) -> None:
    _guard(self, address)
    return _real_connect(self, address)


def _blocked_connect_ex(self: socket.socket, address: object) -> int:
    _guard(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with internet sockets blocked (loopback only): no tokprep code path may
    use the network."""
    monkeypatch.setattr(socket.socket, "connect", _blocked_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _blocked_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _blocked_getaddrinfo)


def _blocked_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if not is_loopback(host):
        raise NetworkBlocked(f"test tried to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)
