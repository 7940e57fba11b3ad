"""ASVS 2.7 / 2.8 (#12 item 3): one-time codes, those of the stand-in FAS's code login and those
of the professional-email gate. Five wrong tries kill a code; a FAS code lives ten minutes; a
code serves once, in any browser, and only the latest one works; codes are kept as an HMAC and
drawn from `secrets`; sending is bounded per person, per address and per IP address; guesses
sent at once, over real HTTP on SQLite and PostgreSQL, never get more than five tries. Each
wrong try and each refused send is an audit row, without the code."""

import hashlib
import itertools
import secrets
import threading
from datetime import timedelta

import fas
import pytest
import requests
from clock import Clock

import verification
from helpers import csrf_from, login_person, make_company, make_member, text
from models import AuditEvent, OutboxMessage, Role, UserSession, VerificationCode, utcnow

WRONG_GUESSES = 40


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(verification, "utcnow", clock)
    return clock


def wrong_for(code):
    return "000000" if code != "000000" else "111111"


def post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_from(client.get(url).text)})


# The two kinds of code, each driven through its pages: `start(client)` asks for a code and
# returns it; `enter(client, code)` types it; `accepted(response)` tells a code taken.


def fas_start(client):
    fas.start_login(client)
    assert fas.request_code(client).status_code == 302
    return fas.last_code()


def gate_start(client):
    company = make_company()
    person = make_member(company, Role.ENCODE, verified=False)
    login_person(client, person, company)
    assert post(client, "/entreprise/email/", {"email": "pro@gate.test"}).status_code == 302
    message = OutboxMessage.select().where(OutboxMessage.event == "email_verification")
    return message.order_by(OutboxMessage.id.desc()).get().context["code"]


def gate_enter(client, code):
    return post(client, "/entreprise/email/code", {"code": code})


KINDS = {
    "fas": (fas_start, fas.enter_code, "fas-login", "/fas/login/code/verifier"),
    "gate": (gate_start, gate_enter, verification.PRO_EMAIL_PURPOSE, "/entreprise/email/code"),
}


def failures(reason=None):
    rows = AuditEvent.select().where(AuditEvent.action == "code.failed")
    return [r for r in rows if reason is None or r.details["reason"] == reason]


@pytest.mark.parametrize("kind", KINDS)
def test_five_wrong_tries_kill_the_code_each_one_audited_without_the_code(client, kind):
    start, enter, purpose, _url = KINDS[kind]
    code = start(client)
    wrong = wrong_for(code)
    for left in (4, 3, 2):
        assert f"Il vous reste {left} essais" in text(enter(client, wrong))
    assert "Il vous reste 1 essai." in text(enter(client, wrong))
    assert "Trop d'essais incorrects" in text(enter(client, wrong))
    refused = enter(client, code)
    assert refused.status_code == 200 and "Trop d'essais incorrects" in text(refused)
    assert VerificationCode.get().attempts == 5
    assert VerificationCode.get().used_at is None
    assert len(failures("wrong")) == 5 and len(failures("dead")) == 1
    for row in failures():
        assert row.ip_address == "127.0.0.1" and row.created_at <= utcnow()
        assert row.target_type == "VerificationCode"
        assert row.details["purpose"] == purpose
        assert code not in str(row.details) and wrong not in str(row.details)


@pytest.mark.parametrize("seconds, accepted", [(599, True), (601, False)])
def test_a_fas_code_lives_ten_minutes(client, clock, seconds, accepted):
    code = fas_start(client)
    clock.advance(seconds=seconds)
    response = fas.enter_code(client, code)
    if accepted:
        assert response.status_code == 302
    else:
        assert "Ce code a expiré. Demandez-en un nouveau." in text(response)
        assert failures("expired")


@pytest.mark.parametrize(
    "after, accepted",
    [(timedelta(hours=24, seconds=-1), True), (timedelta(hours=24, seconds=1), False)],
)
def test_an_email_gate_code_lives_a_day(client, clock, after, accepted):
    code = gate_start(client)
    clock.now += after
    response = gate_enter(client, code)
    assert (response.status_code == 302) == accepted
    if not accepted:
        assert "Ce code a expiré" in text(response)


def test_a_fas_code_serves_once_across_browsers(app, client):
    code = fas_start(client)
    other = app.test_client()
    fas.start_login(other)
    with other.session_transaction() as session:  # the second browser at the same step
        session["fas_code_nrn"] = fas.MARIE
    assert fas.enter_code(client, code).status_code == 302
    page = fas.enter_code(other, code)
    assert "Ce code a déjà été utilisé" in text(page)
    assert failures("used")


def test_the_same_right_code_posted_at_once_from_two_browsers_logs_in_once(app, client):
    code = fas_start(client)
    other = app.test_client()
    fas.start_login(other)
    with other.session_transaction() as session:
        session["fas_code_nrn"] = fas.MARIE
    forms = [(c, csrf_from(c.get("/fas/login/code/verifier").text)) for c in (client, other)]
    barrier = threading.Barrier(2)
    responses = []

    def enter(c, token):
        barrier.wait()
        responses.append(
            c.post("/fas/login/code/verifier", data={"code": code, "csrf_token": token})
        )

    threads = [threading.Thread(target=enter, args=form) for form in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status_code for r in responses) == [200, 302]


@pytest.mark.parametrize("kind", KINDS)
def test_only_the_latest_code_works(client, monkeypatch, kind):
    start, enter, _purpose, _url = KINDS[kind]
    drawn = itertools.cycle([123456, 654321])
    monkeypatch.setattr(secrets, "randbelow", lambda n: next(drawn))
    assert start(client) == "123456"
    if kind == "fas":
        assert fas.request_code(client).status_code == 302
    else:
        assert post(client, "/entreprise/email/", {"email": "pro@gate.test"}).status_code == 302
    page = enter(client, "123456")
    assert "remplacé par un code plus récent" in text(page)
    assert enter(client, "654321").status_code == 302


def test_codes_are_drawn_from_secrets_and_kept_as_an_hmac(client, monkeypatch):
    monkeypatch.setattr(secrets, "randbelow", lambda n: 4242)
    code = fas_start(client)
    assert code == "004242"  # six digits, whatever `secrets` drew
    assert "random" not in vars(verification), "codes never come from `random`"
    row = VerificationCode.get()
    columns = [str(v) for v in row.__data__.values()]
    assert not any(code in value for value in columns)
    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()
    assert row.code_hash != hashlib.sha256(f"fas-login:{fas.MARIE}:{code}".encode()).hexdigest()


def test_sending_is_bounded_per_number_and_refusals_are_audited(client):
    fas.start_login(client)
    for _ in range(verification.MAX_PER_WINDOW):
        assert fas.request_code(client).status_code == 302
    page = fas.request_code(client)
    assert page.status_code == 200
    assert "Trop de codes demandés. Patientez 15 minutes" in text(page)
    assert VerificationCode.select().count() == verification.MAX_PER_WINDOW
    (refusal,) = AuditEvent.select().where(AuditEvent.action == "code.send_refused")
    assert refusal.ip_address == "127.0.0.1"
    assert refusal.details == {"purpose": "fas-login", "channel": "sms", "reason": "rate"}


def test_the_email_gate_refusal_is_audited_too(client):
    gate_start(client)
    for _ in range(verification.MAX_PER_WINDOW - 1):
        post(client, "/entreprise/email/", {"email": "pro@gate.test"})
    page = post(client, "/entreprise/email/", {"email": "pro@gate.test"})
    assert "Trop de codes demandés" in text(page)
    refused = AuditEvent.select().where(AuditEvent.action == "code.send_refused")
    assert [r.details["purpose"] for r in refused] == [verification.PRO_EMAIL_PURPOSE]
    assert refused.get().actor_person is not None


def test_sending_is_bounded_per_ip_address(app, client):
    fas.start_login(client)
    response = client.post(
        "/fas/login/code",
        data={
            "national_number": fas.MARIE,
            "channel": "sms",
            "csrf_token": csrf_from(client.get("/fas/login/code").text),
        },
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert response.status_code == 302
    assert VerificationCode.get().ip_address == "203.0.113.7"
    with app.test_request_context():
        for n in range(verification.MAX_PER_IP_WINDOW - 1):  # other people, the same address
            verification.issue(
                "fas-login",
                f"person-{n}",
                "sms",
                f"+3247{n:07d}",
                timedelta(minutes=10),
                ip_address="203.0.113.7",
            )
        with pytest.raises(verification.CodeError) as refused:
            verification.issue(
                "fas-login",
                "one-more",
                "sms",
                "+32479999999",
                timedelta(minutes=10),
                ip_address="203.0.113.7",
            )
        assert refused.value.reason == "rate"
        verification.issue(  # another address is not held back
            "fas-login",
            "one-more",
            "sms",
            "+32479999999",
            timedelta(minutes=10),
            ip_address="198.51.100.1",
        )


def live_browser(app, client):
    """A requests session on the live server holding `client`'s session cookie."""
    browser = requests.Session()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    browser.cookies.set(cookie.key, cookie.value)
    return browser


@pytest.mark.parametrize("kind", KINDS)
def test_guesses_sent_at_once_get_five_tries_at_most(live_app, kind):
    """Forty wrong guesses at once, each its own HTTP request to the served app (each server
    thread with its own database connection): the database counts five, no more."""
    start, _enter, purpose, url = KINDS[kind]
    client = live_app.test_client()
    code = start(client)
    token = csrf_from(client.get(url).text)
    base = live_app.config["PUBLIC_BASE_URL"]
    browsers = [live_browser(live_app, client) for _ in range(WRONG_GUESSES)]
    barrier = threading.Barrier(WRONG_GUESSES)
    pages = []

    def guess(browser):
        barrier.wait()
        response = browser.post(
            base + url, data={"code": wrong_for(code), "csrf_token": token}, timeout=60
        )
        pages.append((response.status_code, response.text))

    threads = [threading.Thread(target=guess, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(pages) == WRONG_GUESSES
    assert all(status in (200, 429) for status, _page in pages), {s for s, _p in pages}
    assert VerificationCode.get().attempts == 5
    assert len(failures("wrong")) == 5
    assert sum("Il vous reste" in page for _status, page in pages) <= 4
    # The right code now, at the service (this address has used up its page's rate limit).
    with live_app.test_request_context(), pytest.raises(verification.CodeError) as refused:
        verification.verify(purpose, VerificationCode.get().subject, code)
    assert refused.value.reason == "dead"
    assert VerificationCode.get().used_at is None
    assert not UserSession.select().where(UserSession.auth_method == "sms").exists()
