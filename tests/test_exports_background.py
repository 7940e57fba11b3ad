"""Background exports of the dossier list (#13 item 6): asked from the list's Export menu with
its filters, made by the worker in keyset batches with its progress written, downloaded by its
requester only, cells neutralised, failures shown, files erased once expired."""

import csv
import io
import math
from datetime import timedelta

import openpyxl
import pytest

import models
import storage
from dossiers import exports
from helpers import (
    csrf_from,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import AuditEvent, Dossier, DossierStatus, Export, StaffRole

HEADER = [
    "Référence",
    "Procédure",
    "Entreprise",
    "Statut",
    "Soumis le",
    "Agent",
    "Décision",
    "Clôturé le",
    "Groupe",
    "Annotations privées",
]
FILTERED, OTHERS, BATCH = 130, 70, 40
COMPANY_FILTER = "flt0_2=alpha"  # the list's "Entreprise contient" filter


@pytest.fixture
def agent(app, client):
    staff = make_staff(StaffRole.AGENT)
    login_staff(client, staff)
    app.config["EXPORT_BATCH_SIZE"] = BATCH
    return staff


def seed(company, count, status=DossierStatus.SUBMITTED):
    person = make_member(company)
    return [make_dossier(status, company=company, person=person) for _ in range(count)]


@pytest.fixture
def dossiers(agent):
    """Dossiers of a company whose name is a formula (the filter keeps them), and others."""
    wanted = seed(make_company(name="=cmd() Alpha"), FILTERED)
    seed(make_company(name="Beta SA"), OTHERS)
    make_dossier(DossierStatus.DRAFT, company=wanted[0].company)  # never shown to staff
    return wanted


def ask(client, fmt, query=COMPANY_FILTER):
    page = client.get(f"/admin/dossiers/?{query}")
    assert f"/admin/dossiers/export-background/{fmt}/?{query}" in text(page)
    return client.post(
        f"/admin/dossiers/export-background/{fmt}/?{query}",
        data={"csrf_token": csrf_from(page.text)},
    )


def latest():
    return Export.select().order_by(Export.id.desc()).first()


def test_a_filtered_csv_export_holds_each_filtered_dossier_once(client, agent, dossiers):
    response = ask(client, "csv")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/exports/")
    export = latest()
    assert export.staff_id == agent.id and export.format == "csv"
    assert export.status == "ready", export.error
    assert export.rows_done == export.rows_total == FILTERED
    page = client.get("/admin/exports/")
    assert "Export demandé" in text(page)
    assert f'<progress id="progress-{export.id}" max="{FILTERED}" value="{FILTERED}"' in page.text
    assert f"{FILTERED} / {FILTERED} lignes" in page.text
    download = client.get(f"/admin/exports/download/{export.id}")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="dossiers-')
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    references = [row[0] for row in rows[1:]]
    assert len(references) == len(set(references)) == FILTERED
    assert set(references) == {d.reference for d in dossiers}
    assert {row[2] for row in rows[1:]} == {"'=cmd() Alpha"}, "a formula is never live"
    assert {row[3] for row in rows[1:]} == {"Soumis"}
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.target_type == "Export")]
    assert actions == ["export.requested", "export.downloaded"]
    requested = AuditEvent.get(AuditEvent.action == "export.requested")
    assert requested.details["args"]["filters"] == [[2, "Entreprise", "alpha"]]


def test_an_xlsx_export_reads_back_with_the_same_rows(client, agent, dossiers):
    ask(client, "xlsx")
    export = latest()
    assert export.status == "ready", export.error
    download = client.get(f"/admin/exports/download/{export.id}")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert sorted(row[0] for row in rows[1:]) == sorted(d.reference for d in dossiers)
    cells = [row[2] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" and cell.value == "'=cmd() Alpha" for cell in cells)


def test_the_job_reads_in_batches_and_writes_its_progress(
    app, client, agent, dossiers, monkeypatch
):
    """Memory stays bounded: the job never asks for more than one batch of rows at once (each
    dossier query has a LIMIT of the batch size), and writes its progress after each batch."""
    queries, seen = [], []
    real_execute = models.db.obj.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        if sql.startswith('SELECT "t1"."id", "t1"."reference"'):
            queries.append((sql, list(params or ())))
        return real_execute(sql, params, *args, **kwargs)

    real_progress = Export.progress

    def progress(self, done, total=None):
        real_progress(self, done, total)
        seen.append(Export.get_by_id(self.id).rows_done)  # as the page reads it

    monkeypatch.setattr(models.db.obj, "execute_sql", execute_sql)
    monkeypatch.setattr(Export, "progress", progress)
    with app.app_context():  # the job is enqueued, and run (HUEY_IMMEDIATE), as it ends
        export = exports.request_export(
            models.Actor.staff_member(agent),
            "dossiers",
            {"filters": [[2, "Entreprise", "alpha"]], "search": None, "sort": None, "desc": False},
            "csv",
        )
    assert len(queries) == math.ceil(FILTERED / BATCH)
    for sql, params in queries:
        assert sql.endswith("LIMIT ?") or sql.endswith("LIMIT %s"), sql
        assert params[-1] == BATCH
    assert seen == [0, 40, 80, 120, 130]
    assert Export.get_by_id(export.id).status == "ready"


def test_another_staff_member_gets_404(app, client, agent, dossiers):
    ask(client, "csv")
    export = latest()
    other = app.test_client()
    login_staff(other, make_staff(StaffRole.SUPERVISOR))
    assert other.get(f"/admin/exports/download/{export.id}").status_code == 404
    assert f"download/{export.id}" not in other.get("/admin/exports/").text
    assert str(export.id) not in other.get("/admin/exports/status").get_json()
    assert client.get(f"/admin/exports/download/{export.id}").status_code == 200
    assert client.get("/admin/exports/download/999999").status_code == 404


def test_helpdesk_cannot_export_dossiers(app, client):
    make_dossier(DossierStatus.SUBMITTED)
    login_staff(client, make_staff(StaffRole.HELPDESK))
    page = client.get("/admin/companies/")
    response = client.post(
        "/admin/dossiers/export-background/csv/", data={"csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 403 and Export.select().count() == 0
    assert client.get("/admin/exports/").status_code == 403


def test_no_export_is_made_in_the_request(client, agent, dossiers):
    """One way to export, audited: Flask-Admin's own in-request export route is not served."""
    for fmt in ("csv", "xlsx"):
        assert client.get(f"/admin/dossiers/export/{fmt}/").status_code == 404
    assert Export.select().count() == 0
    assert not AuditEvent.select().where(AuditEvent.target_type == "Export").exists()


def test_a_post_without_csrf_is_refused(client, agent):
    response = client.post("/admin/dossiers/export-background/csv/")
    assert response.status_code == 400 and Export.select().count() == 0


def test_a_failed_job_shows_its_error(app, client, agent, monkeypatch):
    seed(make_company(name="Alpha SRL"), 3)

    def broken(self, row, name):
        raise RuntimeError("la base a disparu")

    monkeypatch.setattr(type(app.extensions["export_sources"]["dossiers"]), "export_value", broken)
    ask(client, "csv")
    export = latest()
    assert export.status == "failed" and export.storage_key is None
    assert export.error == "RuntimeError: la base a disparu"
    page = text(client.get("/admin/exports/"))
    assert "L'export a échoué : RuntimeError: la base a disparu" in page
    assert client.get(f"/admin/exports/download/{export.id}").status_code == 404


def test_an_expired_export_loses_its_file(app, client, agent):
    seed(make_company(name="Alpha SRL"), 2)
    ask(client, "csv")
    export = latest()
    assert export.status == "ready"
    with app.app_context():
        assert storage.get_storage().exists(export.storage_key)
        Export.update(created_at=export.created_at - timedelta(days=8)).where(
            Export.id == export.id
        ).execute()
        assert exports.expire() == (1, 0)
        assert not storage.get_storage().exists(export.storage_key)
    again = Export.get_by_id(export.id)
    assert again.status == "expired" and again.storage_key is None
    assert client.get(f"/admin/exports/download/{export.id}").status_code == 404
    assert "Fichier effacé après 7 jours." in text(client.get("/admin/exports/"))


def test_an_unfinished_export_is_failed_after_its_worker_died(app, agent):
    export = Export.create(staff=agent, source="dossiers", format="csv", status="running")
    Export.update(created_at=models.utcnow() - timedelta(hours=7)).execute()
    with app.app_context():
        assert exports.expire() == (0, 1)
    assert Export.get_by_id(export.id).status == "failed"


def test_the_orphan_cleanup_keeps_export_files(app, client, agent):
    from dossiers import orphans

    seed(make_company(name="Alpha SRL"), 1)
    ask(client, "csv")
    export = latest()
    with app.app_context():
        orphans.remove_orphans(grace_hours=0)
        assert storage.get_storage().exists(export.storage_key)


def test_the_list_without_filter_exports_every_staff_visible_dossier(client, agent):
    mine = seed(make_company(name="Gamma"), 3) + seed(make_company(name="Delta"), 2)
    make_dossier(DossierStatus.DRAFT)
    ask(client, "csv", query="sort=0&desc=1")
    export = latest()
    assert export.rows_done == 5
    data = client.get(f"/admin/exports/download/{export.id}").data.decode("utf-8-sig")
    assert sorted(row[0] for row in list(csv.reader(io.StringIO(data)))[1:]) == sorted(
        d.reference for d in mine
    )
    assert Dossier.select().count() == 6
