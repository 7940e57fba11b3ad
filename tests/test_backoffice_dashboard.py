"""The dashboard: counts per procedure and status (drafts never counted, the versions of one
procedure added up), dossiers waiting longer than N days per status, and the agent's own."""

import re
from datetime import timedelta

from helpers import login_staff, make_definition, make_dossier, make_staff, text
from models import Dossier, DossierStatus, ProcedureDefinition, StaffRole, utcnow


def cells(page, title):
    """The counts of the row of `title` in the table, as integers."""
    row = re.search(rf"<tr><th scope=\"row\">{re.escape(title)}</th>(.*?)</tr>", page, re.S)
    return [int(n) for n in re.findall(r"<td>(\d+)</td>", row[1])]


def test_counts_waiting_and_my_dossiers(app, client):
    v1 = make_definition()
    v2 = make_definition(version=2)
    report = make_definition("rapport", "RAP")
    title = ProcedureDefinition.get_by_id(v1.id).title
    agent = make_staff(StaffRole.AGENT, full_name="Agente Dupont")
    make_dossier(DossierStatus.DRAFT, definition=v1)
    make_dossier(DossierStatus.COMPLETE, definition=v1)
    make_dossier(DossierStatus.SUBMITTED, definition=v1)
    make_dossier(DossierStatus.SUBMITTED, definition=v2)
    old = make_dossier(DossierStatus.RECEIVED, definition=v2)
    mine = make_dossier(DossierStatus.PROCESSING, definition=report)
    closed_mine = make_dossier(DossierStatus.CLOSED, definition=report)
    mine.assign(agent)
    closed_mine.assign(agent)
    Dossier.update(updated_at=utcnow() - timedelta(days=30)).where(Dossier.id == old.id).execute()

    login_staff(client, agent)
    page = client.get("/admin/").get_data(as_text=True)
    # columns: Soumis, Réceptionné, En traitement, Clôturé
    assert cells(page, title) == [2, 1, 0, 0]
    assert cells(page, "Procédure rapport") == [0, 0, 1, 1]
    shown = text(client.get("/admin/"))
    assert "En attente depuis plus de 14 jours" in shown
    assert "Réceptionné : 1" in shown and "Soumis : 0" in shown
    assert "Mes dossiers en cours" in shown
    assert mine.reference in shown and closed_mine.reference not in shown
