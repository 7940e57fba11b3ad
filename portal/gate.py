"""The professional email gate: at the first login in a company's space (and after a helpdesk
reset) the user enters a professional address and validates it by a code or a link (24 h)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired

from access import AccessRefused, professional_email
from auth import current_actor
from languages import de_name
from portal.access import (
    choose_company,
    company_home,
    company_required,
    current_membership,
    person_required,
)
from procedures.validators import EmailAddress

bp = Blueprint("gate", __name__, url_prefix="/entreprise/email")


class EmailForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail professionnelle"),
        validators=[DataRequired(), EmailAddress()],
    )


class CodeForm(FlaskForm):
    code = StringField(_l("Code de validation (6 chiffres)"), validators=[DataRequired()])


@bp.route("/", methods=["GET", "POST"])
@company_required(gate=False)
def email():
    membership = current_membership()
    if membership.notification_email:
        return redirect(company_home(membership))
    form = EmailForm()
    if request.method == "GET":
        form.email.data = membership.professional_email or membership.invited_email
    if form.validate_on_submit():
        try:
            professional_email.request_validation(current_actor(), membership, form.email.data)
        except AccessRefused as refused:
            flash(str(refused), "error")
        else:
            flash(
                _(
                    "Un code et un lien de validation ont été envoyés à %(email)s.",
                    email=membership.professional_email,
                ),
                "success",
            )
            return redirect(url_for(".code"))
    return render_template("gate/email.html", form=form, membership=membership)


@bp.route("/code", methods=["GET", "POST"])
@company_required(gate=False)
def code():
    membership = current_membership()
    if membership.notification_email:
        return redirect(company_home(membership))
    if not membership.professional_email:
        return redirect(url_for(".email"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            professional_email.validate_code(current_actor(), membership, form.code.data)
        except AccessRefused as refused:
            form.code.errors.append(str(refused))
        else:
            return validated(membership)
    return render_template("gate/code.html", form=form, membership=membership)


def validated(membership):
    flash(
        _(
            "Votre adresse e-mail professionnelle est validée. Bienvenue dans l'espace "
            "%(de_name)s.",
            de_name=de_name(membership.company.name),
        ),
        "success",
    )
    return redirect(url_for("dossiers.index"))


@bp.get("/valider/<token>")
@person_required
def validate_link(token):
    try:
        membership = professional_email.validate_link(current_actor(), token)
    except AccessRefused as refused:
        flash(str(refused), "error")
        return redirect(url_for(".email"))
    if membership is None:
        abort(404)
    choose_company(membership.company_id)
    return validated(membership)
