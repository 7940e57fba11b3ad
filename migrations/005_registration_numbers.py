"""Peewee migrations -- 005_registration_numbers.py.

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

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """The registration numbers of granted registrations and approvals (depends on 003 only)."""

    @migrator.create_model
    class RegistrationCounter(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=40)
        year = pw.IntegerField()
        last_number = pw.IntegerField(default=0)

        class Meta:
            table_name = "registration_counter"
            legacy_table_names = False
            indexes = [(('code', 'year'), True)]

    @migrator.create_model
    class RegistrationNumber(pw.Model):
        id = pw.AutoField()
        company = pw.ForeignKeyField(
            column_name='company_id', field='id', model=migrator.orm['company'],
            on_delete='RESTRICT')
        dossier = pw.ForeignKeyField(
            column_name='dossier_id', field='id', model=migrator.orm['dossier'],
            on_delete='RESTRICT', unique=True)
        procedure_code = pw.CharField(max_length=40)
        number = pw.CharField(max_length=32, unique=True)
        granted_at = pw.DateTimeField()

        class Meta:
            table_name = "registration_number"
            legacy_table_names = False


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('registration_number')

    migrator.remove_model('registration_counter')
