"""SMS gateways: the registry, the development gateway and the HTTP gateway against a real local
HTTP server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import sms
from models import SmsMessage
from sms.http import HttpGateway


class Recorder(BaseHTTPRequestHandler):
    received = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.received.append((self.headers.get("Authorization"), json.loads(body)))
        self.send_response(Recorder.status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway_server():
    Recorder.received, Recorder.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send"
    server.shutdown()
    thread.join()


def http_gateway(url, token="t0k"):
    return HttpGateway({"SMS_HTTP_URL": url, "SMS_HTTP_TOKEN": token, "SMS_SENDER": "Guichet"})


def test_http_gateway_posts_json_with_bearer_token(gateway_server):
    http_gateway(gateway_server).send("+32470000001", "Code : 123456")
    [(auth, body)] = Recorder.received
    assert auth == "Bearer t0k"
    assert body == {"to": "+32470000001", "text": "Code : 123456", "sender": "Guichet"}


def test_http_gateway_error_status_raises(gateway_server):
    Recorder.status = 503
    with pytest.raises(sms.SmsError, match="503"):
        http_gateway(gateway_server).send("+32470000001", "x")


def test_http_gateway_unreachable_raises():
    with pytest.raises(sms.SmsError, match="unreachable"):
        http_gateway("http://127.0.0.1:1/send").send("+32470000001", "x")


def test_log_gateway_keeps_the_sms(app, ctx):
    sms.send("0470 00 00 01", "Bonjour")
    row = SmsMessage.get()
    assert (row.to_phone, row.body, row.gateway) == ("+32470000001", "Bonjour", "log")


@pytest.mark.parametrize("number", ["123", "+32 12", "not a phone"])
def test_invalid_numbers_are_refused(number):
    with pytest.raises(ValueError):
        sms.normalize_phone(number)


def test_duplicate_gateway_id_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        sms.register("log")(type("Again", (sms.SmsGateway,), {}))


def test_sms_failure_at_login_gives_a_message(app, client, monkeypatch):
    import fas

    def broken(self, to, text):
        raise sms.SmsError("down")

    monkeypatch.setattr("sms.log.LogGateway.send", broken)
    fas.start_login(client)
    page = fas.request_code(client)
    assert page.status_code == 200
    assert "L'envoi du SMS a échoué" in page.get_data(as_text=True).replace("&#39;", "'")


def test_code_requests_are_rate_limited(app, client):
    import fas

    fas.start_login(client)
    responses = [fas.request_code(client, nrn="00000000000") for _ in range(21)]
    assert [r.status_code for r in responses[:20]] == [200] * 20
    assert responses[-1].status_code == 429
    assert "Trop de demandes" in responses[-1].get_data(as_text=True)
