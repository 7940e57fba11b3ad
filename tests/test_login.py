"""Logging in through the stand-in FAS (OpenID Connect), sessions, logout and step-up."""

from datetime import timedelta

import fas
import pytest

from helpers import csrf_from, login_person, make_company, make_member, text
from models import (
    FasCardState,
    FasGrant,
    LoginIdentity,
    Person,
    UserSession,
    VerificationCode,
    utcnow,
)


def logged_in_as(client):
    page = client.get("/entreprises/")
    return page.status_code == 200 and "Mes entreprises" in text(page)


def test_discovery_and_jwks(client, app):
    meta = client.get("/fas/.well-known/openid-configuration").json
    assert meta["issuer"] == app.config["OIDC_ISSUER"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    keys = client.get("/fas/jwks").json["keys"]
    assert keys[0]["kty"] == "RSA" and "d" not in keys[0], "only the public key is published"


def test_eid_login_creates_person_and_binds_identity(client):
    response = fas.login_eid(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/entreprises/")
    person = Person.get(Person.national_number == fas.MARIE)
    assert (person.given_name, person.surname) == ("Marie", "Dubois")
    assert person.login_email == "marie.dubois@interim-liege.test"
    identity = LoginIdentity.get(LoginIdentity.person == person)
    assert identity.issuer.endswith("/fas")
    session = UserSession.get(UserSession.person == person)
    assert (session.auth_method, session.auth_level) == ("eid", "high")
    assert logged_in_as(client)


def test_eid_login_with_the_token_call_over_real_http(live_app):
    """Elsewhere the app's calls to the stand-in are handed to it in-process; here they cross a
    real socket, as in production."""
    client = live_app.test_client()
    assert fas.login_eid(client).headers["Location"].endswith("/entreprises/")
    assert UserSession.get().auth_method == "eid"
    assert logged_in_as(client)


def test_itsme_login(client):
    response = fas.login_itsme(client)
    assert response.status_code == 302
    assert UserSession.get().auth_method == "itsme"
    assert logged_in_as(client)


def test_itsme_refused_in_app(client):
    response = fas.login_itsme(client, decision="deny")
    assert response.status_code == 302
    assert not UserSession.select().exists()


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_code_login(client, channel):
    response = fas.login_code(client, channel=channel)
    assert response.status_code == 302
    assert UserSession.get().auth_method == channel
    assert UserSession.get().auth_level == "substantial"
    row = VerificationCode.get()
    assert len(row.code_hash) == 64 and row.used_at is not None, "stored hashed, used once"


def test_wrong_pin_three_times_blocks_card(client):
    for remaining in (2, 1):
        page = fas.login_eid(client, pin="0000")
        assert page.status_code == 200
        assert f"Il reste {remaining} essai" in text(page)
    page = fas.login_eid(client, pin="0000")
    assert "bloquée" in text(page)
    page = fas.login_eid(client)  # the right PIN, too late
    assert "bloquée" in text(page)
    assert FasCardState.get().blocked_at is not None
    assert not UserSession.select().exists()


def test_wrong_code_then_dead_after_five(client):
    fas.start_login(client)
    fas.request_code(client)
    code = fas.last_code()
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        page = fas.enter_code(client, wrong)
        assert f"Il vous reste {left} essai" in text(page)
    assert "Trop d'essais" in text(fas.enter_code(client, wrong))
    assert "Trop d'essais" in text(fas.enter_code(client, code))


def test_expired_code(client):
    fas.start_login(client)
    fas.request_code(client)
    VerificationCode.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    assert "expiré" in text(fas.enter_code(client, fas.last_code()))


def test_superseded_code(client):
    fas.start_login(client)
    fas.request_code(client)
    old = fas.last_code()
    fas.request_code(client)
    new = fas.last_code()
    if old != new:
        assert "remplacé" in text(fas.enter_code(client, old))
    assert fas.enter_code(client, new).status_code == 302


def test_reused_code(client):
    fas.login_code(client)
    code = fas.last_code()
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    fas.start_login(client)
    with client.session_transaction() as session:
        session["fas_code_nrn"] = fas.MARIE
    assert "déjà été utilisé" in text(fas.enter_code(client, code))


def test_too_many_codes_asked(client):
    fas.start_login(client)
    for _ in range(5):
        assert fas.request_code(client).status_code == 302
    page = fas.request_code(client)
    assert page.status_code == 200 and "Trop de codes demandés" in text(page)
    assert VerificationCode.select().count() == 5


def test_missing_or_forged_state_is_refused(client):
    fas.start_login(client)
    response = fas.post_form(
        client, "/fas/login/eid", {"card": fas.MARIE_CARD, "pin": fas.MARIE_PIN}
    )
    _, callback = fas.follow(client, response, stop_at="/auth/callback")
    forged = callback.replace("state=", "state=forged")
    assert "n'a pas pu être vérifiée" in text(client.get(forged, follow_redirects=True))
    assert not UserSession.select().exists()
    no_state = callback.split("&state=")[0].replace("state=", "x=")
    client.get(no_state, follow_redirects=True)
    assert not UserSession.select().exists()


def test_wrong_nonce_is_refused(client):
    fas.start_login(client)
    response = fas.post_form(
        client, "/fas/login/eid", {"card": fas.MARIE_CARD, "pin": fas.MARIE_PIN}
    )
    _, callback = fas.follow(client, response, stop_at="/auth/callback")
    FasGrant.update(nonce="another-nonce").execute()
    page = client.get(callback, follow_redirects=True)
    assert "n'a pas pu être vérifiée" in text(page)
    assert not UserSession.select().exists()


def test_code_replayed_at_callback_is_refused(client):
    fas.start_login(client)
    response = fas.post_form(
        client, "/fas/login/eid", {"card": fas.MARIE_CARD, "pin": fas.MARIE_PIN}
    )
    _, callback = fas.follow(client, response, stop_at="/auth/callback")
    assert client.get(callback).status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    assert "n'a pas pu être vérifiée" in text(client.get(callback, follow_redirects=True))


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_next_only_to_own_paths(client, target):
    response = fas.login_eid(client, next_path=target)
    assert response.headers["Location"] == "/entreprises/"


def test_next_to_own_path(client):
    response = fas.login_eid(client, next_path="/dossiers/")
    assert response.headers["Location"] == "/dossiers/"


def test_cookie_replayed_after_logout_is_refused(client, app):
    fas.login_eid(client)
    with client.session_transaction() as session:
        saved = dict(session)
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    assert UserSession.get().revoked_at is not None
    with client.session_transaction() as session:
        session.update(saved)
    response = client.get("/entreprises/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_logout_everywhere(client, app):
    company = make_company()
    person = make_member(company)
    other = app.test_client()
    login_person(client, person, company)
    login_person(other, person, company)
    client.post("/auth/logout-everywhere", data={"csrf_token": csrf_from(client.get("/").text)})
    assert other.get("/entreprises/").status_code == 302
    assert not UserSession.select().where(UserSession.revoked_at.is_null()).exists()


def test_idle_session_expires(client):
    company = make_company()
    person = make_member(company)
    login_person(client, person, company)
    assert client.get("/entreprises/").status_code == 200
    UserSession.update(last_seen_at=utcnow() - timedelta(minutes=31)).execute()
    response = client.get("/entreprises/", follow_redirects=False)
    assert response.status_code == 302
    assert "expiré" in text(client.get("/"))


def test_absolute_limit(client):
    company = make_company()
    person = make_member(company)
    login_person(client, person, company)
    UserSession.update(created_at=utcnow() - timedelta(hours=13)).execute()
    assert client.get("/entreprises/").status_code == 302


def test_subject_bound_to_another_person_is_refused(client):
    fas.login_eid(client)
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    marie = Person.get(Person.national_number == fas.MARIE)
    stranger = Person.create(national_number="78021512312", surname="X", given_name="Y")
    LoginIdentity.update(person=stranger).where(LoginIdentity.person == marie).execute()
    page = fas.login_eid(client)
    assert UserSession.select().where(UserSession.revoked_at.is_null()).count() == 0
    assert page.status_code == 302


def test_staff_session_is_not_a_person(client):
    assert client.get("/auth/callback?code=x&state=y", follow_redirects=True).status_code == 200
    assert not UserSession.select().exists()


def signed_id_token(app, **overrides):
    import time

    from joserfc import jwt

    from fas_standin.provider import signing_key

    now = int(time.time())
    claims = {
        "iss": app.config["OIDC_ISSUER"],
        "aud": app.config["OIDC_CLIENT_ID"],
        "sub": "s",
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
        "egovNRN": fas.MARIE,
    }
    claims.update(overrides)
    key = signing_key()
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@pytest.mark.parametrize(
    "overrides, accepted",
    [
        ({}, True),
        ({"aud": "another-client"}, False),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, False),
        ({"iss": "https://evil.example/fas"}, False),
        ({"nonce": "other"}, False),
    ],
)
def test_id_token_checks(app, overrides, accepted):
    from authlib.common.errors import AuthlibBaseError
    from joserfc.errors import JoseError

    from portal.login import provider

    with app.test_request_context():
        token = {"id_token": signed_id_token(app, **overrides), "access_token": "x"}
        if accepted:
            claims = provider().parse_id_token(token, nonce="n")
            assert claims["egovNRN"] == fas.MARIE
        else:
            with pytest.raises((AuthlibBaseError, JoseError)):
                provider().parse_id_token(token, nonce="n")
