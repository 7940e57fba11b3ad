"""Annexes of a dossier: which are mandatory for the current answers and why, upload (PDF decided
by content), download (checked against its hash), removal while the dossier is a draft."""

import io
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm

import storage
from auth import current_person
from documents.pdf_check import PdfRejected, check_pdf
from models import Annex, DossierStatus, Role, write_transaction
from portal.access import company_required, load_dossier
from procedures import definition_of, engine
from procedures import dossiers as filling

bp = Blueprint("annexes", __name__, url_prefix="/dossiers")
DRAFTS = (DossierStatus.DRAFT, DossierStatus.COMPLETE)


def display_name(filename):
    """The name shown to people: no folders, no control characters, at most 255 characters.
    The file itself is stored under a random name."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or "document.pdf"
    return name[-255:]


def read_pdf(upload):
    """(bytes, PdfInfo) of an uploaded file: 413 over the size limit, PdfRejected (with the
    reason) when the content is not an acceptable PDF."""
    cfg = current_app.config
    data = upload.read(cfg["MAX_ANNEX_BYTES"] + 1)
    if len(data) > cfg["MAX_ANNEX_BYTES"]:
        abort(413)
    info = check_pdf(
        data,
        max_pages=cfg["MAX_ANNEX_PAGES"],
        timeout=cfg["PDF_CHECK_TIMEOUT"],
        memory_mb=cfg["PDF_CHECK_MEMORY_MB"],
    )
    return data, info


def refusal(upload, exc):
    return _(
        "« %(name)s » est refusé : %(reason)s",
        name=display_name(upload.filename),
        reason=exc.message,
    )


def files_by_requirement(dossier):
    rows = Annex.select().where(Annex.dossier == dossier).order_by(Annex.uploaded_at, Annex.id)
    grouped = {}
    for annex in rows:
        grouped.setdefault(annex.requirement, []).append(annex)
    return grouped


@bp.get("/<int:dossier_id>/annexes")
@company_required(need=Role.CONSULT)
def index(dossier_id):
    dossier = load_dossier(dossier_id)
    definition = definition_of(dossier.definition)
    return render_template(
        "wizard/annexes.html",
        dossier=dossier,
        definition=definition,
        needs=engine.annex_needs(definition, dossier.answers, filling.annex_counts(dossier)),
        files=files_by_requirement(dossier),
        editable=dossier.state in DRAFTS,
        form=FlaskForm(),
        max_mb=current_app.config["MAX_ANNEX_BYTES"] // (1024 * 1024),
        max_pages=current_app.config["MAX_ANNEX_PAGES"],
    )


def refuse(dossier_id, message):
    flash(message, "error")
    return redirect(url_for(".index", dossier_id=dossier_id))


@bp.post("/<int:dossier_id>/annexes")
@company_required(need=Role.ENCODE)
def upload(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if dossier.state not in DRAFTS:
        return refuse(dossier_id, _("Ce dossier est soumis : ses annexes ne peuvent plus changer."))
    definition = definition_of(dossier.definition)
    needs = {
        n.key: n
        for n in engine.annex_needs(definition, dossier.answers, filling.annex_counts(dossier))
    }
    need = needs.get(request.form.get("requirement", ""))
    if need is None:
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return refuse(
            dossier_id,
            _("Choisissez un fichier PDF à joindre pour « %(label)s ».", label=need.label),
        )
    try:
        data, info = read_pdf(upload)
    except PdfRejected as exc:
        return refuse(dossier_id, refusal(upload, exc))
    store = storage.get_storage()
    key = store.put(data)
    try:
        replaced = attach(dossier, need, upload.filename, key, data, info)
    except Exception:
        store.delete(key)  # the row was not written: keep no orphan file
        raise
    for old in replaced:
        store.delete(old.storage_key)
    flash(
        _(
            "« %(name)s » est joint (%(pages)s page(s)).",
            name=display_name(upload.filename),
            pages=info.pages,
        ),
        "success",
    )
    return redirect(url_for(".index", dossier_id=dossier_id))


def attach(dossier, need, filename, key, data, info):
    """The Annex row (replacing the file of a single-file requirement) and the new status, in
    one transaction; returns the replaced rows, whose files are deleted after commit."""
    replaced = []
    with write_transaction():
        if not need.multiple:
            replaced = list(
                Annex.select().where(Annex.dossier == dossier, Annex.requirement == need.key)
            )
            Annex.delete().where(Annex.id.in_([a.id for a in replaced])).execute()
        Annex.create(
            dossier=dossier,
            requirement=need.key,
            original_name=display_name(filename),
            storage_key=key,
            sha256=storage.sha256_of(data),
            size=len(data),
            pages=info.pages,
            uploaded_by=current_person(),
        )
        filling.refresh_status(dossier)
    return replaced


def annex_of(dossier, annex_id):
    annex = Annex.get_or_none(Annex.id == annex_id, Annex.dossier == dossier)
    if annex is None:
        abort(404)
    return annex


@bp.get("/<int:dossier_id>/annexes/<int:annex_id>")
@company_required(need=Role.CONSULT)
def download(dossier_id, annex_id):
    dossier = load_dossier(dossier_id)
    annex = annex_of(dossier, annex_id)
    data = storage.get_storage().read(annex.storage_key)
    if storage.sha256_of(data) != annex.sha256:
        current_app.logger.error(
            "Annex %s of dossier %s does not match its recorded SHA-256: not served",
            annex.id,
            dossier.id,
        )
        abort(
            409,
            _(
                "Ce fichier ne correspond plus à celui qui a été déposé ; il n'est pas "
                "servi. L'incident est signalé à l'administration."
            ),
        )
    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=annex.original_name,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<int:dossier_id>/annexes/<int:annex_id>/supprimer")
@company_required(need=Role.ENCODE)
def remove(dossier_id, annex_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    if not FlaskForm().validate_on_submit():
        abort(400)
    annex = annex_of(dossier, annex_id)
    if dossier.state not in DRAFTS:
        return refuse(dossier_id, _("Ce dossier est soumis : ses annexes ne peuvent plus changer."))
    with write_transaction():
        Annex.delete().where(Annex.id == annex.id).execute()
        filling.refresh_status(dossier)
    storage.get_storage().delete(annex.storage_key)
    flash(_("« %(name)s » est retiré.", name=annex.original_name), "success")
    return redirect(url_for(".index", dossier_id=dossier_id))
