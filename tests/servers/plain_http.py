"""What the standard-library ground-truth servers share: a quiet handler that answers plain text,
a threading server with a deep listen backlog, and the GIL handed over sooner."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TextHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, TCP_NODELAY; ``send_text`` answers; no access log."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
    # body until the client's delayed ACK, about 40 ms later (seen: /fixed read 92 ms).
    disable_nagle_algorithm = True

    def send_text(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default listen backlog (5) drops the SYNs of users that connect at once: the kernel
    # retries after 1 s, and that second lands in the client's first request.
    request_queue_size = 128


def serve(port: int, handler: type[TextHandler], banner: str) -> None:
    """Serve on 127.0.0.1:``port`` until killed."""
    # A thread whose sleep ended waits for the GIL up to the switch interval (5 ms by default)
    # while another runs: latency no server of record would add. Hand the GIL over sooner.
    sys.setswitchinterval(0.0002)
    server = Server(("127.0.0.1", port), handler)
    print(banner, flush=True)
    server.serve_forever()
