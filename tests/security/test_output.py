"""What leaves the service (#12 item 8): spreadsheet cells that cannot run, email headers a value
cannot add to, log lines a value cannot forge."""

import csv
import io
import logging

import openpyxl
import pytest

import logs
import notifications
from helpers import (
    exported_file,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    national_number,
)
from models import Actor, DossierStatus, OutboxMessage, Role, StaffRole
from smtp import SMTPServer

FORMULAS = [
    '=HYPERLINK("https://evil.example","Cliquez")',
    "+32 SUM(A1:A9)",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture
def exported(app, client):
    """One submitted dossier per hostile company name, and one harmless, assigned to an agent
    whose name is a formula too; the agent logged in."""
    agent = make_staff(StaffRole.AGENT, full_name="=cmd|' /C calc'!A0")
    login_staff(client, agent)
    for name in [*FORMULAS, "Export SA"]:
        dossier = make_dossier(DossierStatus.SUBMITTED, company=make_company(name=name))
        dossier.assigned_to = agent
        dossier.save()
    return client


def test_csv_export_quotes_every_cell_a_spreadsheet_would_run(exported):
    response = exported_file(exported, "csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    companies = {row["Entreprise"] for row in rows}
    assert companies == {"'" + name for name in FORMULAS} | {"Export SA"}
    assert {row["Agent"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert all(row["Référence"][0].isalpha() for row in rows), "references stay as they are"


def test_xlsx_export_holds_text_never_a_formula(exported):
    response = exported_file(exported, "xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[1]]
    company = header.index("Entreprise")
    cells = [row[company] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells), [c.value for c in cells]
    assert {cell.value for cell in cells} == {"'" + n for n in FORMULAS} | {"Export SA"}


def test_a_line_break_in_a_value_cannot_add_an_email_header(app, ctx):
    from access import members

    server = SMTPServer().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    notifications.mail.init_app(app)
    try:
        company = make_company(name="Agence\r\nBcc: victim@evil.example\r\nX-Injected: yes")
        manager = make_member(company, Role.SIGN, manager=True, email="gestion@example.test")
        new = members.NewPerson(
            national_number=national_number(7),
            surname="Invitée",
            given_name="Anne",
            email="anne@example.test",
        )
        with app.test_request_context():
            actor = Actor.applicant(manager, fresh_login=True)
            members.invite(actor, company.id, new, Role.ENCODE)
        assert notifications.deliver_due() >= 1
    finally:
        server.stop()
    [(recipients, message)] = [
        (rcpt, m) for rcpt, m in server.sink.messages if "anne@example.test" in rcpt
    ]
    assert recipients == ["anne@example.test"]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert "« Agence Bcc:" in message["Subject"] and "X-Injected: yes »" in message["Subject"]
    stored = OutboxMessage.get(OutboxMessage.to_email == "anne@example.test")
    assert "« Agence Bcc: victim@evil.example X-Injected: yes »" in stored.subject


def test_a_line_break_in_a_logged_value_cannot_forge_a_log_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.OneLineFormatter(logs.FORMAT))
    logger = logging.getLogger("guichet.test.forging")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        forged = "anne@example.test\n2026-12-02 08:00:00,000 INFO auth: staff admin logged in"
        logger.warning("Email to %s failed", forged)
        logger.warning("ANSI \x1b[31mred\x1b[0m and \u2028 separator")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(
        "Email to anne@example.test\\n2026-12-02 08:00:00,000 INFO auth: staff admin logged in"
        " failed"
    )
    assert "\x1b" not in lines[1] and "\\x1b[31m" in lines[1] and "\\u2028" in lines[1]


def test_the_service_logs_through_the_one_line_formatter(app):
    assert any(isinstance(h.formatter, logs.OneLineFormatter) for h in logging.getLogger().handlers)
