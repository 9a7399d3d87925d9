"""Real local peers for the reporting tests: an SMTP server and a Chatwork API.

Both count what they accept, so tests assert at the peer ("arrived once"),
not at our own code.
"""

import asyncio
import email
import email.policy
import json
import os
import re
import socket
import struct
import threading
import time
from collections import Counter
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpPeer:
    """aiosmtpd server. ``mode``: "ok", "temp" (451 at RCPT) or "perm" (550).

    Addresses in ``bounce`` always get 550. ``data_delay`` holds the 250 after
    DATA (the message is already counted: the window where a killed sender
    cannot know it was accepted); ``data_drop`` closes the connection there
    instead of answering. ``rcpt_delay`` holds every answer to RCPT.
    ``data_reply`` refuses every message after DATA with that reply;
    ``mail_from_reply`` refuses the sender (MAIL FROM) with that reply.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.mode = "ok"
        self.bounce: set[str] = set()
        self.data_delay = 0.0
        self.data_drop = False
        self.data_reply = ""
        self.mail_from_reply = ""
        self.rcpt_delay = 0.0
        self.refused = 0
        self.sessions = 0  # EHLOs seen: one per SMTP connection from smtplib
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpPeer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_from_reply:
            with self.lock:
                self.refused += 1
            return self.mail_from_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if address in self.bounce or self.mode == "perm":
            with self.lock:
                self.refused += 1
            return "550 5.1.1 No such user"
        if self.mode == "temp":
            with self.lock:
                self.refused += 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            with self.lock:
                self.refused += 1
            return self.data_reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "mail_from": envelope.mail_from,
                    # As sent, before decoding: a header must be ASCII on the wire.
                    "raw": envelope.content,
                    "raw_headers": envelope.content.split(b"\r\n\r\n", 1)[0],
                    "message_id": str(msg["Message-ID"]),
                    "subject": str(msg["Subject"]).strip(),
                    "headers": {k.lower(): str(v) for k, v in msg.items()},
                    "body": msg.get_body(("plain",)).get_content(),
                    "at": time.time(),
                }
            )
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_drop:
            server.transport.close()
        return "250 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def by_message_id(self) -> Counter:
        with self.lock:
            return Counter(m["message_id"] for m in self.messages)

    def by_address(self) -> Counter:
        with self.lock:
            return Counter(to for m in self.messages for to in m["to"])


def sent_from(message: dict) -> tuple[str, str]:
    """(name, address) of a received message's sender as a mail program shows
    it, after checking the From header crossed the wire in ASCII (a Japanese
    name as RFC 2047 encoded-words) and the envelope sender is the bare address."""
    raw = email.message_from_bytes(message["raw_headers"] + b"\r\n\r\n")
    wire = raw["From"]
    assert wire.isascii(), wire
    name, address = parseaddr(message["headers"]["from"])
    assert message["mail_from"] == address
    if not name.isascii():
        assert "=?utf-8?" in wire.lower(), wire
    return name, address


class ChatworkPeer:
    """``POST /v2/rooms/{room_id}/messages`` like Chatwork's API v2.

    Checks the ``X-ChatWorkToken`` header and the ``body`` form field and
    answers ``{"message_id": "..."}``. ``respond`` may be set to a function
    ``(room_id) -> (status, headers) | None`` to force 429/500/401 answers.
    ``room_limit`` = (count, seconds) makes it enforce a per-room limit itself
    and count ``violations`` (requests beyond the limit). ``transit`` may be set
    to a function ``() -> seconds`` that delays when a request counts as arrived.
    After a post is stored, ``answer_delay`` seconds pass before the answer (a
    client's timeout then leaves it unsure), and ``garbled`` answers 200 with a
    body that is not JSON. ``reset_after_post`` stores the post and then resets
    the connection instead of answering. A connection left idle longer than
    ``keepalive_timeout`` seconds is closed by the server just as the next
    request arrives on it: that request is met by a reset, unread and unposted
    (the race a client reusing a kept-alive connection cannot see coming).
    A body longer than ``max_body_chars`` is refused with 400, as Chatwork
    refuses one of some tens of thousands of characters.
    """

    token = "test-chatwork-token"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[dict] = []
        self.requests: list[tuple[float, str, int]] = []  # time, room, status
        self.respond = None
        self.room_limit: tuple[int, float] | None = None
        self.transit = None
        self.answer_delay = 0.0
        self.garbled = False
        self.reset_after_post = False
        self.keepalive_timeout: float | None = None
        self.max_body_chars = 40_000
        self.violations = 0
        self._next_id = 1000
        peer = self

        self.connections = 0  # TCP connections accepted (keep-alive reuses one)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Chatwork's servers

            def setup(self) -> None:
                super().setup()
                self.idle_since: float | None = None
                with peer.lock:
                    peer.connections += 1

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                timeout = peer.keepalive_timeout
                if (
                    timeout is not None
                    and self.idle_since is not None
                    and time.monotonic() - self.idle_since > timeout
                ):
                    return reset_connection(self)
                peer._handle(self)
                self.idle_since = time.monotonic()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "ChatworkPeer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def _answer(self, h, status: int, payload: dict, headers=None) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode()
        match = re.fullmatch(r"/v2/rooms/(\d+)/messages", h.path)
        if self.transit:
            time.sleep(self.transit())
        now = time.monotonic()
        room = match.group(1) if match else ""

        def log(status: int) -> None:
            with self.lock:
                self.requests.append((now, room, status))

        if not match:
            log(404)
            return self._answer(h, 404, {"errors": ["Not found"]})
        if h.headers.get("X-ChatWorkToken") != self.token:
            log(401)
            return self._answer(h, 401, {"errors": ["Invalid API token"]})
        form = parse_qs(raw)
        ctype = h.headers.get("Content-Type", "")
        if "application/x-www-form-urlencoded" not in ctype or not form.get("body"):
            log(400)
            return self._answer(h, 400, {"errors": ["Parameter body is required"]})
        if len(form["body"][0]) > self.max_body_chars:
            log(400)
            return self._answer(h, 400, {"errors": ["Parameter body is too long"]})
        forced = self.respond(room) if self.respond else None
        if forced:
            status, headers = forced
            log(status)
            return self._answer(h, status, {"errors": [f"forced {status}"]}, headers)
        with self.lock:
            if self.room_limit:
                count, window = self.room_limit
                recent = [
                    t
                    for t, r, s in self.requests
                    if r == room and s == 200 and t > now - window
                ]
                if len(recent) >= count:
                    self.violations += 1
                    self.requests.append((now, room, 429))
                    reset = str(int(time.time() + window))
                    return self._answer(
                        h, 429, {"errors": ["Rate limit"]}, {"x-ratelimit-reset": reset}
                    )
            self._next_id += 1
            message_id = str(self._next_id)
            self.posts.append({"room": room, "body": form["body"][0], "id": message_id})
            self.requests.append((now, room, 200))
        if self.reset_after_post:
            return reset_connection(h)
        if self.answer_delay:
            time.sleep(self.answer_delay)
        if self.garbled:
            data = b"<html>oops</html>"
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            return h.wfile.write(data)
        return self._answer(h, 200, {"message_id": message_id})

    def count(self) -> int:
        with self.lock:
            return len(self.posts)


def reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Close the handler's connection at once with a reset (RST), not a FIN."""
    handler.close_connection = True
    sock = handler.connection
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(sock.detach())
