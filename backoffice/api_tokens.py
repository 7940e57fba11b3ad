"""The REST API's tokens in the back-office (administrators only): the list with each token's
scope, procedures and last use; "Nouveau jeton", whose secret is shown once, on the page that
answers the form (never in a flash, which would keep it in the session cookie); "Révoquer".
Every change goes through `access.api_tokens`, which audits it."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from access import AccessRefused, api_tokens
from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column
from models import ApiScope, ApiToken, ProcedureDefinition, StaffRole
from procedures import title_of

SCOPE_LABELS = {
    ApiScope.READ: _l("Lecture"),
    ApiScope.PROCESS: _l("Lecture et traitement"),
}


class TokenForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=api_tokens.NAME_MAX)])
    scope = RadioField(
        _l("Portée"),
        choices=[SelectChoice(s.value, label) for s, label in SCOPE_LABELS.items()],
        default=ApiScope.READ.value,
    )
    procedures = SelectMultipleField(_l("Limité aux procédures (aucune : toutes)"), choices=[])

    def fill_choices(self):
        self.procedures.choices = procedure_choices()
        return self


def procedure_choices():
    """Every procedure by the title of its latest version (the tokens' and the webhooks')."""
    titles = {}
    for row in ProcedureDefinition.select().order_by(ProcedureDefinition.version):
        titles[row.code] = title_of(row)
    return [SelectChoice(code, title) for code, title in sorted(titles.items(), key=lambda i: i[1])]


def procedures_column(view, context, model, name):
    return ", ".join(model.procedures) or _("toutes")


def scope_column(view, context, model, name):
    return SCOPE_LABELS.get(ApiScope(model.scope), model.scope)


def state_column(view, context, model, name):
    return _("révoqué") if model.is_revoked else _("actif")


class ApiTokenView(StaffModelView):
    allowed_roles = frozenset({StaffRole.ADMIN})
    can_view_details = True
    details_template = "backoffice/api_token_details.html"
    can_create = True  # through `create_view` below, which shows the secret once
    column_list = (
        "name",
        "prefix",
        "scope",
        "procedures",
        "state",
        "last_used_at",
        "created_by",
        "created_at",
        "revoked_at",
    )
    column_details_list = column_list
    column_labels = {
        "name": _l("Nom"),
        "prefix": _l("Début du jeton"),
        "scope": _l("Portée"),
        "procedures": _l("Procédures"),
        "state": _l("État"),
        "last_used_at": _l("Dernière utilisation"),
        "created_by": _l("Créé par"),
        "created_at": _l("Créé le"),
        "revoked_at": _l("Révoqué le"),
    }
    column_default_sort = [("name", False)]
    column_sortable_list = ("name", "created_at", "last_used_at")
    column_formatters = {
        "procedures": procedures_column,
        "scope": scope_column,
        "state": state_column,
        "created_by": lambda v, c, m, n: m.created_by.full_name if m.created_by_id else _("CLI"),
        **{n: datetime_column for n in ("last_used_at", "created_at", "revoked_at")},
    }

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = TokenForm().fill_choices()
        if form.validate_on_submit():
            try:
                token, secret = api_tokens.create(
                    current_actor(), form.name.data, form.scope.data, form.procedures.data
                )
            except AccessRefused as refused:
                field = getattr(form, refused.field or "name", form.name)
                field.errors = [*field.errors, str(refused)]
            else:
                return self.render("backoffice/api_token_created.html", token=token, secret=secret)
        return self.render("backoffice/api_token_form.html", form=form)

    @expose("/revoke/<int:token_id>", methods=("POST",))
    def revoke_view(self, token_id):
        if not FlaskForm().validate_on_submit():
            abort(400)
        token = ApiToken.get_or_none(ApiToken.id == token_id) or abort(404)
        self.revoke_tokens([token])
        return redirect(url_for(".details_view", id=token_id))

    @action("revoke", _l("Révoquer"), _l("Révoquer les jetons sélectionnés ?"))
    def action_revoke(self, ids):
        self.revoke_tokens(ApiToken.select().where(ApiToken.id.in_([int(i) for i in ids])))
        return redirect(request.referrer or url_for(".index_view"))

    def revoke_tokens(self, tokens):
        for token in tokens:
            if api_tokens.revoke(current_actor(), token):
                flash(_("Le jeton « %(name)s » est révoqué.", name=token.name), "success")
            else:
                flash(_("Le jeton « %(name)s » était déjà révoqué.", name=token.name), "info")
