"""The staff login service (access/staff.py) and the lock-out on StaffUser, without the pages:
failures counted and audited, the lock after five, replayed codes, concurrent enrolments."""

import time
from datetime import timedelta

import pyotp
import pytest
from test_concurrency import race

import models
from access import staff as service
from access.staff import LoginRefused
from helpers import STAFF_PASSWORD, make_staff, totp_of
from models import LOCK_MINUTES, MAX_FAILED_LOGINS, AuditEvent, StaffUser, UserSession, utcnow

IP = "192.0.2.7"


@pytest.fixture
def request_context(app):
    with app.test_request_context("/admin/login/code/", method="POST"):
        yield


def failures(**where):
    query = AuditEvent.select().where(AuditEvent.action == "staff.login_failed")
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(query.order_by(AuditEvent.id))


def current_code(secret):
    return pyotp.TOTP(secret).now()


def wrong_code(secret):
    totp = pyotp.TOTP(secret)
    step = int(time.time() // 30)
    near = {totp.generate_otp(s) for s in range(step - 3, step + 4)}
    return next(code for code in (f"{n:06d}" for n in range(10**6)) if code not in near)


def test_the_fifth_failure_locks_the_account_for_fifteen_minutes(app):
    staff = make_staff()
    now = utcnow()
    results = [staff.record_failed_login(now) for _ in range(MAX_FAILED_LOGINS)]
    assert results == [False] * (MAX_FAILED_LOGINS - 1) + [True]
    staff = StaffUser.get_by_id(staff.id)
    assert staff.failed_logins == 0
    assert staff.locked_until == now + timedelta(minutes=LOCK_MINUTES)
    assert staff.is_locked(now + timedelta(minutes=LOCK_MINUTES - 1))
    assert not staff.is_locked(now + timedelta(minutes=LOCK_MINUTES, seconds=1))


def test_concurrent_failures_all_count(app):
    staff = make_staff()
    models.db.close()  # each thread takes its own connection
    results = race(app, [lambda: staff.record_failed_login(utcnow()) for _ in range(4)])
    models.db.connect(reuse_if_open=True)
    assert results == [False] * 4
    assert StaffUser.get_by_id(staff.id).failed_logins == 4


def test_wrong_passwords_are_counted_audited_and_lock(app):
    staff = make_staff()
    for attempt in range(1, MAX_FAILED_LOGINS + 1):
        with pytest.raises(LoginRefused) as refused:
            service.check_password(staff.email.upper(), "not the password", IP)
        assert refused.value.reason == "password"
        assert refused.value.locked == (attempt == MAX_FAILED_LOGINS)
    events = failures(target_id=str(staff.id))
    assert [e.details for e in events][-1] == {"reason": "password", "locked": True}
    assert all(e.actor_staff_id == staff.id and e.ip_address == IP for e in events)

    with pytest.raises(LoginRefused) as locked:  # even the right password, while locked
        service.check_password(staff.email, STAFF_PASSWORD, IP)
    assert (locked.value.reason, locked.value.locked) == ("locked", True)
    assert failures(target_id=str(staff.id))[-1].details == {"reason": "locked"}
    assert StaffUser.get_by_id(staff.id).failed_logins == 0, "a locked attempt is not counted"


def test_the_right_password_of_an_active_account_passes(app):
    staff = make_staff()
    assert service.check_password(staff.email, STAFF_PASSWORD, IP).id == staff.id
    assert failures() == []
    inactive = make_staff(active=False)
    with pytest.raises(LoginRefused) as refused:
        service.check_password(inactive.email, STAFF_PASSWORD, IP)
    assert refused.value.reason == "inactive"
    assert StaffUser.get_by_id(inactive.id).failed_logins == 1


def test_an_unknown_account_is_audited_as_the_system(app):
    with pytest.raises(LoginRefused) as refused:
        service.check_password("nobody@guichet.test", STAFF_PASSWORD, IP)
    assert (refused.value.reason, refused.value.locked) == ("unknown_account", False)
    [event] = failures()
    assert event.actor_kind == "system" and event.target_id is None
    assert event.details == {"reason": "unknown_account"} and event.ip_address == IP


def test_a_right_code_opens_the_session_and_resets_the_count(app, request_context):
    staff = make_staff(totp_secret=pyotp.random_base32(), failed_logins=3)
    service.check_code(staff, totp_of(staff), current_code(totp_of(staff)), IP)
    staff = StaffUser.get_by_id(staff.id)
    assert staff.failed_logins == 0 and staff.last_login_at is not None
    assert UserSession.get(UserSession.staff == staff).auth_method == service.TOTP_METHOD
    login = AuditEvent.get(AuditEvent.action == "staff.login")
    assert login.actor_staff_id == staff.id and login.ip_address == IP
    assert service.last_totp_step(staff, utcnow()) == login.details["totp_step"]


def test_a_wrong_code_counts(app, request_context):
    staff = make_staff(totp_secret=pyotp.random_base32())
    with pytest.raises(LoginRefused) as refused:
        service.check_code(staff, totp_of(staff), wrong_code(totp_of(staff)), IP)
    assert (refused.value.reason, refused.value.locked) == ("totp", False)
    assert StaffUser.get_by_id(staff.id).failed_logins == 1
    assert UserSession.select().count() == 0


def test_a_replayed_code_is_refused_and_counted(app, request_context):
    staff = make_staff(totp_secret=pyotp.random_base32())
    code = current_code(totp_of(staff))
    service.check_code(staff, totp_of(staff), code, IP)
    with pytest.raises(LoginRefused) as refused:
        service.check_code(staff, totp_of(staff), code, IP)
    assert refused.value.reason == "totp_replayed"
    assert StaffUser.get_by_id(staff.id).failed_logins == 1
    assert AuditEvent.select().where(AuditEvent.action == "staff.login").count() == 1
    step = service.last_totp_step(staff, utcnow())
    assert not service.complete_login(staff, step, None, IP), "an older step neither"


def test_replays_are_forgotten_after_the_replay_memory(app):
    staff = make_staff()
    AuditEvent.record(
        "staff.login",
        models.Actor.staff_member(staff),
        target=staff,
        totp_step=1000,
    )
    now = utcnow()
    assert service.last_totp_step(staff, now) == 1000
    assert service.last_totp_step(staff, now + service.REPLAY_MEMORY * 2) == -1


def test_two_enrolments_at_once_save_one_secret(app):
    staff = make_staff()
    secrets = [pyotp.random_base32(), pyotp.random_base32()]
    models.db.close()

    def enrol(secret):
        def attempt():
            with app.test_request_context("/admin/login/enrol/", method="POST"):
                try:
                    service.check_code(staff, secret, current_code(secret), IP, enrolling=True)
                except LoginRefused as refused:
                    return refused.reason
                return "saved"

        return attempt

    results = race(app, [enrol(secret) for secret in secrets])
    models.db.connect(reuse_if_open=True)
    assert sorted(results) == ["enrolled", "saved"], results
    saved = totp_of(staff)
    assert saved == secrets[results.index("saved")]
    assert UserSession.select().count() == 1
    assert AuditEvent.select().where(AuditEvent.action == "staff.totp_enrolled").count() == 1
    assert StaffUser.get_by_id(staff.id).failed_logins == 0, "losing the race is no failure"


def test_save_first_totp_secret_keeps_the_first(app):
    staff = make_staff()
    assert staff.save_first_totp_secret("A" * 32)
    assert not StaffUser.get_by_id(staff.id).save_first_totp_secret("B" * 32)
    assert StaffUser.get_by_id(staff.id).totp_secret == "A" * 32


def test_log_out_is_audited(app, request_context):
    staff = make_staff()
    service.log_out(staff, IP)
    service.log_out(None, IP)
    [event] = AuditEvent.select().where(AuditEvent.action == "staff.logout")
    assert event.actor_staff_id == staff.id and event.target_id == str(staff.id)
