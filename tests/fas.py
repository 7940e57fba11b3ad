"""Drive the stand-in FAS login with the Flask test client (the portal's own calls to the
stand-in's token and userinfo endpoints are answered in-process, or over a port with live_app)."""

import re
from urllib.parse import urlsplit

from helpers import csrf_from
from models import OutboxMessage, SmsMessage

MARIE = "93051822361"
MARIE_CARD, MARIE_PIN = "592-0000001-01", "1111"
MARIE_PHONE = "+32470000001"


def path_of(location):
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow(client, response, stop_at=None):
    """Follow redirects one by one (stopping before `stop_at` when given)."""
    while response.status_code in (301, 302, 303):
        target = path_of(response.headers["Location"])
        if stop_at and target.startswith(stop_at):
            return response, target
        response = client.get(target)
    return response, None


def start_login(client, next_path=None):
    """From /auth/login to the stand-in's choice of means; returns the callback-less state."""
    url = "/auth/login" + (f"?next={next_path}" if next_path else "")
    response, _ = follow(client, client.get(url))
    assert response.status_code == 200, response.text
    assert "Choisissez votre moyen de connexion" in response.text
    return response


def post_form(client, url, data):
    page = client.get(url)
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def finish(client, response):
    """Follow the stand-in's redirects through /fas/authorize to our callback and beyond."""
    response, callback = follow(client, response, stop_at="/auth/callback")
    assert callback, f"no redirect to the callback: {response.status_code} {response.text[:500]}"
    return client.get(callback)


def login_eid(client, card=MARIE_CARD, pin=MARIE_PIN, next_path=None):
    start_login(client, next_path)
    response = post_form(client, "/fas/login/eid", {"card": card, "pin": pin})
    if response.status_code != 302:
        return response
    return finish(client, response)


def login_itsme(client, phone=MARIE_PHONE, decision="approve"):
    start_login(client)
    response = post_form(client, "/fas/login/itsme", {"phone": phone})
    assert response.status_code == 302
    response = post_form(client, "/fas/login/itsme/confirmer", {"decision": decision})
    return finish(client, response) if decision == "approve" else response


def request_code(client, nrn=MARIE, channel="sms"):
    return post_form(client, "/fas/login/code", {"national_number": nrn, "channel": channel})


def last_code(channel="sms"):
    if channel == "sms":
        body = SmsMessage.select().order_by(SmsMessage.id.desc()).get().body
        return re.search(r"\b(\d{6})\b", body).group(1)
    message = OutboxMessage.select().where(OutboxMessage.event == "login_code")
    return message.order_by(OutboxMessage.id.desc()).get().context["code"]


def enter_code(client, code):
    return post_form(client, "/fas/login/code/verifier", {"code": code})


def login_code(client, nrn=MARIE, channel="sms"):
    start_login(client)
    assert request_code(client, nrn, channel).status_code == 302
    response = enter_code(client, last_code(channel))
    assert response.status_code == 302, response.text
    return finish(client, response)
