"""Groups of agents in the back-office (supervisors and administrators), at /admin/groups/: the
list with each group's code, members and whether it is the default group; "Nouveau groupe" and
"Modifier", whose changes go through `dossiers.groups`, which audits them. The dossier page's
"Changer de groupe" form is here too (MoveForm)."""

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column, forget_options, yes_no_column
from dossiers import groups as operations
from dossiers.processing import MAX_TEXT, agents
from models import StaffGroup, StaffGroupMember, StaffUser


class GroupForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=operations.NAME_MAX)])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    members = SelectMultipleField(
        _l("Membres"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    is_default = BooleanField(_l("Groupe par défaut"))

    def fill_choices(self):
        self.members.choices = [
            SelectChoice(s.id, f"{s.full_name} ({s.staff_role.label})") for s in agents()
        ]
        return self


class MoveForm(FlaskForm):
    group = SelectField(_l("Nouveau groupe"), coerce=int)
    reason = TextAreaField(
        _l("Raison du changement de groupe"),
        validators=[
            DataRequired(message=_l("Indiquez la raison.")),
            Length(max=MAX_TEXT, message=_l("%(max)d caractères au plus.")),
        ],
    )

    @classmethod
    def for_dossier(cls, dossier):
        form = cls()
        form.group.choices = [
            SelectChoice(g.id, g.name) for g in operations.groups() if g.id != dossier.group_id
        ]
        return form


def members_column(view, context, model, name):
    names = (
        StaffUser.select(StaffUser.full_name)
        .join(StaffGroupMember, on=StaffGroupMember.staff == StaffUser.id)
        .where(StaffGroupMember.group == model.id)
        .order_by(StaffUser.full_name)
    )
    return ", ".join(s.full_name for s in names)


class GroupView(StaffModelView):
    allowed_roles = operations.MANAGER_ROLES
    can_create = True  # through `create_view` and `edit_view` below (dossiers.groups)
    can_edit = True
    column_list = ("name", "code", "is_default", "members", "created_at")
    column_labels = {
        "name": _l("Nom"),
        "code": _l("Code"),
        "is_default": _l("Par défaut"),
        "members": _l("Membres"),
        "created_at": _l("Créé le"),
    }
    column_default_sort = [("name", False)]
    column_sortable_list = ("name", "code")
    column_formatters = {
        "is_default": yes_no_column,
        "members": members_column,
        "created_at": datetime_column,
    }

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        return self.group_form(None)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        group = StaffGroup.get_or_none(StaffGroup.id == request.args.get("id", type=int))
        return self.group_form(group or abort(404))

    def group_form(self, group):
        form = GroupForm(obj=group).fill_choices()
        if group is not None and not form.is_submitted():
            form.members.data = operations.member_ids(group)
        if form.validate_on_submit():
            try:
                saved = operations.save_group(
                    current_actor(),
                    group,
                    form.name.data,
                    form.code.data,
                    form.members.data,
                    form.is_default.data,
                )
            except operations.GroupRefused as refused:
                field = getattr(form, refused.field or "name", form.name)
                field.errors = [*field.errors, str(refused)]
            else:
                forget_options()
                flash(_("Le groupe « %(name)s » est enregistré.", name=saved.name), "success")
                return redirect(self.get_url(".index_view"))
        return self.render("backoffice/group_form.html", form=form, group=group)
