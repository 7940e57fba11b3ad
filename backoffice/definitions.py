"""Form definitions in the back-office (administrators): list the versions, write a new one
from the latest YAML (checked at the line before anything is saved), preview it as applicants
will meet it, publish it. Versions never change once saved: a correction is a new version."""

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_admin.model.template import EndpointLinkRowAction, LinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column, forget_options
from backoffice.preview import ConditionText, source_label, start_role_label
from models import ProcedureDefinition, StaffRole
from procedures import definition_of, title_of, versions
from procedures.definition import DefinitionError

MAX_YAML_CHARS = 200_000


class DefinitionForm(FlaskForm):
    yaml_text = TextAreaField(
        _l("Définition (YAML)"), validators=[DataRequired(), Length(max=MAX_YAML_CHARS)]
    )


def in_force():
    """{code: version} of the published version that new dossiers take, once per request."""
    if "definitions_in_force" not in g:
        g.definitions_in_force = dict(
            ProcedureDefinition.select(
                ProcedureDefinition.code, fn.MAX(ProcedureDefinition.version)
            )
            .where(ProcedureDefinition.published == True)  # noqa: E712
            .group_by(ProcedureDefinition.code)
            .tuples()
        )
    return g.definitions_in_force


def published_column(view, context, model, name):
    if not model.published:
        return _("non")
    if in_force().get(model.code) == model.version:
        return _("oui — en vigueur")
    return _("oui — remplacée")


def new_version_url(action, row_id, row):
    return url_for(".new_version_view", code=row.code)


class DefinitionView(StaffModelView):
    allowed_roles = frozenset({StaffRole.ADMIN})
    can_create = True  # through `create_view` below (procedures.versions.save_new_procedure)
    column_list = ("code", "version", "title", "published", "published_at", "created_at")
    column_labels = {
        "code": _l("Code"),
        "version": _l("Version"),
        "title": _l("Titre"),
        "published": _l("Publiée"),
        "published_at": _l("Publiée le"),
        "created_at": _l("Enregistrée le"),
    }
    column_default_sort = [("created_at", True), ("id", True)]
    column_sortable_list = ("code", "version", "published_at", "created_at")
    column_searchable_list = (ProcedureDefinition.code, ProcedureDefinition.title)
    column_filters = (
        FilterEqual(ProcedureDefinition.code, _l("Code")),
        ProcedureDefinition.published,
    )
    column_formatters = {
        "published": published_column,
        "published_at": datetime_column,
        "created_at": datetime_column,
    }
    column_extra_row_actions = [
        EndpointLinkRowAction("fa fa-eye", ".preview_view", _l("Prévisualiser")),
        LinkRowAction("fa fa-plus", new_version_url, _l("Nouvelle version")),
    ]

    def search_placeholder(self):
        return _("Code ou titre")

    def load(self, id):
        return ProcedureDefinition.get_or_none(ProcedureDefinition.id == id) or abort(404)

    @expose("/new-version/<code>", methods=("GET", "POST"))
    def new_version_view(self, code):
        latest = versions.latest_version(code) or abort(404)
        intro = [
            _(
                "Procédure %(code)s, préfixe des références %(prefix)s. Le texte part de la "
                "version %(last)s, la plus récente ; il sera enregistré comme version %(next)s, "
                "non publiée.",
                code=latest.code,
                prefix=latest.reference_prefix,
                last=latest.version,
                next=latest.version + 1,
            ),
            _(
                "Le code et le préfixe ne changent pas ; « version: » doit valoir %(next)s.",
                next=latest.version + 1,
            ),
        ]
        return self.editor(
            versions.with_version(latest.yaml_text, latest.version + 1),
            lambda actor, text: versions.save_version(actor, latest, text),
            lambda row: _(
                "Version %(version)s de « %(title)s » enregistrée, non publiée. "
                "Vérifiez-la ici, puis publiez-la.",
                version=row.version,
                title=title_of(row),
            ),
            _("Nouvelle version de « %(title)s »", title=title_of(latest)),
            intro,
        )

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """A new procedure, written in YAML and saved as its unpublished version 1: no deploy."""
        intro = [
            _(
                "Le texte est enregistré comme version 1 de la nouvelle procédure, non publiée : "
                "vérifiez-la, puis publiez-la pour que les entreprises puissent la commencer."
            ),
            _(
                "Son code et le préfixe de ses références ne peuvent être ceux d'aucune autre "
                "procédure."
            ),
        ]
        return self.editor(
            versions.starter_text(),
            versions.save_new_procedure,
            lambda row: _(
                "Procédure « %(title)s » enregistrée (version 1, non publiée). "
                "Vérifiez-la ici, puis publiez-la.",
                title=title_of(row),
            ),
            _("Nouvelle procédure"),
            intro,
        )

    def editor(self, start_text, save, saved_message, heading, intro):
        """The YAML editor: `start_text` first; a posted text given to `save` (actor, text),
        its problems shown at their lines with the text kept, else its preview, flashed with
        `saved_message(row)`."""
        form = DefinitionForm()
        problems = []
        if request.method == "GET":
            form.yaml_text.data = start_text
        elif form.validate_on_submit():
            text = form.yaml_text.data.replace("\r\n", "\n")
            try:
                row = save(current_actor(), text)
                forget_options()  # the lists' procedure filter shows it now
            except DefinitionError as exc:
                problems = exc.problems
            else:
                flash(saved_message(row), "success")
                return redirect(url_for(".preview_view", id=row.id))
        source_lines = (form.yaml_text.data or "").replace("\r\n", "\n").split("\n")
        return self.render(
            "backoffice/definition_edit.html",
            form=form,
            heading=heading,
            intro=intro,
            action=request.path,
            problems=problems,
            source_lines=source_lines,
        )

    @expose("/preview/<int:id>")
    def preview_view(self, id):
        row = self.load(id)
        newer = versions.newer_published(row)
        try:
            definition, problems = definition_of(row), []
        except DefinitionError as exc:
            definition, problems = None, exc.problems
        return self.render(
            "backoffice/definition_preview.html",
            row=row,
            definition=definition,
            problems=problems,
            condition=ConditionText(definition) if definition else None,
            source_label=source_label,
            start_role_label=start_role_label,
            can_publish=definition is not None and not row.published and not newer,
            newer_published=newer,
        )

    @expose("/publish/<int:id>", methods=("GET", "POST"))
    def publish_view(self, id):
        row = self.load(id)
        back = url_for(".preview_view", id=row.id)
        if row.published:
            flash(_("Cette version est déjà publiée."), "info")
            return redirect(back)
        try:
            versions.check_publishable(row)
            if request.method == "POST":  # the token is checked app-wide
                versions.publish(current_actor(), row)
                forget_options()
        except versions.PublishRefused as refused:
            flash(str(refused), "error")
            return redirect(back)
        if request.method == "POST":
            flash(
                _(
                    "Version %(version)s de « %(title)s » publiée : les nouveaux dossiers "
                    "l'utilisent ; les dossiers existants gardent leur version.",
                    version=row.version,
                    title=title_of(row),
                ),
                "success",
            )
            return redirect(url_for(".index_view"))
        return self.render(
            "backoffice/confirm.html",
            title=_(
                "Publier la version %(version)s de « %(title)s » ?",
                version=row.version,
                title=title_of(row),
            ),
            explanations=[
                _("Les nouveaux dossiers de cette procédure utiliseront cette version."),
                _("Les dossiers déjà commencés gardent la version avec laquelle ils ont débuté."),
                _(
                    "Une version publiée ne se modifie plus : une correction sera une nouvelle "
                    "version."
                ),
            ],
            action_url=url_for(".publish_view", id=row.id),
            button=_("Publier"),
            cancel_url=back,
        )
