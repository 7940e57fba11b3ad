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


def test_upgrade_folds_the_names_of_existing_companies_and_persons(tmp_path):
    """A database at 002 with a company and a person, upgraded: 003 fills their search names."""
    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            database.router().run("002_dossier_list_indexes")
            models.db.execute_sql(
                "INSERT INTO company (enterprise_number, name, register_data, created_at) "
                "VALUES ('0123456749', 'Agence Liège Intérim', '{}', '2026-01-01')"
            )
            models.db.execute_sql(
                "INSERT INTO person (national_number, surname, given_name, language, "
                "notifications_opt_out, created_at) "
                "VALUES ('85031200123', 'Dœuf', 'Zoé', 'fr', 0, '2026-01-01')"
            )
            database.apply_migrations()
            [(name,)] = models.db.execute_sql("SELECT search_name FROM company").fetchall()
            [(person,)] = models.db.execute_sql("SELECT search_name FROM person").fetchall()
        assert name == "agence liege interim" and person == "zoe dœuf"
    finally:
        models.db.initialize(previous)


def test_upgrade_puts_existing_annexes_in_quarantine(tmp_path):
    """A database at 008 with an annex, upgraded: 010 marks it pending, so the periodic scan
    looks at it before anyone opens it."""
    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            database.router().run("008_outbox_claimed_by")
            models.db.execute_sql("PRAGMA foreign_keys = OFF")  # an annex row alone will do
            models.db.execute_sql(
                "INSERT INTO annex (dossier_id, requirement, original_name, storage_key, sha256, "
                "size, pages, uploaded_by_id, uploaded_at, frozen) VALUES (1, 'proof', "
                "'preuve.pdf', '0123456789abcdef0123456789abcdef', '', 1, 1, 1, "
                "'2026-01-01', 0)"
            )
            database.apply_migrations()
            rows = models.db.execute_sql("SELECT scan_status, scanned_at FROM annex").fetchall()
        assert rows == [("pending", None)]
    finally:
        models.db.initialize(previous)


def test_upgrade_counts_the_dossiers_already_there(tmp_path):
    """A database at 011 with three dossiers, upgraded: 013 fills the kept counts from them."""
    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            database.router().run("011_retention")
            models.db.execute_sql("PRAGMA foreign_keys = OFF")  # dossier rows alone will do
            for status in ("draft", "submitted", "submitted"):
                models.db.execute_sql(
                    "INSERT INTO dossier (company_id, definition_id, status, answers, "
                    "created_by_id, archived, created_at, updated_at) "
                    "VALUES (1, 1, ?, '{}', 1, 0, '2026-01-01', '2026-01-01')",
                    (status,),
                )
            database.apply_migrations()
            assert models.DossierCount.kept() == {(1, "draft"): 1, (1, "submitted"): 2}
    finally:
        models.db.initialize(previous)


def test_upgrade_indexes_the_names_already_there_for_the_search(tmp_path):
    """A database at 013 with a company, upgraded: 014's trigram table finds it by a piece of
    its folded name, and keeps up with a rename."""
    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            database.router().run("013_dossier_counts")
            models.db.execute_sql(
                "INSERT INTO company (enterprise_number, name, search_name, register_data, "
                "created_at) VALUES ('0123456749', 'Agence Liège', 'agence liege', '{}', "
                "'2026-01-01')"
            )
            database.apply_migrations()
            find = "SELECT rowid FROM company_search WHERE search_name LIKE ?"
            assert models.db.execute_sql(find, ("%ence lie%",)).fetchall() == [(1,)]
            models.db.execute_sql("UPDATE company SET search_name = 'bureau namur' WHERE id = 1")
            assert models.db.execute_sql(find, ("%lie%",)).fetchall() == []
            assert models.db.execute_sql(find, ("%namu%",)).fetchall() == [(1,)]
    finally:
        models.db.initialize(previous)


def test_upgrade_copies_the_sort_keys_of_the_dossiers_already_there(tmp_path):
    """A database at 016 with an assigned and an unassigned dossier, upgraded: 018 copies the
    procedure's title and the agent's name the list sorts by."""
    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            database.router().run("016_exports")
            models.db.execute_sql("PRAGMA foreign_keys = OFF")  # no company nor person needed
            models.db.execute_sql(
                "INSERT INTO procedure_definition (id, code, version, title, reference_prefix, "
                "yaml_text, published, created_at) VALUES (7, 'agrement', 1, "
                "'Agrément d''agence', 'AGR', '', 1, '2026-01-01')"
            )
            models.db.execute_sql(
                "INSERT INTO staff_user (id, email, full_name, role, password_hash, "
                "failed_logins, active, created_at, language, language_chosen) VALUES "
                "(3, 'a@guichet.test', 'Agent Zoé', 'agent', 'x', 0, 1, '2026-01-01', 'fr', 0)"
            )
            for agent in (3, None):
                models.db.execute_sql(
                    "INSERT INTO dossier (company_id, definition_id, status, answers, "
                    "created_by_id, assigned_to_id, archived, created_at, updated_at) "
                    "VALUES (1, 7, 'submitted', '{}', 1, ?, 0, '2026-01-01', '2026-01-01')",
                    (agent,),
                )
            database.apply_migrations()
            rows = models.db.execute_sql(
                "SELECT procedure_title, agent_name FROM dossier ORDER BY id"
            ).fetchall()
        assert rows == [("Agrément d'agence", "Agent Zoé"), ("Agrément d'agence", None)]
    finally:
        models.db.initialize(previous)
