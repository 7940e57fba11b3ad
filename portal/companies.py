"""Choosing the company one acts for, and activating a company as its legal representative."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Optional

from access import AccessRefused, members
from auth import current_actor, current_person
from models import Company, Membership, RegistrationNumber
from portal.access import (
    choose_company,
    company_home,
    fresh_login_required,
    person_required,
)
from procedures.validators import EmailAddress, person_number

bp = Blueprint("companies", __name__, url_prefix="/entreprises")


@bp.get("/")
@person_required
def index():
    memberships = (
        Membership.select(Membership, Company)
        .join(Company)
        .where(Membership.person == current_person())
        .order_by(Company.name)
    )
    numbers = {}
    for r in RegistrationNumber.granted().where(
        RegistrationNumber.company.in_([m.company_id for m in memberships])
    ):
        numbers.setdefault(r.company_id, []).append(r)
    return render_template(
        "companies/index.html", memberships=memberships, numbers=numbers, form=FlaskForm()
    )


@bp.post("/choisir")
@person_required
def choose():
    company_id = request.form.get("company_id", type=int)
    membership = current_person().membership_in(company_id) if company_id else None
    if membership is None:
        abort(404)
    choose_company(company_id)
    flash(_("Vous agissez pour %(name)s.", name=membership.company.name), "success")
    if membership.notification_email is None:
        return redirect(url_for("gate.email"))
    return redirect(company_home(membership))


class ActivationForm(FlaskForm):
    enterprise_number = StringField(
        _l("Numéro d'entreprise (BCE)"),
        validators=[DataRequired()],
        description=_l("Par exemple 0566.988.259."),
    )
    gap = RadioField(
        _l("Gestionnaire d'accès principal (GAP)"),
        choices=[
            SelectChoice("self", _l("Moi-même")),
            SelectChoice("other", _l("Une autre personne")),
        ],
        default="self",
    )
    gap_national_number = StringField(_l("Numéro de registre national du GAP"), [Optional()])
    gap_surname = StringField(_l("Nom du GAP"), [Optional()])
    gap_given_name = StringField(_l("Prénom du GAP"), [Optional()])
    gap_email = EmailField(_l("Adresse e-mail du GAP"), [Optional(), EmailAddress()])
    confirm = HiddenField()

    def validate_other_gap(self):
        """The fields a GAP other than oneself needs; errors go beside each field."""
        ok = True
        if self.gap.data != "other":
            return ok
        for field in (
            self.gap_national_number,
            self.gap_surname,
            self.gap_given_name,
            self.gap_email,
        ):
            if not (field.data or "").strip():
                field.errors.append(_("Ce champ est obligatoire pour désigner une autre personne."))
                ok = False
        number = digits(self.gap_national_number.data)
        if number and not person_number.is_valid(number):
            self.gap_national_number.errors.append(
                _(
                    "Ce numéro de registre national ou BIS n'est pas valable "
                    "(vérifiez les chiffres)."
                )
            )
            ok = False
        return ok


def digits(text):
    return "".join(c for c in (text or "") if c.isdigit())


@bp.route("/activer", methods=["GET", "POST"])
@person_required
@fresh_login_required("companies.activate")
def activate():
    form = ActivationForm()
    if form.validate_on_submit() and form.validate_other_gap():
        gap = None
        if form.gap.data == "other":
            gap = members.NewPerson(
                digits(form.gap_national_number.data),
                form.gap_surname.data,
                form.gap_given_name.data,
                form.gap_email.data,
            )
        try:
            company, gap_membership = members.activate_company(
                current_actor(), form.enterprise_number.data, gap
            )
        except AccessRefused as refused:
            field = getattr(form, refused.field, None) if refused.field else None
            if field is None:
                flash(str(refused), "error")
            else:
                field.errors.append(str(refused))
        else:
            if gap_membership.person_id == current_person().id:
                choose_company(company.id)
            flash(
                _(
                    "%(name)s est activée ; %(gap)s en est le gestionnaire d'accès principal.",
                    name=company.name,
                    gap=gap_membership.person.full_name,
                ),
                "success",
            )
            return redirect(url_for(".index"))
    return render_template("companies/activate.html", form=form)
