"""Demo data: valid numbers, every status, staff of every role, safe to load twice."""

from stdnum.be import nn, vat

from models import (
    Company,
    Dossier,
    DossierStatus,
    Person,
    ProcedureDefinition,
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
