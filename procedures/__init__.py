"""Procedures as data: YAML definitions checked against a JSON Schema, their versions in the
database, and the form engine that reads them (definition, fields, logic, engine, prefill)."""

import logging
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import click
from flask import g, has_app_context
from flask.cli import AppGroup
from flask_babel import get_locale
from peewee import DatabaseError

from languages import operator_command
from models import ProcedureDefinition, db, utcnow
from procedures.definition import DefinitionError, parse_definition, same_text

log = logging.getLogger(__name__)

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


@lru_cache(maxsize=1024)
def _parsed(text, language=None):
    return parse_definition(text, language)


def current_language():
    """The language of the page, email or PDF being made (`force_locale` included); None
    outside a request or task."""
    locale = get_locale()
    return locale.language if locale is not None else None


def definition_of(row, lang=None):
    """The parsed definition of a ProcedureDefinition row with its texts in `lang` (default:
    the current language; the definition's source language when it is not written in it).
    Cached per text and language: versions never change."""
    return _parsed(row.yaml_text, lang or current_language())


def title_of(row, lang=None):
    """The title of a procedure version in `lang` (default: the current language), from its
    definition. A row read without its text (a list that selects a few columns) has it read
    once per request."""
    text = row.__data__.get("yaml_text")
    if text is None and row.id is not None:
        memo = g.setdefault("_procedure_texts", {}) if has_app_context() else {}
        if row.id not in memo:
            memo[row.id] = (
                ProcedureDefinition.select(ProcedureDefinition.yaml_text)
                .where(ProcedureDefinition.id == row.id)
                .scalar()
            )
        text = memo[row.id]
    if text is None:
        return row.title
    try:
        return _parsed(text, lang or current_language()).title
    except DefinitionError:  # a draft version saved before a check was added
        return row.title


def builtin_files():
    return sorted(DEFINITIONS_DIR.glob("*.yaml"))


def sync_builtin():
    """Create the shipped versions that the database does not have yet; returns them.

    Every file is checked first: one invalid file stops the start with its errors."""
    parsed = [_parsed(path.read_text(encoding="utf-8")) for path in builtin_files()]
    created = []
    with db.atomic():
        for d in parsed:
            exists = ProcedureDefinition.get_or_none(
                ProcedureDefinition.code == d.code, ProcedureDefinition.version == d.version
            )
            if exists is not None and not same_text(exists.yaml_text, d.text):
                log.warning(
                    "the shipped definition %s version %s differs from the one the database "
                    "holds, which stays: a change ships as a new version",
                    d.code,
                    d.version,
                )
            if exists is None:
                created.append(
                    ProcedureDefinition.create(
                        code=d.code,
                        version=d.version,
                        title=d.title,
                        reference_prefix=d.reference_prefix,
                        deadline_days=d.deadline_days,
                        yaml_text=d.text,
                        published=True,
                        published_at=utcnow(),
                    )
                )
    return created


def check_files(paths):
    """(path, Definition or DefinitionError) for each file."""
    results = []
    for path in paths:
        try:
            results.append((path, _parsed(Path(path).read_text(encoding="utf-8"))))
        except DefinitionError as exc:
            results.append((path, exc))
    return results


def init_app(app):
    # The shipped definitions are checked at start-up: a broken file stops the start, with
    # each problem's path and line.
    for path, result in check_files(builtin_files()):
        if isinstance(result, DefinitionError):
            raise DefinitionError(
                [replace(p, path=f"{path.name}: {p.path}") for p in result.problems]
            )
    app.add_template_filter(title_of, "procedure_title")
    group = AppGroup("procedures", help="Procedure definitions.")

    @group.command("sync")
    def sync_command():
        """Load the shipped definitions that the database does not have yet."""
        created = sync_builtin()
        for d in created:
            click.echo(f"+ {d.code} v{d.version}")
        click.echo(f"{len(created)} definition(s) added.")

    @group.command("check")
    @click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
    @operator_command
    def check_command(files):
        """Validate definition files (default: the shipped ones) and list procedures."""
        failed = False
        for path, result in check_files(files or builtin_files()):
            if isinstance(result, DefinitionError):
                failed = True
                click.echo(f"✗ {path}")
                for problem in result.problems:
                    click.echo(f"    {problem}")
            else:
                click.echo(f"✓ {path}: {result.code} v{result.version} — {result.title}")
        try:
            with db.connection_context():
                for row in ProcedureDefinition.select().order_by(
                    ProcedureDefinition.code, ProcedureDefinition.version
                ):
                    state = "published" if row.published else "draft"
                    click.echo(f"  in the database: {row.code} v{row.version} ({state})")
        except DatabaseError:
            click.echo("  (no database to list: run `flask migrate` first)")
        if failed:
            raise SystemExit(1)

    app.cli.add_command(group)
