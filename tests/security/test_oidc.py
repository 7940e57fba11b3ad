"""ASVS 51.x (OAuth and OIDC), #12 item 4: the portal's OIDC callback, driven through the stand-in
FAS, refuses a missing, forged or other browser's `state`, a wrong `nonce`, an ID token for
another audience, from another issuer or expired, a userinfo about someone else and a reused
authorization code; each refusal opens no session, says in words what to do and is a
`person.login_failed` audit row. Logins are bound to (issuer, sub): the same `sub` from two
issuers is two identities."""

import time

import fas
import pytest

from access import identity
from fas_standin import provider
from helpers import text
from models import AuditEvent, LoginIdentity, Person, UserSession

REFUSED = "La connexion n'a pas pu être vérifiée. Recommencez avec « Se connecter »."
LUC = "78021512312"


def callback_url(client):
    """Log in at the stand-in with an eID card; the callback URL it sends back, not opened."""
    fas.start_login(client)
    response = fas.post_form(
        client, "/fas/login/eid", {"card": fas.MARIE_CARD, "pin": fas.MARIE_PIN}
    )
    _, callback = fas.follow(client, response, stop_at="/auth/callback")
    assert callback and "code=" in callback and "state=" in callback
    return callback


def live_sessions():
    return UserSession.select().where(UserSession.revoked_at.is_null()).count()


def assert_refused(client, url, reason=None):
    before = live_sessions()
    page = client.get(url, follow_redirects=True)
    assert page.status_code == 200
    assert REFUSED in text(page)
    assert live_sessions() == before, "no session opened"
    failed = AuditEvent.select().where(AuditEvent.action == "person.login_failed")
    assert failed.count() >= 1
    event = failed.order_by(AuditEvent.id.desc()).get()
    assert event.ip_address == "127.0.0.1" and event.actor_kind == "system"
    if reason:
        assert event.details["reason"] == reason
    query = url.split("?", 1)[1]
    for value in (p.split("=", 1)[1] for p in query.split("&") if "=" in p):
        assert value not in str(event.details), "no code or state in the audit row"
    return page


def accepted(client, url):
    response = client.get(url)
    assert response.status_code == 302
    return live_sessions() == 1


def test_the_round_trip_logs_in(client):
    assert accepted(client, callback_url(client))
    (event,) = AuditEvent.select().where(AuditEvent.action == "person.login")
    assert event.details["auth_level"] == "high"


def test_a_missing_state_is_refused(client):
    callback = callback_url(client)
    base, query = callback.split("?", 1)
    kept = "&".join(p for p in query.split("&") if not p.startswith("state="))
    assert_refused(client, f"{base}?{kept}")


def test_a_forged_state_is_refused(client):
    assert_refused(client, callback_url(client).replace("state=", "state=forged"))


def test_a_state_of_another_browser_is_refused(app, client):
    """Login CSRF: an attacker's own callback URL opened in the victim's browser."""
    attacker = app.test_client()
    url = callback_url(attacker)
    fas.start_login(client)  # the victim has a login of their own under way
    assert_refused(client, url)


def test_a_wrong_nonce_is_refused(client):
    from models import FasGrant

    callback = callback_url(client)
    FasGrant.update(nonce="another-nonce").execute()
    assert_refused(client, callback)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": ["another-client"]},
        {"aud": ["another-client"], "azp": "guichet"},  # Authlib alone would take this one
        {"iss": "https://evil.example/fas"},
        {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 180},  # past the 2 min leeway
    ],
    ids=["aud", "aud-with-azp", "iss", "expired"],
)
def test_an_id_token_for_another_audience_issuer_or_expired_is_refused(client, monkeypatch, claims):
    own = provider.StandInOpenIDCode.get_client_claims
    monkeypatch.setattr(
        provider.StandInOpenIDCode,
        "get_client_claims",
        lambda self, client: {**own(self, client), **claims},
    )
    assert_refused(client, callback_url(client))


def test_a_userinfo_about_someone_else_is_refused(client, monkeypatch):
    def someone_else(self, user, scope):
        info = provider.user_claims(user)
        info["sub"], info["egovNRN"] = "another-subject", LUC
        return info

    monkeypatch.setattr(provider.StandInUserInfo, "generate_user_info", someone_else)
    assert_refused(client, callback_url(client), reason="IdentityRefused")
    assert not Person.select().where(Person.national_number == LUC).exists()


def test_a_reused_authorization_code_is_refused(app, client):
    callback = callback_url(client)
    assert accepted(client, callback)
    other = app.test_client()  # the same URL in another browser (state lost) ...
    assert_refused(other, callback)
    fas.start_login(client)  # ... or again in the first, with the state of a new login
    with client.session_transaction() as session:
        new_state = next(k for k in session if k.startswith("_state_fas_")).removeprefix(
            "_state_fas_"
        )
    base, query = callback.split("?", 1)
    params = [p for p in query.split("&") if not p.startswith("state=")]
    assert_refused(client, f"{base}?{'&'.join([*params, f'state={new_state}'])}")


def claims(issuer, subject, number):
    return {"iss": issuer, "sub": subject, "egovNRN": number, "surname": "X", "givenName": "Y"}


def test_the_same_sub_from_two_issuers_is_two_identities(app):
    with app.test_request_context():
        first = identity.person_from_claims(claims("https://a.example", "s-1", fas.MARIE), ["fr"])
        second = identity.person_from_claims(claims("https://b.example", "s-1", LUC), ["fr"])
        assert first.id != second.id
        pairs = {(i.issuer, i.subject): i.person_id for i in LoginIdentity.select()}
        assert pairs == {
            ("https://a.example", "s-1"): first.id,
            ("https://b.example", "s-1"): second.id,
        }
        again = identity.person_from_claims(claims("https://b.example", "s-1", LUC), ["fr"])
        assert again.id == second.id
        # A pair never changes person: (a, s-1) naming Luc is refused, Marie keeps it.
        with pytest.raises(identity.IdentityRefused):
            identity.person_from_claims(claims("https://a.example", "s-1", LUC), ["fr"])
        assert LoginIdentity.get(LoginIdentity.issuer == "https://a.example").person_id == first.id


def test_the_callback_binds_the_id_tokens_issuer_and_subject(app, client):
    assert accepted(client, callback_url(client))
    (bound,) = LoginIdentity.select()
    assert bound.issuer == app.config["OIDC_ISSUER"]
    with app.test_request_context():
        assert bound.subject == provider.digest(f"{provider.issuer()}|{fas.MARIE}")[:32]
