"""The staff accounts in the back-office (administrators only), at /admin/staff/: the list with
each account's role, state, second factor, last login and lock; "Nouveau compte" (the new member
is emailed a link to choose their password: the administrator never sees one); an account's
page, to change its role, switch it off or on, reset its second factor and send the password
link again. Every change goes through `access.staff`, which checks, audits and emails."""

from flask import abort, current_app, flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

import languages
from access import staff as accounts
from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column, yes_no_column
from models import StaffRole, StaffUser


def role_choices():
    return [SelectChoice(role.value, role.label) for role in StaffRole]


class AccountForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[DataRequired(_l("Indiquez l'adresse e-mail du membre du personnel."))],
    )
    full_name = StringField(
        _l("Nom complet"),
        validators=[
            DataRequired(_l("Indiquez le nom du membre du personnel.")),
            Length(max=accounts.NAME_MAX),
        ],
    )
    role = SelectField(_l("Rôle"), choices=role_choices)
    language = SelectField(_l("Langue de l'e-mail et du back-office"))

    def fill_choices(self):
        ready = current_app.config["LANGUAGES_READY"]
        self.language.choices = [SelectChoice(c, languages.LANGUAGE_NAMES[c]) for c in ready]
        if not self.is_submitted():
            self.language.data = languages.current_language()
        return self


class RoleForm(FlaskForm):
    role = SelectField(_l("Nouveau rôle"), choices=role_choices)


def role_column(view, context, model, name):
    return model.staff_role.label


def second_factor_column(view, context, model, name):
    return _("oui") if model.totp_secret else _("non")


def locked_column(view, context, model, name):
    return datetime_column(view, context, model, name) if model.locked_until else ""


class StaffAccountView(StaffModelView):
    allowed_roles = frozenset({StaffRole.ADMIN})
    can_create = True  # through `create_view` below (access.staff.create_account)
    can_view_details = True
    details_template = "backoffice/staff_details.html"
    column_list = (
        "email",
        "full_name",
        "role",
        "active",
        "totp_secret",
        "last_login_at",
        "locked_until",
    )
    column_details_list = (*column_list, "language", "created_at")
    column_labels = {
        "email": _l("Adresse e-mail"),
        "full_name": _l("Nom"),
        "role": _l("Rôle"),
        "active": _l("Actif"),
        "totp_secret": _l("Double authentification activée"),
        "last_login_at": _l("Dernière connexion"),
        "locked_until": _l("Bloqué jusqu'à"),
        "language": _l("Langue"),
        "created_at": _l("Créé le"),
    }
    column_default_sort = [("email", False)]
    column_sortable_list = ("email", "full_name", "role", "last_login_at")
    column_searchable_list = (StaffUser.email, StaffUser.full_name)
    column_filters = (
        FilterEqual(
            StaffUser.role,
            _l("Rôle"),
            options=[(role.value, role.label) for role in StaffRole],
        ),
        StaffUser.active,
    )
    column_formatters = {
        "role": role_column,
        "active": yes_no_column,
        "totp_secret": second_factor_column,
        "last_login_at": datetime_column,
        "locked_until": locked_column,
        "language": lambda v, c, m, n: languages.LANGUAGE_NAMES.get(m.language, m.language),
        "created_at": datetime_column,
    }

    def search_placeholder(self):
        return _("Adresse e-mail ou nom")

    def account(self, staff_id):
        return StaffUser.get_or_none(StaffUser.id == staff_id) or abort(404)

    def render(self, template, **kwargs):
        if template == self.details_template:
            kwargs.setdefault("role_form", RoleForm(role=kwargs["model"].role))
        return super().render(template, **kwargs)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = AccountForm().fill_choices()
        if form.validate_on_submit():
            try:
                staff = accounts.create_account(
                    current_actor(),
                    form.email.data,
                    form.full_name.data,
                    form.role.data,
                    language=form.language.data,
                    via="backoffice",
                )
            except accounts.StaffRefused as refused:
                field = getattr(form, refused.field or "email", form.email)
                field.errors = [*field.errors, str(refused)]
            else:
                flash(
                    _(
                        "Le compte de %(name)s est créé : un e-mail lui envoie le lien pour "
                        "choisir son mot de passe.",
                        name=staff.full_name,
                    ),
                    "success",
                )
                return redirect(url_for(".details_view", id=staff.id))
        return self.render("backoffice/staff_form.html", form=form)

    def act(self, staff_id, operation, done):
        """Run `operation(actor, staff)` from one of the account page's forms; its refusal or
        `done` (a message) flashed, then the account's page again."""
        staff = self.account(staff_id)
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            operation(current_actor(), staff)
        except accounts.StaffRefused as refused:
            flash(str(refused), "error")
        else:
            flash(done % {"name": staff.full_name}, "success")
        return redirect(url_for(".details_view", id=staff_id))

    @expose("/role/<int:staff_id>", methods=("POST",))
    def role_view(self, staff_id):
        form = RoleForm()
        if not form.validate_on_submit():
            abort(400)
        return self.act(
            staff_id,
            lambda actor, staff: accounts.change_role(actor, staff, form.role.data),
            _("Le rôle de %(name)s est enregistré."),
        )

    @expose("/deactivate/<int:staff_id>", methods=("POST",))
    def deactivate_view(self, staff_id):
        return self.act(
            staff_id,
            accounts.deactivate,
            _("Le compte de %(name)s est désactivé : ses sessions sont fermées."),
        )

    @expose("/reactivate/<int:staff_id>", methods=("POST",))
    def reactivate_view(self, staff_id):
        return self.act(staff_id, accounts.reactivate, _("Le compte de %(name)s est réactivé."))

    @expose("/reset-totp/<int:staff_id>", methods=("POST",))
    def reset_totp_view(self, staff_id):
        return self.act(
            staff_id,
            lambda actor, staff: accounts.reset_second_factor(actor, staff, via="backoffice"),
            _(
                "La double authentification de %(name)s est réinitialisée : une nouvelle "
                "activation à sa prochaine connexion."
            ),
        )

    @expose("/send-link/<int:staff_id>", methods=("POST",))
    def send_link_view(self, staff_id):
        return self.act(
            staff_id,
            accounts.send_password_link,
            _("Un nouveau lien pour choisir son mot de passe est envoyé à %(name)s."),
        )
