"""French elision before names: "d'Agence Alpha", "de Brico SA", in pages and the letter."""

import pytest
from flask import render_template

from documents.letter import fill
from helpers import login_person, make_company, make_member, text
from languages import de_name
from models import Role


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Agence Alpha", "d'Agence Alpha"),
        ("Brico SA", "de Brico SA"),
        ("Élan Intérim", "d'Élan Intérim"),
        ("Hélène Dubois", "d'Hélène Dubois"),
        ("Hainaut Intérim", "de Hainaut Intérim"),
        ("Yvan Martin", "d'Yvan Martin"),
        ("Ursule", "d'Ursule"),
        ("Zoé", "de Zoé"),
    ],
)
def test_de_name(name, expected):
    assert de_name(name, french=True) == expected


def test_no_elision_outside_french():
    assert de_name("Agence Alpha", french=False) == "Agence Alpha"


def test_pages_elide_before_names(app, client):
    company = make_company(name="Agence Alpha")
    manager = make_member(company, Role.SIGN, manager=True)
    make_member(company, Role.ENCODE, given_name="Isabelle", surname="Martin")
    unverified = make_member(company, Role.ENCODE, verified=False)
    login_person(client, manager, company)
    team = text(client.get("/entreprise/acces/"))
    assert "Retirer l'accès d'Isabelle Martin" in team
    assert "de Isabelle" not in team
    login_person(client, unverified, company)
    gate = text(client.get("/entreprise/email/", follow_redirects=True))
    assert "dans l'espace d'Agence Alpha" in gate and "de Agence" not in gate


def test_the_report_reminder_email_elides(app):
    with app.test_request_context():
        body = render_template(
            "emails/report_reminder.txt",
            company="Agence Alpha",
            year=2026,
            due="31/03/2027",
            days=30,
            reference="RAP-2027-000001",
            procedure="Rapport annuel d'activités",
        )
    assert "2026 d'Agence Alpha est à introduire" in body


def test_the_decision_letter_elides_before_the_company():
    assert fill("introduite au nom de {company}.", {"company": "Agence Alpha"}) == (
        "introduite au nom d'Agence Alpha."
    )
    assert fill("au nom de {company}.", {"company": "Brico SA"}) == "au nom de Brico SA."
