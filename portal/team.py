"""Access management by the company's access managers (GAP and co-GAPs): invite users, give and
take back roles, name and remove co-GAPs, revoke. The changes themselves are `access.members`'s
(fresh login, audit, email); this page reads the forms and shows the outcome."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, ValidationError

from access import AccessRefused, denials, members
from auth import current_actor
from languages import de_name
from models import Company, Membership, Person, Role
from portal.access import company_required, current_membership, denied, fresh_login_required
from procedures.validators import EmailAddress, person_number

bp = Blueprint("team", __name__, url_prefix="/entreprise/acces")


class RolesForm(FlaskForm):
    consult = BooleanField(Role.CONSULT.label)
    encode = BooleanField(Role.ENCODE.label)
    sign = BooleanField(Role.SIGN.label)

    def roles(self):
        chosen = [(self.consult, Role.CONSULT), (self.encode, Role.ENCODE), (self.sign, Role.SIGN)]
        return sum(int(role) for field, role in chosen if field.data)


class InviteForm(RolesForm):
    national_number = StringField(_l("Numéro de registre national"), [DataRequired()])
    surname = StringField(_l("Nom"), [DataRequired()])
    given_name = StringField(_l("Prénom"), [DataRequired()])
    email = EmailField(
        _l("Adresse e-mail"),
        [DataRequired(), EmailAddress()],
    )

    def validate_national_number(self, field):
        number = "".join(c for c in field.data if c.isdigit())
        if not person_number.is_valid(number):
            raise ValidationError(
                _(
                    "Ce numéro de registre national ou BIS n'est pas valable "
                    "(vérifiez les chiffres)."
                )
            )
        field.data = number

    def new_person(self):
        return members.NewPerson(
            self.national_number.data, self.surname.data, self.given_name.data, self.email.data
        )


def team_members(company):
    return (
        Membership.select(Membership, Person)
        .join(Person, on=(Membership.person == Person.id))
        .where(Membership.company == company)
        .order_by(Person.surname, Person.given_name)
    )


def target(membership_id):
    """A membership of the current company, or 404 (never another company's)."""
    me = current_membership()
    m = (
        Membership.select(Membership, Company, Person)
        .join(Company)
        .switch(Membership)
        .join(Person, on=(Membership.person == Person.id))
        .where(Membership.id == membership_id, Membership.company == me.company_id)
        .first()
    )
    if m is None:
        denied(denials.OTHER_COMPANY, "Membership", membership_id)
        abort(404)
    return m


def page(invite=None, status=200):
    me = current_membership()
    return render_template(
        "team/index.html",
        me=me,
        members=team_members(me.company_id),
        invite=invite or InviteForm(),
        roles_text=members.roles_text,
        form=FlaskForm(),
    ), status


def back(refused=None, success=None):
    if refused is not None:
        flash(str(refused), "error")
    elif success:
        flash(success, "success")
    return redirect(url_for(".index"))


@bp.get("/")
@company_required(manager=True)
def index():
    return page()


@bp.post("/inviter")
@company_required(manager=True)
@fresh_login_required("team.index")
def invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return page(invite=form, status=400)
    try:
        m = members.invite(
            current_actor(), current_membership().company_id, form.new_person(), form.roles()
        )
    except AccessRefused as refused:
        return back(refused)
    return back(
        success=_(
            "%(name)s est invité(e) avec le rôle : %(roles)s.",
            name=m.person.full_name,
            roles=members.roles_text(m.roles),
        )
    )


@bp.post("/<int:membership_id>/roles")
@company_required(manager=True)
@fresh_login_required("team.index")
def change_roles(membership_id):
    m = target(membership_id)
    try:
        members.change_roles(current_actor(), m, RolesForm().roles())
    except AccessRefused as refused:
        return back(refused)
    return back(
        success=_(
            "Rôles %(de_name)s : %(roles)s.",
            de_name=de_name(m.person.full_name),
            roles=members.roles_text(m.roles),
        )
    )


@bp.post("/<int:membership_id>/co-gestionnaire")
@company_required(manager=True)
@fresh_login_required("team.index")
def toggle_co_manager(membership_id):
    m = target(membership_id)
    if not current_membership().is_main_access_manager:
        abort(
            403, _("Seul le gestionnaire d'accès principal nomme ou retire les co-gestionnaires.")
        )
    try:
        change = members.set_co_manager(current_actor(), m, not m.is_access_manager)
    except AccessRefused as refused:
        return back(refused)
    return back(success=_("%(name)s : %(change)s", name=m.person.full_name, change=change))


@bp.post("/<int:membership_id>/revoquer")
@company_required(manager=True)
@fresh_login_required("team.index")
def revoke(membership_id):
    m = target(membership_id)
    try:
        members.revoke(current_actor(), m)
    except AccessRefused as refused:
        return back(refused)
    return back(success=_("L'accès %(de_name)s est retiré.", de_name=de_name(m.person.full_name)))
