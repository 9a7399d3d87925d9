"""An SMTP peer for the benchmarks, running in a process of its own.

Inside the benchmark's process the peer (aiosmtpd + parsing every message)
competed with the saver for the GIL and showed up as latency of the product.
Here it has its own interpreter; the benchmark reads a shared counter while it
runs and receives every accepted message's (Message-ID, time) when it stops.

Each message is checked: one recipient, a Message-ID header. Messages that fail
the check are counted as ``malformed``; copies of a Message-ID are kept, so the
caller can count duplicates.
"""

import multiprocessing
import socket
import time
from email.parser import BytesHeaderParser
from email.policy import default as default_policy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port, ready, stop, accepted, malformed, results) -> None:
    from aiosmtpd.controller import Controller

    parser = BytesHeaderParser(policy=default_policy)
    messages: list[tuple[str, float]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            at = time.time()
            headers = parser.parsebytes(envelope.content)
            message_id = str(headers.get("Message-ID") or "")
            if not message_id or len(envelope.rcpt_tos) != 1:
                with malformed.get_lock():
                    malformed.value += 1
            messages.append((message_id, at))
            with accepted.get_lock():
                accepted.value += 1
            return "250 Message accepted"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    results.send(messages)
    results.close()


class SmtpSink:
    """``start()``, point EMAIL_URL at ``url``, ``count()`` while running,
    ``stop()`` returns the list of (message_id, accepted_at) in arrival order."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")  # started before Django is set up
        self.port = _free_port()
        self._ready = ctx.Event()
        self._stop = ctx.Event()
        self._accepted = ctx.Value("i", 0)
        self.malformed = ctx.Value("i", 0)
        self._receive, send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_serve,
            args=(
                self.port,
                self._ready,
                self._stop,
                self._accepted,
                self.malformed,
                send,
            ),
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpSink":
        self._process.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("the SMTP sink did not start")
        return self

    def count(self) -> int:
        return self._accepted.value

    def stop(self) -> list[tuple[str, float]]:
        if not self._process.is_alive():
            return []
        self._stop.set()
        messages = self._receive.recv() if self._receive.poll(30) else []
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        return messages
