"""The end of the check-answers page and the way back to signing after the fresh login it
asks for, through the stand-in FAS."""

import pytest
from fas import MARIE, login_eid
from test_submission import complete, sign
from test_wizard import PREFILLED, install

import models
from helpers import csrf_from, login_person, make_company, make_member, text
from models import Dossier, DossierStatus, Role, UserSession


@pytest.fixture
def company(app):
    install(PREFILLED)
    return make_company(name="Agence Alpha")


def test_check_page_ends_with_signing_for_a_signature_holder(company, client):
    person = make_member(company, Role.SIGN)
    login_person(client, person, company)
    dossier = complete(client)
    page = text(client.get(f"/dossiers/{dossier.id}/verifier"))
    end = page.split("Étape suivante")[1]
    assert "Signer et soumettre" in end and f"/dossiers/{dossier.id}/signer" in end


def test_check_page_tells_the_others_who_can_sign_and_how_to_ask(company, client):
    make_member(company, Role.SIGN, surname="Signataire", given_name="Sarah")
    make_member(company, Role.CONSULT, manager=True, surname="Gestion", given_name="Gaston")
    encoder = make_member(company, Role.ENCODE)
    login_person(client, encoder, company)
    dossier = complete(client)
    end = text(client.get(f"/dossiers/{dossier.id}/verifier")).split("Étape suivante")[1]
    assert "/signer" not in end and "Signer et soumettre »" in end
    assert "Sarah Signataire" in end and "votre rôle ne le permet pas" in end
    assert "demandez-le au gestionnaire d'accès de l'entreprise : Gaston Gestion" in end


def test_an_incomplete_dossier_says_to_complete_it_first(company, client):
    person = make_member(company, Role.SIGN)
    login_person(client, person, company)
    page = client.get("/dossiers/nouveau")
    client.post("/dossiers/nouveau/essai", data={"csrf_token": csrf_from(page.text)})
    dossier = Dossier.select().get()
    end = text(client.get(f"/dossiers/{dossier.id}/verifier")).split("Étape suivante")[1]
    assert "Complétez d'abord les points signalés" in end and "/signer" not in end


def test_after_the_fresh_login_signing_asks_for_the_user_is_back_on_the_sign_page(company, client):
    marie = make_member(company, Role.SIGN, national_number=MARIE)
    other = make_company(name="Brico SA")
    make_member(other, Role.SIGN, person=marie)
    response = login_eid(client)
    assert response.status_code == 302
    page = client.get("/entreprises/")
    client.post(
        "/entreprises/choisir", data={"csrf_token": csrf_from(page.text), "company_id": company.id}
    )
    dossier = complete(client)
    UserSession.update(auth_time=models.utcnow().replace(year=2020)).execute()

    asked = client.get(f"/dossiers/{dossier.id}/signer")
    assert asked.status_code == 302 and "/auth/login?next=" in asked.headers["Location"]
    back = login_eid(client, next_path=f"/dossiers/{dossier.id}/signer")
    assert back.status_code == 302
    assert back.headers["Location"].endswith(f"/dossiers/{dossier.id}/signer")
    page = client.get(f"/dossiers/{dossier.id}/signer")
    assert page.status_code == 200, page.headers.get("Location")
    assert "Signer et soumettre" in text(page) and "Agence Alpha" in text(page)
    assert sign(client, dossier).status_code == 302
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.SUBMITTED
