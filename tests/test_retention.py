"""Retention per procedure: a stale draft warned once, 7 days before, and deleted only after;
a change starts again; a closed dossier anonymised after its years, its files gone and its
reference, dates and decision kept; audit rows; the dates shown to the applicant."""

from datetime import datetime, timedelta

import pytest
from test_pdf_check import blank_pdf
from test_wizard import install, post_section

import demo
import notifications
import storage
from backoffice.dashboard import counts_by_status_and_procedure
from dossiers import annexes, retention
from helpers import (
    login_person,
    login_staff,
    make_company,
    make_definition,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import (
    Actor,
    Annex,
    AuditEvent,
    Decision,
    Document,
    Dossier,
    DossierStatus,
    Message,
    OutboxMessage,
    Person,
    ProcedureDefinition,
    RegistrationNumber,
    Role,
    Signature,
    StaffRole,
    StatusChange,
    utcnow,
)
from procedures import definition_of
from procedures.definition import DefinitionError, parse_definition

ESSAI = """\
code: essai
version: 1
title: Démarche d'essai
reference_prefix: ESS
retention: {drafts_days: 30, closed_years: 2}
sections:
  - key: main
    title: Demande
    fields:
      - {key: note, type: text, label: Remarque}
annexes:
  - key: proof
    label: Preuve
    required: true
"""
DAY = timedelta(days=1)


def warnings():
    return list(OutboxMessage.select().where(OutboxMessage.event == "draft_expiring"))


def audit(action):
    return list(AuditEvent.select().where(AuditEvent.action == action))


def backdate(dossier, **fields):
    Dossier.update(**fields).where(Dossier.id == dossier.id).execute()
    return Dossier.get_by_id(dossier.id)


@pytest.fixture
def draft(app, ctx):
    """A draft of `essai` (30 days for drafts) with a real PDF attached, by its author."""
    install(ESSAI)
    company = make_company(name="Rétention SA")
    author = make_member(company, Role.ENCODE, email="auteur@example.test")
    make_member(company, Role.SIGN, email="collegue@example.test")
    dossier = make_dossier(company=company, person=author, definition=install_row())
    annex = annexes.attach(Actor.applicant(author), dossier, "proof", "preuve.pdf", blank_pdf(2))
    return Dossier.get_by_id(dossier.id), annex, author, company


def install_row():
    return ProcedureDefinition.get(ProcedureDefinition.code == "essai")


def test_the_definition_says_how_long_and_defaults_otherwise():
    minimal = "code: xx\nversion: 1\ntitle: Essai\nreference_prefix: XX\nsections:\n"
    minimal += "  - key: s\n    title: S\n    fields:\n      - {key: a, type: text, label: A}\n"
    default = parse_definition(minimal).retention
    assert (default.drafts_days, default.closed_years) == (90, 10)
    custom = parse_definition(ESSAI).retention
    assert (custom.drafts_days, custom.closed_years) == (30, 2)
    for wrong in ("{drafts_days: 3}", "{closed_years: 0}", "{keep: 1}"):
        with pytest.raises(DefinitionError):
            parse_definition(minimal + f"retention: {wrong}\n")


def test_a_stale_draft_is_warned_once_then_deleted_seven_days_later(draft):
    dossier, annex, _author, _company = draft
    touched = dossier.updated_at
    assert storage.get_storage().exists(annex.storage_key)

    assert retention.run(touched + 23 * DAY - timedelta(minutes=1))["warned"] == []
    warned_at = touched + 23 * DAY
    assert [d.id for d in retention.run(warned_at)["warned"]] == [dossier.id]
    [email] = warnings()
    assert email.to_email == "auteur@example.test", "the author, not every member"
    assert email.context["due"] == (touched + 30 * DAY).date().isoformat()
    assert email.dossier_id == dossier.id
    [event] = audit("dossier.draft_warned")
    assert event.target_id == str(dossier.id) and event.actor_kind == "system"

    for later in (warned_at + DAY, warned_at + 6 * DAY):
        done = retention.run(later)
        assert done["warned"] == [] and done["deleted"] == []
    assert len(warnings()) == 1, "warned exactly once"
    assert Dossier.get_or_none(Dossier.id == dossier.id) is not None

    deleted = retention.run(touched + 30 * DAY)["deleted"]
    assert [d.id for d in deleted] == [dossier.id]
    assert Dossier.get_or_none(Dossier.id == dossier.id) is None
    assert Annex.get_or_none(Annex.id == annex.id) is None
    assert not storage.get_storage().exists(annex.storage_key)
    [event] = audit("dossier.draft_deleted")
    assert event.details["reference"] == f"#{dossier.id}" and event.details["annexes"] == 1
    assert event.details["procedure"] == "essai"
    assert retention.run(touched + 31 * DAY) == {"warned": [], "deleted": [], "anonymised": []}


def test_a_draft_never_warned_is_never_deleted_and_a_late_warning_still_gives_seven_days(draft):
    dossier, _annex, _author, _company = draft
    long_ago = utcnow() - 200 * DAY
    dossier = backdate(dossier, updated_at=long_ago)
    assert retention.delete_stale_drafts(utcnow()) == [], "not without a warning"
    now = utcnow()
    retention.warn_stale_drafts(now)
    [email] = warnings()
    assert email.context["due"] == (now + 7 * DAY).date().isoformat()
    assert retention.delete_stale_drafts(now + 7 * DAY - timedelta(minutes=1)) == []
    assert [d.id for d in retention.delete_stale_drafts(now + 7 * DAY)] == [dossier.id]


def test_changing_the_draft_starts_again(draft, client):
    dossier, _annex, author, company = draft
    dossier = backdate(dossier, updated_at=utcnow() - 25 * DAY)
    now = utcnow()
    assert retention.warn_stale_drafts(now)
    login_person(client, author, company)
    response = post_section(client, dossier, "main", {"note": "toujours utile"})
    assert response.status_code == 302
    touched = Dossier.get_by_id(dossier.id).updated_at
    assert touched > now

    for later in (now + 8 * DAY, touched + 23 * DAY - timedelta(minutes=1)):
        done = retention.run(later)
        assert done["deleted"] == [] and done["warned"] == []
    assert Dossier.get_or_none(Dossier.id == dossier.id) is not None
    assert len(warnings()) == 1
    retention.run(touched + 23 * DAY)
    assert len(warnings()) == 2, "warned again, before the new date"
    assert retention.run(touched + 30 * DAY - timedelta(minutes=1))["deleted"] == []
    assert retention.run(touched + 30 * DAY)["deleted"]


def test_attaching_an_annex_counts_as_a_change(draft):
    dossier, _annex, author, _company = draft
    dossier = backdate(dossier, updated_at=utcnow() - 40 * DAY)
    annexes.attach(Actor.applicant(author), dossier, "proof", "autre.pdf", blank_pdf(1))
    assert utcnow() - Dossier.get_by_id(dossier.id).updated_at < DAY
    assert retention.warn_stale_drafts(utcnow()) == []


def test_the_warning_is_written_in_each_language(app, ctx, draft):
    dossier, _annex, author, _company = draft
    Person.update(language="de").where(Person.id == author.id).execute()
    retention.warn_stale_drafts(dossier.updated_at + 23 * DAY)
    [email] = warnings()
    subject, body, html = notifications.render(email)
    assert subject.startswith("Ihr Entwurf „Démarche d'essai“ wird am")
    assert "mit seinen Anlagen gelöscht" in body and "Entwurf" in html
    email.language = "en"
    subject, body, _html = notifications.render(email)
    assert "will be deleted on" in subject and "unless it is changed" in body
    email.language = "fr"
    assert "sera supprimé le" in notifications.render(email)[0]


@pytest.fixture
def closed(app):
    """The demo's closed dossier (signed, PDF annexes, receipt, decision letter, emails,
    registration number), with a message and a reopening reason of its own."""
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0  # documents made
    with app.app_context():
        yield closed_dossier()


def closed_dossier():
    dossier = Dossier.get(Dossier.status == DossierStatus.CLOSED.value)
    Message.create(
        dossier=dossier,
        direction=Message.FROM_COMPANY,
        author_person=dossier.created_by,
        body="Marie Dubois, née le 18/05/1993, joignable au 0470 00 00 01.",
    )
    StatusChange.update(comment="Motif : données de Marie Dubois").where(
        StatusChange.dossier == dossier
    ).execute()
    assert Annex.select().where(Annex.dossier == dossier).count() >= 1
    assert Document.select().where(Document.dossier == dossier).count() == 2
    return dossier


def test_a_closed_dossier_is_anonymised_after_its_years_and_stays_countable(closed):
    dossier = closed
    keys = [a.storage_key for a in Annex.select().where(Annex.dossier == dossier)]
    keys += [d.storage_key for d in Document.select().where(Document.dossier == dossier)]
    history = [(h.to_status, h.created_at) for h in dossier.history.order_by(StatusChange.id)]
    counts = counts_by_status_and_procedure()
    ten_years = datetime(dossier.closed_at.year + 10, dossier.closed_at.month, 1) - DAY
    assert retention.kept_until(dossier).year == dossier.closed_at.year + 10

    assert retention.run(ten_years)["anonymised"] == [], "not before its time"
    assert all(storage.get_storage().exists(k) for k in keys)
    done = retention.run(retention.kept_until(dossier))["anonymised"]
    assert [d.id for d in done] == [dossier.id]

    after = Dossier.get_by_id(dossier.id)
    assert after.answers == {} and after.submitted_by_id is None and after.anonymised_at
    assert not any(storage.get_storage().exists(k) for k in keys), "files erased"
    assert Annex.select().where(Annex.dossier == dossier).count() == 0
    assert Document.select().where(Document.dossier == dossier).count() == 0
    assert Signature.get_or_none(Signature.dossier == dossier) is None
    assert {m.body for m in Message.select().where(Message.dossier == dossier)} == {""}
    rows = list(after.history.order_by(StatusChange.id))
    assert [(h.to_status, h.created_at) for h in rows] == history, "history kept"
    assert all(h.comment is None and h.actor_person_id is None for h in rows)
    emails = list(OutboxMessage.select().where(OutboxMessage.dossier == dossier))
    assert emails and all(e.to_email == "" and e.context == {} for e in emails)
    assert "Dubois" not in repr([(e.body_text, e.body_html) for e in emails])

    kept = (after.reference, after.definition_id, after.company_id, after.decision, after.status)
    assert kept == (
        dossier.reference,
        dossier.definition_id,
        dossier.company_id,
        Decision.GRANTED.value,
        DossierStatus.CLOSED.value,
    )
    assert (after.created_at, after.submitted_at, after.closed_at) == (
        dossier.created_at,
        dossier.submitted_at,
        dossier.closed_at,
    )
    assert RegistrationNumber.of_dossier(after) is not None
    assert counts_by_status_and_procedure() == counts, "statistics still count it"
    [event] = audit("dossier.anonymised")
    assert event.details["reference"] == dossier.reference and event.details["files"] == len(keys)

    assert retention.run(retention.kept_until(after) + 400 * DAY)["anonymised"] == []
    assert len(audit("dossier.anonymised")) == 1, "idempotent"


def test_a_reopened_dossier_is_not_anonymised(closed):
    dossier = closed
    later = retention.kept_until(dossier) + DAY
    backdate(dossier, status=DossierStatus.PROCESSING.value, closed_at=None)
    assert retention.run(later)["anonymised"] == []


def test_the_applicant_sees_until_when_each_dossier_is_kept(app, client, closed):
    person = Person.get(Person.national_number == demo.PERSONS[0][0])
    login_person(client, person, closed.company)
    draft = Dossier.get(Dossier.status == DossierStatus.DRAFT.value)
    deletion = retention.deletion_date(draft)
    page = text(client.get(f"/dossiers/{draft.id}"))
    assert f"Ce brouillon sera supprimé le {deletion:%d/%m/%Y} s'il n'est pas modifié." in page
    section = definition_first_section(draft)
    page = text(client.get(f"/dossiers/{draft.id}/section/{section}?lang=de"))
    assert f"Dieser Entwurf wird am {deletion:%d.%m.%Y} gelöscht" in page

    until = retention.kept_until(closed)
    page = text(client.get(f"/dossiers/{closed.id}?lang=en"))
    assert "Kept until" in page and "personal data will then be erased" in page
    page = text(client.get(f"/dossiers/{closed.id}?lang=fr"))
    assert f"Conservé jusqu'au {until:%d/%m/%Y}" in page
    submitted = Dossier.get(Dossier.status == DossierStatus.SUBMITTED.value)
    page = text(client.get(f"/dossiers/{submitted.id}"))
    assert "sera supprimé" not in page and "Conservé jusqu'au" not in page

    retention.anonymise_closed(until)
    page = text(client.get(f"/dossiers/{closed.id}"))
    assert "Anonymisé le" in page and closed.reference in page
    assert client.get(f"/dossiers/{closed.id}/verifier").status_code == 200


def definition_first_section(dossier):
    return definition_of(dossier.definition).sections[0].key


def test_default_retention_applies_without_a_retention_key(app, ctx):
    dossier = make_dossier(definition=make_definition())
    assert retention.deletion_date(dossier) == dossier.updated_at + 90 * DAY
    closed = make_dossier(DossierStatus.CLOSED)
    assert retention.kept_until(closed).year == closed.closed_at.year + 10


def test_cli_dry_run_changes_nothing_then_the_command_applies(app, runner, draft):
    dossier, _annex, _author, _company = draft
    backdate(dossier, updated_at=utcnow() - 25 * DAY)
    result = runner.invoke(args=["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would warn of deletion: 1" in result.output and f"#{dossier.id}" in result.output
    assert warnings() == [] and Dossier.get_by_id(dossier.id).draft_warned_at is None
    result = runner.invoke(args=["retention"])
    assert result.exit_code == 0 and "warned: 1" in result.output
    assert len(warnings()) == 1


def test_the_worker_runs_retention_every_night(app):
    huey = app.extensions["jobs"].huey
    names = {task.name for task in huey.read_periodic(datetime(2026, 6, 1, 2, 0))}
    assert "retention" in names
    assert "retention" not in {t.name for t in huey.read_periodic(datetime(2026, 6, 1, 14, 0))}


def test_staff_still_open_an_anonymised_dossier(app, client, closed):
    retention.anonymise_closed(retention.kept_until(closed))
    staff = make_staff(StaffRole.SUPERVISOR)
    login_staff(client, staff)
    page = client.get(f"/admin/dossiers/details/?id={closed.id}")
    assert page.status_code == 200 and closed.reference in text(page)
