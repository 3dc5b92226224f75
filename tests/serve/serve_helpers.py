"""Shared set-up of the playground tests: a real server on a free loopback port."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tokprep.serve import Limits, Playground, make_server
from tokprep.serve.server import PlaygroundServer

PLANTED = Path(__file__).with_name("planted.py")
PLANTED_SPEC = f"digits={PLANTED}:planted"
MARKUP_SPEC = f"markup={PLANTED}:markup"


@contextlib.contextmanager
def running_server(
    specs: tuple[str, ...] = (PLANTED_SPEC,), limits: Limits | None = None
) -> Iterator[PlaygroundServer]:
    """A playground server on 127.0.0.1 and a free port, serving in a thread."""
    server = make_server(Playground.default(specs, limits), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def request(
    server: PlaygroundServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """(status, decoded JSON or text) of one request; JSON bodies unless `raw` is given."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    sent = {"Host": f"127.0.0.1:{port}"}
    if body is not None:
        raw = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    try:
        connection.request(method, path, body=raw, headers=sent)
        response = connection.getresponse()
        data = response.read()
        kind = response.getheader("Content-Type", "")
        return response.status, json.loads(data) if kind.startswith("application/json") else data
    finally:
        connection.close()
