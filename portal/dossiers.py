"""'Mes dossiers' and the dossier page."""

from datetime import datetime

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from dossiers import filling, messages, opinions, retention
from models import (
    Annex,
    Document,
    Dossier,
    DossierStatus,
    Message,
    ProcedureDefinition,
    RegistrationNumber,
    Role,
    ScanStatus,
    Signature,
    StatusChange,
)
from portal.access import company_required, current_membership, load_dossier
from procedures import definition_of, engine

bp = Blueprint("dossiers", __name__, url_prefix="/dossiers")
PAGE_SIZE = 25

# "Mes dossiers" shows, per status, a remark (whether the administration sees the dossier)
# and the action expected of the applicant.
REMARKS = {
    DossierStatus.DRAFT: _l("NON ENVOYÉ"),
    DossierStatus.COMPLETE: _l("NON ENVOYÉ"),
}
VISIBLE_REMARK = _l("Visible par l'administration")
ACTIONS = {
    DossierStatus.DRAFT: _l("Terminer le remplissage"),
    DossierStatus.COMPLETE: _l("Soumettre"),
    DossierStatus.PROCESSING: _l("Archiver si nécessaire"),
}


def remark(status):
    return REMARKS.get(status, VISIBLE_REMARK)


def status_columns():
    """For each status, its label, remark and action in the page's language, translated once
    for the page rather than once a row."""
    return {
        s.value: (str(s.label), str(remark(s)), str(ACTIONS[s]) if s in ACTIONS else "")
        for s in DossierStatus
    }


def parse_cursor(raw):
    """`<iso timestamp>_<id>` of the last row shown, or None when absent or malformed."""
    stamp, _, raw_id = (raw or "").rpartition("_")
    try:
        return datetime.fromisoformat(stamp), int(raw_id)
    except ValueError:
        return None


def page_of(query, cursor):
    """One page in keyset order (updated_at, id) descending: no count, no offset."""
    if cursor:
        stamp, last_id = cursor
        query = query.where(
            (Dossier.updated_at < stamp) | ((Dossier.updated_at == stamp) & (Dossier.id < last_id))
        )
    rows = list(query.limit(PAGE_SIZE + 1))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_cursor = f"{rows[-1].updated_at.isoformat()}_{rows[-1].id}" if more else None
    return rows, next_cursor


@bp.get("/")
@company_required(need=Role.CONSULT)
def index():
    archived = request.args.get("vue") == "archives"
    query = Dossier.for_company(current_membership().company_id, archived=archived)
    procedure = request.args.get("procedure") or ""
    status = request.args.get("statut") or ""
    if procedure:
        query = query.where(ProcedureDefinition.code == procedure)
    if status in {s.value for s in DossierStatus}:
        query = query.where(Dossier.status == status)
    rows, next_cursor = page_of(query, parse_cursor(request.args.get("apres")))
    # The versions of the filter and of the rows, each with its text (titles in the page's
    # language) read once for the page.
    versions = list(
        ProcedureDefinition.select()
        .where(
            (ProcedureDefinition.published == True)  # noqa: E712
            | ProcedureDefinition.id.in_({d.definition_id for d in rows})
        )
        .order_by(ProcedureDefinition.title)
    )
    by_id = {v.id: v for v in versions}
    for d in rows:
        d.definition = by_id[d.definition_id]
    waiting = {
        m.dossier_id
        for m in Message.select(Message.dossier).where(
            Message.dossier.in_([d.id for d in rows]),
            Message.is_complement_request == True,  # noqa: E712
            Message.answered_at.is_null(),
        )
    }
    return render_template(
        "dossiers/list.html",
        dossiers=rows,
        archived=archived,
        next_cursor=next_cursor,
        by_status=status_columns(),
        waiting=waiting,
        overdue={d.id: due for d in rows if (due := filling.overdue_since(d))},
        procedures=[v for v in versions if v.published],
        statuses=list(DossierStatus),
        registrations=list(RegistrationNumber.of_company(current_membership().company_id)),
        chosen={"procedure": procedure, "statut": status},
    )


@bp.get("/<int:dossier_id>")
@company_required(need=Role.CONSULT)
def show(dossier_id):
    return detail_page(load_dossier(dossier_id))


def detail_page(dossier, reply_body="", reply_error=None, files_dropped=False):
    """The dossier's page; after a refused reply, with the typed text kept and the reason."""
    history = (
        StatusChange.select()
        .where(StatusChange.dossier == dossier)
        .order_by(StatusChange.created_at, StatusChange.id)
    )
    tasks, needs = [], []
    if dossier.is_editable:
        tasks, needs = task_list(dossier)
    return render_template(
        "dossiers/detail.html",
        dossier=dossier,
        history=history,
        remark=remark,
        actions=ACTIONS,
        tasks=tasks,
        needs=needs,
        membership=current_membership(),
        signature=Signature.get_or_none(Signature.dossier == dossier),
        receipt=Document.latest(dossier, Document.RECEIPT),
        letter=Document.current_letter(dossier),
        registration=RegistrationNumber.of_dossier(dossier),
        overdue=filling.overdue_since(dossier),
        deletion_date=retention.deletion_date(dossier),
        kept_until=retention.kept_until(dossier),
        thread=Message.select().where(Message.dossier == dossier).order_by(Message.created_at),
        opinions=opinions.shown_to_company(dossier),
        infected=Annex.select().where(
            Annex.dossier == dossier, Annex.scan_status == ScanStatus.INFECTED.value
        ),
        open_request=messages.open_request(dossier),
        can_write=dossier.in_instruction,
        max_text=messages.MAX_TEXT,
        form=FlaskForm(),
        reply_body=reply_body,
        reply_error=reply_error,
        files_dropped=files_dropped,
    )


def task_list(dossier):
    """(section, status) for each visible section, and the annexes the answers call for."""
    definition = definition_of(dossier.definition)
    found = filling.issues(dossier)
    saved = set(dossier.answers.get(filling.SAVED_KEY) or [])
    tasks = [
        (s, engine.section_status(definition, s, dossier.answers, saved, found))
        for s in definition.sections
        if engine.section_visible(s, dossier.answers)
    ]
    return tasks, filling.annex_needs(dossier)
