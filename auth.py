"""Sessions (Flask-Login) for the two kinds of account: company users and staff.

The Flask session holds the account id (`person:<id>` or `staff:<id>`) and a random session id
whose hash is a `UserSession` row: logging out revokes the row, so a replayed cookie is
refused; the idle and absolute limits are checked on the row too. The back-office accepts only
staff accounts and the portal only persons, so one kind can never act as the other.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, flash, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user

import database
from models import Actor, ActorKind, Person, StaffUser, UserSession, utcnow

login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
password_hasher = PasswordHasher()
ACCOUNT_KINDS = {Person.session_prefix: Person, StaffUser.session_prefix: StaffUser}
SESSION_KEY = "sid"
UNTIL_KEY = "until"  # when the login reaches its absolute limit (a Unix time)
TOUCH_EVERY = timedelta(seconds=60)


def _session_and_account(model):
    """The session row of a token hash with its account of `model` (the query of every page)."""
    owner = UserSession.person if model is Person else UserSession.staff
    return database.Prepared(
        lambda token_hash, account_id: (
            UserSession.select(UserSession, model)
            .join(model, on=(owner == model.id))
            .where(UserSession.token_hash == token_hash, model.id == account_id)
            .limit(1)
        )
    )


SESSION_AND_ACCOUNT = {model: _session_and_account(model) for model in ACCOUNT_KINDS.values()}


@login_manager.user_loader
def load_account(session_id):
    kind, _sep, raw_id = session_id.partition(":")
    model = ACCOUNT_KINDS.get(kind)
    if model is None or not raw_id.isdigit():
        return None
    token = session.get(SESSION_KEY)
    row = None
    if token:  # the account and its session row in one query (check_session reads the row)
        rows = SESSION_AND_ACCOUNT[model](_digest(token), int(raw_id))
        row = rows[0] if rows else None
    if row is not None:
        g.guichet_session = row
        account = row.person if model is Person else row.staff
    else:  # no row of this account's: check_session says the session is no longer valid
        account = model.get_or_none(model.id == int(raw_id))
    if account is None or not account.is_active:
        return None
    return account


def current_person():
    """The logged-in company user, or None (staff accounts are not persons)."""
    return current_user if isinstance(current_user._get_current_object(), Person) else None


def current_staff():
    """The logged-in staff member, or None."""
    return current_user if isinstance(current_user._get_current_object(), StaffUser) else None


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(account, auth_method=None, auth_level=None):
    """A new session for `account`: the old one (if any) is dropped, never reused, and the
    cookie is a new one that expires with the absolute limit; the language chosen for the
    visit (the switcher's `lang`) is kept."""
    language = session.get("lang")
    end_session(flash_message=None)
    if language is not None:
        session["lang"] = language
    token = secrets.token_urlsafe(32)
    is_person = isinstance(account, Person)
    now = utcnow()
    UserSession.create(
        token_hash=_digest(token),
        person=account if is_person else None,
        staff=None if is_person else account,
        auth_method=auth_method,
        auth_level=auth_level,
        created_at=now,
        auth_time=now,
        last_seen_at=now,
        ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:300],
    )
    session[SESSION_KEY] = token
    until = now.replace(tzinfo=UTC) + current_app.permanent_session_lifetime
    session[UNTIL_KEY] = int(until.timestamp())
    session.permanent = True
    login_user(account)


class LoginSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, whose expiry is that of the login's absolute limit rather than
    `now + PERMANENT_SESSION_LIFETIME` at each response (which would outlive the login)."""

    def __init__(self):
        self.serializers = {}

    def get_signing_serializer(self, app):
        """Flask's serializer, made once per set of keys rather than twice a request (to read
        the cookie, then to write it)."""
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self.serializers:
            self.serializers[keys] = super().get_signing_serializer(app)
        return self.serializers[keys]

    def get_expiration_time(self, app, session):
        expires = super().get_expiration_time(app, session)
        until = session.get(UNTIL_KEY)
        if expires is None or not isinstance(until, int):
            return expires
        return min(expires, datetime.fromtimestamp(until, UTC))


def current_session():
    """The server-side row of this browser's session, or None."""
    if "guichet_session" not in g:
        token = session.get(SESSION_KEY)
        g.guichet_session = (
            UserSession.get_or_none(UserSession.token_hash == _digest(token)) if token else None
        )
    return g.guichet_session


def end_session(flash_message=None):
    row = current_session() if session.get(SESSION_KEY) else None
    if row is not None and row.revoked_at is None:
        UserSession.update(revoked_at=utcnow()).where(UserSession.id == row.id).execute()
    logout_user()
    session.clear()
    g.pop("guichet_session", None)
    if flash_message:
        flash(flash_message, "warning")


def end_all_sessions(account):
    """Log `account` out everywhere, this browser included."""
    field = UserSession.person if isinstance(account, Person) else UserSession.staff
    UserSession.update(revoked_at=utcnow()).where(
        field == account.id, UserSession.revoked_at.is_null()
    ).execute()
    end_session()


def session_problem(row, account, now):
    """Why the session can no longer be used, or None."""
    cfg = current_app.config
    owner = row.person_id if isinstance(account, Person) else row.staff_id if row else None
    if row is None or row.revoked_at is not None or owner != account.id:
        return _("Votre session n'est plus valable. Connectez-vous à nouveau.")
    if now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return _(
            "Votre session a expiré après %(minutes)s minutes sans activité.",
            minutes=cfg["SESSION_IDLE_MINUTES"],
        )
    if now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]):
        return _("Votre session a atteint sa durée maximale. Connectez-vous à nouveau.")
    return None


def check_session():
    """Before each request: refuse revoked, idle or too old sessions; note activity."""
    if request.endpoint and request.endpoint.endswith("static"):
        return
    if not current_user.is_authenticated:
        return
    now = utcnow()
    row = current_session()
    problem = session_problem(row, current_user._get_current_object(), now)
    if problem:
        end_session(flash_message=problem)
        return
    if now - row.last_seen_at > TOUCH_EVERY:
        UserSession.update(last_seen_at=now).where(UserSession.id == row.id).execute()


def login_is_fresh():
    """True when the login is recent enough for a sensitive step (signing, changing roles)."""
    row = current_session()
    limit = timedelta(minutes=current_app.config["STEP_UP_MINUTES"])
    return row is not None and utcnow() - row.auth_time <= limit


def current_actor():
    """Who makes the request, as the actor of a service call: the staff member or the company
    user logged in (or nobody: the system), with their address for the audit log and, for a
    company user, whether the login is fresh enough for a sensitive step."""
    ip_address = request.remote_addr
    if (staff := current_staff()) is not None:
        return Actor.staff_member(staff, ip_address=ip_address)
    if (person := current_person()) is not None:
        return Actor.applicant(person, ip_address=ip_address, fresh_login=login_is_fresh())
    return Actor(ActorKind.SYSTEM, ip_address=ip_address)


def hash_password(password):
    return password_hasher.hash(password)


def verify_password(staff, password):
    """Check a staff password (argon2id), rehashing when the parameters changed."""
    try:
        password_hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if password_hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = password_hasher.hash(password)
        staff.save(only=[StaffUser.password_hash])
    return True


def init_app(app):
    login_manager.init_app(app)
    login_manager.session_protection = None  # the server-side session row does this job
    app.session_interface = LoginSessionInterface()
    app.before_request(check_session)
    limiter.init_app(app)


def safe_next(target, within="/", excluded=()):
    """`target` if it is a path of this site under `within` and not under any of `excluded`
    (the page asked before a login), else None: never a scheme or a host (`//evil.example`,
    `https://evil.example`, `/\\evil.example`), never a control character; at most 500
    characters."""
    if not target or not target.startswith(within) or target.startswith(tuple(excluded)):
        return None
    if "//" in target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target[:500]
