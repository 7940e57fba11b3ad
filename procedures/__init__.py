"""Procedures as data: the YAML definitions shipped with Guichet and their sync into the database.

The form engine (fields, conditions, annexes) reads the same files; see issue #4.
"""

from pathlib import Path

import click
import yaml

from models import ProcedureDefinition, db, utcnow

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


def builtin_definitions():
    """(parsed document, YAML text) for every shipped definition, in file-name order."""
    for path in sorted(DEFINITIONS_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        yield yaml.safe_load(text), text


def sync_builtin():
    """Create the shipped versions that the database does not have yet; returns them."""
    created = []
    with db.atomic():
        for doc, text in builtin_definitions():
            exists = ProcedureDefinition.get_or_none(
                ProcedureDefinition.code == doc["code"],
                ProcedureDefinition.version == doc["version"],
            )
            if exists is None:
                created.append(
                    ProcedureDefinition.create(
                        code=doc["code"],
                        version=doc["version"],
                        title=doc["title"],
                        reference_prefix=doc["reference_prefix"],
                        yaml_text=text,
                        published=True,
                        published_at=utcnow(),
                    )
                )
    return created


def init_app(app):
    group = click.Group("procedures", help="Procedure definitions.")

    @group.command("sync")
    def sync_command():
        """Load the shipped definitions that the database does not have yet."""
        created = sync_builtin()
        for d in created:
            click.echo(f"+ {d.code} v{d.version}")
        click.echo(f"{len(created)} definition(s) added.")

    app.cli.add_command(group)
