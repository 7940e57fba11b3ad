"""The app served on a free loopback port, for what must cross real HTTP (the OIDC token call,
browser journeys)."""

import threading
import time

from werkzeug.serving import make_server


class LiveServer:
    """Bound to a port the OS chooses, before the app exists (the app's config needs the URL):
    `attach(app)` then plugs the app in. No window for another process to take the port."""

    def __init__(self, smtp=None):
        self.app = None
        self.smtp = smtp
        self.server = make_server("127.0.0.1", 0, self.dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def attach(self, app):
        self.app = app
        return self

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
