"""What every loopback stand-in shares: a threaded HTTP server on 127.0.0.1 and its handler base.

A stand-in subclasses :class:`LoopbackServer` (state and routes) and names its request
handler class in ``handler_class``; the handler subclasses :class:`LoopbackHandler`.
The server binds an ephemeral port, serves from a daemon thread, and works as a context
manager; ``base_url`` is where clients point.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Mapping

logger = logging.getLogger(__name__)


class LoopbackHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, a timeout, no Nagle stalls, log lines at DEBUG."""

    standin: Any  # the stand-in serving (set on a subclass per server)
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # headers and body go out as two writes: without this, Nagle's algorithm and the
        # client's delayed ACK stall every response by tens of milliseconds
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        logger.debug("stand-in: " + format, *args)

    def write_response(self, status: int, data: bytes, content_type: str, headers: Mapping[str, str],
                       length: int | None = None) -> None:
        """Status, ``Content-Type``, ``Content-Length`` (``length``, else the data's), headers, body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class LoopbackServer:
    """Start, stop and address one stand-in's server (``handler_class`` answers its requests)."""

    handler_class: ClassVar[type[LoopbackHandler]]
    thread_name: ClassVar[str] = "standin"
    request_queue_size: ClassVar[int] = 128

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self):  # noqa: ANN201 - returns the subclass
        handler = type("Handler", (self.handler_class,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = self.request_queue_size
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
