"""Local notification receivers on 127.0.0.1: an HTTP server and an SMTP server (aiosmtpd).

Apprise posts to them through its json://, ntfy:// and gotify:// URLs and mailto:// e-mail;
nothing leaves the machine. Both stop when their context ends.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One request the HTTP receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Requests received so far; status is what every request is answered with."""

    port: int
    requests: list[Received] = field(default_factory=list)
    status: int = 200

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def at(self, prefix: str) -> list[Received]:
        return [r for r in self.requests if r.path.startswith(prefix)]


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    """An HTTP server on a free 127.0.0.1 port recording every request."""
    state = HttpReceiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append(
                Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            payload = b'{"id": 1, "ok": true}'
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PUT = do_GET = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Messages the SMTP receiver accepted: (envelope sender, recipients, content)."""

    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_receiver() -> Iterator[Mailbox]:
    """An aiosmtpd server on a free 127.0.0.1 port keeping every message."""
    box = Mailbox(port=_free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
