"""The dossier services called directly, as the API and the worker will: each allowed operation
writes its change with its history, audit row and emails together; each refusal says why and
writes nothing."""

import pytest
from test_pdf_check import blank_pdf
from test_wizard import PREFILLED, install

import notifications
import storage
from documents.pdf_check import PdfInfo
from dossiers import (
    DossierNotFound,
    DossierRefused,
    annexes,
    documents,
    filling,
    lifecycle,
    messages,
    processing,
    submission,
)
from helpers import make_company, make_dossier, make_member, make_staff
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
    ProcedureDefinition,
    Role,
    Signature,
    StaffRole,
    StatusChange,
)

ANSWERS = {
    "agence": {"established": "abroad", "country": "France", "fees": False},
    "services": {"rows": [{"received": 3, "placed": 1}]},
}


def counts():
    return tuple(
        model.select().count()
        for model in (Dossier, Annex, Message, StatusChange, AuditEvent, OutboxMessage, Signature)
    )


def stored_files(app):
    return sorted(p.name for p in (storage.get_storage().root).rglob("*") if p.is_file())


@pytest.fixture
def member(app):
    with app.test_request_context():
        company = make_company(name="Services SA")
        person = make_member(company, Role.SIGN)
        yield Actor.applicant(person, fresh_login=True), person.membership_in(company.id)


def draft(member):
    actor, membership = member
    row = ProcedureDefinition.get_or_none(ProcedureDefinition.code == "essai")
    dossier, created = filling.create(actor, membership, row or install(PREFILLED))
    assert created
    return dossier


def filled(member):
    actor, _membership = member
    dossier = draft(member)
    for key, values in ANSWERS.items():
        filling.save_section(actor, dossier, key, values)
    return dossier


def complete(member):
    actor, _membership = member
    dossier = filled(member)
    annexes.attach(actor, dossier, "proof", "preuve.pdf", blank_pdf(1))
    annexes.attach(actor, dossier, "record", "casier.pdf", blank_pdf(2))
    assert dossier.state == DossierStatus.COMPLETE
    return dossier


def test_create_needs_a_role_that_may_start_the_procedure(member):
    actor, membership = member
    membership.roles = int(Role.CONSULT)
    with pytest.raises(DossierRefused, match="ne permet pas d'introduire"):
        filling.create(actor, membership, install(PREFILLED))
    assert Dossier.select().count() == 0


def test_save_section_refused_to_others_and_once_submitted(member):
    dossier = filled(member)
    outsider = Actor.applicant(make_member(make_company()), fresh_login=True)
    before = counts()
    with pytest.raises(DossierNotFound):
        filling.save_section(outsider, dossier, "agence", {"country": "Pays-Bas"})
    assert counts() == before and Dossier.get_by_id(dossier.id).answers["country"] == "France"
    submitted = make_dossier(DossierStatus.SUBMITTED, company=dossier.company, person=None)
    with pytest.raises(DossierRefused, match="ne peuvent plus être modifiées"):
        filling.save_section(member[0], submitted, "agence", {"country": "Pays-Bas"})


def test_attach_checks_content_and_keeps_nothing_refused(member, app):
    actor, _membership = member
    dossier = filled(member)
    before, files = counts(), stored_files(app)
    with pytest.raises(DossierRefused, match=r"« faux\.pdf » est refusé"):
        annexes.attach(actor, dossier, "proof", "faux.pdf", b"<html>not a pdf</html>")
    with pytest.raises(annexes.UnknownRequirement):
        annexes.attach(actor, dossier, "forged", "x.pdf", blank_pdf(1))
    with pytest.raises(DossierRefused, match="Choisissez un fichier PDF"):
        annexes.attach(actor, dossier, "proof", "", None)
    assert counts() == before and stored_files(app) == files
    annex = annexes.attach(actor, dossier, "proof", "../../etc/preuve.pdf", blank_pdf(1))
    assert annex.original_name == "preuve.pdf" and annex.pages == 1
    replacing = annexes.attach(actor, dossier, "proof", "autre.pdf", blank_pdf(3))
    assert [a.id for a in dossier.annexes] == [replacing.id]
    assert len(stored_files(app)) == len(files) + 1, "the replaced file is deleted"


def test_remove_refreshes_the_status_and_deletes_the_file(member, app):
    actor, _membership = member
    dossier = complete(member)
    record = Annex.get(Annex.requirement == "record")
    annexes.remove(actor, dossier, record.id)
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.DRAFT
    assert record.storage_key not in stored_files(app)


def test_delete_draft_audited_and_refused_once_submitted(member, app):
    actor, _membership = member
    dossier = complete(member)
    lifecycle.delete_draft(actor, dossier)
    assert Dossier.get_or_none(Dossier.id == dossier.id) is None
    assert AuditEvent.get(AuditEvent.action == "dossier.delete").target_id == str(dossier.id)
    assert stored_files(app) == []
    submitted = make_dossier(DossierStatus.SUBMITTED, company=member[1].company)
    before = counts()
    with pytest.raises(DossierRefused, match="ne peut pas être supprimé"):
        lifecycle.delete_draft(actor, submitted)
    with pytest.raises(DossierRefused, match="ne s'archive pas"):
        lifecycle.set_archived(actor, draft(member), True)
    assert counts()[1:] == before[1:]


def test_submit_needs_signature_role_and_a_fresh_login(member):
    actor, membership = member
    dossier = complete(member)
    stale = Actor.applicant(actor.person)
    before = counts()
    with pytest.raises(DossierRefused, match="confirmez votre identité"):
        submission.submit(stale, dossier, None)
    membership.roles = int(Role.ENCODE)
    membership.save()
    with pytest.raises(DossierNotFound):
        submission.submit(actor, dossier, None)
    assert counts() == before


def test_submit_signs_freezes_and_asks_for_the_receipt(member, app):
    actor, _membership = member
    dossier = complete(member)
    signature = submission.submit(actor, dossier, None)
    fresh = Dossier.get_by_id(dossier.id)
    assert fresh.state == DossierStatus.SUBMITTED and fresh.reference.startswith("ESS-")
    assert signature.person_id == actor.person.id
    assert all(a.frozen for a in fresh.annexes)
    assert OutboxMessage.get(OutboxMessage.event == "submitted").dossier_id == dossier.id
    from flask import g

    assert (Document.RECEIPT, dossier.id) in g.documents_wanted


def test_altered_annex_stops_the_signature(member):
    actor, _membership = member
    dossier = complete(member)
    Annex.update(sha256="0" * 64).where(Annex.requirement == "proof").execute()
    with pytest.raises(DossierRefused, match="ne correspond plus au fichier déposé"):
        submission.submit(actor, dossier, None)
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.COMPLETE


@pytest.fixture
def staff(app):
    with app.test_request_context():
        yield {role: Actor.staff_member(make_staff(role=role)) for role in StaffRole}


def test_staff_actions_audited_with_their_email(staff):
    agent = staff[StaffRole.AGENT]
    dossier = make_dossier(DossierStatus.SUBMITTED)
    processing.receive(agent, dossier)
    processing.start_processing(agent, dossier)
    with pytest.raises(DossierRefused, match="motivation"):
        processing.close(agent, dossier, Decision.GRANTED.value, "  ")
    processing.close(agent, dossier, Decision.GRANTED.value, "Conditions remplies.")
    assert Dossier.get_by_id(dossier.id).decision == Decision.GRANTED.value
    actions = [e.details["to"] for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert actions == ["received", "processing", "closed"]
    events = {m.event for m in OutboxMessage.select()}
    assert {"received", "processing", "closed"} <= events
    with pytest.raises(DossierRefused, match="seul un superviseur rouvre"):
        processing.reopen(agent, dossier, "Erreur matérielle")
    processing.reopen(staff[StaffRole.SUPERVISOR], dossier, "Erreur matérielle")
    assert Dossier.get_by_id(dossier.id).decision is None


def test_staff_refusals_write_nothing(staff):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    draft_dossier = make_dossier(DossierStatus.COMPLETE)
    before = counts()
    with pytest.raises(DossierRefused, match="votre rôle"):
        processing.receive(staff[StaffRole.HELPDESK], dossier)
    with pytest.raises(DossierRefused, match="ne peut pas passer"):
        processing.start_processing(staff[StaffRole.AGENT], dossier)
    with pytest.raises(DossierRefused, match="Seul un superviseur assigne"):
        processing.assign(staff[StaffRole.AGENT], dossier, staff[StaffRole.AGENT].staff)
    with pytest.raises(DossierRefused, match="ne traite pas"):
        processing.assign(staff[StaffRole.SUPERVISOR], dossier, staff[StaffRole.ADMIN].staff)
    with pytest.raises(DossierNotFound):
        processing.receive(staff[StaffRole.AGENT], draft_dossier)  # staff never see drafts
    assert counts() == before


def test_complement_request_in_one_transaction(staff, monkeypatch):
    agent = staff[StaffRole.AGENT]
    submitted = make_dossier(DossierStatus.SUBMITTED)
    before = counts()
    with pytest.raises(DossierRefused, match="réceptionné ou en traitement"):
        messages.request_complement(agent, submitted, "Vos statuts ?", ["Statuts"])
    assert counts() == before
    received = make_dossier(DossierStatus.RECEIVED)

    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(notifications, "complement_requested", broken)
    before = counts()
    with pytest.raises(RuntimeError):
        messages.request_complement(agent, received, "Vos statuts ?", ["Statuts"])
    assert counts() == before
    monkeypatch.undo()
    message = messages.request_complement(agent, received, "Vos statuts ?", ["Statuts"])
    assert message.is_complement_request and message.requested_annexes == ["Statuts"]
    assert AuditEvent.get(AuditEvent.action == "dossier.complement_request")
    assert OutboxMessage.select().where(OutboxMessage.event == "complement").count() >= 1


def test_reply_checks_every_file_before_storing(staff, app):
    agent = staff[StaffRole.AGENT]
    company = make_company()
    person = make_member(company, Role.ENCODE)
    applicant = Actor.applicant(person)
    dossier = make_dossier(DossierStatus.RECEIVED, company=company)
    dossier.assign(agent.staff)
    request = messages.request_complement(agent, dossier, "Vos statuts ?", [])
    with pytest.raises(DossierRefused, match="Écrivez votre message"):
        messages.reply(applicant, dossier, "   ", [])
    before, files = counts(), stored_files(app)
    with pytest.raises(DossierRefused, match="n'est pas envoyé"):
        messages.reply(applicant, dossier, "Voici", [("ok.pdf", blank_pdf(1)), ("ko.pdf", b"nope")])
    assert counts() == before and stored_files(app) == files
    reply = messages.reply(applicant, dossier, "Voici", [("statuts.pdf", blank_pdf(1))])
    assert reply.in_reply_to_id == request.id
    assert Message.get_by_id(request.id).answered_at is not None
    assert [a.original_name for a in reply.annexes] == ["statuts.pdf"]
    told = OutboxMessage.get(OutboxMessage.event == "complement_answered")
    assert told.to_email == agent.staff.email


def test_files_read_back_checked_and_staff_readings_audited(member, staff):
    actor, _membership = member
    dossier = complete(member)
    submission.submit(actor, dossier, None)
    documents.produce_receipt(dossier.id)
    annex = Annex.get(Annex.requirement == "proof")
    agent = staff[StaffRole.AGENT]
    _annex, data = documents.annex_file(agent, dossier, annex.id, inline=True)
    assert data.startswith(b"%PDF")
    assert AuditEvent.get(AuditEvent.action == "dossier.annex_view").actor_staff_id
    bundle = documents.bundle(agent, dossier)
    assert bundle.startswith(b"%PDF")
    assert AuditEvent.get(AuditEvent.action == "dossier.bundle")
    Annex.update(sha256="f" * 64).where(Annex.id == annex.id).execute()
    with pytest.raises(DossierRefused, match="ne correspond plus"):
        documents.annex_file(actor, dossier, annex.id)
    with pytest.raises(DossierNotFound):
        documents.bundle(actor, dossier)  # a company user has no bundle


def test_create_needs_a_validated_professional_address(member):
    actor, membership = member
    membership.professional_email_verified_at = None
    with pytest.raises(DossierRefused, match="Validez d'abord"):
        filling.create(actor, membership, install(PREFILLED))
    assert Dossier.select().count() == 0


def test_a_reply_is_bounded_in_length_files_and_checking_time(staff, app, monkeypatch):
    """A company's reply: at most 5,000 characters like a staff message, at most
    MAX_FILES_PER_MESSAGE files (refused before any is checked), all checked within
    PDF_CHECK_TOTAL_SECONDS; nothing is stored when refused."""
    agent = staff[StaffRole.AGENT]
    company = make_company()
    applicant = Actor.applicant(make_member(company, Role.ENCODE))
    dossier = make_dossier(DossierStatus.RECEIVED, company=company)
    messages.request_complement(agent, dossier, "Vos statuts ?", [])
    before, files = counts(), stored_files(app)

    with pytest.raises(DossierRefused, match="5001 caractères ; il en accepte au plus 5000"):
        messages.reply(applicant, dossier, "x" * 5001, [])

    checked = []
    monkeypatch.setattr(
        "dossiers.annexes.check_pdf", lambda *a, **k: checked.append(1) or PdfInfo(pages=1)
    )
    many = [(f"f{n}.pdf", blank_pdf(1)) for n in range(11)]
    with pytest.raises(DossierRefused, match="11 fichiers ; un message en accepte au plus 10"):
        messages.reply(applicant, dossier, "Voici", many)
    assert checked == [], "refused before any file is checked"
    monkeypatch.undo()

    clock = iter(range(0, 1000, 20))  # each file's check seems to take 20 s: 30 s in all
    monkeypatch.setattr("dossiers.annexes.clock", lambda: next(clock))
    with pytest.raises(DossierRefused, match="a pris trop de temps"):
        messages.reply(
            applicant, dossier, "Voici", [("a.pdf", blank_pdf(1)), ("b.pdf", blank_pdf(1))]
        )
    assert counts() == before and stored_files(app) == files
