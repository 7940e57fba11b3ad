"""Private notes: written and edited (by their author, with each replaced text kept) on the
back-office dossier page by staff who process dossiers; refused over 5,000 characters with the
text kept; audited without their text; never shown to the helpdesk, nor to the company (its
pages, receipt, letter, emails), nor in the API's answer or the events."""

import io

import pytest
from pypdf import PdfReader

from access import api_tokens
from dossiers import DossierRefused, documents, notes
from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_signed_dossier,
    make_staff,
    text,
)
from models import (
    Actor,
    AuditEvent,
    DossierStatus,
    Event,
    OutboxMessage,
    PrivateNote,
    PrivateNoteVersion,
    StaffRole,
)

SECRET = "Entreprise connue de l'inspection : vérifier le siège"


@pytest.fixture
def agent(app, client):
    staff = make_staff(StaffRole.AGENT)
    login_staff(client, staff)
    return staff


def detail_url(dossier):
    return f"/admin/dossiers/details/?id={dossier.id}"


def add(client, dossier, body, with_token=True):
    data = {"new-note": body}
    if with_token:
        data["csrf_token"] = csrf_from(client.get(detail_url(dossier)).text)
    return client.post(f"/admin/dossiers/note/{dossier.id}", data=data)


def edit(client, dossier, note, body, with_token=True):
    data = {f"note{note.id}-note": body}
    if with_token:
        data["csrf_token"] = csrf_from(client.get(detail_url(dossier)).text)
    return client.post(f"/admin/dossiers/note/{dossier.id}/{note.id}", data=data)


def test_an_agent_writes_a_note_shown_with_its_author_and_audited_without_its_text(agent, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    assert "Aucune note interne." in text(client.get(detail_url(dossier)))
    response = add(client, dossier, SECRET)
    assert response.status_code == 302
    note = PrivateNote.get()
    assert (note.dossier_id, note.author_id, note.body) == (dossier.id, agent.id, SECRET)
    page = text(client.get(detail_url(dossier)))
    assert "Notes internes" in page and SECRET in page and agent.full_name in page
    event = AuditEvent.get(AuditEvent.action == "dossier.note_added")
    assert event.target_id == str(dossier.id)
    assert event.details == {"note": note.id, "length": len(SECRET)}


def test_a_note_over_5000_characters_is_refused_and_the_text_kept(agent, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    long = "Observation détaillée." * 240  # 5,280 characters
    response = add(client, dossier, long)
    assert response.status_code == 200
    page = text(response)
    assert "La note compte 5280 caractères ; elle en accepte au plus 5000." in page
    assert long in page, "what was typed is in the form again"
    assert 'aria-invalid="true"' in response.text
    assert PrivateNote.select().count() == 0
    assert not AuditEvent.select().where(AuditEvent.action == "dossier.note_added").exists()
    assert add(client, dossier, "x" * 5000).status_code == 302, "5,000 is allowed"


def test_an_empty_note_is_refused(agent, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    assert "Écrivez la note." in text(add(client, dossier, "   "))
    assert PrivateNote.select().count() == 0


def test_its_author_edits_a_note_and_each_earlier_text_is_kept_and_shown(agent, client):
    dossier = make_dossier(DossierStatus.PROCESSING)
    add(client, dossier, "Premier texte")
    note = PrivateNote.get()
    assert edit(client, dossier, note, "Deuxième texte").status_code == 302
    assert edit(client, dossier, PrivateNote.get(), "Troisième texte").status_code == 302
    note = PrivateNote.get()
    assert note.body == "Troisième texte" and note.edited_at is not None
    kept = [v.body for v in PrivateNoteVersion.select().order_by(PrivateNoteVersion.id)]
    assert kept == ["Premier texte", "Deuxième texte"]
    page = text(client.get(detail_url(dossier)))
    assert "2 versions précédentes" in page
    assert all(t in page for t in ("Premier texte", "Deuxième texte", "Troisième texte"))
    edits = AuditEvent.select().where(AuditEvent.action == "dossier.note_edited")
    assert [e.details for e in edits] == [
        {"note": note.id, "length": 14},
        {"note": note.id, "length": 15},
    ]
    assert all("texte" not in str(e.details) for e in AuditEvent.select())


def test_an_edit_over_5000_characters_is_refused_with_the_text_kept(agent, client):
    dossier = make_dossier(DossierStatus.PROCESSING)
    add(client, dossier, "Court")
    add(client, dossier, "Une autre")
    note = PrivateNote.get(PrivateNote.body == "Court")
    response = edit(client, dossier, note, "é" * 5001)
    assert response.status_code == 200
    page = text(response)
    assert "La note compte 5001 caractères" in page and "é" * 5001 in page
    assert '<details class="mt-1" open>' in response.text, "the edit form stays open"
    assert page.count("Modifier cette note") == 2, "the other note's form is still there"
    assert PrivateNote.get_by_id(note.id).body == "Court"
    assert PrivateNoteVersion.select().count() == 0


def test_only_its_author_edits_a_note(app, client, ctx):
    dossier = make_dossier(DossierStatus.RECEIVED)
    author, other = make_staff(StaffRole.AGENT), make_staff(StaffRole.SUPERVISOR)
    note = notes.add_note(Actor.staff_member(author), dossier, "Texte de l'auteur")
    with pytest.raises(DossierRefused, match="Seul l'auteur"):
        notes.edit_note(Actor.staff_member(other), note, "Changé")
    login_staff(client, other)
    page = client.get(detail_url(dossier)).text
    assert "Texte de l&#39;auteur" in page and "Modifier cette note" not in page
    data = {f"note{note.id}-note": "Changé", "csrf_token": csrf_from(page)}
    response = client.post(f"/admin/dossiers/note/{dossier.id}/{note.id}", data=data)
    assert "Seul l'auteur d'une note la modifie." in text(response)
    assert PrivateNote.get().body == "Texte de l'auteur"


def test_a_note_of_another_dossier_is_404(agent, client):
    dossier, other = make_dossier(DossierStatus.RECEIVED), make_dossier(DossierStatus.RECEIVED)
    add(client, dossier, "Sur le premier")
    note = PrivateNote.get()
    assert edit(client, other, note, "Ailleurs").status_code == 404


def test_every_note_form_needs_its_csrf_token(agent, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    assert add(client, dossier, "Sans jeton", with_token=False).status_code == 400
    add(client, dossier, "Avec jeton")
    note = PrivateNote.get()
    assert edit(client, dossier, note, "Sans jeton", with_token=False).status_code == 400
    assert PrivateNote.get().body == "Avec jeton"


@pytest.mark.parametrize("role", [StaffRole.HELPDESK, StaffRole.ADMIN])
def test_staff_of_other_roles_see_no_notes_and_write_none(app, client, role):
    dossier = make_dossier(DossierStatus.RECEIVED)
    notes.add_note(Actor.staff_member(make_staff(StaffRole.AGENT)), dossier, SECRET)
    login_staff(client, make_staff(role))
    assert client.get(detail_url(dossier)).status_code == 403
    company_page = client.get(f"/admin/companies/details/?id={dossier.company_id}")
    assert company_page.status_code == 200 and SECRET not in text(company_page)
    with pytest.raises(DossierRefused):
        notes.notes_of(Actor.staff_member(make_staff(role)), dossier)
    with pytest.raises(DossierRefused):
        notes.add_note(Actor.staff_member(make_staff(role)), dossier, "Non")


def test_the_company_never_sees_a_note_nor_gets_it_in_its_documents_emails_or_the_api(
    app, client, ctx
):
    company = make_company()
    person = make_member(company)
    dossier = make_signed_dossier(DossierStatus.PROCESSING, company=company, person=person)
    agent = make_staff(StaffRole.AGENT)
    notes.add_note(Actor.staff_member(agent), dossier, SECRET)
    from dossiers import processing

    processing.close(Actor.staff_member(agent), dossier, "granted", "Conditions remplies.")
    receipt = documents.produce_receipt(dossier.id)
    letter = documents.produce_letter(dossier.id)
    for document in (receipt, letter):
        data = documents.read(document)
        pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert dossier.reference in pdf_text and "inspection" not in pdf_text
    assert "Conditions remplies." in "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(documents.read(letter))).pages
    )
    for email in OutboxMessage.select():
        assert SECRET not in f"{email.context} {email.subject} {email.body_text} {email.body_html}"
    for event in Event.select():
        assert SECRET not in str(event.data) and "note" not in str(event.data)

    login_person(client, person, company)
    page = text(client.get(f"/dossiers/{dossier.id}"))
    assert dossier.reference in page
    assert SECRET not in page and "Notes internes" not in page

    _token, secret = api_tokens.create(Actor.system(), "archives", "read", [])
    headers = {"Authorization": f"Bearer {secret}"}
    answer = client.get(f"/api/v1/dossiers/{dossier.id}", headers=headers)
    assert answer.status_code == 200 and dossier.reference in answer.text
    assert SECRET not in answer.text and "note" not in answer.json


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Internal notes", "Add the note", "No internal notes."]),
        ("de", ["Interne Notizen", "Notiz hinzufügen", "Keine internen Notizen."]),
    ],
)
def test_the_notes_section_is_translated(app, client, language, words):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    login_staff(client, make_staff(StaffRole.AGENT))
    dossier = make_dossier(DossierStatus.RECEIVED)
    page = text(client.get(f"{detail_url(dossier)}&lang={language}"))
    for word in words:
        assert word in page, word


def test_the_notes_go_with_the_personal_data_when_a_dossier_is_anonymised(ctx):
    from dossiers import retention

    dossier = make_dossier(DossierStatus.CLOSED)
    author = Actor.staff_member(make_staff(StaffRole.AGENT))
    note = notes.add_note(author, dossier, "Le gérant, M. Dupont, a appelé.")
    notes.edit_note(author, note, "Le gérant, M. Dupont, a rappelé.")
    assert retention.anonymise(dossier, retention.kept_until(dossier))
    assert PrivateNote.select().count() == 0 and PrivateNoteVersion.select().count() == 0
