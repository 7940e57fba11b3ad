"""Values in the fields: a refused value stays where it was typed, with its message beside it
(also after adding or removing a row); numbers are shown formatted as on the check page."""

import re

import pytest
from stdnum import iban
from test_wizard import install

from helpers import (
    csrf_from,
    enterprise_number,
    login_person,
    make_company,
    make_member,
    national_number,
    text,
)
from models import Dossier, Role

NUMBERS = """\
code: essai
version: 1
title: Démarche d'essai
reference_prefix: ESS
sections:
  - key: numbers
    title: Numéros
    fields:
      - {key: company_number, type: enterprise_number, label: Numéro d'entreprise}
      - {key: manager_number, type: national_number, label: Numéro de registre national}
      - {key: account, type: iban, label: Compte bancaire}
      - key: people
        type: group
        label: Personnes
        item_label: Personne
        min_items: 1
        fields:
          - {key: name, type: text, label: Nom}
          - {key: number, type: national_number, label: Numéro de registre national}
"""
BAD_NN = "85.07.30-033.99"  # fails its checksum
BAD_KBO = "0123.456.788"


@pytest.fixture
def dossier(app, client):
    install(NUMBERS)
    company = make_company()
    login_person(client, make_member(company, Role.ENCODE), company)
    page = client.get("/dossiers/nouveau")
    client.post("/dossiers/nouveau/essai", data={"csrf_token": csrf_from(page.text)})
    return Dossier.select().get()


def post(client, dossier, data, action="save"):
    url = f"/dossiers/{dossier.id}/section/numbers"
    token = csrf_from(client.get(url).text)
    return client.post(url, data={"csrf_token": token, "action": action, **data})


def value_of(page, name):
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert match, f"no field {name}"
    found = re.search(r'value="([^"]*)"', match.group(0))
    return found.group(1) if found else ""


def test_refused_values_stay_in_their_fields_with_their_messages(dossier, client):
    response = post(
        client,
        dossier,
        {
            "company_number": BAD_KBO,
            "manager_number": BAD_NN,
            "people-count": "1",
            "people-0-name": "Alpha",
            "people-0-number": BAD_NN,
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert value_of(page, "company_number") == BAD_KBO
    assert value_of(page, "manager_number") == BAD_NN
    assert value_of(page, "people-0-number") == BAD_NN
    for field_id in ("company_number", "manager_number", "people-0-number"):
        assert f'id="{field_id}-error"' in page
    assert "Ce numéro de registre national ou BIS n'est pas valable" in page


@pytest.mark.parametrize("action", ["add:people", "remove:people:0"])
def test_a_refused_value_survives_adding_or_removing_a_row(dossier, client, action):
    data = {
        "manager_number": BAD_NN,
        "people-count": "2",
        "people-0-name": "Alpha",
        "people-1-name": "Bravo",
        "people-1-number": BAD_NN,
    }
    page = text(post(client, dossier, data, action))
    assert value_of(page, "manager_number") == BAD_NN
    if action.startswith("add"):
        assert value_of(page, "people-1-number") == BAD_NN
        assert value_of(page, "people-2-name") == ""
    else:
        assert value_of(page, "people-0-name") == "Bravo"
        assert value_of(page, "people-0-number") == BAD_NN
        assert 'id="people-0-number-error"' in page, "the message moved up with its row"
        assert 'name="people-1-name"' not in page


def test_numbers_are_shown_formatted_in_the_fields(dossier, client):
    nn, kbo = national_number(61, birth="850730"), enterprise_number(1234567)
    account = "BE71096123456769"
    assert iban.is_valid(account)
    response = post(
        client,
        dossier,
        {
            "company_number": kbo,
            "manager_number": nn,
            "account": account,
            "people-count": "1",
            "people-0-name": "Alpha",
            "people-0-number": nn,
        },
    )
    assert response.status_code == 302, text(response)
    answers = Dossier.get_by_id(dossier.id).answers
    assert answers["manager_number"] == nn and answers["company_number"] == kbo
    page = text(client.get(f"/dossiers/{dossier.id}/section/numbers"))
    shown_nn = f"{nn[:2]}.{nn[2:4]}.{nn[4:6]}-{nn[6:9]}.{nn[9:]}"
    assert value_of(page, "manager_number") == shown_nn
    assert value_of(page, "people-0-number") == shown_nn
    assert value_of(page, "company_number") == f"{kbo[:4]}.{kbo[4:7]}.{kbo[7:]}"
    assert value_of(page, "account") == "BE71 0961 2345 6769"
    check = text(client.get(f"/dossiers/{dossier.id}/verifier"))
    assert shown_nn in check and "BE71 0961 2345 6769" in check
    again = post(
        client,
        dossier,
        {
            "manager_number": shown_nn,
            "people-count": "1",
            "people-0-name": "Alpha",
            "people-0-number": shown_nn,
        },
    )
    assert again.status_code == 302, "a formatted value is taken back as it is shown"
    assert Dossier.get_by_id(dossier.id).answers["manager_number"] == nn
