"""The professional email gate: at the first login in a company's space (and after a helpdesk
reset) the user enters a professional address and validates it by a code or a link (24 h)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired

import jobs
import verification
from auth import current_person
from models import Membership, utcnow
from portal.access import (
    choose_company,
    company_home,
    company_required,
    current_membership,
    person_required,
)
from procedures.validators import EmailAddress

bp = Blueprint("gate", __name__, url_prefix="/entreprise/email")
PURPOSE = verification.PRO_EMAIL_PURPOSE


class EmailForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail professionnelle"),
        validators=[DataRequired(), EmailAddress()],
    )


class CodeForm(FlaskForm):
    code = StringField(_l("Code de validation (6 chiffres)"), validators=[DataRequired()])


def send_validation(membership, email):
    verification.send_email_validation(
        membership, email, lambda token: url_for(".validate_link", token=token)
    )
    jobs.wake_outbox()


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
            send_validation(membership, form.email.data.strip().lower())
        except verification.CodeError as exc:
            flash(str(exc), "error")
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
            verification.verify(PURPOSE, str(membership.id), form.code.data)
        except verification.CodeError as exc:
            form.code.errors.append(str(exc))
        else:
            return validated(membership)
    return render_template("gate/code.html", form=form, membership=membership)


def validated(membership):
    Membership.update(professional_email_verified_at=utcnow()).where(
        Membership.id == membership.id
    ).execute()
    flash(
        _(
            "Votre adresse e-mail professionnelle est validée. Bienvenue dans l'espace de "
            "%(name)s.",
            name=membership.company.name,
        ),
        "success",
    )
    return redirect(url_for("dossiers.index"))


@bp.get("/valider/<token>")
@person_required
def validate_link(token):
    try:
        row = verification.verify_token(PURPOSE, token)
    except verification.CodeError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".email"))
    membership = Membership.get_or_none(Membership.id == int(row.subject))
    if membership is None or membership.person_id != current_person().id:
        abort(404)
    choose_company(membership.company_id)
    return validated(membership)
