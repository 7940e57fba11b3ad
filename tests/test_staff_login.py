"""Staff login with a TOTP second factor: enrolment at first login, codes, lock-out, replays,
the pending-password state, and the `flask staff` commands that manage the accounts."""

import re
import time
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pyotp
import pytest
from test_concurrency import race

import models
from access.staff import matching_step, provisioning_uri
from auth import verify_password
from backoffice.login import PENDING_KEY
from helpers import (
    STAFF_PASSWORD,
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_member,
    make_staff,
    text,
    totp_of,
)
from models import AuditEvent, StaffRole, StaffUser, UserSession

CODE_URL = "/admin/login/code/"
ENROL_URL = "/admin/login/enrol/"
LOCKED = "bloqué"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrolled_staff(**kwargs):
    return make_staff(totp_secret=pyotp.random_base32(), **kwargs)


def submit_password(client, staff, password=STAFF_PASSWORD):
    page = client.get("/admin/login/")
    return client.post(
        "/admin/login/",
        data={"email": staff.email, "password": password, "csrf_token": csrf_from(page.text)},
    )


def submit_code(client, url, code, **kwargs):
    page = client.get(url)
    return client.post(url, data={"code": code, "csrf_token": csrf_from(page.text)}, **kwargs)


def current_step():
    return int(time.time() // 30)


def wrong_code(secret):
    """A code that no time step near now produces."""
    totp = pyotp.TOTP(secret)
    near = {totp.generate_otp(step) for step in range(current_step() - 3, current_step() + 4)}
    return next(code for code in (f"{n:06d}" for n in range(10**6)) if code not in near)


def secret_on(page):
    return re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page.text)[1].replace(" ", "")


def events(staff, action):
    return list(
        AuditEvent.select()
        .where(AuditEvent.action == action, AuditEvent.target_id == str(staff.id))
        .order_by(AuditEvent.id)
    )


def has_staff_session(client):
    return client.get("/admin/dossiers/").status_code == 200


# --- enrolment and codes --------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_refuses_a_wrong_code(app, client):
    staff = make_staff()
    response = submit_password(client, staff)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(ENROL_URL)

    page = client.get(ENROL_URL)
    assert page.status_code == 200
    assert "<svg" in page.text and "Code QR à scanner" in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    secret = secret_on(page)
    assert len(secret) == 32
    assert secret_on(client.get(ENROL_URL)) == secret, "the candidate stays the same on reload"

    refused = submit_code(client, ENROL_URL, wrong_code(secret))
    assert refused.status_code == 200
    assert "Code incorrect" in text(refused)
    staff = StaffUser.get_by_id(staff.id)
    assert staff.totp_secret is None and staff.failed_logins == 1
    assert not has_staff_session(client)
    assert [e.details["reason"] for e in events(staff, "staff.login_failed")] == ["totp"]

    accepted = submit_code(client, ENROL_URL, pyotp.TOTP(secret).now())
    assert accepted.status_code == 302
    assert accepted.headers["Location"].endswith("/admin/")
    staff = StaffUser.get_by_id(staff.id)
    assert totp_of(staff) == secret and staff.failed_logins == 0
    assert secret not in staff.totp_secret, "the secret is kept sealed"
    assert has_staff_session(client)
    assert len(events(staff, "staff.totp_enrolled")) == 1
    [login] = events(staff, "staff.login")
    assert login.details["auth_method"] == "password+totp"
    assert abs(login.details["totp_step"] - current_step()) <= 1
    assert UserSession.get(UserSession.staff == staff).auth_method == "password+totp"
    with client.session_transaction() as session:
        assert PENDING_KEY not in session


def test_provisioning_uri_names_the_issuer_and_the_account():
    staff = StaffUser(email="agent@guichet.test")
    uri = urlsplit(provisioning_uri(SECRET, staff))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/Guichet:agent@guichet.test"
    assert parse_qs(uri.query) == {"secret": [SECRET], "issuer": ["Guichet"]}


def test_a_code_is_accepted_one_step_either_side_only():
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_015.0
    step = int(now // 30)
    for offset in (-1, 0, 1):
        assert matching_step(secret, totp.generate_otp(step + offset), now) == step + offset
    for offset in (-2, 2):
        code = totp.generate_otp(step + offset)
        if code not in {totp.generate_otp(step + o) for o in (-1, 0, 1)}:
            assert matching_step(secret, code, now) is None


def test_after_enrolment_the_next_login_asks_for_a_code(app, client):
    staff = make_staff()
    assert login_staff(client, staff).status_code == 302
    page = client.get("/admin/login/")
    client.post("/admin/logout/", data={"csrf_token": csrf_from(page.text)})

    response = submit_password(client, staff)
    assert response.headers["Location"].endswith(CODE_URL)
    page = client.get(CODE_URL)
    assert "Code de vérification" in text(page)
    assert "<svg" not in page.text and 'id="totp-secret"' not in page.text
    assert client.get(ENROL_URL).headers["Location"].endswith(CODE_URL)

    secret = totp_of(staff)
    assert "Code incorrect" in text(submit_code(client, CODE_URL, wrong_code(secret)))
    assert not has_staff_session(client)
    # The helper picks a step the server has not accepted yet (the enrolment used one).
    assert login_staff(client, staff).status_code == 302
    assert has_staff_session(client)
    assert StaffUser.get_by_id(staff.id).failed_logins == 0


def test_five_wrong_codes_lock_the_account(app, client):
    staff = enrolled_staff()
    submit_password(client, staff)
    for _ in range(4):
        response = submit_code(client, CODE_URL, wrong_code(totp_of(staff)))
        assert "Code incorrect" in text(response)
    locked = submit_code(client, CODE_URL, wrong_code(totp_of(staff)), follow_redirects=True)
    assert LOCKED in text(locked)
    assert locked.request.path == "/admin/login/"
    staff = StaffUser.get_by_id(staff.id)
    assert staff.locked_until is not None and staff.failed_logins == 0
    assert events(staff, "staff.login_failed")[-1].details == {"reason": "totp", "locked": True}
    # The pending password is gone, and the right password is refused while locked.
    assert client.get(CODE_URL).headers["Location"].endswith("/admin/login/")
    assert LOCKED in text(submit_password(client, staff))
    assert not has_staff_session(client)


def test_the_password_step_does_not_reset_the_failure_count(app, client):
    staff = enrolled_staff()
    for _ in range(2):
        submit_password(client, staff)
        for _ in range(2):
            submit_code(client, CODE_URL, wrong_code(totp_of(staff)))
    submit_password(client, staff)
    locked = submit_code(client, CODE_URL, wrong_code(totp_of(staff)), follow_redirects=True)
    assert LOCKED in text(locked)


def test_a_replayed_code_is_refused(app, client):
    staff = enrolled_staff()
    code = pyotp.TOTP(totp_of(staff)).now()
    submit_password(client, staff)
    assert submit_code(client, CODE_URL, code).status_code == 302

    other = app.test_client()
    submit_password(other, staff)
    replayed = submit_code(other, CODE_URL, code)
    assert replayed.status_code == 200
    assert "Ce code a déjà servi" in text(replayed)
    assert not has_staff_session(other)
    assert StaffUser.get_by_id(staff.id).failed_logins == 1
    assert events(staff, "staff.login_failed")[-1].details["reason"] == "totp_replayed"
    assert len(events(staff, "staff.login")) == 1


def test_the_same_code_posted_twice_at_once_opens_one_session(app):
    staff = enrolled_staff()
    browsers = [app.test_client() for _ in range(2)]
    pages = []
    for browser in browsers:
        submit_password(browser, staff)
        pages.append(browser.get(CODE_URL))
    code = pyotp.TOTP(totp_of(staff)).now()
    models.db.close()  # each thread takes its own connection

    def post(browser, page):
        data = {"code": code, "csrf_token": csrf_from(page.text)}
        return lambda: browser.post(CODE_URL, data=data).status_code

    results = race(app, [post(b, p) for b, p in zip(browsers, pages, strict=True)])
    models.db.connect(reuse_if_open=True)
    assert sorted(results) == [200, 302], results
    assert UserSession.select().count() == 1
    assert len(events(staff, "staff.login")) == 1


def test_a_code_used_at_enrolment_cannot_log_in_again(app, client):
    staff = make_staff()
    submit_password(client, staff)
    secret = secret_on(client.get(ENROL_URL))
    code = pyotp.TOTP(secret).now()
    assert submit_code(client, ENROL_URL, code).status_code == 302

    other = app.test_client()
    submit_password(other, staff)
    assert "Ce code a déjà servi" in text(submit_code(other, CODE_URL, code))


def test_two_pending_enrolments_save_one_secret(app, client):
    staff = make_staff()
    second = app.test_client()
    for browser in (client, second):
        submit_password(browser, staff)
    first_secret = secret_on(client.get(ENROL_URL))
    second_page = second.get(ENROL_URL)
    assert submit_code(client, ENROL_URL, pyotp.TOTP(first_secret).now()).status_code == 302

    late = second.post(
        ENROL_URL,
        data={
            "code": pyotp.TOTP(secret_on(second_page)).now(),
            "csrf_token": csrf_from(second_page.text),
        },
    )
    assert late.headers["Location"].endswith(CODE_URL)
    assert totp_of(staff) == first_secret
    assert not has_staff_session(second)


# --- no session before the second factor, and how long the password step lasts -------------


@pytest.mark.parametrize("enrolled", [False, True])
def test_no_session_before_the_second_factor(app, client, enrolled):
    staff = enrolled_staff() if enrolled else make_staff()
    submit_password(client, staff)
    for url in ("/admin/", "/admin/dossiers/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response.headers["Location"]
    assert UserSession.select().count() == 0
    assert events(staff, "staff.login") == []
    with client.session_transaction() as session:
        assert set(session[PENDING_KEY]) == {"staff_id", "at"}


@pytest.mark.parametrize("enrolled", [False, True])
def test_the_pending_password_expires_after_five_minutes(app, client, enrolled):
    staff = enrolled_staff() if enrolled else make_staff()
    url = CODE_URL if enrolled else ENROL_URL
    submit_password(client, staff)
    page = client.get(url)
    with client.session_transaction() as session:
        session[PENDING_KEY] = {**session[PENDING_KEY], "at": int(time.time()) - 5 * 60 - 1}
    secret = totp_of(staff) or secret_on(page)
    response = client.post(
        url,
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert response.request.path == "/admin/login/"
    assert "Délai dépassé" in text(response)
    assert not has_staff_session(client)
    assert StaffUser.get_by_id(staff.id).totp_secret == staff.totp_secret
    with client.session_transaction() as session:
        assert PENDING_KEY not in session


def test_a_deactivated_account_cannot_finish_its_login(app, client):
    staff = enrolled_staff()
    submit_password(client, staff)
    page = client.get(CODE_URL)
    StaffUser.update(active=False).where(StaffUser.id == staff.id).execute()
    response = client.post(
        CODE_URL,
        data={"code": pyotp.TOTP(totp_of(staff)).now(), "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/login/")
    assert UserSession.select().count() == 0


@pytest.mark.parametrize("url", [CODE_URL, ENROL_URL])
def test_anonymous_and_company_users_never_reach_the_totp_pages(app, client, url):
    assert client.get(url).headers["Location"].endswith("/admin/login/")
    person = make_member(make_company())
    login_person(client, person)
    for response in (client.get(url), client.post(url, data={"code": "123456"})):
        assert response.status_code in (302, 400)
        if response.status_code == 302:
            assert response.headers["Location"].endswith("/admin/login/")
    page = client.get("/admin/login/")
    posted = client.post(url, data={"code": "123456", "csrf_token": csrf_from(page.text)})
    assert posted.headers["Location"].endswith("/admin/login/")
    assert UserSession.select().where(UserSession.staff.is_null(False)).count() == 0


def test_code_posts_are_rate_limited(app, client):
    staff = enrolled_staff()
    submit_password(client, staff)
    page = client.get(CODE_URL)
    statuses = [
        client.post(
            CODE_URL, data={"code": "000000", "csrf_token": csrf_from(page.text)}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[-1] == 429


# --- the `flask staff` commands -------------------------------------------------------------


def create(runner, email, password=None, *, name="Alice Agent", role="agent", prompt=None):
    args = ["staff", "create", email, "--name", name, "--role", role]
    if prompt is None:
        args.append("--password-stdin")
        return runner.invoke(args=args, input=f"{password}\n")
    return runner.invoke(args=args, input=prompt)


def test_cli_creates_staff_who_enrol_at_first_login(app, runner, client):
    result = create(runner, "Alice@Guichet.test", STAFF_PASSWORD, role="supervisor")
    assert result.exit_code == 0, result.output
    assert "Account created: alice@guichet.test" in result.output
    staff = StaffUser.get(StaffUser.email == "alice@guichet.test")
    assert staff.role == StaffRole.SUPERVISOR.value and staff.full_name == "Alice Agent"
    assert staff.password_hash.startswith("$argon2id$")
    assert STAFF_PASSWORD not in staff.password_hash
    assert verify_password(staff, STAFF_PASSWORD)
    assert staff.totp_secret is None
    assert events(staff, "staff.created")[0].actor_kind == "system"

    assert submit_password(client, staff).headers["Location"].endswith(ENROL_URL)
    assert login_staff(client, staff).status_code == 302
    assert has_staff_session(client)


def test_cli_prompts_for_the_password_twice(app, runner):
    result = create(runner, "bob@guichet.test", prompt=f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert STAFF_PASSWORD not in result.output
    assert verify_password(StaffUser.get(StaffUser.email == "bob@guichet.test"), STAFF_PASSWORD)


def test_cli_refuses_duplicates_and_weak_passwords(app, runner):
    make_staff(email="taken@guichet.test")
    duplicate = create(runner, "TAKEN@guichet.test", STAFF_PASSWORD)
    assert duplicate.exit_code == 1
    assert "an account already exists for taken@guichet.test" in duplicate.output

    weak = create(runner, "new@guichet.test", "short-pass")
    assert weak.exit_code == 1
    assert "at least 12 characters" in weak.output
    assert StaffUser.get_or_none(StaffUser.email == "new@guichet.test") is None

    assert create(runner, "not-an-address", STAFF_PASSWORD).exit_code == 1
    assert create(runner, "x@guichet.test", STAFF_PASSWORD, role="boss").exit_code == 2
    assert StaffUser.select().count() == 1


def test_cli_resets_totp_and_closes_sessions(app, runner, client):
    staff = make_staff()
    login_staff(client, staff)
    assert StaffUser.get_by_id(staff.id).totp_secret is not None

    result = runner.invoke(args=["staff", "reset-totp", staff.email.upper()])
    assert result.exit_code == 0, result.output
    assert "Second factor cleared" in result.output and "1 session(s) closed" in result.output
    assert StaffUser.get_by_id(staff.id).totp_secret is None
    assert events(staff, "staff.totp_reset")[0].details == {"via": "cli", "sessions_revoked": 1}
    assert not has_staff_session(client)
    assert submit_password(client, staff).headers["Location"].endswith(ENROL_URL)

    again = runner.invoke(args=["staff", "reset-totp", staff.email])
    assert again.exit_code == 0 and "nothing to clear" in again.output
    unknown = runner.invoke(args=["staff", "reset-totp", "nobody@guichet.test"])
    assert unknown.exit_code == 1 and "no staff account" in unknown.output


def test_cli_lists_staff(app, runner):
    enrolled_staff(email="a@guichet.test", role=StaffRole.ADMIN.value)
    make_staff(email="b@guichet.test", active=False)
    result = runner.invoke(args=["staff", "list"])
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert first.startswith("a@guichet.test") and "admin" in first and "TOTP enrolled" in first
    assert second.startswith("b@guichet.test") and "TOTP to enrol" in second
    assert "deactivated" in second


@pytest.mark.parametrize(
    ("asked", "landing"),
    [
        ("/admin/dossiers/?flt0_0=submitted", "/admin/dossiers/?flt0_0=submitted"),
        ("//evil.example/admin/", "/admin/"),
        ("https://evil.example/admin/", "/admin/"),
        ("/admin/login/code/", "/admin/"),
    ],
)
def test_the_login_returns_to_the_page_asked_on_this_site_only(app, client, asked, landing):
    staff = enrolled_staff()
    if asked.startswith("/admin/dossiers/"):
        sent = client.get(asked)
        assert "/admin/login/" in sent.headers["Location"]
        login_url = sent.headers["Location"]
    else:
        login_url = "/admin/login/?" + urlencode({"next": asked})
    page = client.get(login_url)
    client.post(
        login_url,
        data={"email": staff.email, "password": STAFF_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    done = submit_code(client, CODE_URL, pyotp.TOTP(totp_of(staff)).now())
    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).netloc in ("", "localhost")
    target = urlsplit(done.headers["Location"])
    assert target.path + (f"?{target.query}" if target.query else "") == landing


def test_an_empty_login_form_says_what_is_missing(app, client):
    page = client.get("/admin/login/")
    response = client.post(
        "/admin/login/", data={"email": "", "password": "", "csrf_token": csrf_from(page.text)}
    )
    assert "Indiquez votre adresse e-mail." in text(response)
    assert "Indiquez votre mot de passe." in text(response)
