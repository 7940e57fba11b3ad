"""The labels of each procedure at /admin/labels/ (supervisors and administrators): the list,
"Créer" and the edit page (name and colour; a label stays with its procedure), with "Supprimer"
there. Every change goes through `dossiers.labels`, which checks and audits it."""

from flask import flash
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_admin.helpers import get_form_data
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import RadioField, SelectField, StringField
from wtforms.fields import SelectChoice

from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column, forget_options
from backoffice.dossier_filters import procedures
from dossiers import DossierRefused
from dossiers import labels as operations
from models import Label


def colour_tag(key, text):
    """`text` in the colours of the palette's `key` (backoffice.css: label-<key>)."""
    return Markup('<span class="bo-label label-{}">{}</span>').format(key, text)


class LabelEditForm(FlaskForm):
    # No validator here: `dossiers.labels` says what is wrong, on the field it is about.
    name = StringField(_l("Nom"))
    colour = RadioField(
        _l("Couleur"),
        choices=[SelectChoice(key, name) for key, (name, _bg, _fg) in operations.COLOURS.items()],
        validate_choice=False,
    )


class LabelForm(LabelEditForm):
    procedure_code = SelectField(_l("Procédure"), choices=[], validate_choice=False)

    def fill_choices(self):
        self.procedure_code.choices = [
            SelectChoice("", "—"),
            *(SelectChoice(code, title) for code, title in procedures()),
        ]
        return self


def procedure_column(view, context, model, name):
    return dict(procedures()).get(model.procedure_code, model.procedure_code)


def name_link(view, context, model, name):
    url = view.get_url(".edit_view", id=model.id, url=context.get("return_url"))
    return Markup('<a href="{}">{}</a>').format(url, model.name)


def colour_column(view, context, model, name):
    found = operations.COLOURS.get(model.colour)
    return colour_tag(model.colour, found[0]) if found else model.colour


class LabelView(StaffModelView):
    allowed_roles = operations.MANAGERS
    can_create = can_edit = can_delete = True
    column_display_actions = False  # the name is the link to the edit page
    create_template = edit_template = "backoffice/label_form.html"
    column_list = ("procedure_code", "name", "colour", "created_at")
    column_labels = {
        "procedure_code": _l("Procédure"),
        "name": _l("Nom"),
        "colour": _l("Couleur"),
        "created_at": _l("Créée le"),
    }
    column_default_sort = [("procedure_code", False), ("name", False)]
    column_sortable_list = ("procedure_code", "name", "created_at")
    column_filters = (
        FilterEqual(Label.procedure_code, _l("Procédure"), options=lambda: procedures()),
    )
    column_formatters = {
        "procedure_code": procedure_column,
        "name": name_link,
        "colour": colour_column,
        "created_at": datetime_column,
    }

    def create_form(self, obj=None):
        return LabelForm(get_form_data(), obj=obj).fill_choices()

    def edit_form(self, obj=None):
        return LabelEditForm(get_form_data(), obj=obj)

    def render(self, template, **kwargs):
        return super().render(template, colour_tag=colour_tag, **kwargs)

    def refused(self, form, refused):
        """The refusal on the field it is about (what was typed stays), else as a message."""
        field = getattr(form, refused.field or "", None)
        if field is None:
            flash(str(refused), "error")
        else:
            field.errors = [*field.errors, str(refused)]

    def create_model(self, form):
        try:
            label = operations.create_label(
                current_actor(), form.procedure_code.data, form.name.data, form.colour.data
            )
        except DossierRefused as refused:
            self.refused(form, refused)
            return False
        forget_options()  # the list's label filter shows it at once
        return label

    def update_model(self, form, model):
        try:
            operations.update_label(current_actor(), model, form.name.data, form.colour.data)
        except DossierRefused as refused:
            self.refused(form, refused)
            return False
        forget_options()
        return True

    def delete_model(self, model):
        try:
            operations.delete_label(current_actor(), model)
        except DossierRefused as refused:
            flash(str(refused), "error")
            return False
        forget_options()
        return True
