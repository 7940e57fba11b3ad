"""Choosing the company one acts for, and activating a company as its legal representative."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from stdnum.be import nn
from wtforms import EmailField, HiddenField, RadioField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Optional

import sources
from auth import current_person
from models import Company, Membership, Person, db, utcnow
from portal.access import choose_company, company_home, fresh_login_required, person_required
from portal.notify import access_event, send_soon
from procedures.validators import EmailAddress

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
    return render_template("companies/index.html", memberships=memberships, form=FlaskForm())


@bp.post("/choisir")
@person_required
def choose():
    form = FlaskForm()
    company_id = request.form.get("company_id", type=int)
    membership = current_person().membership_in(company_id) if company_id else None
    if not form.validate_on_submit() or membership is None:
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
        if number and not nn.is_valid(number):
            self.gap_national_number.errors.append(
                _("Ce numéro de registre national n'est pas valable (vérifiez les chiffres).")
            )
            ok = False
        return ok


def digits(text):
    return "".join(c for c in (text or "") if c.isdigit())


def check_register(form, person):
    """The register record if `person` may activate it, else None with the error on the form."""
    try:
        number = sources.normalize_enterprise_number(form.enterprise_number.data)
    except ValueError as exc:
        form.enterprise_number.errors.append(str(exc))
        return None
    record = sources.company_register().lookup(number)
    if record is None:
        form.enterprise_number.errors.append(
            _("Ce numéro n'existe pas dans la Banque-Carrefour des Entreprises.")
        )
        return None
    if not record.is_active:
        form.enterprise_number.errors.append(
            _(
                "Cette entreprise n'est pas active dans la BCE (situation : %(s)s).",
                s=record.legal_situation_label,
            )
        )
        return None
    if not record.is_legal_representative(person.national_number):
        form.enterprise_number.errors.append(
            _(
                "Vous n'êtes pas repris comme représentant légal de %(name)s dans la BCE : seul un "
                "représentant légal peut activer l'entreprise ou remplacer son gestionnaire "
                "d'accès principal.",
                name=record.name,
            )
        )
        return None
    return record


def name_gap(company, gap_person, email, actor):
    """Make `gap_person` the main access manager; a previous one steps down."""
    previous = list(
        Membership.select().where(
            Membership.company == company,
            Membership.is_main_access_manager == True,  # noqa: E712
        )
    )
    membership, _created = Membership.get_or_create(person=gap_person, company=company)
    for old in previous:
        if old.id != membership.id:
            old.is_main_access_manager = False
            old.is_access_manager = False
            old.save()
            access_event(
                actor,
                old,
                "access.gap_replaced",
                "access_changed",
                request,
                change=_("Vous n'êtes plus gestionnaire d'accès principal."),
            )
    membership.is_access_manager = True
    membership.is_main_access_manager = True
    if email and not membership.invited_email:
        membership.invited_email = email
        membership.invited_by = actor
    membership.save()
    access_event(
        actor,
        membership,
        "access.gap_named",
        "access_changed",
        request,
        change=_("Vous êtes gestionnaire d'accès principal."),
    )
    return membership


@bp.route("/activer", methods=["GET", "POST"])
@person_required
@fresh_login_required("companies.activate")
def activate():
    person = current_person()
    form = ActivationForm()
    if form.validate_on_submit() and form.validate_other_gap():
        record = check_register(form, person)
        if record is not None:
            with db.atomic():
                company = Company.from_register(record)
                if company.activated_at is None:
                    company.activated_at = utcnow()
                    company.save()
                if form.gap.data == "self":
                    gap_person, email = person, None
                else:
                    gap_person, _created = Person.get_or_create(
                        national_number=digits(form.gap_national_number.data),
                        defaults={
                            "surname": form.gap_surname.data.strip(),
                            "given_name": form.gap_given_name.data.strip(),
                        },
                    )
                    email = form.gap_email.data.strip()
                name_gap(company, gap_person, email, person)
            send_soon()
            if gap_person.id == person.id:
                choose_company(company.id)
            flash(
                _(
                    "%(name)s est activée ; %(gap)s en est le gestionnaire d'accès principal.",
                    name=company.name,
                    gap=gap_person.full_name,
                ),
                "success",
            )
            return redirect(url_for(".index"))
    return render_template("companies/activate.html", form=form)
