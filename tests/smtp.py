"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

import socket
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


class SMTPServer:
    def __init__(self, port=None):
        self.fixed = port is not None
        self.port = port or free_port()
        self.sink = Sink()
        self.controller = None

    def start(self, attempts=5):
        """Serve on the port; when it was drawn here and another process (a parallel test
        worker) took it between the draw and the bind, draw another one."""
        for attempt in range(attempts):
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
            try:
                self.controller.start()
                return self
            except (OSError, RuntimeError):
                if self.fixed or attempt == attempts - 1:
                    raise
                self.port = free_port()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return [m for _, m in self.sink.messages]
