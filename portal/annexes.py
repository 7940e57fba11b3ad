"""Annexes of a dossier: which are mandatory for the current answers and why, upload (PDF decided
by content), download (checked against its hash), removal while the dossier is a draft. The
changes themselves are `dossiers.annexes`'s."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm

import security_headers
from auth import current_actor
from dossiers import DossierNotFound, DossierRefused, annexes, documents, filling, scanning
from models import Annex, Role
from portal.access import company_required, load_dossier, sending_limits
from procedures import definition_of

bp = Blueprint("annexes", __name__, url_prefix="/dossiers")
# A refused upload, shown once on the annexes page: in the error summary and at its file field.
REFUSED = "annex_refused"


def read_upload(upload):
    """The bytes of an uploaded file (None when no file was chosen); 413 over the size limit."""
    if upload is None or not upload.filename:
        return None
    limit = current_app.config["MAX_ANNEX_BYTES"]
    data = upload.read(limit + 1)
    if len(data) > limit:
        abort(413)
    return data


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
    refused = session.pop(REFUSED, None)
    if refused is not None and refused.get("dossier") != dossier.id:
        refused = None
    return render_template(
        "wizard/annexes.html",
        refused=refused,
        dossier=dossier,
        definition=definition_of(dossier.definition),
        needs=filling.annex_needs(dossier),
        files=files_by_requirement(dossier),
        editable=dossier.is_editable,
        form=FlaskForm(),
        max_mb=current_app.config["MAX_ANNEX_BYTES"] // (1024 * 1024),
        max_pages=current_app.config["MAX_ANNEX_PAGES"],
    )


def back(dossier_id, refused=None, success=None, requirement=None):
    if refused is not None and requirement is not None:
        session[REFUSED] = {"dossier": dossier_id, "key": requirement, "message": str(refused)}
    elif refused is not None:
        flash(str(refused), "error")
    else:
        flash(success, "success")
    return redirect(url_for(".index", dossier_id=dossier_id))


@bp.post("/<int:dossier_id>/annexes")
@company_required(need=Role.ENCODE)
@sending_limits("UPLOAD_RATE")
def upload(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    upload = request.files.get("file")
    requirement = request.form.get("requirement", "")
    try:
        annex = annexes.attach(
            current_actor(),
            dossier,
            requirement,
            upload.filename if upload else None,
            read_upload(upload) if dossier.is_editable else None,
        )
    except annexes.UnknownRequirement:
        abort(400)
    except DossierRefused as refused:
        return back(dossier_id, refused, requirement=requirement)
    if annex.is_infected:
        return back(dossier_id, infected_message(annex), requirement=requirement)
    if not annex.is_clean:
        return back(
            dossier_id,
            success=_(
                "« %(name)s » est joint (%(pages)s page(s)) ; l'antivirus l'analysera dans "
                "quelques minutes, et il ne peut pas être ouvert avant.",
                name=annex.original_name,
                pages=annex.pages,
            ),
        )
    return back(
        dossier_id,
        success=_(
            "« %(name)s » est joint (%(pages)s page(s)).",
            name=annex.original_name,
            pages=annex.pages,
        ),
    )


def infected_message(annex):
    return _(
        "« %(name)s » est refusé : l'antivirus y a trouvé « %(found)s ». Le fichier est effacé ; "
        "vérifiez votre ordinateur, puis joignez un fichier sain.",
        name=annex.original_name,
        found=annex.scan_detail or "?",
    )


@bp.get("/<int:dossier_id>/annexes/<int:annex_id>")
@company_required(need=Role.CONSULT)
def download(dossier_id, annex_id):
    dossier = load_dossier(dossier_id)
    try:
        annex, data = documents.annex_file(current_actor(), dossier, annex_id)
    except DossierNotFound:
        abort(404)
    except scanning.AnnexQuarantined as quarantined:
        abort(403 if quarantined.annex.is_infected else 409, str(quarantined))
    except DossierRefused:
        current_app.logger.error("Annex %s of dossier %s not served", annex_id, dossier.id)
        abort(
            409,
            _(
                "Ce fichier ne correspond plus à celui qui a été déposé ; il n'est pas "
                "servi. L'incident est signalé à l'administration."
            ),
        )
    return security_headers.download(data, annex.original_name)


@bp.post("/<int:dossier_id>/annexes/<int:annex_id>/supprimer")
@company_required(need=Role.ENCODE)
def remove(dossier_id, annex_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    try:
        annex = annexes.remove(current_actor(), dossier, annex_id)
    except annexes.UnknownRequirement:
        abort(404)
    except DossierRefused as refused:
        return back(dossier_id, refused)
    return back(dossier_id, success=_("« %(name)s » est retiré.", name=annex.original_name))
