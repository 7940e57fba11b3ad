"""Registration numbers: a granted registration or approval gets its number, per procedure,
never reused, kept through a reopening; printed on the letter, shown to the company and staff."""

import io
from datetime import datetime

import pytest
from clock import Clock
from pypdf import PdfReader
from test_concurrency import race

import models
import storage
from dossiers import DossierRefused, processing
from dossiers.documents import produce_letter
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
    Decision,
    Document,
    Dossier,
    DossierStatus,
    RegistrationNumber,
    StaffRole,
    brussels_day,
    utcnow,
)
from procedures.prefill import company_context


def processing_dossier(code="enregistrement", prefix="ENR", company=None):
    return make_dossier(
        DossierStatus.PROCESSING,
        company=company,
        definition=make_definition(code=code, prefix=prefix),
    )


def close(dossier, decision=Decision.GRANTED, staff=None):
    actor = Actor.staff_member(staff or make_staff(StaffRole.SUPERVISOR))
    return processing.close(actor, dossier, decision, "Les conditions sont remplies.")


def test_a_granted_registration_gets_a_readable_number_per_procedure(app):
    year = brussels_day(utcnow()).year
    first, second = processing_dossier(), processing_dossier()
    approval = processing_dossier("agrement-interim", "AGR")
    report = processing_dossier("rapport-activites", "RAP")
    refused = processing_dossier()
    for dossier in (first, second, approval, report):
        close(dossier)
    close(refused, Decision.REFUSED)

    numbers = {r.dossier_id: r.number for r in RegistrationNumber.select()}
    assert numbers == {
        first.id: f"W.RE.{year}.0001",
        second.id: f"W.RE.{year}.0002",
        approval.id: f"W.AI.{year}.0001",
    }
    assert RegistrationNumber.of_dossier(first).company_id == first.company_id
    assert [r.number for r in RegistrationNumber.of_company(first.company)] == [f"W.RE.{year}.0001"]


def test_reopened_then_granted_again_keeps_its_number_and_refused_shows_none(app):
    dossier = processing_dossier()
    supervisor = make_staff(StaffRole.SUPERVISOR)
    close(dossier, staff=supervisor)
    number = RegistrationNumber.of_dossier(dossier).number
    actor = Actor.staff_member(supervisor)
    processing.reopen(actor, dossier, "Erreur matérielle dans le courrier.")
    assert RegistrationNumber.of_dossier(dossier) is None, "not in force while reopened"
    close(dossier, staff=supervisor)
    assert RegistrationNumber.of_dossier(dossier).number == number
    assert RegistrationNumber.select().count() == 1
    processing.reopen(actor, dossier, "Nouvel examen.")
    close(dossier, Decision.REFUSED, staff=supervisor)
    assert RegistrationNumber.of_dossier(dossier) is None
    assert list(RegistrationNumber.of_company(dossier.company)) == []
    other = processing_dossier()
    close(other)
    assert RegistrationNumber.of_dossier(other).number != number, "never given twice"


def test_a_failed_close_gives_no_number(app):
    dossier = processing_dossier()
    with pytest.raises(DossierRefused):
        processing.close(
            Actor.staff_member(make_staff()), dossier, Decision.GRANTED, "   "
        )  # no motivation
    assert RegistrationNumber.select().count() == 0


def test_two_concurrent_closes_of_different_dossiers_get_distinct_numbers(app):
    dossiers = [processing_dossier() for _ in range(4)]
    staff = [make_staff() for _ in dossiers]
    models.db.close()

    def closing(dossier, agent):
        copy = Dossier.get_by_id(dossier.id)
        return lambda: close(copy, staff=agent)

    results = race(app, [closing(d, a) for d, a in zip(dossiers, staff, strict=True)])
    models.db.connect(reuse_if_open=True)
    assert all(isinstance(r, Dossier) for r in results), results
    year = brussels_day(utcnow()).year
    assert sorted(r.number for r in RegistrationNumber.select()) == [
        f"W.RE.{year}.{n:04d}" for n in range(1, 5)
    ]


def test_two_concurrent_closes_of_the_same_dossier_give_one_number(app):
    dossier = processing_dossier()
    staff = [make_staff(), make_staff()]
    models.db.close()

    def closing(agent):
        copy = Dossier.get_by_id(dossier.id)
        return lambda: close(copy, staff=agent)

    results = race(app, [closing(a) for a in staff])
    models.db.connect(reuse_if_open=True)
    assert sum(isinstance(r, Dossier) for r in results) == 1, results
    assert sum(isinstance(r, DossierRefused) for r in results) == 1, results
    assert RegistrationNumber.select().count() == 1
    number = RegistrationNumber.get().number
    assert number.endswith(".0001")
    later = processing_dossier()
    close(later)
    assert RegistrationNumber.of_dossier(later).number.endswith(".0002"), "no gap, no reuse"


def test_the_number_is_on_the_letter_and_shown_to_company_and_staff(app, client):
    company = make_company(name="Agence Alpha")
    person = make_member(company)
    dossier = processing_dossier(company=company)
    close(dossier)
    number = RegistrationNumber.of_dossier(dossier).number
    with app.app_context():
        produce_letter(dossier.id)
        letter = Document.latest(dossier, Document.DECISION_LETTER)
        data = storage.read_verified(letter.storage_key, letter.sha256)
    first_page = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert f"Numéro d'enregistrement : {number}" in first_page
    head = first_page.split(number)[0]
    assert "Namur, le" in head and "Motivation" not in head, "at the head of the letter"

    login_person(client, person, company)
    assert number in text(client.get(f"/dossiers/{dossier.id}"))
    assert number in text(client.get("/entreprises/")), "on the company's card"
    listing = text(client.get("/dossiers/"))
    assert "Vos numéros d'enregistrement et d'agrément" in listing and number in listing

    staff_client = app.test_client()
    login_staff(staff_client, make_staff())
    details = text(staff_client.get(f"/admin/dossiers/details/?id={dossier.id}"))
    assert f"Numéro d'enregistrement : {number}" in details


def test_the_year_of_a_reference_and_a_number_is_the_belgian_one(app, monkeypatch):
    """At 23:30 UTC on 31 December it is already 1 January in Brussels: the dossier submitted
    then and the registration granted then count in the new year."""
    monkeypatch.setattr(models, "utcnow", Clock(datetime(2026, 12, 31, 23, 30)))
    dossier = processing_dossier()
    assert dossier.reference.startswith("ENR-2027-")
    close(dossier)
    assert RegistrationNumber.of_dossier(dossier).number == "W.RE.2027.0001"


def test_the_activity_report_shows_the_numbers_in_force(app):
    """The report's "Enregistrements et agréments" are the numbers granted, not the references
    of the dossiers; a refused or reopened dossier gives none."""
    company = make_company()
    registration = processing_dossier(company=company)
    approval = processing_dossier("agrement-interim", "AGR", company=company)
    close(registration)
    close(approval)
    close(processing_dossier(company=company), Decision.REFUSED)
    year = brussels_day(utcnow()).year
    shown = company_context(company)["company.registrations"]
    assert shown == f"W.RE.{year}.0001, W.AI.{year}.0001"
    assert registration.reference not in shown
