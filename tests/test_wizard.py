"""Filling a dossier in the portal: creation with prefill, sections, groups without JavaScript,
completeness both ways, hidden and extra answers, and isolation between companies."""

import re

import pytest
from test_definitions import BASE

from helpers import csrf_from, login_person, make_company, make_member, text
from models import Dossier, DossierStatus, ProcedureDefinition, Role, StatusChange

PREFILLED = BASE.replace(
    """  - key: agence
    title: L'agence
    fields:
""",
    """  - key: agence
    title: L'agence
    fields:
      - key: company_name
        type: display
        label: Dénomination
        prefill: company.name
""",
).replace("annexes:\n  - key: proof", "annexes:\n  - key: proof")
NO_ANNEX = PREFILLED.split("annexes:")[0]


def install(text, code="essai"):
    return ProcedureDefinition.create(
        code=code,
        version=1,
        title="Démarche d'essai",
        reference_prefix="ESS",
        yaml_text=text,
        published=True,
    )


@pytest.fixture
def filler(app, client):
    install(NO_ANNEX)
    company = make_company(name="Essai SA")
    person = make_member(company, Role.ENCODE)
    login_person(client, person, company)
    return company, person


def start(client):
    page = client.get("/dossiers/nouveau")
    response = client.post("/dossiers/nouveau/essai", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    return Dossier.select().order_by(Dossier.id.desc()).get()


def post_section(client, dossier, key, data):
    page = client.get(f"/dossiers/{dossier.id}/section/{key}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/dossiers/{dossier.id}/section/{key}",
        data={"csrf_token": csrf_from(page.text), "action": "save", **data},
    )


def test_new_dossier_is_prefilled_and_shows_source(filler, client):
    dossier = start(client)
    assert dossier.answers["company_name"] == "Essai SA"
    page = text(client.get(f"/dossiers/{dossier.id}/section/agence"))
    assert "Essai SA" in page and "Banque-Carrefour des Entreprises" in page
    assert 'name="company_name"' not in page, "prefilled values are read-only"


def test_task_list_statuses(filler, client):
    dossier = start(client)
    page = text(client.get(f"/dossiers/{dossier.id}"))
    assert page.count("Pas commencé") == 2
    post_section(client, dossier, "agence", {"established": "belgium", "fees": "false"})
    page = text(client.get(f"/dossiers/{dossier.id}"))
    assert "Terminé" in page and "Pas commencé" in page


def test_complete_and_back_to_draft(filler, client):
    dossier = start(client)
    post_section(client, dossier, "agence", {"established": "belgium", "fees": "false"})
    response = post_section(
        client,
        dossier,
        "services",
        {"rows-count": "1", "rows-0-received": "5", "rows-0-placed": "3"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/verifier")
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.COMPLETE.value
    post_section(client, dossier, "agence", {"established": "belgium", "fees": "true"})
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.DRAFT.value
    history = [(h.to_status, h.actor_kind) for h in StatusChange.select().order_by(StatusChange.id)]
    assert history == [("complete", "system"), ("draft", "system")]
    check = text(client.get(f"/dossiers/{dossier.id}/verifier"))
    assert "« Montant » est à compléter." in check
    assert "En Belgique" in check and "belgium" not in check, "a choice by its label"
    assert "Service 1 Reçues : 5" in " ".join(re.sub("<[^>]+>", " ", check).split())


def test_invalid_value_is_refused_and_valid_ones_kept(filler, client):
    dossier = start(client)
    response = post_section(
        client, dossier, "agence", {"established": "belgium", "fees": "true", "fee_amount": "douze"}
    )
    assert response.status_code == 400
    page = text(response)
    assert "Il y a un problème" in page
    saved = Dossier.get_by_id(dossier.id).answers
    assert saved["established"] == "belgium" and saved["fees"] is True
    assert "fee_amount" not in saved


def test_hidden_answers_are_dropped_and_extra_fields_ignored(filler, client):
    dossier = start(client)
    post_section(
        client,
        dossier,
        "agence",
        {
            "established": "belgium",
            "country": "France",
            "fees": "false",
            "status": "closed",
            "company_id": "999",
            "reference": "HACK-1",
        },
    )
    fresh = Dossier.get_by_id(dossier.id)
    assert "country" not in fresh.answers
    assert fresh.status == DossierStatus.DRAFT.value and fresh.reference is None
    assert fresh.company_id != 999 and "status" not in fresh.answers


def test_rule_message_names_the_numbers(filler, client):
    dossier = start(client)
    post_section(
        client,
        dossier,
        "services",
        {"rows-count": "1", "rows-0-received": "2", "rows-0-placed": "4"},
    )
    page = text(client.get(f"/dossiers/{dossier.id}/section/services"))
    assert "Service 1 : 4 placées pour 2 reçues." in page


def test_group_rows_added_and_removed_without_javascript(filler, client):
    dossier = start(client)
    page = client.get(f"/dossiers/{dossier.id}/section/services")
    token = csrf_from(page.text)
    url = f"/dossiers/{dossier.id}/section/services"
    client.post(
        url,
        data={
            "csrf_token": token,
            "action": "add:rows",
            "rows-count": "1",
            "rows-0-received": "5",
            "rows-0-placed": "1",
        },
    )
    rows = Dossier.get_by_id(dossier.id).answers["rows"]
    assert rows == [{"received": 5, "placed": 1}, {}]
    client.post(
        url,
        data={
            "csrf_token": token,
            "action": "remove:rows:0",
            "rows-count": "2",
            "rows-0-received": "5",
            "rows-0-placed": "1",
            "rows-1-received": "7",
            "rows-1-placed": "2",
        },
    )
    assert Dossier.get_by_id(dossier.id).answers["rows"] == [{"received": 7, "placed": 2}]


def test_another_company_cannot_open_any_section(filler, client, app):
    dossier = start(client)
    other_company = make_company()
    outsider = make_member(other_company, Role.SIGN)
    other = app.test_client()
    login_person(other, outsider, other_company)
    for url in (
        f"/dossiers/{dossier.id}",
        f"/dossiers/{dossier.id}/section/agence",
        f"/dossiers/{dossier.id}/verifier",
        f"/dossiers/{dossier.id}/annexes",
    ):
        assert other.get(url).status_code == 404, url


def test_consultation_role_cannot_edit(filler, client, app):
    company, _person = filler
    dossier = start(client)
    reader = make_member(company, Role.CONSULT)
    other = app.test_client()
    login_person(other, reader, company)
    assert other.get(f"/dossiers/{dossier.id}").status_code == 200
    assert other.get(f"/dossiers/{dossier.id}/section/agence").status_code == 403
    assert other.get("/dossiers/nouveau").status_code == 403


def test_submitted_dossier_is_frozen(filler, client):
    from models import Actor

    _company, person = filler
    dossier = start(client)
    post_section(client, dossier, "agence", {"established": "belgium", "fees": "false"})
    post_section(
        client,
        dossier,
        "services",
        {"rows-count": "1", "rows-0-received": "5", "rows-0-placed": "3"},
    )
    Dossier.get_by_id(dossier.id).transition(DossierStatus.SUBMITTED, Actor.applicant(person))
    response = client.get(f"/dossiers/{dossier.id}/section/agence")
    assert response.status_code == 302
    assert "ne peuvent plus être modifiées" in text(client.get(f"/dossiers/{dossier.id}"))


PERSON_TYPE = NO_ANNEX.replace(
    "        prefill: company.name\n",
    """        prefill: company.name
      - key: person_type
        type: choice
        label: L'agence est
        prefill: company.person_type
        options:
          - {value: legal, label: une personne morale}
          - {value: natural, label: une personne physique}
""",
)


def test_a_prefilled_choice_is_shown_by_its_label(filler, client):
    ProcedureDefinition.update(yaml_text=PERSON_TYPE).execute()
    dossier = start(client)
    assert dossier.answers["person_type"] == "legal"
    page = text(client.get(f"/dossiers/{dossier.id}/section/agence"))
    assert '<p class="readonly-value">une personne morale</p>' in page
    check = text(client.get(f"/dossiers/{dossier.id}/verifier"))
    assert "une personne morale" in check and ">legal<" not in check
