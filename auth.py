"""Sessions (Flask-Login) for the two kinds of account: company users and staff.

The session holds `person:<id>` or `staff:<id>`; the back-office accepts only staff accounts and
the portal only persons, so one kind can never act as the other.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import LoginManager, current_user

from models import Person, StaffUser

login_manager = LoginManager()
password_hasher = PasswordHasher()
ACCOUNT_KINDS = {Person.session_prefix: Person, StaffUser.session_prefix: StaffUser}


@login_manager.user_loader
def load_account(session_id):
    kind, _, raw_id = session_id.partition(":")
    model = ACCOUNT_KINDS.get(kind)
    if model is None or not raw_id.isdigit():
        return None
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
    login_manager.session_protection = "basic"
