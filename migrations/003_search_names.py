"""Peewee migrations -- 003_search_names.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

import unicodedata
from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    
    migrator.add_fields(
        'company',

        search_name=pw.CharField(default='', index=True, max_length=300))

    migrator.add_fields(
        'person',

        search_name=pw.CharField(default='', index=True, max_length=401))

    def fold(text):  # models.fold, as it was when this migration was written
        decomposed = unicodedata.normalize("NFKD", text or "")
        return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()

    def fill_search_names():
        """The folded names of the companies and persons already there."""
        company, person = migrator.orm['company'], migrator.orm['person']
        for row in company.select(company.id, company.name):
            company.update(search_name=fold(row.name)).where(company.id == row.id).execute()
        for row in person.select(person.id, person.given_name, person.surname):
            full = f"{row.given_name} {row.surname}"
            person.update(search_name=fold(full)).where(person.id == row.id).execute()

    migrator.run(fill_search_names)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_fields('person', 'search_name')

    migrator.remove_fields('company', 'search_name')
