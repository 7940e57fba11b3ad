"""The persons behind logins: found or created from the identity provider's claims, each login
bound to its (issuer, subject), their sessions opened and closed (`person.login`,
`person.login_failed` and `person.logout` audit rows), and their own preferences."""

from auth import end_all_sessions, end_session, start_session
from models import (
    Actor,
    ActorKind,
    AuditEvent,
    LoginIdentity,
    Person,
    utcnow,
    write_transaction,
)
from procedures.validators import person_number


class IdentityRefused(ValueError):
    """The claims do not name a person Guichet can log in (logged, never shown as is)."""


def login_claims(id_token_claims, userinfo):
    """The claims of a login: the userinfo's, over the ID token's, whose issuer and subject
    name the login. A userinfo about another subject (OIDC Core 5.3.2) is refused."""
    subject = id_token_claims["sub"]
    if userinfo.get("sub") != subject:
        raise IdentityRefused("the userinfo's sub is not the ID token's")
    return {**id_token_claims, **userinfo, "iss": id_token_claims["iss"], "sub": subject}


def person_from_claims(claims, languages, chosen=None, page_language=None):
    """Find or create the person named by the claims (the national number identifies), refresh
    their name, login address and language, and bind the login. The language: `chosen` with the
    switcher before login, else the person's own choice, else the login's `prefLanguage` (one of
    `languages`), else the language of the page the login started from (`page_language`)."""
    number = "".join(c for c in str(claims.get("egovNRN") or "") if c.isdigit())
    if not person_number.is_valid(number):
        raise IdentityRefused(f"invalid egovNRN claim {claims.get('egovNRN')!r}")
    with write_transaction():
        person, _created = Person.get_or_create(
            national_number=number,
            defaults={"surname": claims.get("surname") or "", "given_name": ""},
        )
        person.surname = claims.get("surname") or person.surname
        person.given_name = claims.get("givenName") or person.given_name
        person.login_email = claims.get("mail") or person.login_email
        person.name_confirmed = True
        language = (claims.get("prefLanguage") or "").lower()[:2]
        if chosen:
            person.language, person.language_chosen = chosen, True
        elif not person.language_chosen:
            person.language = language if language in languages else page_language or "fr"
        person.save()
        bind_identity(person, claims["iss"], claims["sub"])
    return person


def bind_identity(person, issuer, subject):
    """Logins are bound to (issuer, sub): a subject already bound to someone else is refused."""
    identity = LoginIdentity.get_or_none(
        LoginIdentity.issuer == issuer, LoginIdentity.subject == subject
    )
    if identity is None:
        LoginIdentity.create(person=person, issuer=issuer, subject=subject)
    elif identity.person_id != person.id:
        raise IdentityRefused("subject bound to another person")
    else:
        identity.last_login_at = utcnow()
        identity.save(only=[LoginIdentity.last_login_at])


def log_in(person, ip_address, auth_method=None, auth_level=None):
    """Open a new session for `person` (the browser's former one dropped), audited."""
    with write_transaction():
        start_session(person, auth_method=auth_method, auth_level=auth_level)
        AuditEvent.record(
            "person.login",
            Actor.applicant(person, ip_address=ip_address),
            target=person,
            auth_method=auth_method,
            auth_level=auth_level,
        )


def login_refused(ip_address, reason):
    """A login that came back from the identity provider refused (`reason`: the kind of check
    that failed, never a code, a state or a token), audited."""
    AuditEvent.record(
        "person.login_failed", Actor(ActorKind.SYSTEM, ip_address=ip_address), reason=reason
    )


def log_out(person, ip_address, everywhere=False):
    """End this browser's session (every session of `person` when `everywhere`), audited when
    a person was logged in."""
    if person is None:
        end_session()
        return
    AuditEvent.record(
        "person.logout",
        Actor.applicant(person, ip_address=ip_address),
        target=person,
        everywhere=everywhere,
    )
    if everywhere:
        end_all_sessions(person)
    else:
        end_session()


def update_preferences(person, language, notifications_opt_out):
    """The person's language of pages and emails, and their opt-out of dossier emails."""
    person.language = language
    person.language_chosen = True
    person.notifications_opt_out = notifications_opt_out
    person.save(only=[Person.language, Person.language_chosen, Person.notifications_opt_out])
    return person


def choose_language(person, language):
    """The language the person chose with the switcher, kept for their pages and emails."""
    if person.language != language or not person.language_chosen:
        person.language = language
        person.language_chosen = True
        person.save(only=[Person.language, Person.language_chosen])
    return person
