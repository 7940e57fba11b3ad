"""The schema comes from the migrations, and the migrations match models.py."""

from peewee_migrate.auto import diff_many

import database
import models


def test_migrations_match_models(app):
    router = database.router()
    assert router.diff == [], "every migration is applied by the fixture"
    migrator = router.migrator
    pending = diff_many(list(models.ALL_MODELS), list(migrator.orm), migrator)
    assert pending == [], "models.py changed: run `flask --app run makemigration NAME`"


def test_migrate_command_is_idempotent(runner):
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    assert "Schema up to date" in result.output


def test_every_table_exists(app):
    tables = set(models.db.get_tables())
    assert {m._meta.table_name for m in models.ALL_MODELS} <= tables
