"""Demo data: valid numbers, every status, staff of every role, safe to load twice."""

from stdnum.be import nn, vat

import demo
from dossiers import filling
from helpers import login_person, text
from models import (
    Annex,
    Company,
    Decision,
    Document,
    Dossier,
    DossierStatus,
    Person,
    ProcedureDefinition,
    RegistrationNumber,
    Signature,
    StaffRole,
    StaffUser,
)


def counts():
    return tuple(
        m.select().count() for m in (Company, Person, StaffUser, Dossier, ProcedureDefinition)
    )


def test_seed_demo_is_idempotent_and_complete(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    snapshot = counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert counts() == snapshot

    assert {d.status for d in Dossier.select()} == {s.value for s in DossierStatus}
    assert {s.role for s in StaffUser.select()} == {r.value for r in StaffRole}
    assert {d.code for d in ProcedureDefinition.select()} == {
        "enregistrement",
        "agrement-interim",
        "rapport-activites",
    }
    for company in Company.select():
        assert vat.is_valid(company.enterprise_number), company.enterprise_number
    for person in Person.select():
        assert nn.is_valid(person.national_number), person.national_number
    for email in ("agent@guichet.test", "admin@guichet.test"):
        assert email in second.output


def test_every_demo_dossier_is_what_the_portal_says(runner, client):
    """Reached through the real services: a Complet dossier has every step done and every
    annex, an En cours one has what keeps it from Complet, the submitted ones are signed."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    person = Person.get(Person.national_number == demo.PERSONS[0][0])
    by_status = {}
    for dossier in Dossier.select():
        state, found = dossier.state, filling.issues(dossier)
        by_status[state] = dossier
        missing = [n.key for n in filling.annex_needs(dossier) if n.missing]
        if state == DossierStatus.DRAFT:
            assert found, "an En cours dossier has something left to do"
        else:
            assert found == [] and missing == [], (state, found, missing)
        if state.is_editable:
            assert Signature.get_or_none(Signature.dossier == dossier) is None
        else:
            signature = Signature.get(Signature.dossier == dossier)
            assert signature.person == person and signature.auth_method == "eid"
            assert dossier.reference and dossier.submitted_by == person
            assert Document.latest(dossier, Document.RECEIPT) is not None, "receipt made"
            annexes = list(Annex.select().where(Annex.dossier == dossier))
            assert len(signature.annexes) == len(annexes) and all(a.frozen for a in annexes)
    assert Annex.select().where(Annex.dossier == by_status[DossierStatus.COMPLETE]).count() >= 3
    closed = by_status[DossierStatus.CLOSED]
    assert closed.decision == Decision.GRANTED.value
    assert RegistrationNumber.of_dossier(closed) is not None

    login_person(client, person, by_status[DossierStatus.COMPLETE].company)
    page = text(client.get(f"/dossiers/{by_status[DossierStatus.COMPLETE].id}"))
    assert "Complet" in page and "Signer et soumettre" in page
    assert "Pas commencé" not in page and "manquante" not in page
    assert page.count("Terminé") >= 5
    draft = text(client.get(f"/dossiers/{by_status[DossierStatus.DRAFT].id}"))
    assert "En cours" in draft and "Pas commencé" in draft and "manquante" in draft
