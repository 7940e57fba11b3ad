"""The app served on a free loopback port, for what must cross real HTTP (the OIDC token call,
browser journeys)."""

import threading
import time

from werkzeug.serving import make_server


class LiveServer:
    def __init__(self, app, port, smtp=None):
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.smtp = smtp
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)

    def wait_for_mail(self, predicate, timeout=20):
        """The messages received so far once one matches `predicate` (the worker is async)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(m) for m in self.smtp.messages):
                return self.smtp.messages
            time.sleep(0.2)
        raise AssertionError(f"no matching email within {timeout}s: {self.smtp.messages}")
