"""Emails in the recipient's language, the receipt and the letter in the submitter's: each says
so, and its dates, roles and procedure title are written in that language."""

import io

import pytest
from pypdf import PdfReader

import notifications
from dossiers import documents
from helpers import (
    make_company,
    make_member,
    make_signed_dossier,
    make_staff,
)
from models import Decision, DossierStatus, OutboxMessage, Role, StatusChange, utcnow


@pytest.fixture
def multilingual(app):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    return app


def text_of(document):
    data = documents.read(document)
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages
    )


ANSWERS = {"person_type": "legal", "established": "belgium"}


def submitted_by(language, status=DossierStatus.SUBMITTED):
    company = make_company(name="Agence Alpha")
    person = make_member(company, given_name="Jonas", surname="Schmitz")
    person.language = language
    person.save()
    return make_signed_dossier(status, company, person, ANSWERS)


@pytest.mark.parametrize(
    "language, words",
    [
        ("de", ["Empfangsbestätigung", "Deutsch", "der Person, die den Antrag eingereicht hat"]),
        ("en", ["Acknowledgement of receipt", "English", "the person who submitted"]),
        ("fr", ["Accusé de réception", "français", "la personne qui a soumis le dossier"]),
    ],
)
def test_the_receipt_is_in_the_submitters_language_and_says_so(multilingual, ctx, language, words):
    dossier = submitted_by(language)
    receipt = text_of(documents.produce_receipt(dossier.id))
    for word in words:
        assert word in receipt
    if language != "fr":
        assert "Accusé de réception" not in receipt and "Réponses" not in receipt


def test_a_language_not_offered_gives_french_documents(app, ctx):
    app.config["LANGUAGES_READY"] = ("fr", "de")
    dossier = submitted_by("en")
    receipt = text_of(documents.produce_receipt(dossier.id))
    assert "Accusé de réception" in receipt and "français" in receipt


def test_the_decision_letter_is_in_the_submitters_language(multilingual, ctx):
    dossier = submitted_by("de", DossierStatus.CLOSED)
    dossier.decision = Decision.GRANTED.value
    dossier.closed_at = utcnow()
    dossier.save()
    StatusChange.create(
        dossier=dossier,
        from_status="processing",
        to_status="closed",
        actor_kind="staff",
        actor_staff=make_staff(full_name="Anne Agent"),
        comment="Alles in Ordnung.",
    )
    letter = text_of(documents.produce_letter(dossier.id))
    assert "Namur, den" in letter and "Dokument ausgestellt auf Deutsch" in letter
    assert "Alles in Ordnung." in letter and "Anne Agent" in letter and "Namur, le" not in letter


def test_an_access_change_is_written_in_the_recipients_language(multilingual, ctx):
    company = make_company(name="Agence Alpha")
    member = make_member(company, roles=Role.CONSULT)
    member.language = "de"
    member.save()
    membership = member.membership_in(company.id)
    notifications.access_changed(membership, "Anne Dupont", "roles", roles=Role.CONSULT | Role.SIGN)
    notifications.access_changed(membership, notifications.HELPDESK, "email_reset")
    changed, reset = OutboxMessage.select().order_by(OutboxMessage.id)
    body = notifications.render(changed)[1]
    assert "Anne Dupont" in body and "Einsicht" in body and "Unterschrift" in body
    assert "Vos rôles" not in body and "Consultation" not in body
    assert "Helpdesk" in notifications.render(reset)[1]
    assert "réinitialisée" not in notifications.render(reset)[1]


def test_a_reminders_due_date_is_written_as_the_recipients_language_writes_dates(multilingual, ctx):
    from datetime import date

    company = make_company(name="Agence Alpha")
    person = make_member(company)
    for language, written in (("de", "31.03.2027"), ("en", "31 Mar 2027"), ("fr", "31/03/2027")):
        person.language = language
        notifications.report_reminder(company, [(person, "a@b.test")], 2026, date(2027, 3, 31), 30)
        message = OutboxMessage.select().order_by(OutboxMessage.id.desc()).get()
        subject, body, _html = notifications.render(message)
        assert written in subject and written in body
