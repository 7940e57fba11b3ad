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
        self.port = port or free_port()
        self.sink = Sink()
        self.controller = None

    def start(self):
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return [m for _, m in self.sink.messages]
