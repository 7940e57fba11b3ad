"""New versions of a procedure's definition: written from the latest one (checked at the line
before anything is saved), then published for new dossiers. Versions never change once saved:
a correction is a new version, and dossiers keep the version they began with."""

import re
import textwrap

from flask_babel import gettext as _
from peewee import IntegrityError, SqliteDatabase

from models import AuditEvent, ProcedureDefinition, db, write_transaction
from procedures import definition_of
from procedures.definition import (
    DefinitionError,
    Problem,
    load_document,
    parse_definition,
    same_text,
)

TITLE_MAX = ProcedureDefinition.title.max_length
NEW_PROCEDURE_LOCK = 7_301_001  # any number no other advisory lock of Guichet uses
VERSION_LINE = re.compile(r"^(version:[ \t]*)\d+", re.MULTILINE)


class PublishRefused(Exception):
    """The version cannot be published; `str()` says why, in the user's language."""


def versions_of(code):
    return ProcedureDefinition.select().where(ProcedureDefinition.code == code)


def latest_version(code):
    """The highest version of a procedure, published or not."""
    return versions_of(code).order_by(ProcedureDefinition.version.desc()).first()


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
    problems += title_problems(definition, lines)
    return problems


def title_problems(definition, lines):
    if len(definition.title) <= TITLE_MAX:
        return []
    return [
        Problem(
            "title",
            lines.get(("title",)),
            _("le titre dépasse %(max)s caractères", max=TITLE_MAX),
        )
    ]


def new_procedure_problems(definition, text):
    """What keeps a valid definition from starting a procedure of its own: its code or its
    reference prefix is another procedure's (references are numbered per prefix and year), its
    version is not 1, its title does not fit its column."""
    _data, lines = load_document(text)
    problems = []
    if versions_of(definition.code).exists():
        problems.append(
            Problem(
                "code",
                lines.get(("code",)),
                _(
                    "la procédure « %(code)s » existe déjà : changez le code, ou créez une "
                    "nouvelle version de celle-ci depuis la liste",
                    code=definition.code,
                ),
            )
        )
    other = (
        ProcedureDefinition.select(ProcedureDefinition.code)
        .where(
            ProcedureDefinition.reference_prefix == definition.reference_prefix,
            ProcedureDefinition.code != definition.code,
        )
        .first()
    )
    if other is not None:
        problems.append(
            Problem(
                "reference_prefix",
                lines.get(("reference_prefix",)),
                _(
                    "le préfixe « %(prefix)s » est celui de la procédure « %(code)s » : "
                    "choisissez-en un autre",
                    prefix=definition.reference_prefix,
                    code=other.code,
                ),
            )
        )
    if definition.version != 1:
        problems.append(
            Problem(
                "version",
                lines.get(("version",)),
                _("une nouvelle procédure commence à la version 1 : écrivez « version: 1 »"),
            )
        )
    return problems + title_problems(definition, lines)


def save_version(actor, latest, text):
    """Check `text` and save it as the next, unpublished, version, audited; DefinitionError
    (with the problems at their lines) otherwise."""
    definition = parse_definition(text)
    problems = continuity_problems(latest, definition, text)
    if problems:
        raise DefinitionError(problems)
    taken = _(
        "la version %(version)s vient d'être enregistrée par quelqu'un d'autre : "
        "rouvrez « Nouvelle version » pour partir de la plus récente",
        version=definition.version,
    )
    return _saved(actor, definition, text, "definition.save", Problem("version", None, taken))


def save_new_procedure(actor, text):
    """Check `text` and save it as version 1 of a new procedure, unpublished, audited (a new
    procedure needs no deploy); DefinitionError (with the problems at their lines) otherwise."""
    definition = parse_definition(text)
    taken = _(
        "la procédure « %(code)s » vient d'être créée par quelqu'un d'autre",
        code=definition.code,
    )
    with write_transaction():
        one_new_procedure_at_a_time()
        problems = new_procedure_problems(definition, text)
        if problems:
            raise DefinitionError(problems)
        return _saved(actor, definition, text, "definition.create", Problem("code", None, taken))


def one_new_procedure_at_a_time():
    """Two new procedures saved at once are checked one after the other, so that the second
    sees the first's code and prefix: SQLite's write lock does it; PostgreSQL takes a lock held
    until the transaction ends."""
    if not isinstance(db.obj, SqliteDatabase):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (NEW_PROCEDURE_LOCK,))


def _saved(actor, definition, text, action, taken):
    """The new unpublished row of `definition`, audited as `action`; DefinitionError with the
    problem `taken` when another save took its code and version meanwhile."""
    try:
        with write_transaction():
            row = ProcedureDefinition.create(
                code=definition.code,
                version=definition.version,
                title=definition.title,
                reference_prefix=definition.reference_prefix,
                deadline_days=definition.deadline_days,
                yaml_text=text,
                published=False,
            )
            AuditEvent.record(action, actor, row, code=row.code, version=row.version)
    except IntegrityError:
        raise DefinitionError([taken]) from None
    return row


def starter_text():
    """The text a new procedure starts from: valid, to be changed. Its texts are French, the
    language a definition is written in when it declares no `languages:`; its comment is the
    reader's."""
    comment = _(
        "Une nouvelle procédure : changez son code, son titre et le préfixe de ses références, "
        "puis décrivez ses sections, ses champs et ses annexes (format : "
        "docs/PROCEDURE_FORMAT.md)."
    )
    return "\n".join(
        [
            *(f"# {line}" for line in textwrap.wrap(comment, 90)),
            "code: nouvelle-procedure",
            "version: 1",
            "title: Nouvelle procédure",
            "reference_prefix: NOUV",
            "sections:",
            "  - key: demande",
            "    title: Demande",
            "    fields:",
            "      - key: objet",
            "        type: text",
            "        label: Objet de la demande",
            "        required: true",
            "",
        ]
    )


def check_publishable(row):
    """PublishRefused when a newer version is published or `row` is not valid."""
    if newer_published(row):
        raise PublishRefused(
            _(
                "Une version plus récente est déjà publiée : publier celle-ci ne changerait "
                "rien. Créez plutôt une nouvelle version."
            )
        )
    try:
        definition_of(row)
    except DefinitionError:
        raise PublishRefused(
            _("Cette version n'est pas valide et ne peut pas être publiée.")
        ) from None


def publish(actor, row):
    """Make `row` the version new dossiers take, audited; True if this call published it
    (False when a concurrent publisher did first)."""
    check_publishable(row)
    with write_transaction():
        done = row.publish()
        if done:
            AuditEvent.record("definition.publish", actor, row, code=row.code, version=row.version)
    return done
