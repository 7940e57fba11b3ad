"""Following dossiers: staff of the processing roles follow and stop following a dossier on its
page (the assigned agent follows it from the assignment on), choose their emails (each message,
a daily digest, none); the company's replies email each "each message" follower once, the
daily digest lists the day's activity once; the list's "Suivis" filter is an indexed IN."""

from datetime import timedelta

import pytest
from flask_login import login_user

import database
import models
import notifications
from backoffice.dossier_filters import FollowedFilter
from dossiers import DossierRefused, following, messages, processing
from helpers import (
    csrf_from,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import (
    Actor,
    AuditEvent,
    Dossier,
    DossierFollow,
    DossierStatus,
    FollowEmails,
    Message,
    OutboxMessage,
    Role,
    StaffRole,
    StaffUser,
    utcnow,
)
from smtp import SMTPServer


def detail_url(dossier):
    return f"/admin/dossiers/details/?id={dossier.id}"


def staff_in(client, role=StaffRole.AGENT, **kwargs):
    staff = make_staff(role, **kwargs)
    login_staff(client, staff)
    return staff


def in_instruction():
    """A received dossier, its company's encoder (who replies), and an empty outbox."""
    company = make_company()
    person = make_member(company, Role.ENCODE)
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person)
    OutboxMessage.delete().execute()
    return dossier, Actor.applicant(person)


def emails(staff, choice):
    following.set_emails(Actor.staff_member(staff), choice)


def answered_to():
    return sorted(
        m.to_email
        for m in OutboxMessage.select().where(OutboxMessage.event == "complement_answered")
    )


def digests():
    return list(OutboxMessage.select().where(OutboxMessage.event == "following_digest"))


# --- the dossier page ---------------------------------------------------------------------------


def test_follow_and_unfollow_on_the_dossier_page_with_csrf(app, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    agent = staff_in(client)
    page = client.get(detail_url(dossier))
    assert "Suivre" in text(page) and "Ne plus suivre" not in text(page)
    token = csrf_from(page.text)
    assert client.post(f"/admin/dossiers/follow/{dossier.id}").status_code == 400
    assert not DossierFollow.select().exists(), "nothing without the CSRF token"
    done = client.post(f"/admin/dossiers/follow/{dossier.id}", data={"csrf_token": token})
    assert done.status_code == 302
    assert following.follows(agent, dossier)
    page = text(client.get(detail_url(dossier)))
    assert "Vous suivez le dossier" in page and "Ne plus suivre" in page
    client.post(f"/admin/dossiers/follow/{dossier.id}", data={"csrf_token": token})
    assert DossierFollow.select().count() == 1, "following twice is following once"
    assert client.post(f"/admin/dossiers/unfollow/{dossier.id}").status_code == 400
    client.post(f"/admin/dossiers/unfollow/{dossier.id}", data={"csrf_token": token})
    assert not following.follows(agent, dossier)
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert actions[-3:] == ["dossier.follow", "dossier.follow", "dossier.unfollow"]


PREFERENCES = "/admin/preferences/"


def checked(html):
    """The value of the radio button checked on the page."""
    import re

    [value] = [
        re.search(r'value="([^"]+)"', tag)[1]
        for tag in re.findall(r"<input[^>]*>", html)
        if 'type="radio"' in tag and "checked" in tag
    ]
    return value


def test_the_email_choice_is_saved_on_the_preferences_page(app, client):
    agent = staff_in(client)
    page = client.get(PREFERENCES)
    shown = text(page)
    assert "Mes préférences" in shown and "E-mails des dossiers que je suis" in shown
    assert "À chaque message" in shown and "Un résumé quotidien" in shown
    assert checked(page.text) == "each"  # the default
    assert client.post(PREFERENCES, data={"emails": "daily"}).status_code == 400
    assert not AuditEvent.select().where(AuditEvent.action == "staff.follow_emails").exists()
    token = csrf_from(page.text)
    refused = client.post(PREFERENCES, data={"csrf_token": token, "emails": "weekly"})
    assert refused.status_code == 200 and "N'est pas un choix valide." in text(refused)
    assert StaffUser.get_by_id(agent.id).follow_emails == FollowEmails.EACH.value
    done = client.post(PREFERENCES, data={"csrf_token": token, "emails": "daily"})
    assert done.status_code == 302 and done.headers["Location"].endswith(PREFERENCES)
    assert StaffUser.get_by_id(agent.id).follow_emails == FollowEmails.DAILY.value
    assert AuditEvent.get(AuditEvent.action == "staff.follow_emails").details["emails"] == "daily"
    again = client.get(PREFERENCES)
    assert "Votre choix d'e-mails est enregistré." in text(again)
    assert checked(again.text) == "daily"


@pytest.mark.parametrize("role", list(StaffRole))
def test_every_staff_role_has_the_preferences_page_in_its_menu(app, client, role):
    staff = staff_in(client, role)
    assert f'href="{PREFERENCES}"' in client.get("/admin/").text
    token = csrf_from(client.get(PREFERENCES).text)
    client.post(PREFERENCES, data={"csrf_token": token, "emails": "none"})
    assert StaffUser.get_by_id(staff.id).follow_emails == FollowEmails.NONE.value


def test_the_preferences_page_is_for_staff_only(app, client):
    answer = client.get(PREFERENCES)
    assert answer.status_code == 302 and "/admin/login/" in answer.headers["Location"]


def test_the_dossier_page_shows_the_choice_and_links_to_the_preferences(app, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    agent = staff_in(client)
    emails(agent, "daily")
    page = text(client.get(detail_url(dossier)))
    assert "E-mails des dossiers que vous suivez : Un résumé quotidien." in page
    assert f'href="{PREFERENCES}">Changer dans Mes préférences</a>' in page
    assert 'name="emails"' not in page, "the choice is made on one page only"
    assert client.post(f"/admin/dossiers/follow-emails/{dossier.id}").status_code == 404


@pytest.mark.parametrize("role", [StaffRole.HELPDESK, StaffRole.ADMIN])
def test_only_the_processing_roles_follow(app, client, role):
    dossier = make_dossier(DossierStatus.RECEIVED)
    other = make_staff(role)
    with pytest.raises(DossierRefused):
        following.follow(Actor.staff_member(other), dossier)
    assert not DossierFollow.select().exists()
    staff_in(client, role)
    assert client.get(detail_url(dossier)).status_code in (302, 403)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                *("Follow", "Emails about the applications I follow", "A daily summary"),
                *("My preferences", "Save my preferences", "Change in My preferences"),
            ],
        ),
        (
            "de",
            [
                *(
                    "Folgen",
                    "E-Mails zu den Akten, denen ich folge",
                    "Eine tägliche Zusammenfassung",
                ),
                *("Meine Einstellungen", "Meine Einstellungen speichern"),
            ],
        ),
    ],
)
def test_the_following_part_of_the_page_is_translated(app, client, language, words):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    dossier = make_dossier(DossierStatus.RECEIVED)
    staff_in(client)
    page = text(client.get(f"{detail_url(dossier)}&lang={language}"))
    page += text(client.get(f"{PREFERENCES}?lang={language}"))
    for word in words:
        assert word in page, word
    listing = text(client.get(f"/admin/dossiers/?lang={language}"))
    assert {"en": "Applications I follow", "de": "Akten, denen ich folge"}[language] in listing


# --- the assigned agent ---------------------------------------------------------------------


def test_the_assigned_agent_follows_the_dossier(app, ctx):
    dossier = make_dossier(DossierStatus.RECEIVED)
    supervisor, agent = make_staff(StaffRole.SUPERVISOR), make_staff()
    processing.assign(Actor.staff_member(supervisor), dossier, agent)
    assert following.follows(agent, dossier) and not following.follows(supervisor, dossier)
    processing.assign(Actor.staff_member(supervisor), dossier, None)
    assert following.follows(agent, dossier), "unassigned, they still follow it until they stop"
    processing.assign(Actor.staff_member(supervisor), dossier, agent)
    assert DossierFollow.select().count() == 1


# --- each message ------------------------------------------------------------------------------


def test_a_company_reply_emails_each_each_message_follower_once(app, ctx):
    dossier, company = in_instruction()
    agent, colleague, digest, silent, gone = (make_staff() for _ in range(5))
    dossier.assign(agent)
    for staff in (colleague, digest, silent, gone):
        following.follow(Actor.staff_member(staff), dossier)
    following.follow(Actor.staff_member(colleague), dossier)
    emails(digest, "daily")
    emails(silent, "none")
    StaffUser.update(active=False).where(StaffUser.id == gone.id).execute()
    messages.reply(company, dossier, "Voici nos statuts.")
    assert answered_to() == sorted([agent.email, colleague.email])
    mail = OutboxMessage.get(OutboxMessage.to_email == colleague.email)
    assert mail.context["staff"] and mail.dossier_id == dossier.id


def test_nobody_follows_nobody_is_emailed(app, ctx):
    dossier, company = in_instruction()
    messages.reply(company, dossier, "Voici nos statuts.")
    assert answered_to() == []


def test_the_follower_gets_the_reply_through_smtp_in_their_language(app, ctx):
    server = SMTPServer().start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
        app.config["LANGUAGES_READY"] = ("fr", "de", "en")
        notifications.mail.init_app(app)
        dossier, company = in_instruction()
        agent = make_staff(language="de")
        dossier.assign(agent)
        messages.reply(company, dossier, "Voici nos statuts.")
        assert notifications.deliver_due() == 1
        [message] = server.messages
        assert message["To"] == agent.email
        assert "Voici nos statuts." in message.get_body(("plain",)).get_content()
        assert (
            f"/admin/dossiers/details/?id={dossier.id}"
            in message.get_body(("plain",)).get_content()
        )
    finally:
        server.stop()


# --- the daily digest --------------------------------------------------------------------------


def test_the_digest_lists_the_days_activity_once(app, ctx):
    dossier, company = in_instruction()
    quiet, _company = in_instruction()
    reader = make_staff(language="en")
    emails(reader, "daily")
    for followed in (dossier, quiet):
        following.follow(Actor.staff_member(reader), followed)
    messages.reply(company, dossier, "Voici nos statuts.")
    messages.reply(company, dossier, "Et nos comptes.")
    assert answered_to() == [], "a digest reader is not emailed each time"
    now = utcnow() + timedelta(minutes=1)
    assert following.send_digests(now) == 1
    [digest] = digests()
    assert digest.to_email == reader.email and digest.language == "en"
    assert [row["reference"] for row in digest.context["dossiers"]] == [dossier.reference]
    assert digest.context["dossiers"][0]["messages"] == 2
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    subject, body, html = notifications.render(digest)
    assert "Followed applications" in subject and dossier.reference in body
    assert f"/admin/dossiers/details/?id={dossier.id}" in html
    assert following.send_digests(now) == 0, "the same run again sends nothing"
    assert following.send_digests(now + timedelta(days=1)) == 0, "nothing new: no email"
    assert len(digests()) == 1
    Message.update(created_at=now + timedelta(days=1, hours=1)).where(
        Message.body == "Et nos comptes."
    ).execute()
    assert following.send_digests(now + timedelta(days=2)) == 1
    assert digests()[-1].context["dossiers"][0]["messages"] == 1, "only what came after"


def test_none_gets_no_email_at_all(app, ctx):
    dossier, company = in_instruction()
    silent = make_staff()
    dossier.assign(silent)
    emails(silent, "none")
    messages.reply(company, dossier, "Voici nos statuts.")
    assert following.send_digests(utcnow() + timedelta(minutes=1)) == 0
    assert OutboxMessage.select().where(OutboxMessage.to_email == silent.email).count() == 0


def test_an_unknown_choice_is_refused(app, ctx):
    with pytest.raises(DossierRefused, match="Choisissez"):
        emails(make_staff(), "weekly")


# --- the list's filter -------------------------------------------------------------------------


def followed_filter_arg(app):
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_dossiers")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, FollowedFilter))
    return f"flt0_{index}"


def test_the_list_shows_the_dossiers_i_follow(app, client):
    mine, theirs, nobodys = (make_dossier(DossierStatus.RECEIVED) for _ in range(3))
    agent = staff_in(client)
    following.follow(Actor.staff_member(agent), mine)
    following.follow(Actor.staff_member(make_staff()), theirs)
    listing = text(client.get(f"/admin/dossiers/?{followed_filter_arg(app)}=1"))
    assert mine.reference in listing
    assert theirs.reference not in listing and nobodys.reference not in listing
    everything = text(client.get("/admin/dossiers/"))
    assert all(d.reference in everything for d in (mine, theirs, nobodys))


def test_the_followed_filter_is_an_in_on_the_staff_dossier_index(app, ctx):
    staff = make_staff()
    with app.test_request_context():
        login_user(staff)
        query = FollowedFilter(Dossier.id, "Suivis").apply(Dossier.select(Dossier.id), True)
    sql, params = query.sql()
    assert 'IN (SELECT "t1"."dossier_id" FROM "dossier_follow"' in sql.replace("t2", "t1")
    assert "JOIN" not in sql and params == [staff.id]
    assert (("staff", "dossier"), True) in DossierFollow._meta.indexes


# --- the upgrade ----------------------------------------------------------------------------


def test_upgrade_makes_the_assigned_agents_follow_their_dossiers(tmp_path):
    """A database at 025 with an assigned dossier and one assigned to nobody, upgraded: 027
    makes the agent follow theirs, so that the company's replies still email them."""
    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            database.router().run("025_statistics")
            models.db.execute_sql("PRAGMA foreign_keys = OFF")  # dossier rows alone will do
            for agent in (7, None):
                models.db.execute_sql(
                    "INSERT INTO dossier (company_id, definition_id, status, answers, "
                    "created_by_id, archived, created_at, updated_at, assigned_to_id, "
                    "event_sequence) "
                    "VALUES (1, 1, 'received', '{}', 1, 0, '2026-01-01', '2026-01-01', ?, 0)",
                    (agent,),
                )
            database.apply_migrations()
            rows = [(f.staff_id, f.dossier_id) for f in DossierFollow.select()]
            assert rows == [(7, 1)]
    finally:
        models.db.initialize(previous)


def test_the_digest_is_written_in_german_too(app, ctx):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    dossier, company = in_instruction()
    reader = make_staff(language="de")
    emails(reader, "daily")
    following.follow(Actor.staff_member(reader), dossier)
    messages.reply(company, dossier, "Voici nos statuts.")
    following.send_digests(utcnow() + timedelta(minutes=1))
    [digest] = digests()
    subject, body, _html = notifications.render(digest)
    assert "Verfolgte Akten" in subject and "Nachrichten: 1" in body and dossier.reference in body
