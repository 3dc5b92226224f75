"""The tests' network guard (tests/conftest.py): loopback is allowed, everything else refused."""

from __future__ import annotations

import socket
import threading

import pytest

from conftest import NetworkBlocked, is_loopback


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "10.0.0.1", "192.168.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"]
)
def test_non_loopback_connect_is_refused(address: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkBlocked, match="network connection"):
            sock.connect((address, 80))
        with pytest.raises(NetworkBlocked):
            sock.connect_ex((address, 80))


@pytest.mark.parametrize("name", ["example.com", "pypi.org", "localhost.example.com"])
def test_resolving_other_names_is_refused(name: str) -> None:
    with pytest.raises(NetworkBlocked, match="resolve"):
        socket.getaddrinfo(name, 80)


def test_loopback_connect_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        accepted = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
        accepted.start()
        with socket.create_connection(("localhost", port), timeout=5):
            pass
        accepted.join(5)
    assert socket.getaddrinfo("localhost", port)  # resolving localhost works


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("localhost", True),
        ("::ffff:127.0.0.1", True),
        ("128.0.0.1", False),
        ("0.0.0.0", False),
        ("", False),
        ("evil.localhost.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
