"""What the reliability tests break things with: an SMTP server that refuses for a while, or
that kills the sending worker at a chosen point of the SMTP conversation."""

import os
import signal
import threading

from smtp import Sink, SMTPServer


class FaultySink(Sink):
    """Keeps what it accepts (`messages`), like `Sink`, and also every message it was handed
    and answered with `refuse` ("451 ..."), in `refused`. `kill_pid` and `kill_at`
    ("MAIL": the worker dies before anything is handed over; "DATA": once the message is
    accepted here, before the worker hears it) make the next conversation end in SIGKILL."""

    def __init__(self):
        super().__init__()
        self.refuse = None
        self.refused = []
        self.kill_pid = None
        self.kill_at = None
        self.killed = threading.Event()

    def kill_worker(self, point):
        if self.kill_at == point and self.kill_pid:
            pid, self.kill_pid = self.kill_pid, None
            os.kill(pid, signal.SIGKILL)
            self.killed.set()
            return True
        return False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.kill_worker("MAIL"):
            return "421 going away"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refused.append((envelope.rcpt_tos, envelope.content))
            return self.refuse
        reply = await super().handle_DATA(server, session, envelope)
        self.kill_worker("DATA")
        return reply


def faulty_smtp(port=None):
    server = SMTPServer(port)
    server.sink = FaultySink()
    return server
