"""Signing and submitting a complete dossier: Signature role, a fresh login, a declaration on
honour; a double click or two concurrent submits give one submission."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField

from auth import current_actor, current_person, current_session, login_is_fresh
from dossiers import DossierRefused, filling, submission
from models import ConcurrentTransitionError, Role
from portal.access import company_required, current_membership, load_dossier, login_url
from procedures import definition_of

bp = Blueprint("signing", __name__, url_prefix="/dossiers")


class SignForm(FlaskForm):
    declaration = BooleanField(submission.DECLARATION)


def already_submitted(dossier):
    flash(
        _("Ce dossier est déjà soumis sous la référence %(ref)s.", ref=dossier.reference), "success"
    )
    return redirect(url_for("dossiers.show", dossier_id=dossier.id))


@bp.route("/<int:dossier_id>/signer", methods=["GET", "POST"])
@company_required(need=Role.SIGN)
def sign(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.SIGN)
    if not dossier.is_editable:
        return already_submitted(dossier)
    if not login_is_fresh():
        flash(_("Pour signer, confirmez votre identité en vous connectant à nouveau."), "warning")
        return redirect(login_url(url_for(".sign", dossier_id=dossier.id)))
    definition = definition_of(dossier.definition)
    context = filling.prefill_context(dossier, current_person(), current_membership())
    counts = filling.annex_counts(dossier)
    issues = filling.issues(dossier, context, counts)
    form = SignForm()
    if form.is_submitted():
        form.validate()  # the token is checked app-wide; this readies the fields' errors
        if issues:
            flash(_("Le dossier n'est pas complet : il ne peut pas encore être soumis."), "error")
        elif not form.declaration.data:
            form.declaration.errors.append(_("Cochez la déclaration sur l'honneur pour signer."))
        else:
            return submit(dossier, context)
    return render_template(
        "signing/sign.html",
        dossier=dossier,
        definition=definition,
        issues=issues,
        form=form,
        needs=filling.annex_needs(dossier, counts),
    ), (400 if form.errors or (form.is_submitted() and issues) else 200)


def submit(dossier, context):
    try:
        signature = submission.submit(current_actor(), dossier, current_session(), context)
    except ConcurrentTransitionError:
        return already_submitted(load_dossier(dossier.id))
    except DossierRefused as refused:
        flash(str(refused), "error")
        return redirect(url_for(".sign", dossier_id=dossier.id))
    flash(
        _(
            "Votre dossier est signé et soumis sous la référence %(ref)s. L'accusé de réception "
            "scellé vous est envoyé par e-mail et reste disponible ici.",
            ref=dossier.reference,
        ),
        "success",
    )
    return redirect(url_for("dossiers.show", dossier_id=signature.dossier_id))
