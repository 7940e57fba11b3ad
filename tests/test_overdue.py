"""The activity report's due date, once past, is said to be overdue in words."""

from datetime import date

import procedures
from dossiers import filling
from helpers import csrf_from, login_person, make_company, make_member, text
from models import Dossier, DossierStatus, Role


def report(app, client, due):
    procedures.sync_builtin()
    app.config["REPORT_DUE_MONTH_DAY"] = (due.month, due.day)
    company = make_company(name="Agence Alpha")
    login_person(client, make_member(company, Role.SIGN), company)
    page = client.get("/dossiers/nouveau")
    client.post("/dossiers/nouveau/rapport-activites", data={"csrf_token": csrf_from(page.text)})
    return Dossier.select().get()


def test_a_past_due_date_is_said_overdue_where_it_appears(app, client):
    today = date.today()
    past = date(today.year, 1, 1)
    if past >= today:
        return  # 1 January: no past due date this year
    dossier = report(app, client, past)
    shown = past.strftime("%d/%m/%Y")
    assert filling.overdue_since(dossier) == past
    for url in (
        f"/dossiers/{dossier.id}",
        f"/dossiers/{dossier.id}/verifier",
        f"/dossiers/{dossier.id}/section/report",
    ):
        page = text(client.get(url))
        assert f"en retard depuis le {shown}" in page, url
        assert "En retard" in page
    listing = text(client.get("/dossiers/"))
    assert f"en retard depuis le {shown}" in listing, "in the list too"


def test_a_future_or_submitted_due_date_is_not_overdue(app, client):
    today = date.today()
    dossier = report(app, client, date(today.year, 12, 31))
    if today < date(today.year, 12, 31):
        assert filling.overdue_since(dossier) is None
        assert "en retard" not in text(client.get(f"/dossiers/{dossier.id}"))
    assert filling.overdue_since(dossier, today=date(today.year + 1, 1, 1)) is not None
    dossier.status = DossierStatus.SUBMITTED.value
    assert filling.overdue_since(dossier, today=date(today.year + 1, 1, 1)) is None
