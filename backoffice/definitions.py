"""Form definitions in the back-office (administrators): list the versions, write a new one
from the latest YAML (checked at the line before anything is saved), preview it as applicants
will meet it, publish it. Versions never change once saved: a correction is a new version."""

import re

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_admin.model.template import EndpointLinkRowAction, LinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from peewee import IntegrityError, fn
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from backoffice.access import StaffModelView, audit
from backoffice.columns import datetime_column
from backoffice.preview import ConditionText, source_label, start_role_label, type_label
from models import ProcedureDefinition, StaffRole, write_transaction
from procedures import definition_of
from procedures.definition import DefinitionError, Problem, load_document, parse_definition

MAX_YAML_CHARS = 200_000
TITLE_MAX = ProcedureDefinition.title.max_length
VERSION_LINE = re.compile(r"^(version:[ \t]*)\d+", re.MULTILINE)


class DefinitionForm(FlaskForm):
    yaml_text = TextAreaField(
        _l("Définition (YAML)"), validators=[DataRequired(), Length(max=MAX_YAML_CHARS)]
    )


def latest_version(code):
    """The highest version of a procedure, published or not."""
    return (
        ProcedureDefinition.select()
        .where(ProcedureDefinition.code == code)
        .order_by(ProcedureDefinition.version.desc())
        .first()
    )


def newer_published(row):
    return (
        ProcedureDefinition.select()
        .where(
            ProcedureDefinition.code == row.code,
            ProcedureDefinition.published == True,  # noqa: E712
            ProcedureDefinition.version > row.version,
        )
        .exists()
    )


def same_text(a, b):
    """Equal but for line endings and trailing blanks."""

    def norm(text):
        return [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]

    return norm(a) == norm(b)


def with_version(text, version):
    """The YAML with its top-level `version:` set to `version` (comments and layout kept)."""
    return VERSION_LINE.sub(lambda m: f"{m.group(1)}{version}", text, count=1)


def continuity_problems(latest, definition, text):
    """What keeps a valid definition from following `latest`: the code and the reference prefix
    stay, the version is the next number, the title fits its column."""
    _data, lines = load_document(text)
    problems = []
    if same_text(with_version(text, latest.version), latest.yaml_text):
        problems.append(
            Problem(
                "",
                None,
                _(
                    "ce texte est identique à la version %(version)s : changez-le avant de "
                    "l'enregistrer comme nouvelle version",
                    version=latest.version,
                ),
            )
        )
    if definition.code != latest.code:
        problems.append(
            Problem(
                "code",
                lines.get(("code",)),
                _(
                    "le code ne change pas d'une version à l'autre : gardez « %(code)s » "
                    "(une autre procédure ne se crée pas ici)",
                    code=latest.code,
                ),
            )
        )
    if definition.reference_prefix != latest.reference_prefix:
        problems.append(
            Problem(
                "reference_prefix",
                lines.get(("reference_prefix",)),
                _(
                    "le préfixe des références ne change pas d'une version à l'autre : "
                    "gardez « %(prefix)s »",
                    prefix=latest.reference_prefix,
                ),
            )
        )
    if definition.version != latest.version + 1:
        problems.append(
            Problem(
                "version",
                lines.get(("version",)),
                _(
                    "la nouvelle version porte le numéro %(next)s (la dernière est la "
                    "%(last)s) : écrivez « version: %(next)s »",
                    next=latest.version + 1,
                    last=latest.version,
                ),
            )
        )
    if len(definition.title) > TITLE_MAX:
        problems.append(
            Problem(
                "title",
                lines.get(("title",)),
                _("le titre dépasse %(max)s caractères", max=TITLE_MAX),
            )
        )
    return problems


def save_version(latest, text):
    """Check `text` and save it as the next, unpublished, version; DefinitionError otherwise."""
    definition = parse_definition(text)
    problems = continuity_problems(latest, definition, text)
    if problems:
        raise DefinitionError(problems)
    try:
        with write_transaction():
            row = ProcedureDefinition.create(
                code=definition.code,
                version=definition.version,
                title=definition.title,
                reference_prefix=definition.reference_prefix,
                yaml_text=text,
                published=False,
            )
            audit("definition.save", row, code=row.code, version=row.version)
    except IntegrityError:
        raise DefinitionError(
            [
                Problem(
                    "version",
                    None,
                    _(
                        "la version %(version)s vient d'être enregistrée par quelqu'un d'autre : "
                        "rouvrez « Nouvelle version » pour partir de la plus récente",
                        version=definition.version,
                    ),
                )
            ]
        ) from None
    return row


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
        latest = latest_version(code) or abort(404)
        form = DefinitionForm()
        problems = []
        if request.method == "GET":
            form.yaml_text.data = with_version(latest.yaml_text, latest.version + 1)
        elif form.validate_on_submit():
            text = form.yaml_text.data.replace("\r\n", "\n")
            try:
                row = save_version(latest, text)
            except DefinitionError as exc:
                problems = exc.problems
            else:
                flash(
                    _(
                        "Version %(version)s de « %(title)s » enregistrée, non publiée. "
                        "Vérifiez-la ici, puis publiez-la.",
                        version=row.version,
                        title=row.title,
                    ),
                    "success",
                )
                return redirect(url_for(".preview_view", id=row.id))
        source_lines = (form.yaml_text.data or "").replace("\r\n", "\n").split("\n")
        return self.render(
            "backoffice/definition_edit.html",
            form=form,
            latest=latest,
            next_version=latest.version + 1,
            problems=problems,
            source_lines=source_lines,
        )

    @expose("/preview/<int:id>")
    def preview_view(self, id):
        row = self.load(id)
        newer = newer_published(row)
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
            type_label=type_label,
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
        if newer_published(row):
            flash(
                _(
                    "Une version plus récente est déjà publiée : publier celle-ci ne changerait "
                    "rien. Créez plutôt une nouvelle version."
                ),
                "error",
            )
            return redirect(back)
        try:
            definition_of(row)
        except DefinitionError:
            flash(_("Cette version n'est pas valide et ne peut pas être publiée."), "error")
            return redirect(back)
        if request.method == "POST":
            with write_transaction():
                if row.publish():
                    audit("definition.publish", row, code=row.code, version=row.version)
            flash(
                _(
                    "Version %(version)s de « %(title)s » publiée : les nouveaux dossiers "
                    "l'utilisent ; les dossiers existants gardent leur version.",
                    version=row.version,
                    title=row.title,
                ),
                "success",
            )
            return redirect(url_for(".index_view"))
        return self.render(
            "backoffice/confirm.html",
            title=_(
                "Publier la version %(version)s de « %(title)s » ?",
                version=row.version,
                title=row.title,
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
