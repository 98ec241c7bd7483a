"""A real HTTP server on 127.0.0.1 for the download tests (never the internet).

``serve`` answers with bytes the test decides, optionally lying about the length
(a cut-off transfer) or stalling.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rich.console import Console

PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                   "all_proxy", "ALL_PROXY")


class Route:
    """What the server answers for one path."""

    def __init__(self, body: bytes = b"", status: int = 200, claim: int | None = None,
                 delay: float = 0.0):
        self.body, self.status, self.claim, self.delay = body, status, claim, delay


@contextlib.contextmanager
def serve(routes: dict[str, Route]):
    """Serve ``routes`` on 127.0.0.1; yields (base URL, list of requested paths)."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            requested.append(self.path)
            route = routes.get(self.path)
            if route is None:
                route = Route(b"not found", status=404)
            if route.delay:
                time.sleep(route.delay)
            self.send_response(route.status)
            length = route.claim if route.claim is not None else len(route.body)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(route.body)

        def log_message(self, *args):  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.gz"


def capture() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, color_system=None), buffer
