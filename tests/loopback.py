"""A real HTTP/1.1 server on 127.0.0.1 for tests that run fixed code against a peer.

Keep-alive, answers every GET with `ok`; each connection's client port is recorded,
so a test can count the connections a program opened.
"""

from __future__ import annotations

import http.server
import threading
from typing import Any


class LocalServer:
    """Serves on a free port until closed; `url` is its root, `connections` the client
    ports of the connections it accepted, in order."""

    def __init__(self) -> None:
        connections: list[int] = []
        self.connections = connections

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                connections.append(self.client_address[1])

            def do_GET(self) -> None:
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
