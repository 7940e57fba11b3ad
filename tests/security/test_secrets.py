"""No secret in a log line or an audit row (#12 item 9): the logins by one-time code (with a
wrong try), the OIDC round trip, the professional-email code, the staff password and TOTP
(with a wrong password) are all gone through with every logger at DEBUG; then no code, PIN,
password, authorization code, state, TOTP secret or session cookie appears in what was logged or
audited. And the log's formatter hides the secrets a request line could carry."""

import json
import logging
import re

import fas
import pytest

import logs
from helpers import (
    STAFF_PASSWORD,
    csrf_from,
    login_person,
    make_company,
    make_member,
    make_staff,
    totp_code,
)
from models import AuditEvent, OutboxMessage, Role, StaffUser


def post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_from(client.get(url).text)})


def wrong_for(code):
    """A wrong code that is no part of anything else logged (a phone number holds 000000)."""
    return "864209" if code != "864209" else "864210"


def code_login(client, found):
    """The stand-in FAS code login, one wrong try first; the authorization code and state of
    the callback are noted as secrets."""
    fas.start_login(client)
    assert fas.request_code(client).status_code == 302
    code = fas.last_code()
    found |= {code, wrong_for(code)}
    fas.enter_code(client, wrong_for(code))
    response = fas.enter_code(client, code)
    response, callback = fas.follow(client, response, stop_at="/auth/callback")
    query = dict(re.findall(r"[?&](code|state)=([^&]+)", callback))
    found |= set(query.values())
    assert client.get(callback).status_code == 302
    found.add(client.get_cookie("session").value)


def email_gate(client, found):
    company = make_company(name="Gate SA")
    person = make_member(company, Role.ENCODE, verified=False)
    login_person(client, person, company)
    assert post(client, "/entreprise/email/", {"email": "pro@gate.test"}).status_code == 302
    code = OutboxMessage.get(OutboxMessage.event == "email_verification").context["code"]
    found |= {code, wrong_for(code)}
    post(client, "/entreprise/email/code", {"code": wrong_for(code)})
    assert post(client, "/entreprise/email/code", {"code": code}).status_code == 302
    found.add(client.get_cookie("session").value)


def staff_login(client, found):
    staff = make_staff()
    post(client, "/admin/login/", {"email": staff.email, "password": "wrong password 123"})
    response = post(client, "/admin/login/", {"email": staff.email, "password": STAFF_PASSWORD})
    location = response.headers["Location"]
    page = client.get(location)
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page.text)[1].replace(" ", "")
    code = totp_code(staff, secret)
    response = client.post(location, data={"code": code, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    assert StaffUser.get_by_id(staff.id).totp_secret is not None
    found |= {"wrong password 123", STAFF_PASSWORD, secret, code}
    found.add(client.get_cookie("session").value)


def test_no_secret_in_any_log_line_or_audit_row(app, caplog):
    caplog.set_level(logging.DEBUG)
    found = {fas.MARIE_PIN}
    code_login(app.test_client(), found)
    email_gate(app.test_client(), found)
    staff_login(app.test_client(), found)
    audit = json.dumps(
        [[e.action, e.target_id, e.details] for e in AuditEvent.select()], ensure_ascii=False
    )
    assert AuditEvent.select().count() >= 4, "the logins and failures are audited"
    logged = "\n".join(
        [caplog.text] + [logs.OneLineFormatter(logs.FORMAT).format(r) for r in caplog.records]
    )
    for secret in found:
        assert len(secret) >= 4
        assert secret not in logged, f"{secret!r} in the log"
        assert secret not in audit, f"{secret!r} in the audit log"


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ('"GET /auth/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj HTTP/1.1" 302', 2),
        ('"GET /fas/authorize?client_id=guichet&nonce=n-0S6_WzA2Mj&state=xyz HTTP/1.1"', 2),
        ('"GET /entreprise/email/valider/Zm9vYmFyYmF6cXV4 HTTP/1.1" 302 -', 1),
        ("token=abc.def.ghi&id_token=eyJhbGciOi", 2),
    ],
)
def test_a_request_line_in_the_log_keeps_its_secrets_hidden(line, hidden):
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s", (line,), None)
    written = logs.OneLineFormatter(logs.FORMAT).format(record)
    assert written.count("[hidden]") == hidden, written
    for secret in ("SplxlOBeZQQYbYS6WxSbIA", "af0ifjsldkj", "n-0S6_WzA2Mj", "Zm9vYmFyYmF6cXV4"):
        assert secret not in written
    assert "client_id=guichet" in written or "client_id" not in line
