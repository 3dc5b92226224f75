"""`tokprep serve`: a local tokenizer playground in the browser.

A page (no build step, no assets from the internet, shipped in `tokprep/serve/static`) over a
small JSON API on the standard library's `ThreadingHTTPServer`:

- `playground`: what the page shows, as plain functions of text (tokens with their spans,
  a token's bytes and merge chain, the differences between two tokenizers, DataLoader windows,
  step-by-step BPE training). No HTTP here: the tests call these directly too.
- `server`: the HTTP face: routes, the Host/Origin check, body and time limits, static files.

    >>> from tokprep.serve import Playground, make_server
    >>> server = make_server(Playground.default(), port=0)   # a free port on 127.0.0.1
    >>> server.url.startswith("http://127.0.0.1:")
    True
    >>> server.server_close()

The serve package never imports torch: windows are cut with plain Python, the textbook's way.
"""

from __future__ import annotations

from tokprep.serve.playground import Limits, Playground
from tokprep.serve.server import PlaygroundServer, make_server

__all__ = ["Limits", "Playground", "PlaygroundServer", "make_server"]
