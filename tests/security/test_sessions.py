"""ASVS 3.2 / 3.3 / 3.4 (#12 item 5): sessions. The cookie changes at login (the one from
before, or from an earlier login in the same browser, is worth nothing after it); a cookie
replayed after logout leads to the login; the idle limit (30 minutes) and the absolute limit
(12 hours) hold whatever the activity; the cookie itself expires with the absolute limit, in
every configuration (never Flask's 31 days); logins and logouts are audit rows. The `next=`
part of item 5 is `test_redirects.py`."""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import fas
import pytest
from clock import Clock

import auth
import config
from helpers import STAFF_PASSWORD, csrf_from, login_staff, make_staff, text
from models import AuditEvent, Person, UserSession, utcnow


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(auth, "utcnow", clock)
    return clock


def cookie_of(client, app):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def with_cookie(app, value):
    """Another browser presenting `value` as its session cookie (a replayed cookie)."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return other


def logout(client):
    return client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/").text)})


def sent_login(response):
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def expires_of(response, app):
    """The Expires of the session cookie that `response` sets, as a UTC datetime."""
    name = app.config["SESSION_COOKIE_NAME"] + "="
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name)]
    field = next(p for p in header.split(";") if p.strip().lower().startswith("expires="))
    return parsedate_to_datetime(field.split("=", 1)[1]).astimezone(UTC)


def test_the_cookie_changes_at_login(app, client):
    fas.start_login(client)
    before = cookie_of(client, app)
    fas.login_eid(client)
    first = cookie_of(client, app)
    assert first != before
    assert with_cookie(app, first).get("/entreprises/").status_code == 200
    assert sent_login(with_cookie(app, before).get("/entreprises/"))

    fas.login_eid(client)  # logging in again in the same browser (to sign, say)
    second = cookie_of(client, app)
    assert second != first
    assert with_cookie(app, second).get("/entreprises/").status_code == 200
    assert sent_login(with_cookie(app, first).get("/entreprises/")), "the old session is gone"
    sessions = UserSession.select().order_by(UserSession.id)
    assert [s.revoked_at is not None for s in sessions] == [True, False]
    logins = AuditEvent.select().where(AuditEvent.action == "person.login")
    assert [e.details["auth_method"] for e in logins] == ["eid", "eid"]
    marie = Person.get(Person.national_number == fas.MARIE)
    assert all(e.actor_person_id == marie.id and e.ip_address == "127.0.0.1" for e in logins)


def test_a_cookie_replayed_after_logout_leads_to_the_login(app, client):
    fas.login_eid(client)
    saved = cookie_of(client, app)
    assert logout(client).status_code == 302
    replayed = with_cookie(app, saved)
    assert sent_login(replayed.get("/entreprises/"))
    assert sent_login(with_cookie(app, saved).get("/dossiers/"))
    (event,) = AuditEvent.select().where(AuditEvent.action == "person.logout")
    assert event.ip_address == "127.0.0.1" and event.details == {"everywhere": False}


def test_a_staff_cookie_replayed_after_logout_leads_to_the_login(app, client):
    staff = make_staff()
    page = client.get("/admin/login/")
    client.post(
        "/admin/login/",
        data={"email": staff.email, "password": STAFF_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    half_way = cookie_of(client, app)  # the password accepted, the second factor not yet
    assert login_staff(client, staff).status_code == 302
    saved = cookie_of(client, app)
    assert saved != half_way
    after_password = with_cookie(app, half_way).get("/admin/")
    assert (
        after_password.status_code == 302 and "/admin/login" in after_password.headers["Location"]
    )
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/")
    client.post("/admin/logout/", data={"csrf_token": csrf_from(page.text)})
    response = with_cookie(app, saved).get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_idle_limit_holds(app, client, clock):
    fas.login_eid(client)
    for _ in range(3):  # active every 29 minutes: still in
        clock.advance(minutes=29)
        assert client.get("/entreprises/").status_code == 200
    clock.advance(minutes=30, seconds=1)
    assert sent_login(client.get("/entreprises/"))
    assert "Votre session a expiré après 30 minutes sans activité." in text(client.get("/"))
    assert UserSession.get().revoked_at is not None


def test_the_absolute_limit_holds_whatever_the_activity(app, client, clock):
    fas.login_eid(client)
    opened = clock.now
    while clock.now + timedelta(minutes=20) < opened + timedelta(hours=12):
        clock.advance(minutes=20)
        assert client.get("/entreprises/").status_code == 200
    clock.now = opened + timedelta(hours=12, seconds=-1)
    assert client.get("/entreprises/").status_code == 200
    clock.advance(seconds=2)
    assert sent_login(client.get("/entreprises/"))
    assert "Votre session a atteint sa durée maximale" in text(client.get("/"))


def test_the_cookie_expires_with_the_absolute_limit(app, client, clock):
    clock.now = utcnow() - timedelta(hours=2)  # logged in two hours ago...
    fas.start_login(client)
    response = fas.login_eid(client)
    until = clock.now.replace(tzinfo=UTC) + timedelta(hours=12)
    assert abs(expires_of(response, app) - until) <= timedelta(seconds=1)
    for _ in range(6):  # ...and active since
        clock.advance(minutes=20)
        response = client.get("/entreprises/")
        assert response.status_code == 200
    # A page that changes nothing in the session writes no cookie: nothing renews it.
    assert not response.headers.getlist("Set-Cookie")
    # One that changes it (a language chosen) writes it, still expiring with the login: not
    # twelve hours from now.
    response = client.get("/entreprises/?lang=de")
    assert abs(expires_of(response, app) - until) <= timedelta(seconds=1)
    assert expires_of(response, app) < datetime.now(UTC) + timedelta(hours=10, minutes=1)


def test_static_files_and_unchanged_sessions_send_no_cookie(app, client):
    """A static file never carries the session cookie (a shared cache could keep it and hand it
    to others), and no answer writes back a session it did not change: a slower parallel
    request (a stylesheet) would overwrite what the page just stored (a flash message)."""
    login_staff(client, make_staff())
    client.get("/admin/")  # shows (and forgets) what the login flashed, if anything
    page = client.get("/admin/")
    assets = re.findall(r'(?:href|src)="(/[^"?]+\.(?:css|js))', page.text)
    assert len(assets) >= 3
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert not response.headers.getlist("Set-Cookie"), asset
    assert not page.headers.getlist("Set-Cookie")


def test_a_staff_cookie_expires_with_the_absolute_limit(app, client):
    response = login_staff(client, make_staff())
    expected = datetime.now(UTC) + timedelta(hours=12)
    assert abs(expires_of(response, app) - expected) < timedelta(minutes=1)


def test_every_configuration_bounds_the_cookie_by_the_absolute_limit(app, monkeypatch, tmp_path):
    assert app.permanent_session_lifetime == timedelta(hours=12)
    from conftest import SEAL_FILES

    env = {
        "OIDC_ISSUER": "https://idp.example/fas",
        "OIDC_CLIENT_SECRET": "s3cret-from-the-vault",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgresql://guichet:secret@127.0.0.1:1/guichet",
        "SEAL_CERT_FILE": SEAL_FILES[0],
        "SEAL_KEY_FILE": SEAL_FILES[1],
        "GUICHET_INSTANCE_DIR": str(tmp_path),
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FAS_STANDIN_ENABLED", raising=False)
    production = config.ProductionConfig()
    lifetime = production.PERMANENT_SESSION_LIFETIME
    assert lifetime == timedelta(hours=12), "not Flask's 31 days"
    assert (production.SESSION_IDLE_MINUTES, production.SESSION_ABSOLUTE_HOURS) == (30, 12)
    monkeypatch.setenv("SESSION_ABSOLUTE_HOURS", "8")
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "15")
    for each in (config.ProductionConfig(), config.TestingConfig()):
        lifetime = each.PERMANENT_SESSION_LIFETIME
        assert lifetime == timedelta(hours=8)
        assert (each.SESSION_IDLE_MINUTES, each.SESSION_ABSOLUTE_HOURS) == (15, 8)


def test_logout_everywhere_is_audited(app, client):
    fas.login_eid(client)
    other = app.test_client()
    fas.login_eid(other)
    client.post("/auth/logout-everywhere", data={"csrf_token": csrf_from(client.get("/").text)})
    assert sent_login(other.get("/entreprises/"))
    (event,) = AuditEvent.select().where(AuditEvent.action == "person.logout")
    assert event.details == {"everywhere": True}
