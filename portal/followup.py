"""Following a dossier after it is filled: documents, messages and complements, archiving,
deleting a draft (each change made by the `dossiers` services)."""

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm

import security_headers
from auth import current_actor
from dossiers import DossierNotFound, DossierRefused, documents, lifecycle, messages, opinions
from models import Document, Role
from portal.access import company_required, load_dossier, sending_limits
from portal.annexes import read_upload
from portal.dossiers import detail_page
from procedures import title_of

bp = Blueprint("followup", __name__, url_prefix="/dossiers")
DOCUMENTS = {
    "accuse-de-reception": Document.RECEIPT,
    "courrier-de-decision": Document.DECISION_LETTER,
}


def back(dossier, refused=None, success=None):
    if refused is not None:
        flash(str(refused), "error")
    elif success:
        flash(success, "success")
    return redirect(url_for("dossiers.show", dossier_id=dossier.id))


@bp.get("/<int:dossier_id>/documents/<name>")
@company_required(need=Role.CONSULT)
def document(dossier_id, name):
    dossier = load_dossier(dossier_id)
    kind = DOCUMENTS.get(name) or abort(404)
    try:
        doc, data = documents.document_file(current_actor(), dossier, kind)
    except DossierRefused:
        abort(
            409,
            _(
                "Ce document ne correspond plus à celui qui a été produit ; il n'est pas "
                "servi. L'incident est signalé à l'administration."
            ),
        )
    if doc is None:
        abort(404, _("Ce document n'est pas encore disponible. Réessayez dans un instant."))
    return security_headers.download(data, f"{name}-{dossier.reference}.pdf")


@bp.get("/<int:dossier_id>/avis/<int:opinion_id>")
@company_required(need=Role.CONSULT)
def opinion_file(dossier_id, opinion_id):
    """The PDF of an expert's opinion shown to the company (never of a confidential one)."""
    dossier = load_dossier(dossier_id)
    try:
        opinion, data = opinions.company_answer_file(current_actor(), dossier, opinion_id)
    except DossierNotFound:
        abort(404)
    return security_headers.download(data, opinion.file_name)


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
    try:
        lifecycle.set_archived(current_actor(), dossier, archived)
    except DossierRefused as refused:
        return back(dossier, refused)
    return back(
        dossier,
        success=_("Le dossier est archivé : il reste consultable dans l'onglet « Archivés ».")
        if archived
        else _("Le dossier est de retour parmi vos dossiers actifs."),
    )


@bp.route("/<int:dossier_id>/supprimer", methods=["GET", "POST"])
@company_required(need=Role.ENCODE)
def delete(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    if not dossier.is_editable:
        flash(_("Un dossier soumis ne peut pas être supprimé ; vous pouvez l'archiver."), "error")
        return back(dossier)
    if request.method == "POST":
        try:
            lifecycle.delete_draft(current_actor(), dossier)
        except DossierRefused as refused:
            return back(dossier, refused)
        flash(
            _("Le brouillon « %(title)s » est supprimé.", title=title_of(dossier.definition)),
            "success",
        )
        return redirect(url_for("dossiers.index"))
    return render_template("followup/delete.html", dossier=dossier, form=FlaskForm())


def reply_too_often(limit):
    """Past the reply limit: the page again with the typed text, not a bare 429 page."""
    dossier = load_dossier(request.view_args["dossier_id"], need=Role.ENCODE)
    refusal = _(
        "Vous avez envoyé trop de messages en peu de temps. Votre texte est gardé ci-dessous : "
        "patientez une minute, puis envoyez-le à nouveau."
    )
    files = any(f and f.filename for f in request.files.getlist("files"))
    page = detail_page(dossier, request.form.get("body") or "", refusal, files_dropped=files)
    return make_response(page, 429)


@bp.post("/<int:dossier_id>/messages")
@company_required(need=Role.ENCODE)
@sending_limits("REPLY_RATE", on_breach=reply_too_often)
def reply(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    files = [
        (f.filename, read_upload(f)) for f in request.files.getlist("files") if f and f.filename
    ]
    body = request.form.get("body") or ""
    try:
        messages.reply(current_actor(), dossier, body, files)
    except DossierRefused as refused:
        # The page again, the typed text in its field: nothing the person wrote is lost.
        page = detail_page(dossier, body, str(refused), files_dropped=bool(files))
        return page, 422
    return back(dossier, success=_("Votre message est envoyé à l'administration."))
