"""Extra POST fields never reach a row (#12 item 6): a dossier's status, company, reference and
dates, a membership's person and company, a person's identity are set by the service alone,
whatever a request adds. And a person invited by national number is shown as invited, with
the typed name marked as not confirmed, until their first login's claims replace it."""

import pytest

from access.identity import person_from_claims
from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    national_number,
    text,
)
from models import Dossier, DossierStatus, Membership, Person, Role, StaffRole

FORGED = {
    "status": "closed",
    "company_id": "999",
    "company": "999",
    "reference": "FORGED-0001",
    "submitted_at": "2020-01-01 00:00:00",
    "created_by": "999",
    "definition": "999",
    "decision": "granted",
    "id": "999",
}


@pytest.fixture
def member(app, client):
    company = make_company(name="Agence A")
    person = make_member(company, Role.SIGN, manager=True)
    login_person(client, person, company)
    return company, person


def test_a_saved_section_changes_the_answers_only(client, member):
    company, person = member
    victim = make_company(name="Agence B")
    dossier = make_dossier(DossierStatus.DRAFT, company=company, person=person)
    before = Dossier.get_by_id(dossier.id)
    url = f"/dossiers/{dossier.id}/section/main"
    token = csrf_from(client.get(url).text)
    response = client.post(
        url, data={"csrf_token": token, "action": "save", "note": "Bonjour", **FORGED}
    )
    assert response.status_code == 302
    after = Dossier.get_by_id(dossier.id)
    assert "Bonjour" in repr(after.answers), after.answers
    # Saving the only section completes the dossier: the service's doing, never the form's.
    assert after.status == DossierStatus.COMPLETE.value
    for field in ("company_id", "reference", "submitted_at", "created_by_id"):
        assert getattr(after, field) == getattr(before, field), field
    assert after.definition_id == before.definition_id and after.decision is None
    assert Dossier.select().where(Dossier.company == victim).count() == 0


def test_a_new_dossier_belongs_to_the_chosen_company_whatever_the_form_says(client, member):
    company, _person = member
    make_dossier(DossierStatus.DRAFT, company=company)  # publishes the procedure
    token = csrf_from(client.get("/dossiers/nouveau").text)
    response = client.post("/dossiers/nouveau/enregistrement", data={"csrf_token": token, **FORGED})
    assert response.status_code == 302
    created = Dossier.select().order_by(Dossier.id.desc()).get()
    assert created.company_id == company.id and created.status == DossierStatus.DRAFT.value
    assert created.reference != "FORGED-0001" and created.submitted_at is None


def test_changing_roles_changes_the_roles_only(client, member):
    company, _person = member
    other_company = make_company()
    colleague = make_member(company, Role.CONSULT).membership_in(company.id)
    token = csrf_from(client.get("/entreprise/acces/").text)
    client.post(
        f"/entreprise/acces/{colleague.id}/roles",
        data={
            "csrf_token": token,
            "encode": "y",
            "person": "1",
            "person_id": "1",
            "is_access_manager": "y",
            "is_main_access_manager": "y",
            **FORGED,
            "company_id": str(other_company.id),
        },
    )
    after = Membership.get_by_id(colleague.id)
    assert after.roles == int(Role.ENCODE)
    assert after.person_id == colleague.person_id and after.company_id == company.id
    assert not after.is_access_manager and not after.is_main_access_manager


def test_the_profile_changes_preferences_only(client, member):
    _company, person = member
    token = csrf_from(client.get("/profil/").text)
    client.post(
        "/profil/",
        data={
            "csrf_token": token,
            "language": "de",
            "surname": "Forgé",
            "given_name": "Nom",
            "national_number": national_number(99),
            "login_email": "evil@example.test",
            "name_confirmed": "",
        },
    )
    after = Person.get_by_id(person.id)
    assert after.language == "de"
    assert (after.surname, after.given_name) == (person.surname, person.given_name)
    assert after.national_number == person.national_number
    assert after.login_email == person.login_email and after.name_confirmed


def invite(client, number, surname="Tapé", given_name="Nom"):
    token = csrf_from(client.get("/entreprise/acces/").text)
    return client.post(
        "/entreprise/acces/inviter",
        data={
            "csrf_token": token,
            "national_number": number,
            "surname": surname,
            "given_name": given_name,
            "email": "invite@example.test",
            "encode": "y",
        },
    )


def test_an_invited_person_is_shown_as_invited_until_the_first_login(app, client, member):
    company, _person = member
    number = national_number(42)
    invite(client, number)
    invited = Person.get(Person.national_number == number)
    assert not invited.name_confirmed
    team = text(client.get("/entreprise/acces/"))
    assert "Nom Tapé (invitation en attente, nom non confirmé)" in team

    staff_client = app.test_client()
    login_staff(staff_client, make_staff(StaffRole.HELPDESK))
    for url in (f"/admin/persons/?search={number}", f"/admin/companies/details/?id={company.id}"):
        page = text(staff_client.get(url))
        assert "non confirmé" in page or "invitation en attente" in page, url

    claims = {"egovNRN": number, "surname": "Réel", "givenName": "Prénom", "iss": "i", "sub": "s"}
    with app.test_request_context():
        person_from_claims(claims, ("fr", "de", "en"))
    confirmed = Person.get_by_id(invited.id)
    assert confirmed.name_confirmed and confirmed.full_name == "Prénom Réel"
    team = text(client.get("/entreprise/acces/"))
    assert "Prénom Réel" in team and "invitation en attente" not in team


def test_inviting_someone_who_already_logged_in_keeps_their_confirmed_name(app, client, member):
    number = national_number(43)
    claims = {"egovNRN": number, "surname": "Réel", "givenName": "Ann", "iss": "i", "sub": "t"}
    with app.test_request_context():
        person_from_claims(claims, ("fr", "de", "en"))
    invite(client, number, surname="Autre", given_name="Nom")
    person = Person.get(Person.national_number == number)
    assert person.name_confirmed and person.full_name == "Ann Réel"
    assert "invitation en attente" not in text(client.get("/entreprise/acces/"))
