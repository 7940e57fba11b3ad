"""Registrations granted before Guichet, imported from the administration's list: their agencies
hold them from the first day (numbers on their report, reminders, the temporary-work section),
every line is checked before anything is written, and Guichet never gives an imported number
again."""

from datetime import date

import pytest

import sources
from dossiers import processing, reminders
from dossiers.registrations import ImportRefused, import_registrations
from helpers import login_person, make_dossier, make_member, make_staff, text
from models import (
    Actor,
    AuditEvent,
    Company,
    Decision,
    DossierStatus,
    ProcedureDefinition,
    RegistrationNumber,
    Role,
    StaffRole,
)
from procedures import sync_builtin
from procedures.prefill import company_context

AGENCE = "0566988259"  # in the sample register
OTHER = "0314595348"
YEAR = date.today().year
GOOD = f"""enterprise_number;procedure;number;granted_on;services
0566.988.259;enregistrement;W.RE.{YEAR}.0042;14/01/{YEAR};job_search|outplacement
0566.988.259;agrement-interim;W.AI.2019.0007;2019-05-14;
BE0314595348;enregistrement;W.RE.2018.0003;2018-03-01;artists
"""


@pytest.fixture
def register(app, ctx):
    sources.load_sample_if_empty()
    sync_builtin()


def system():
    return Actor.system()


def test_imported_registrations_are_held_from_the_first_day(register, runner, tmp_path):
    path = tmp_path / "registrations.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(args=["registrations", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 registration(s) imported, 0 already there." in result.output

    agence = Company.get(Company.enterprise_number == AGENCE)
    context = company_context(agence)
    assert context["company.registrations"] == f"W.AI.2019.0007, W.RE.{YEAR}.0042"
    assert context["company.has_approval"] is True
    assert context["company.registered_services"] == [
        {"value": "job_search", "label": "Recherche d'emploi"},
        {"value": "outplacement", "label": "Outplacement"},
    ]
    holders = {c.enterprise_number for c in reminders.companies_holding()}
    assert holders == {AGENCE, OTHER}
    event = AuditEvent.get(AuditEvent.action == "registrations.imported")
    assert event.details["imported"] == 3 and event.details["via"] == "cli"

    again = runner.invoke(args=["registrations", "import", str(path)])
    assert "0 registration(s) imported, 3 already there." in again.output
    assert RegistrationNumber.select().count() == 3


def test_a_grant_after_the_import_never_takes_an_imported_number(register):
    import_registrations(system(), GOOD)
    agence = Company.get(Company.enterprise_number == AGENCE)
    definition = ProcedureDefinition.latest_published("enregistrement")
    dossier = make_dossier(DossierStatus.PROCESSING, company=agence, definition=definition)
    actor = Actor.staff_member(make_staff(StaffRole.SUPERVISOR))
    processing.close(actor, dossier, Decision.GRANTED, "Les conditions sont remplies.")
    assert RegistrationNumber.of_dossier(dossier).number == f"W.RE.{YEAR}.0043"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("0566.988.250;enregistrement;W.RE.2019.0001;2019-01-01;", "enterprise number"),
        ("0566.988.259;rapport-activites;W.RE.2019.0001;2019-01-01;", "not one that gives"),
        ("0566.988.259;enregistrement;RE-2019-1;2019-01-01;", "not of the form"),
        ("0566.988.259;enregistrement;W.RE.2019.12345678901;2019-01-01;", "not of the form"),
        ("0566.988.259;enregistrement;W.AI.2019.0001;2019-01-01;", "not a number of"),
        ("0566.988.259;enregistrement;W.RE.2019.0001;31/02/2019;", "is not a date"),
        ("0566.988.259;enregistrement;W.RE.2019.0001;2999-01-01;", "in the future"),
        ("0566.988.259;enregistrement;W.RE.2019.0001;2019-01-01;cooking", "unknown service"),
        ("0566.988.259;agrement-interim;W.AI.2019.0001;2019-01-01;artists", "only a registration"),
        ("0999.999.922;enregistrement;W.RE.2019.0001;2019-01-01;", "register has no"),
    ],
)
def test_a_wrong_line_imports_nothing_and_is_named(register, line, problem):
    text = GOOD + line + "\n"
    with pytest.raises(ImportRefused) as refused:
        import_registrations(system(), text)
    [message] = refused.value.problems
    assert message.startswith("line 5: ") and problem in message
    assert RegistrationNumber.select().count() == 0
    assert not AuditEvent.select().where(AuditEvent.action == "registrations.imported").exists()


def test_a_number_of_another_company_or_twice_in_the_file_is_refused(register, runner, tmp_path):
    import_registrations(system(), GOOD)
    taken = GOOD.splitlines()[0] + f"\n0314.595.348;enregistrement;W.RE.{YEAR}.0042;2020-01-01;\n"
    with pytest.raises(ImportRefused, match="another company's"):
        import_registrations(system(), taken)
    twice = GOOD + "0314.595.348;enregistrement;W.RE.2018.0003;2018-03-01;\n"
    path = tmp_path / "twice.csv"
    path.write_text(twice, encoding="utf-8")
    result = runner.invoke(args=["registrations", "import", str(path)])
    assert result.exit_code == 1
    assert "line 5: number W.RE.2018.0003 already on line 4" in result.output
    assert "Nothing was imported" in result.output
    assert RegistrationNumber.select().count() == 3


def test_a_file_without_its_columns_is_refused(register):
    with pytest.raises(ImportRefused, match="missing column"):
        import_registrations(system(), "numero;date\nW.RE.2019.0001;2019-01-01\n")


def test_upgrade_keeps_the_numbers_already_given(ctx, tmp_path):
    """A database at 032 with a granted registration, upgraded: 034 keeps its number and its
    dossier (SQLite rebuilds the table to let a number go without a dossier)."""
    import database
    import models
    from helpers import make_definition

    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            database.router().run("032_sealed_totp_secrets")
            dossier = make_dossier(DossierStatus.CLOSED, definition=make_definition())
            models.db.execute_sql(
                "INSERT INTO registration_number (company_id, dossier_id, procedure_code, number, "
                "granted_at) VALUES (?, ?, 'enregistrement', 'W.RE.2026.0001', '2026-02-01')",
                (dossier.company_id, dossier.id),
            )
            database.apply_migrations()
            [number] = RegistrationNumber.select()
            assert (number.dossier_id, number.number, number.services) == (
                dossier.id,
                "W.RE.2026.0001",
                None,
            )
    finally:
        models.db.initialize(previous)


def test_the_agency_sees_its_imported_numbers_in_its_space(register, client):
    import_registrations(system(), GOOD)
    agence = Company.get(Company.enterprise_number == AGENCE)
    person = make_member(agence, Role.SIGN)
    login_person(client, person, agence)
    page = client.get("/dossiers/")
    assert page.status_code == 200
    shown = text(page)
    assert f"W.RE.{YEAR}.0042" in shown and "W.AI.2019.0007" in shown
    assert "accordé le 14/05/2019, avant Guichet" in shown
