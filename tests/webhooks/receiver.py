"""A webhook receiver on a loopback port, as an administration's system would run one: it
checks every signature with the `standardwebhooks` library and keeps the events it accepted,
by their `webhook-id`. It can be down (nothing listens on its port), slow (answers after the
sender's timeout), failing (500), or behind a link that changes the body in transit."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

OK, SLOW, FAILING, TAMPERED = "ok", "slow", "failing", "tampered"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, secret=None, slow_seconds=2.0):
        self.secret = secret
        self.port = free_port()
        self.mode = OK
        self.slow_seconds = slow_seconds
        self.accepted = []  # (webhook-id, payload), in the order they came
        self.rejected = []  # (webhook-id, why)
        self.calls = []  # (mode, start, end) of every request answered
        self.server = None
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                started = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = receiver.handle(body, dict(self.headers))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.lock:
                    receiver.calls.append((receiver.mode, started, time.monotonic()))

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(self, body, headers):
        if self.mode == SLOW:
            time.sleep(self.slow_seconds)
        if self.mode == FAILING:
            return 500
        if self.mode == TAMPERED:  # what a link that rewrites the body would hand on
            body = body.replace(b'"status":"', b'"status":"x')
        webhook_id = headers.get("webhook-id") or headers.get("Webhook-Id")
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            with self.lock:
                self.rejected.append((webhook_id, str(exc)))
            return 401
        with self.lock:
            self.accepted.append((webhook_id, payload))
        return 204

    def ids(self):
        return [webhook_id for webhook_id, _payload in self.accepted]
