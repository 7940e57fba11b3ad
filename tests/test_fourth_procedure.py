"""A fourth procedure, written only as YAML (tests/fixtures), runs end to end with no code; and
the field types refuse bad input with a clear message."""

import io
from pathlib import Path

import pytest
from test_pdf_check import blank_pdf

from helpers import csrf_from, login_person, make_company, make_member, text
from models import Dossier, DossierStatus, ProcedureDefinition, Role

FIXTURE = Path(__file__).parent / "fixtures" / "procedures" / "subside-formation.yaml"
TYPES = """\
code: types
version: 1
title: Types de champs
reference_prefix: TYP
sections:
  - key: all
    title: Tous les types
    fields:
      - {key: company_number, type: enterprise_number, label: Numéro d'entreprise}
      - {key: account, type: iban, label: Compte}
      - {key: phone, type: phone, label: Téléphone}
      - {key: email, type: email, label: E-mail}
      - {key: nrn, type: national_number, label: Registre national}
      - {key: count, type: integer, label: Nombre, min: 0}
      - {key: day, type: date, label: Date}
"""


@pytest.fixture
def member(app, client):
    company = make_company(name="Formation SA")
    person = make_member(company, Role.SIGN)
    login_person(client, person, company)
    return company


def start(client, code):
    page = client.get("/dossiers/nouveau")
    client.post(f"/dossiers/nouveau/{code}", data={"csrf_token": csrf_from(page.text)})
    return Dossier.select().order_by(Dossier.id.desc()).get()


def post(client, dossier, key, data):
    page = client.get(f"/dossiers/{dossier.id}/section/{key}")
    return client.post(
        f"/dossiers/{dossier.id}/section/{key}",
        data={"csrf_token": csrf_from(page.text), "action": "save", **data},
    )


def test_fourth_procedure_runs_from_yaml_alone(member, client):
    ProcedureDefinition.create(
        code="subside-formation",
        version=1,
        title="Subside formation",
        reference_prefix="SUB",
        yaml_text=FIXTURE.read_text("utf-8"),
        published=True,
    )
    dossier = start(client, "subside-formation")
    assert dossier.answers["company_name"] == "Formation SA"
    post(
        client,
        dossier,
        "training",
        {
            "training_title": "Excel avancé",
            "topics": ["digital"],
            "provider_kind": "external",
            "provider_name": "Formations & Co",
            "start_date": "2026-03-02",
            "hours": "20",
        },
    )
    response = post(
        client,
        dossier,
        "costs",
        {
            "total_cost": "1000",
            "requested_amount": "800",
            "bank_account": "BE71096123456769",
            "declaration_truth": "y",
        },
    )
    assert response.status_code == 302, "a failing rule does not refuse the save"
    page = text(client.get(f"/dossiers/{dossier.id}/section/costs"))
    assert "Le subside demandé (800 EUR) dépasse la moitié du coût total (1000 EUR)" in page
    post(
        client,
        dossier,
        "costs",
        {
            "total_cost": "1000",
            "requested_amount": "500",
            "bank_account": "BE71096123456769",
            "declaration_truth": "y",
        },
    )
    page = client.get(f"/dossiers/{dossier.id}/annexes")
    for requirement in ("programme", "provider_quote"):
        client.post(
            f"/dossiers/{dossier.id}/annexes",
            content_type="multipart/form-data",
            data={
                "csrf_token": csrf_from(page.text),
                "requirement": requirement,
                "file": (io.BytesIO(blank_pdf(1)), f"{requirement}.pdf"),
            },
        )
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.COMPLETE.value


GOOD = {
    "company_number": "0566.988.259",
    "account": "BE71 0961 2345 6769",
    "phone": "+32 81 33 31 11",
    "email": "ok@formation.test",
    "nrn": "85063024503",
    "count": "2",
    "day": "2026-02-27",
}


@pytest.mark.parametrize(
    "key, bad, message",
    [
        ("company_number", "0566.988.258", "numéro d'entreprise n'est pas valable"),
        ("account", "BE71 0961 2345 6768", "IBAN n'est pas valable"),
        ("phone", "12345", "téléphone n'est pas valable"),
        ("email", "nom@", "adresse e-mail n'est pas valable"),
        ("nrn", "85063024504", "registre national ou BIS n'est pas valable"),
        ("count", "-3", ""),
        ("day", "31/02/2026", ""),
    ],
)
def test_field_types_refuse_bad_input(member, client, key, bad, message):
    ProcedureDefinition.create(
        code="types",
        version=1,
        title="Types",
        reference_prefix="TYP",
        yaml_text=TYPES,
        published=True,
    )
    dossier = start(client, "types")
    assert post(client, dossier, "all", GOOD).status_code == 302
    saved = Dossier.get_by_id(dossier.id).answers
    response = post(client, dossier, "all", {**GOOD, key: bad})
    assert response.status_code == 400
    page = text(response)
    assert "Il y a un problème" in page and message in page
    assert bad in page, "what was typed is shown again, to be corrected"
    assert Dossier.get_by_id(dossier.id).answers == saved, "nothing saved is lost"


@pytest.mark.parametrize(
    "key, typed, stored",
    [
        ("company_number", "BE 0566.988.259", "0566988259"),
        ("account", "be71 0961 2345 6769", "BE71096123456769"),
        ("phone", "081 33 31 11", "+3281333111"),
        ("nrn", "85.06.30-245.03", "85063024503"),
    ],
)
def test_field_types_normalise_good_input(member, client, key, typed, stored):
    ProcedureDefinition.create(
        code="types",
        version=1,
        title="Types",
        reference_prefix="TYP",
        yaml_text=TYPES,
        published=True,
    )
    dossier = start(client, "types")
    assert post(client, dossier, "all", {key: typed}).status_code == 302
    assert Dossier.get_by_id(dossier.id).answers[key] == stored
