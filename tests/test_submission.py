"""Signing and submitting, the receipt, following the dossier: archive, delete, messages and
complements, and the activity-report reminders."""

import io
from datetime import date

import pytest
from test_annexes import upload
from test_pdf_check import blank_pdf
from test_wizard import PREFILLED, install, post_section, start

import models
from dossiers import messages, submission
from helpers import (
    csrf_from,
    login_person,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import (
    Actor,
    Annex,
    Document,
    Dossier,
    DossierStatus,
    Message,
    OutboxMessage,
    ReminderSent,
    Role,
    Signature,
    UserSession,
)


def complete(client):
    d = start(client)
    post_section(
        client, d, "agence", {"established": "abroad", "country": "France", "fees": "false"}
    )
    post_section(
        client, d, "services", {"rows-count": "1", "rows-0-received": "3", "rows-0-placed": "1"}
    )
    upload(client, d, "proof", blank_pdf(1), name="preuve.pdf")
    upload(client, d, "record", blank_pdf(2), name="casier.pdf")
    d = Dossier.get_by_id(d.id)
    assert d.state == DossierStatus.COMPLETE
    return d


@pytest.fixture
def signer(app, client):
    install(PREFILLED)
    company = make_company(name="Signature SA")
    person = make_member(company, Role.SIGN)
    login_person(client, person, company)
    return company, person


def sign(client, dossier, declaration=True):
    page = client.get(f"/dossiers/{dossier.id}/signer")
    data = {"csrf_token": csrf_from(page.text)}
    if declaration:
        data["declaration"] = "y"
    return client.post(f"/dossiers/{dossier.id}/signer", data=data)


def test_sign_and_submit(signer, client):
    _company, person = signer
    dossier = complete(client)
    response = sign(client, dossier)
    assert response.status_code == 302
    dossier = Dossier.get_by_id(dossier.id)
    assert dossier.state == DossierStatus.SUBMITTED
    assert dossier.reference.startswith("ESS-") and dossier.reference.endswith("-000001")
    signature = Signature.get(Signature.dossier == dossier)
    assert signature.person_id == person.id and signature.auth_method == "eid"
    expected = submission.sha256_text(submission.canonical_answers(dossier.answers))
    assert signature.answers_sha256 == expected
    assert {a["name"] for a in signature.annexes} == {"preuve.pdf", "casier.pdf"}
    assert signature.digest == submission.combined_digest(
        expected, [a.sha256 for a in Annex.select()]
    )
    assert all(a.frozen for a in Annex.select())
    assert OutboxMessage.select().where(OutboxMessage.event == "submitted").count() == 1
    assert Document.latest(dossier, Document.RECEIPT) is not None
    page = text(client.get(f"/dossiers/{dossier.id}"))
    assert dossier.reference in page and "accusé de réception" in page.lower()


def test_receipt_download_and_isolation(signer, client, app):
    dossier = complete(client)
    sign(client, dossier)
    response = client.get(f"/dossiers/{dossier.id}/documents/accuse-de-reception")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith("attachment")
    outsider_company = make_company()
    outsider = make_member(outsider_company, Role.SIGN)
    other = app.test_client()
    login_person(other, outsider, outsider_company)
    assert other.get(f"/dossiers/{dossier.id}/documents/accuse-de-reception").status_code == 404


def test_submit_needs_signature_role(signer, client, app):
    company, _person = signer
    dossier = complete(client)
    encoder = make_member(company, Role.ENCODE)
    other = app.test_client()
    login_person(other, encoder, company)
    assert other.get(f"/dossiers/{dossier.id}/signer").status_code == 403
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.COMPLETE


def test_submit_needs_a_fresh_login(signer, client):
    _company, _person = signer
    dossier = complete(client)
    UserSession.update(auth_time=models.utcnow().replace(year=2020)).execute()
    response = client.get(f"/dossiers/{dossier.id}/signer")
    assert response.status_code == 302
    assert f"/auth/login?next=/dossiers/{dossier.id}/signer" in response.headers["Location"]


def test_submit_from_en_cours_says_what_is_missing(signer, client):
    dossier = start(client)
    page = text(client.get(f"/dossiers/{dossier.id}/signer"))
    assert "n'est pas encore complet" in page and "à compléter" in page
    assert sign(client, dossier).status_code == 400
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.DRAFT


def test_declaration_on_honour_is_required(signer, client):
    dossier = complete(client)
    response = sign(client, dossier, declaration=False)
    assert response.status_code == 400 and "Cochez la déclaration" in text(response)
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.COMPLETE


def test_archive_and_delete_rules(signer, client):
    company, person = signer
    draft = start(client)
    token = csrf_from(client.get(f"/dossiers/{draft.id}").text)
    client.post(f"/dossiers/{draft.id}/archiver", data={"csrf_token": token})
    assert not Dossier.get_by_id(draft.id).archived
    submitted = make_dossier(DossierStatus.PROCESSING, company=company, person=person)
    response = client.get(f"/dossiers/{submitted.id}/supprimer", follow_redirects=True)
    assert "ne peut pas être supprimé" in text(response)
    client.post(f"/dossiers/{submitted.id}/archiver", data={"csrf_token": token})
    assert Dossier.get_by_id(submitted.id).archived
    assert submitted.reference in client.get("/dossiers/?vue=archives").text
    assert submitted.reference not in client.get("/dossiers/").text
    client.post(f"/dossiers/{submitted.id}/desarchiver", data={"csrf_token": token})
    assert not Dossier.get_by_id(submitted.id).archived
    confirm = client.get(f"/dossiers/{draft.id}/supprimer")
    assert "Oui, supprimer le brouillon" in text(confirm)
    client.post(f"/dossiers/{draft.id}/supprimer", data={"csrf_token": csrf_from(confirm.text)})
    assert Dossier.get_or_none(Dossier.id == draft.id) is None


def test_complement_request_and_reply(signer, client):
    company, person = signer
    agent = make_staff()
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person, staff=agent)
    dossier.assign(agent)  # the assigned agent follows it: the company's reply emails them
    dossier = Dossier.get_by_id(dossier.id)
    messages.send_to_company(
        Actor.staff_member(agent),
        dossier,
        "Merci de joindre vos statuts.",
        complement=True,
        requested_annexes=["Statuts"],
    )
    assert OutboxMessage.get(OutboxMessage.event == "complement").to_email == person.login_email
    assert "Répondre à la demande de compléments" in text(client.get("/dossiers/"))
    page = client.get(f"/dossiers/{dossier.id}")
    assert "Compléments demandés" in text(page)
    refused = client.post(
        f"/dossiers/{dossier.id}/messages",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_from(page.text),
            "body": "Voici nos statuts,\nsignés par les deux gérants.",
            "files": (io.BytesIO(b"GIF89a not a pdf"), "statuts.pdf"),
        },
    )
    assert refused.status_code == 422
    shown = text(refused)
    assert "Votre message n'est pas envoyé" in shown and "« statuts.pdf » est refusé" in shown
    assert ">Voici nos statuts,\nsignés par les deux gérants.</textarea>" in shown, "text kept"
    assert "choisissez à nouveau les fichiers à joindre" in shown
    assert Message.select().count() == 1
    client.post(
        f"/dossiers/{dossier.id}/messages",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_from(page.text),
            "body": "Voici nos statuts.",
            "files": (io.BytesIO(blank_pdf(3)), "statuts.pdf"),
        },
    )
    reply = Message.get(Message.direction == Message.FROM_COMPANY)
    assert reply.body == "Voici nos statuts." and reply.annexes.count() == 1
    assert reply.annexes[0].frozen
    assert Message.get(Message.is_complement_request == True).answered_at is not None  # noqa: E712
    mail = OutboxMessage.get(OutboxMessage.event == "complement_answered")
    assert mail.to_email == agent.email


def holding(company, person):
    """A registration granted to `company`: a dossier closed (as `make_dossier` walks it) and its
    number given, as the closing service does; returns its definition."""
    from models import ProcedureDefinition

    registration = ProcedureDefinition.create(
        code="enregistrement",
        version=9,
        title="Enr",
        reference_prefix="ENR",
        yaml_text="x",
        published=False,
    )
    closed = make_dossier(
        DossierStatus.CLOSED, company=company, person=person, definition=registration
    )
    with models.db.atomic():
        models.RegistrationNumber.grant(closed)
    return registration


def test_reminders_fire_once_at_30_and_7_days(signer, client, ctx, app):
    company, person = signer
    from models import Decision

    registration = holding(company, person)
    assert Dossier.get(Dossier.definition == registration).decision == Decision.GRANTED.value
    other = make_company()
    make_member(other, Role.SIGN)
    from dossiers import reminders

    app.config["REPORT_DUE_MONTH_DAY"] = (3, 31)
    assert reminders.send_due(date(2027, 2, 28)) == 0
    assert reminders.send_due(date(2027, 3, 1)) == 1
    assert reminders.send_due(date(2027, 3, 1)) == 0, "never twice"
    assert reminders.send_due(date(2027, 3, 2)) == 0, "the 30-day step was sent"
    assert reminders.send_due(date(2027, 3, 24)) == 1
    assert ReminderSent.select().count() == 2
    mails = OutboxMessage.select().where(OutboxMessage.event == "report_reminder")
    assert {m.to_email for m in mails} == {person.login_email}
    days = [m.context["days"] for m in mails.order_by(OutboxMessage.id)]
    assert days == [30, 7]
    assert mails.first().context["year"] == 2026


def test_a_reminder_the_worker_missed_is_sent_on_its_next_run(signer, client, ctx, app):
    """The worker down on 1 March: the 30-day reminder goes on 5 March saying 26 days; down
    again from 23 March, only the 7-day one goes on the 26th; none after the due date."""
    company, person = signer
    from dossiers import reminders

    holding(company, person)
    app.config["REPORT_DUE_MONTH_DAY"] = (3, 31)
    assert reminders.send_due(date(2027, 3, 5)) == 1
    assert reminders.send_due(date(2027, 3, 26)) == 1
    assert reminders.send_due(date(2027, 3, 31)) == 0
    assert reminders.send_due(date(2027, 4, 1)) == 0
    mails = OutboxMessage.select().where(OutboxMessage.event == "report_reminder")
    assert [m.context["days"] for m in mails.order_by(OutboxMessage.id)] == [26, 5]
    ReminderSent.delete().execute()
    assert reminders.send_due(date(2027, 4, 2)) == 0, "after the due date: nothing"
    assert reminders.send_due(date(2027, 3, 28)) == 1, "both missed: the 7-day one alone"
    assert ReminderSent.select().count() == 1


def test_no_reminder_once_the_report_is_submitted(signer, client, ctx, app):
    company, person = signer
    from dossiers import reminders
    from models import ProcedureDefinition

    holding(company, person)
    report = ProcedureDefinition.create(
        code="rapport-activites",
        version=9,
        title="Rapport",
        reference_prefix="RAP",
        yaml_text="x",
        published=False,
    )
    submitted = make_dossier(
        DossierStatus.SUBMITTED, company=company, person=person, definition=report
    )
    Dossier.update(answers={"reference_year": 2026}).where(Dossier.id == submitted.id).execute()
    assert reminders.send_due(date(2027, 3, 1)) == 0
    assert not OutboxMessage.select().where(OutboxMessage.event == "report_reminder").exists()


def test_profile_opt_out_stops_dossier_emails(signer, client):
    company, person = signer
    page = client.get("/profil/")
    client.post(
        "/profil/", data={"csrf_token": csrf_from(page.text), "language": "fr", "opt_out": "y"}
    )
    from models import Person

    assert Person.get_by_id(person.id).notifications_opt_out
    make_dossier(DossierStatus.RECEIVED, company=company, person=make_member(company))
    assert person.login_email not in {m.to_email for m in OutboxMessage.select()}


def test_replies_are_rate_limited_per_person(signer, client, app):
    from auth import limiter

    company, person = signer
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person)
    app.config["REPLY_RATE"] = "1/minute|10/minute"
    limiter.reset()  # counts of earlier tests' persons (ids are reused)
    page = client.get(f"/dossiers/{dossier.id}")

    def reply(body):
        return client.post(
            f"/dossiers/{dossier.id}/messages",
            data={"csrf_token": csrf_from(page.text), "body": body},
        )

    assert reply("Première question").status_code == 302
    refused = reply("Deuxième question")
    assert refused.status_code == 429
    assert "trop de messages en peu de temps" in text(refused)
    assert ">Deuxième question</textarea>" in refused.text, "the typed text is kept"
    assert Message.select().where(Message.dossier == dossier).count() == 1
