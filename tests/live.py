"""The two ways the app answers HTTP in the tests.

`serve_in_process` hands the requests the app makes to its own base URL (the portal's OIDC
client calling the stand-in FAS) straight to the WSGI app: no port, no server thread to stop.
`LiveServer` serves the app on a free loopback port, for what must cross real HTTP (a real
browser, a job worker in another thread sending mail with links back to the app).
"""

import threading
import time
from io import BytesIO
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app


class InProcessAdapter(HTTPAdapter):
    """A requests transport that calls the WSGI app instead of opening a connection. Each call
    runs in a thread of its own, as on a separate server: its own app context and database
    connection, whatever the calling request holds."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        environ = EnvironBuilder(
            method=request.method,
            base_url=f"{parts.scheme}://{parts.netloc}",
            path=parts.path + (f"?{parts.query}" if parts.query else ""),
            headers=list(request.headers.items()),
            data=body,
        ).get_environ()
        result = {}

        def call():
            try:
                body, status, headers = run_wsgi_app(self.app, environ, buffered=True)
                result["response"] = b"".join(body), status, headers
            except BaseException as exc:
                result["error"] = exc

        thread = threading.Thread(target=call, name="in-process-http", daemon=True)
        thread.start()
        if isinstance(timeout, tuple):  # (connect, read): there is nothing to connect to
            timeout = timeout[1]
        thread.join(timeout)
        if thread.is_alive():
            raise requests.Timeout(f"the app did not answer {request.url} within {timeout}s")
        if "error" in result:  # TESTING propagates the app's exceptions: let the test see it
            raise result["error"]
        content, status, headers = result["response"]
        code, _sep, reason = status.partition(" ")
        raw = HTTPResponse(
            body=BytesIO(content),
            headers=HTTPHeaderDict(list(headers.items())),
            status=int(code),
            reason=reason,
            preload_content=False,
        )
        return self.build_response(request, raw)


def serve_in_process(monkeypatch, app):
    """Route every requests session's calls to the app's PUBLIC_BASE_URL into the app itself,
    for the rest of the test (other URLs keep their usual transport)."""
    prefix = app.config["PUBLIC_BASE_URL"].rstrip("/").lower() + "/"
    adapter = InProcessAdapter(app)
    get_adapter = requests.Session.get_adapter

    def route(session, url):
        return adapter if url.lower().startswith(prefix) else get_adapter(session, url)

    monkeypatch.setattr(requests.Session, "get_adapter", route)


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
