"""The playground's HTTP server: the standard library's `ThreadingHTTPServer`, no framework.

Routes (every API answer is JSON; an error is `{"error": message, "type": class name}`):

    GET  /, /app.js, /style.css      the page (package data: tokprep/serve/static)
    GET  /api/tokenizers             the tokenizers the page may pick
    GET  /api/corpus/NAME            a shipped text (the-verdict)
    POST /api/encode                 {tokenizer, text, special?}
    POST /api/token                  {tokenizer, id}
    POST /api/decode                 {tokenizer, ids}
    POST /api/diff                   {candidate, reference, text, compare_ids?}
    POST /api/windows                {tokenizer, text, max_length, stride}
    POST /api/train                  {text | corpus, vocab_size, tie_break?, label?, top?}

Safety, because any web page the user visits can make the browser send requests to localhost:

- a request whose `Host` is not one of the server's own names is refused (403): a page on
  another site reaching the server by DNS rebinding arrives with its own host name;
- a request with an `Origin` other than the server's own is refused (403), and a POST must be
  `application/json` (a cross-site form cannot send that without a CORS preflight, which this
  server never grants);
- bodies over `Limits.max_body_bytes` get 413 with the limit; training has a time limit;
- nothing in a request names a file: static files and corpora are fixed names.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from tokprep.errors import TokprepValueError
from tokprep.serve.playground import CORPORA, Playground

__all__ = ["LOOPBACK_NAMES", "PlaygroundServer", "make_server"]

#: Host names that always mean this machine.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}

#: Sent with every answer: the page runs only its own script and styles, talks only to this
#: server, and cannot be framed by another site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class RequestError(Exception):
    """An HTTP-level problem with a request (its status and a message for the page)."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _static_file(name: str) -> bytes:
    return (resources.files("tokprep.serve") / "static" / name).read_bytes()


class PlaygroundServer(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` serving one `Playground`; `url` is where to point a browser."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        playground: Playground,
        *,
        allowed_hosts: tuple[str, ...] = (),
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(address, Handler)
        self.playground = playground
        self.log = log
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        if host in ("0.0.0.0", "::"):  # every interface: the URL names this machine
            shown = "127.0.0.1"
        self.url = f"http://{shown}:{port}/"
        # Host header values this server answers to: its own address, loopback names, and any
        # name the user allowed (`--allow-host`), each with the port.
        names = {shown, *LOOPBACK_NAMES, *allowed_hosts}
        self.allowed_hosts = frozenset(f"{name.lower()}:{port}" for name in names)


def make_server(
    playground: Playground,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    allowed_hosts: tuple[str, ...] = (),
    log: Callable[[str], None] | None = None,
) -> PlaygroundServer:
    """A server for `playground` bound to `host:port` (port 0: a free port), not yet serving:
    call `serve_forever()` (in a thread for tests) and `server_close()` when done."""
    if ":" in host:
        import socket

        class _Server6(PlaygroundServer):
            address_family = socket.AF_INET6

        return _Server6((host, port), playground, allowed_hosts=allowed_hosts, log=log)
    return PlaygroundServer((host, port), playground, allowed_hosts=allowed_hosts, log=log)


class Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    protocol_version = "HTTP/1.1"
    server_version = "tokprep-serve"
    sys_version = ""
    timeout = 60  # seconds a connection may sit idle or half-sent before it is dropped

    # --- plumbing ---------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str, kind: str = "RequestError") -> None:
        # The body of a refused request may be unread: never take it for the next request.
        self.close_connection = True
        self._json(status, {"error": message, "type": kind, "status": int(status)})

    def _check_origin(self) -> None:
        """Refuse requests that another site's page could have made (see the module doc)."""
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in self.server.allowed_hosts:
            raise RequestError(
                HTTPStatus.FORBIDDEN,
                f"Host {host!r} is not this server's (it answers to "
                f"{', '.join(sorted(self.server.allowed_hosts))}); requests from other sites "
                "are refused. Open the URL tokprep serve printed, or start it with --allow-host "
                "NAME.",
            )
        origin = self.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme != "http" or parts.netloc.lower() not in self.server.allowed_hosts:
                raise RequestError(
                    HTTPStatus.FORBIDDEN,
                    f"Origin {origin!r} is not this server's; requests from other sites are "
                    "refused.",
                )

    def _body(self) -> dict[str, Any]:
        limit = self.server.playground.limits.max_body_bytes
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"send the request as JSON (Content-Type: application/json), not "
                f"{content_type or 'no Content-Type'!r}",
            )
        if self.headers.get("Transfer-Encoding"):
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length, not chunks")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required") from None
        if length < 0 or length > limit:
            self.close_connection = True  # the unread body must not be taken as a request
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request body is {length:,} bytes; the playground takes at most {limit:,} "
                "bytes per request (about a million characters of text). Use the command line "
                "(tokprep encode, tokprep train) for more.",
            )
        raw = self.rfile.read(length)
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"the body is not UTF-8 JSON: {e}") from None
        if not isinstance(value, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return value

    def _run(self, action: Callable[[], Any]) -> None:
        try:
            self._check_origin()
            self._json(HTTPStatus.OK, action())
        except RequestError as e:
            self._error(e.status, str(e))
        except TypeError as e:  # a field of the wrong type
            self._error(HTTPStatus.BAD_REQUEST, str(e), type(e).__name__)
        except (TokprepValueError, ValueError, KeyError) as e:  # tokprep's named errors
            message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, str(message), type(e).__name__)
        except Exception as e:  # a bug, or a user tokenizer's: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(e).__name__}: {e}", "Error")

    # --- routes -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        playground = self.server.playground
        if path in STATIC:
            name, content_type = STATIC[path]
            try:
                self._check_origin()
            except RequestError as e:
                self._error(e.status, str(e))
                return
            self._send(HTTPStatus.OK, _static_file(name), content_type)
        elif path == "/api/tokenizers":
            self._run(lambda: {"tokenizers": playground.tokenizers(), "corpora": list(CORPORA)})
        elif path.startswith("/api/corpus/"):
            name = path.removeprefix("/api/corpus/")
            self._run(lambda: {"name": name, "text": playground.corpus(name)})
        elif path.startswith("/api/"):
            self._run(lambda: _raise(HTTPStatus.METHOD_NOT_ALLOWED, f"{path} takes POST"))
        else:
            self._run(lambda: _raise(HTTPStatus.NOT_FOUND, f"no page {path!r}"))

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        route = ROUTES.get(path)
        if route is None:
            self._run(lambda: _raise(HTTPStatus.NOT_FOUND, f"no API {path!r}"))
            return
        playground = self.server.playground
        self._run(lambda: route(playground, self._body()))


def _raise(status: HTTPStatus, message: str) -> Any:
    raise RequestError(status, message)


def _need(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"the request needs the field {name!r}")
    return body[name]


def _train(playground: Playground, body: dict[str, Any]) -> Any:
    if body.get("corpus") is not None:
        text = playground.corpus(body["corpus"])
    else:
        text = _need(body, "text")
    return playground.train(
        text,
        _need(body, "vocab_size"),
        tie_break=body.get("tie_break", "hf"),
        label=body.get("label", "trained"),
        top=body.get("top", 5),
    )


ROUTES: dict[str, Callable[[Playground, dict[str, Any]], Any]] = {
    "/api/encode": lambda p, b: p.encode(
        _need(b, "tokenizer"), _need(b, "text"), special=bool(b.get("special", False))
    ),
    "/api/token": lambda p, b: p.token(_need(b, "tokenizer"), _need(b, "id")),
    "/api/decode": lambda p, b: p.decode(_need(b, "tokenizer"), _need(b, "ids")),
    "/api/diff": lambda p, b: p.diff(
        _need(b, "candidate"),
        _need(b, "reference"),
        _need(b, "text"),
        compare_ids=bool(b.get("compare_ids", True)),
    ),
    "/api/windows": lambda p, b: p.windows(
        _need(b, "tokenizer"), _need(b, "text"), _need(b, "max_length"), _need(b, "stride")
    ),
    "/api/train": _train,
}
