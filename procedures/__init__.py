"""Procedures as data: YAML definitions checked against a JSON Schema, their versions in the
database, and the form engine that reads them (definition, fields, logic, engine, prefill)."""

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import click

from models import ProcedureDefinition, db, utcnow
from procedures.definition import DefinitionError, parse_definition

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


@lru_cache(maxsize=256)
def _parsed(text):
    return parse_definition(text)


def definition_of(row):
    """The parsed definition of a ProcedureDefinition row (cached: versions never change)."""
    return _parsed(row.yaml_text)


def title_of(row):
    """The procedure's title in the current language."""
    return definition_of(row).title


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
            if exists is None:
                created.append(
                    ProcedureDefinition.create(
                        code=d.code,
                        version=d.version,
                        title=d.title,
                        reference_prefix=d.reference_prefix,
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
    group = click.Group("procedures", help="Procedure definitions.")

    @group.command("sync")
    def sync_command():
        """Load the shipped definitions that the database does not have yet."""
        created = sync_builtin()
        for d in created:
            click.echo(f"+ {d.code} v{d.version}")
        click.echo(f"{len(created)} definition(s) added.")

    @group.command("check")
    @click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
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
        with db.connection_context():
            for row in ProcedureDefinition.select().order_by(
                ProcedureDefinition.code, ProcedureDefinition.version
            ):
                state = "publiée" if row.published else "brouillon"
                click.echo(f"  en base : {row.code} v{row.version} ({state})")
        if failed:
            raise SystemExit(1)

    app.cli.add_command(group)
