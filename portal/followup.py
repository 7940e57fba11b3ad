"""Following a dossier after it is filled: documents, messages and complements, archiving,
deleting a draft."""

import io

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

import jobs
import storage
from auth import current_person
from documents.pdf_check import PdfRejected
from models import (
    Actor,
    Annex,
    AuditEvent,
    Document,
    DossierStatus,
    Role,
    write_transaction,
)
from portal.access import company_required, load_dossier
from portal.annexes import display_name, read_pdf, refusal
from procedures import messages

bp = Blueprint("followup", __name__, url_prefix="/dossiers")
DRAFTS = (DossierStatus.DRAFT, DossierStatus.COMPLETE)
DOCUMENTS = {
    "accuse-de-reception": Document.RECEIPT,
    "courrier-de-decision": Document.DECISION_LETTER,
}


def back(dossier):
    return redirect(url_for("dossiers.show", dossier_id=dossier.id))


@bp.get("/<int:dossier_id>/documents/<name>")
@company_required(need=Role.CONSULT)
def document(dossier_id, name):
    dossier = load_dossier(dossier_id)
    kind = DOCUMENTS.get(name) or abort(404)
    if kind == Document.DECISION_LETTER:
        doc = Document.current_letter(dossier)
    else:
        doc = Document.latest(dossier, kind)
    if doc is None:
        abort(404, _("Ce document n'est pas encore disponible. Réessayez dans un instant."))
    data = storage.get_storage().read(doc.storage_key)
    if storage.sha256_of(data) != doc.sha256:
        current_app.logger.error(
            "Document %s of dossier %s altered: not served", doc.id, dossier.id
        )
        abort(
            409,
            _(
                "Ce document ne correspond plus à celui qui a été produit ; il n'est pas "
                "servi. L'incident est signalé à l'administration."
            ),
        )
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{name}-{dossier.reference}.pdf",
    )


@bp.post("/<int:dossier_id>/archiver")
@company_required(need=Role.ENCODE)
def archive(dossier_id):
    return set_archived(dossier_id, True)


@bp.post("/<int:dossier_id>/desarchiver")
@company_required(need=Role.ENCODE)
def unarchive(dossier_id):
    return set_archived(dossier_id, False)


def set_archived(dossier_id, archived):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if dossier.state in DRAFTS:
        flash(
            _("Un dossier non soumis ne s'archive pas : supprimez-le s'il n'est plus utile."),
            "error",
        )
        return back(dossier)
    dossier.set_archived(archived)
    flash(
        _("Le dossier est archivé : il reste consultable dans l'onglet « Archivés ».")
        if archived
        else _("Le dossier est de retour parmi vos dossiers actifs."),
        "success",
    )
    return back(dossier)


@bp.route("/<int:dossier_id>/supprimer", methods=["GET", "POST"])
@company_required(need=Role.ENCODE)
def delete(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    if dossier.state not in DRAFTS:
        flash(_("Un dossier soumis ne peut pas être supprimé ; vous pouvez l'archiver."), "error")
        return back(dossier)
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        keys = [a.storage_key for a in Annex.select().where(Annex.dossier == dossier)]
        with write_transaction():
            AuditEvent.record(
                "dossier.delete",
                Actor.applicant(current_person()),
                target=dossier,
                ip_address=request.remote_addr,
                title=dossier.definition.title,
            )
            dossier.delete_instance(recursive=True)
        for key in keys:
            storage.get_storage().delete(key)
        flash(
            _("Le brouillon « %(title)s » est supprimé.", title=dossier.definition.title), "success"
        )
        return redirect(url_for("dossiers.index"))
    return render_template("followup/delete.html", dossier=dossier, form=form)


@bp.post("/<int:dossier_id>/messages")
@company_required(need=Role.ENCODE)
def reply(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    if not FlaskForm().validate_on_submit():
        abort(400)
    body = (request.form.get("body") or "").strip()
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not body:
        flash(_("Écrivez votre message avant de l'envoyer."), "error")
        return back(dossier)
    store, stored, refused = storage.get_storage(), [], None
    for upload in files:
        try:
            data, info = read_pdf(upload)
        except PdfRejected as exc:
            refused = refusal(upload, exc)
            break
        stored.append(
            (
                store.put(data),
                storage.sha256_of(data),
                len(data),
                info.pages,
                display_name(upload.filename),
            )
        )
    if refused:
        for key, *_rest in stored:
            store.delete(key)
        flash(
            refused + " " + _("Votre message n'est pas envoyé ; joignez des PDF valables."), "error"
        )
        return back(dossier)
    try:
        messages.reply_from_company(dossier, current_person(), body, stored)
    except messages.MessageRefused as exc:
        for key, *_rest in stored:
            store.delete(key)
        flash(str(exc), "error")
        return back(dossier)
    jobs.wake_outbox()
    flash(_("Votre message est envoyé à l'administration."), "success")
    return back(dossier)
