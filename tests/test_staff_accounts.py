"""Staff accounts in the back-office (/admin/staff/, administrators only): an account created
from the page, whose owner chooses the password by the emailed link (too short, two different
entries, a used or expired link refused) and then enrols the second factor; role changes,
deactivation (sessions closed, logins refused) and reactivation, the second factor reset, the
link sent again; the refusals that keep an administrator; 403 for every other role."""

from datetime import timedelta

import pytest

import notifications
from access import staff as accounts
from auth import verify_password
from helpers import STAFF_PASSWORD, csrf_from, login_staff, make_staff, text
from models import (
    Actor,
    AuditEvent,
    OutboxMessage,
    StaffRole,
    StaffUser,
    UserSession,
    VerificationCode,
    utcnow,
)

NEW_PASSWORD = "un mot de passe assez long"


def events(staff, action):
    return list(
        AuditEvent.select()
        .where(AuditEvent.action == action, AuditEvent.target_id == str(staff.id))
        .order_by(AuditEvent.id)
    )


def link_of(staff):
    """The path of the latest password link emailed to `staff`."""
    message = (
        OutboxMessage.select()
        .where(OutboxMessage.event == "staff_password", OutboxMessage.to_email == staff.email)
        .order_by(OutboxMessage.id.desc())
        .first()
    )
    return message.context["link_path"]


def choose(client, link, password, confirmation=None):
    page = client.get(link)
    return client.post(
        link,
        data={
            "csrf_token": csrf_from(page.text),
            "password": password,
            "confirmation": password if confirmation is None else confirmation,
        },
    )


def post(client, path, **data):
    token = csrf_from(client.get("/admin/staff/").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)


@pytest.fixture
def admin(client):
    admin = make_staff(StaffRole.ADMIN, full_name="Adèle Admin")
    login_staff(client, admin)
    return admin


def create(client, email="nouvelle@guichet.test", role="agent", language="fr"):
    form = client.get("/admin/staff/new/")
    return client.post(
        "/admin/staff/new/",
        data={
            "csrf_token": csrf_from(form.text),
            "email": email,
            "full_name": "Nora Nouvelle",
            "role": role,
            "language": language,
        },
    )


def test_an_account_made_on_the_page_chooses_its_password_by_the_link(app, client, admin):
    created = create(client, email=" Nouvelle@Guichet.test ")
    staff = StaffUser.get(StaffUser.email == "nouvelle@guichet.test")
    assert created.headers["Location"].endswith(f"/admin/staff/details/?id={staff.id}")
    assert (staff.role, staff.full_name, staff.totp_secret) == ("agent", "Nora Nouvelle", None)
    assert not verify_password(staff, "")
    [made] = events(staff, "staff.created")
    assert (made.actor_staff_id, made.details) == (admin.id, {"role": "agent", "via": "backoffice"})
    mail = OutboxMessage.get(OutboxMessage.event == "staff_password")
    assert (mail.to_email, mail.language) == ("nouvelle@guichet.test", "fr")
    link = link_of(staff)
    assert link.startswith("/admin/login/password/") and link.endswith("?lang=fr")
    token = link.rsplit("/", 1)[1].partition("?")[0]
    assert VerificationCode.get().token_hash not in (None, token)  # kept hashed

    stranger = app.test_client()
    page = stranger.get(link)
    assert page.status_code == 200 and "nouvelle@guichet.test" in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    short = choose(stranger, link, "trop court")
    assert "au moins 12 caractères" in text(short)
    different = choose(stranger, link, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert "ne sont pas identiques" in text(different)
    assert StaffUser.get_by_id(staff.id).password_hash == accounts.UNSET_HASH  # link still alive
    done = choose(stranger, link, NEW_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/login/")
    assert events(staff, "staff.password_set")[0].actor_staff_id == staff.id

    again = stranger.get(link)
    assert again.status_code == 410
    assert "déjà servi" in text(again) and "administrateur" in text(again)
    token = csrf_from(stranger.get("/admin/login/").text)
    dead = stranger.post(
        link, data={"csrf_token": token, "password": "x" * 12, "confirmation": "x" * 12}
    )
    assert dead.status_code == 410
    assert verify_password(StaffUser.get_by_id(staff.id), NEW_PASSWORD)

    reached = login_staff(stranger, StaffUser.get_by_id(staff.id), password=NEW_PASSWORD)
    assert reached.status_code == 302 and reached.headers["Location"].endswith("/admin/")
    assert events(staff, "staff.totp_enrolled")


def test_an_expired_link_says_to_ask_an_administrator(app, client, admin):
    create(client)
    staff = StaffUser.get(StaffUser.email == "nouvelle@guichet.test")
    link = link_of(staff)
    VerificationCode.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    page = app.test_client().get(link)
    assert page.status_code == 410
    assert "expiré" in text(page) and "Demandez à un administrateur" in text(page)
    assert app.test_client().get("/admin/login/password/not-a-token").status_code == 410

    post(client, f"/admin/staff/send-link/{staff.id}")
    fresh = link_of(staff)
    assert fresh != link and events(staff, "staff.password_link_sent")[-1].actor_staff_id
    assert choose(app.test_client(), fresh, NEW_PASSWORD).status_code == 302
    assert verify_password(StaffUser.get_by_id(staff.id), NEW_PASSWORD)


def test_the_email_is_in_the_language_chosen_and_an_address_is_taken_once(app, client, admin):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    create(client, email="dora@guichet.test", language="de")
    dora = StaffUser.get(StaffUser.email == "dora@guichet.test")
    assert dora.language == "de"
    assert OutboxMessage.get(OutboxMessage.to_email == dora.email).language == "de"
    taken = create(client, email="DORA@guichet.test")
    assert taken.status_code == 200
    assert "Un compte existe déjà pour l'adresse dora@guichet.test" in text(taken)
    invalid = create(client, email="pas une adresse")
    assert "n'est pas valable" in text(invalid)
    assert StaffUser.select().count() == 2


def test_a_role_change_is_audited(app, client, admin):
    agent = make_staff(StaffRole.AGENT)
    page = post(client, f"/admin/staff/role/{agent.id}", role="supervisor")
    assert "Le rôle de" in text(page)
    assert StaffUser.get_by_id(agent.id).role == "supervisor"
    [change] = events(agent, "staff.role_changed")
    assert change.actor_staff_id == admin.id
    assert change.details == {"before": "agent", "after": "supervisor", "via": "backoffice"}


def test_deactivation_closes_the_sessions_and_refuses_the_login(app, client, admin):
    agent = make_staff(StaffRole.AGENT)
    agents_browser = app.test_client()
    login_staff(agents_browser, agent)
    assert agents_browser.get("/admin/dossiers/").status_code == 200
    page = post(client, f"/admin/staff/deactivate/{agent.id}")
    assert "est désactivé" in text(page)
    assert not StaffUser.get_by_id(agent.id).active
    assert events(agent, "staff.deactivated")[0].details["sessions_revoked"] == 1
    assert UserSession.select().where(UserSession.staff == agent.id).count() == 1
    assert UserSession.get(UserSession.staff == agent.id).revoked_at is not None
    refused = agents_browser.get("/admin/dossiers/")
    assert refused.status_code == 302 and "/admin/login/" in refused.headers["Location"]
    again = login_staff(agents_browser, agent)
    assert "Adresse e-mail ou mot de passe incorrect." in text(again)
    assert events(agent, "staff.login_failed")[-1].details["reason"] == "inactive"
    detail = text(client.get(f"/admin/staff/details/?id={agent.id}"))
    assert "Réactiver le compte" in detail and "Désactiver le compte" not in detail
    refused_link = post(client, f"/admin/staff/send-link/{agent.id}")
    assert "réactivez-le d'abord" in text(refused_link)

    post(client, f"/admin/staff/reactivate/{agent.id}")
    assert StaffUser.get_by_id(agent.id).active
    assert events(agent, "staff.reactivated")[0].actor_staff_id == admin.id
    assert login_staff(app.test_client(), agent).headers["Location"].endswith("/admin/")


def test_the_second_factor_is_reset_from_the_page(app, client, admin):
    agent = make_staff(StaffRole.AGENT)
    agents_browser = app.test_client()
    login_staff(agents_browser, agent)
    assert StaffUser.get_by_id(agent.id).totp_secret is not None
    post(client, f"/admin/staff/reset-totp/{agent.id}")
    assert StaffUser.get_by_id(agent.id).totp_secret is None
    [reset] = events(agent, "staff.totp_reset")
    assert reset.details == {"via": "backoffice", "sessions_revoked": 1}
    assert agents_browser.get("/admin/dossiers/").status_code == 302


def test_an_administrator_keeps_their_own_role_and_account(app, client, admin):
    make_staff(StaffRole.ADMIN)  # not the last one: the refusal is about oneself
    demoted = post(client, f"/admin/staff/role/{admin.id}", role="agent")
    assert "votre propre rôle d'administrateur" in text(demoted)
    off = post(client, f"/admin/staff/deactivate/{admin.id}")
    assert "votre propre compte" in text(off)
    admin = StaffUser.get_by_id(admin.id)
    assert (admin.role, admin.active) == ("admin", True)
    assert not events(admin, "staff.role_changed") and not events(admin, "staff.deactivated")


def test_the_last_active_administrator_is_kept(app, ctx):
    first = make_staff(StaffRole.ADMIN)
    second = make_staff(StaffRole.ADMIN)
    make_staff(StaffRole.ADMIN, active=False)  # an inactive one does not count
    accounts.deactivate(Actor.staff_member(first), second)
    last = "dernier administrateur actif"
    # the second, switched off meanwhile (a request already under way), cannot remove the first
    with pytest.raises(accounts.StaffRefused, match=last):
        accounts.deactivate(Actor.staff_member(second), first)
    with pytest.raises(accounts.StaffRefused, match=last):
        accounts.change_role(Actor.system(), first, StaffRole.AGENT.value)
    with pytest.raises(accounts.StaffRefused, match=last):
        accounts.deactivate(Actor.system(), first)
    assert StaffUser.get_by_id(first.id).active and StaffUser.get_by_id(first.id).role == "admin"
    with pytest.raises(accounts.StaffRefused, match="Seul un administrateur"):
        accounts.deactivate(Actor.staff_member(make_staff(StaffRole.SUPERVISOR)), second)


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.HELPDESK])
def test_every_page_of_the_staff_accounts_is_for_administrators_only(app, client, role):
    target = make_staff(StaffRole.AGENT)
    staff = make_staff(role)
    login_staff(client, staff)
    token = csrf_from(client.get("/admin/preferences/").text)
    menu = client.get("/admin/preferences/").text
    assert "/admin/staff/" not in menu
    gets = ["/admin/staff/", "/admin/staff/new/", f"/admin/staff/details/?id={target.id}"]
    posts = [
        "/admin/staff/new/",
        *(
            f"/admin/staff/{action}/{target.id}"
            for action in ("role", "deactivate", "reactivate", "reset-totp", "send-link")
        ),
    ]
    for method, path in [("GET", p) for p in gets] + [("POST", p) for p in posts]:
        data = {"csrf_token": token, "role": "admin", "email": "x@guichet.test"}
        response = client.get(path) if method == "GET" else client.post(path, data=data)
        assert response.status_code == 403, (method, path)
        denial = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
        assert denial.action == "access.denied" and denial.actor_staff_id == staff.id
        assert denial.details == {"reason": "role", "path": path.split("?")[0]}
    target = StaffUser.get_by_id(target.id)
    assert (target.role, target.active) == ("agent", True)
    assert StaffUser.select().count() == 2


def test_the_list_searches_and_filters(app, client, admin):
    make_staff(StaffRole.HELPDESK, full_name="Hélène Helpdesk", email="helene@guichet.test")
    make_staff(StaffRole.AGENT, full_name="Arnaud Parti", active=False)
    listed = text(client.get("/admin/staff/"))
    assert "Hélène Helpdesk" in listed and "Arnaud Parti" in listed and admin.email in listed
    searched = text(client.get("/admin/staff/?search=helene"))
    assert "Hélène Helpdesk" in searched and "Arnaud Parti" not in searched
    by_role = text(client.get("/admin/staff/?flt0_0=helpdesk"))
    assert "Hélène Helpdesk" in by_role and admin.email not in by_role
    inactive = text(client.get("/admin/staff/?flt1_1=0"))
    assert "Arnaud Parti" in inactive and "Hélène Helpdesk" not in inactive
    assert "/admin/staff/" in text(client.get("/admin/"))  # in the administrator's menu


def test_without_csrf_nothing_changes(app, client, admin):
    agent = make_staff(StaffRole.AGENT)
    assert client.post(f"/admin/staff/deactivate/{agent.id}").status_code == 400
    assert client.post("/admin/staff/new/", data={"email": "a@guichet.test"}).status_code == 400
    assert StaffUser.get_by_id(agent.id).active and StaffUser.select().count() == 2


def test_the_cli_still_creates_an_account_with_a_password(app, runner):
    result = runner.invoke(
        args=["staff", "create", "cli@guichet.test", "--name", "Cli", "--role", "agent"],
        input=f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    staff = StaffUser.get(StaffUser.email == "cli@guichet.test")
    assert verify_password(staff, STAFF_PASSWORD)
    assert not OutboxMessage.select().where(OutboxMessage.event == "staff_password").exists()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Staff", "New staff account", "Full name", "Deactivate the account")),
        ("de", ("Personal", "Neues Mitarbeiterkonto", "Vollständiger Name", "Konto deaktivieren")),
    ],
)
def test_the_pages_and_the_email_in_english_and_german(app, client, admin, language, words):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    client.get(f"/admin/?lang={language}")
    create(client, email="polyglotte@guichet.test", language=language)
    staff = StaffUser.get(StaffUser.email == "polyglotte@guichet.test")
    page = text(client.get("/admin/staff/new/"))
    page += text(client.get(f"/admin/staff/details/?id={staff.id}"))
    assert all(w in page for w in words), [w for w in words if w not in page]
    assert "Nouveau compte du personnel" not in page
    with app.test_request_context():
        subject, body, _html = notifications.render(OutboxMessage.get(to_email=staff.email))
    assert {"en": "choose your password", "de": "Wählen Sie Ihr Passwort"}[language] in subject
    assert link_of(staff) in body and link_of(staff).endswith(f"?lang={language}")
    chooser = text(app.test_client().get(link_of(staff)))
    assert {"en": "Choose your password", "de": "Wählen Sie Ihr Passwort"}[language] in chooser


def test_an_administrator_may_make_many_accounts_at_once(app, ctx):
    actor = Actor.staff_member(make_staff(StaffRole.ADMIN), ip_address="203.0.113.9")
    for n in range(25):  # more than one address may ask codes for in a quarter of an hour
        accounts.create_account(actor, f"lot{n}@guichet.test", f"Lot {n}", "agent", via="x")
    assert OutboxMessage.select().where(OutboxMessage.event == "staff_password").count() == 25


def test_a_password_link_dies_with_a_deactivation(app, client, admin):
    """Switched off before choosing a password, then on again within the 72 hours: the first
    link opens nothing; a new one is sent from the account's page."""
    create(client)
    newcomer = StaffUser.get(StaffUser.email == "nouvelle@guichet.test")
    first = link_of(newcomer)
    post(client, f"/admin/staff/deactivate/{newcomer.id}")
    post(client, f"/admin/staff/reactivate/{newcomer.id}")
    stranger = app.test_client()
    dead = stranger.get(first)
    assert dead.status_code == 410 and '<form method="post"' not in dead.text
    post(client, f"/admin/staff/send-link/{newcomer.id}")
    assert choose(stranger, link_of(newcomer), "un-mot-de-passe-assez-long").status_code == 302
