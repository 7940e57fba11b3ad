"""The expert's page (`/avis/<secret>`, no login): what the agent shared of one dossier and the
answer form (`dossiers.opinions`). A link that opens nothing (unknown, answered, withdrawn,
past its deadline) gets a page that says why and shows nothing of any dossier. Guessing is
bounded per address."""

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField

import security_headers
import storage
from auth import limiter
from dossiers import DossierNotFound, DossierRefused, opinions
from portal.annexes import read_upload
from procedures import definition_of, display, prefill, title_of

bp = Blueprint("opinions", __name__, url_prefix="/avis")
LINK_RATE = "30 per minute"


class AnswerForm(FlaskForm):
    # No validators: `dossiers.opinions.answer` refuses an empty or too long text, a bad PDF.
    answer = TextAreaField(_l("Votre avis"))
    file = FileField(
        _l("Un document PDF (facultatif)"),
        description=_l("Un seul fichier PDF ; il est vérifié et analysé par l'antivirus."),
    )


def private(response):
    """The page carries a secret in its address: kept by no cache, sent to no other page."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def refused_page(refusal):
    status = 404 if refusal.unknown else 410
    page = render_template("opinions/refused.html", message=str(refusal))
    return private(make_response(page, status))


def answer_page(opinion, token, form, status=200, file_dropped=False):
    shared = opinions.shared_view(opinion)
    dossier = shared["dossier"]
    sections = []
    if opinion.share_answers:
        sections = display.answer_rows(
            definition_of(dossier.definition),
            dossier.answers,
            prefill.company_context(dossier.company),
        )
    page = render_template(
        "opinions/answer.html",
        token=token,
        form=form,
        procedure=title_of(dossier.definition),
        sections=sections,
        file_dropped=file_dropped,
        most=opinions.ANSWER_MAX,
        **shared,
    )
    return private(make_response(page, status))


@bp.route("/<token>", methods=("GET", "POST"))
@limiter.limit(LINK_RATE)
def answer(token):
    try:
        opinion = opinions.opinion_of_link(token)
    except opinions.OpinionLinkRefused as refusal:
        return refused_page(refusal)
    form = AnswerForm()
    if request.method == "GET":
        return answer_page(opinion, token, form)
    if not form.validate_on_submit():  # the CSRF token only: the service checks the rest
        form.answer.errors = [_("Le formulaire a expiré. Envoyez votre avis à nouveau.")]
        return answer_page(opinion, token, form, 400)
    upload = request.files.get(form.file.name)
    data = read_upload(upload)
    try:
        opinions.answer(
            token,
            form.answer.data,
            upload.filename if data else None,
            data,
            ip_address=request.remote_addr,
        )
    except opinions.OpinionLinkRefused as refusal:
        return refused_page(refusal)
    except DossierRefused as refused:
        field = form.file if refused.field == "file" else form.answer
        field.errors = [str(refused)]
        return answer_page(opinion, token, form, 422, file_dropped=bool(data))
    page = render_template(
        "opinions/thanks.html", procedure=title_of(opinion.dossier.definition), opinion=opinion
    )
    return private(make_response(page))


@bp.get("/<token>/annexes/<int:annex_id>")
@limiter.limit(LINK_RATE)
def annex(token, annex_id):
    try:
        annex, data = opinions.shared_annex(token, annex_id)
    except opinions.OpinionLinkRefused as refusal:
        return refused_page(refusal)
    except (DossierNotFound, FileNotFoundError, storage.Altered):
        abort(404)
    inline = request.args.get("voir") == "1"
    return private(security_headers.download(data, annex.original_name, inline=inline))
