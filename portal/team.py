"""Access management by the company's access managers (GAP and co-GAPs): invite users, give and
take back roles, name and remove co-GAPs, revoke. Each change needs a fresh login, is audited and
emailed to the person concerned."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from stdnum.be import nn
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, ValidationError

from auth import current_person
from models import Company, Membership, Person, Role, db
from portal.access import company_required, current_membership, fresh_login_required
from portal.notify import access_event, send_soon
from procedures.validators import EmailAddress

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
        if not nn.is_valid(number):
            raise ValidationError(
                _("Ce numéro de registre national n'est pas valable (vérifiez les chiffres).")
            )
        field.data = number


def roles_text(roles):
    return ", ".join(str(r.label) for r in Role if r & roles) or _("aucun rôle")


def members(company):
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
        abort(404)
    return m


@bp.get("/")
@company_required(manager=True)
def index():
    me = current_membership()
    return render_template(
        "team/index.html",
        me=me,
        members=members(me.company_id),
        invite=InviteForm(),
        roles_text=roles_text,
        form=FlaskForm(),
    )


@bp.post("/inviter")
@company_required(manager=True)
@fresh_login_required("team.index")
def invite():
    me = current_membership()
    form = InviteForm()
    if not form.validate_on_submit():
        return render_template(
            "team/index.html",
            me=me,
            members=members(me.company_id),
            invite=form,
            roles_text=roles_text,
            form=FlaskForm(),
        ), 400
    with db.atomic():
        person, _created = Person.get_or_create(
            national_number=form.national_number.data,
            defaults={
                "surname": form.surname.data.strip(),
                "given_name": form.given_name.data.strip(),
            },
        )
        if (
            Membership.select()
            .where(Membership.person == person, Membership.company == me.company_id)
            .exists()
        ):
            flash(
                _(
                    "%(name)s a déjà accès à l'entreprise : modifiez plutôt ses rôles.",
                    name=person.full_name,
                ),
                "error",
            )
            return redirect(url_for(".index"))
        membership = Membership.create(
            person=person,
            company=me.company_id,
            roles=form.roles(),
            invited_email=form.email.data.strip().lower(),
            invited_by=current_person(),
        )
        access_event(
            current_person(),
            membership,
            "access.invite",
            "invitation",
            request,
            roles=membership.roles,
            change=roles_text(membership.roles),
        )
    send_soon()
    flash(
        _(
            "%(name)s est invité(e) avec le rôle : %(roles)s.",
            name=person.full_name,
            roles=roles_text(membership.roles),
        ),
        "success",
    )
    return redirect(url_for(".index"))


@bp.post("/<int:membership_id>/roles")
@company_required(manager=True)
@fresh_login_required("team.index")
def change_roles(membership_id):
    m = target(membership_id)
    form = RolesForm()
    if not form.validate_on_submit():
        abort(400)
    before, after = m.roles, form.roles()
    if before != after:
        with db.atomic():
            m.roles = after
            m.save()
            access_event(
                current_person(),
                m,
                "access.roles",
                "access_changed",
                request,
                before=before,
                after=after,
                change=_("Vos rôles : %(roles)s.", roles=roles_text(after)),
            )
        send_soon()
    flash(
        _("Rôles de %(name)s : %(roles)s.", name=m.person.full_name, roles=roles_text(after)),
        "success",
    )
    return redirect(url_for(".index"))


@bp.post("/<int:membership_id>/co-gestionnaire")
@company_required(manager=True)
@fresh_login_required("team.index")
def toggle_co_manager(membership_id):
    me, m = current_membership(), target(membership_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not me.is_main_access_manager:
        abort(
            403, _("Seul le gestionnaire d'accès principal nomme ou retire les co-gestionnaires.")
        )
    if m.is_main_access_manager:
        flash(
            _(
                "Le gestionnaire d'accès principal ne peut être retiré ici : seul un représentant "
                "légal peut le remplacer."
            ),
            "error",
        )
        return redirect(url_for(".index"))
    with db.atomic():
        m.is_access_manager = not m.is_access_manager
        m.save()
        change = (
            _("Vous êtes co-gestionnaire d'accès.")
            if m.is_access_manager
            else _("Vous n'êtes plus co-gestionnaire d'accès.")
        )
        access_event(
            current_person(),
            m,
            "access.co_manager",
            "access_changed",
            request,
            co_manager=m.is_access_manager,
            change=change,
        )
    send_soon()
    flash(_("%(name)s : %(change)s", name=m.person.full_name, change=change), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:membership_id>/revoquer")
@company_required(manager=True)
@fresh_login_required("team.index")
def revoke(membership_id):
    m = target(membership_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if m.is_main_access_manager:
        flash(
            _(
                "Le gestionnaire d'accès principal ne peut pas être retiré : l'entreprise doit "
                "toujours en avoir un. Un représentant légal peut le remplacer."
            ),
            "error",
        )
        return redirect(url_for(".index"))
    with db.atomic():
        access_event(
            current_person(),
            m,
            "access.revoke",
            "access_changed",
            request,
            change=_("Vous n'avez plus accès à l'espace de l'entreprise."),
        )
        Membership.delete().where(Membership.id == m.id).execute()
    send_soon()
    flash(_("L'accès de %(name)s est retiré.", name=m.person.full_name), "success")
    return redirect(url_for(".index"))
