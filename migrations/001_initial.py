"""Peewee migrations -- 001_initial.py.

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
    """Write your migrations here."""
    
    @migrator.create_model
    class Company(pw.Model):
        id = pw.AutoField()
        enterprise_number = pw.CharField(max_length=10, unique=True)
        name = pw.CharField(index=True, max_length=300)
        legal_form = pw.CharField(max_length=10, null=True)
        legal_form_label = pw.CharField(max_length=200, null=True)
        legal_situation = pw.CharField(max_length=200, null=True)
        start_date = pw.DateField(null=True)
        register_data = pw.TextField()
        activated_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "company"
            legacy_table_names = False

    @migrator.create_model
    class ProcedureDefinition(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=64)
        version = pw.IntegerField()
        title = pw.CharField(max_length=300)
        reference_prefix = pw.CharField(max_length=8)
        yaml_text = pw.TextField()
        published = pw.BooleanField(default=False)
        published_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "procedure_definition"
            legacy_table_names = False
            indexes = [(('code', 'version'), True)]

    @migrator.create_model
    class Person(pw.Model):
        id = pw.AutoField()
        national_number = pw.CharField(max_length=11, unique=True)
        surname = pw.CharField(max_length=200)
        given_name = pw.CharField(max_length=200)
        login_email = pw.CharField(max_length=254, null=True)
        language = pw.CharField(default='fr', max_length=2)
        notifications_opt_out = pw.BooleanField(default=False)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "person"
            legacy_table_names = False

    @migrator.create_model
    class StaffUser(pw.Model):
        id = pw.AutoField()
        email = pw.CharField(max_length=254, unique=True)
        full_name = pw.CharField(max_length=200)
        role = pw.CharField(max_length=20)
        password_hash = pw.CharField(max_length=255)
        totp_secret = pw.CharField(max_length=64, null=True)
        failed_logins = pw.IntegerField(default=0)
        locked_until = pw.DateTimeField(null=True)
        active = pw.BooleanField(default=True)
        created_at = pw.DateTimeField()
        last_login_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "staff_user"
            legacy_table_names = False

    @migrator.create_model
    class Dossier(pw.Model):
        id = pw.AutoField()
        company = pw.ForeignKeyField(column_name='company_id', field='id', model=migrator.orm['company'], on_delete='RESTRICT')
        definition = pw.ForeignKeyField(column_name='definition_id', field='id', model=migrator.orm['procedure_definition'], on_delete='RESTRICT')
        status = pw.CharField(default='draft', max_length=20)
        answers = pw.TextField()
        reference = pw.CharField(max_length=32, null=True, unique=True)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['person'], on_delete='RESTRICT')
        submitted_by = pw.ForeignKeyField(column_name='submitted_by_id', field='id', model=migrator.orm['person'], null=True, on_delete='RESTRICT')
        assigned_to = pw.ForeignKeyField(column_name='assigned_to_id', field='id', model=migrator.orm['staff_user'], null=True, on_delete='SET NULL')
        decision = pw.CharField(max_length=20, null=True)
        archived = pw.BooleanField(default=False)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        submitted_at = pw.DateTimeField(null=True)
        closed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "dossier"
            legacy_table_names = False
            constraints = [
                pw.Check(
                    "status in ('draft','complete','submitted','received','processing','closed')"
                )
            ]
            indexes = [(('company', 'archived', 'updated_at'), False), (('status', 'submitted_at'), False), (('assigned_to', 'status'), False), (('definition', 'status'), False)]

    @migrator.create_model
    class Message(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(column_name='dossier_id', field='id', model=migrator.orm['dossier'], on_delete='CASCADE')
        direction = pw.CharField(max_length=20)
        author_person = pw.ForeignKeyField(column_name='author_person_id', field='id', model=migrator.orm['person'], null=True, on_delete='SET NULL')
        author_staff = pw.ForeignKeyField(column_name='author_staff_id', field='id', model=migrator.orm['staff_user'], null=True, on_delete='SET NULL')
        body = pw.TextField()
        is_complement_request = pw.BooleanField(default=False)
        requested_annexes = pw.TextField()
        in_reply_to = pw.ForeignKeyField(column_name='in_reply_to_id', field='id', model='self', null=True, on_delete='SET NULL')
        answered_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "message"
            legacy_table_names = False
            indexes = [(('dossier', 'created_at'), False)]

    @migrator.create_model
    class Annex(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(column_name='dossier_id', field='id', model=migrator.orm['dossier'], on_delete='CASCADE')
        requirement = pw.CharField(max_length=64)
        original_name = pw.CharField(max_length=255)
        storage_key = pw.CharField(max_length=128)
        sha256 = pw.CharField(max_length=64)
        size = pw.IntegerField()
        pages = pw.IntegerField()
        uploaded_by = pw.ForeignKeyField(column_name='uploaded_by_id', field='id', model=migrator.orm['person'], on_delete='RESTRICT')
        uploaded_at = pw.DateTimeField()
        frozen = pw.BooleanField(default=False)
        message = pw.ForeignKeyField(column_name='message_id', field='id', model=migrator.orm['message'], null=True, on_delete='SET NULL')

        class Meta:
            table_name = "annex"
            legacy_table_names = False
            indexes = [(('dossier', 'requirement'), False)]

    @migrator.create_model
    class AuditEvent(pw.Model):
        id = pw.AutoField()
        actor_kind = pw.CharField(max_length=20)
        actor_person = pw.ForeignKeyField(column_name='actor_person_id', field='id', model=migrator.orm['person'], null=True, on_delete='SET NULL')
        actor_staff = pw.ForeignKeyField(column_name='actor_staff_id', field='id', model=migrator.orm['staff_user'], null=True, on_delete='SET NULL')
        action = pw.CharField(index=True, max_length=64)
        target_type = pw.CharField(max_length=40, null=True)
        target_id = pw.CharField(max_length=40, null=True)
        details = pw.TextField()
        ip_address = pw.CharField(max_length=45, null=True)
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "audit_event"
            legacy_table_names = False

    @migrator.create_model
    class Document(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(column_name='dossier_id', field='id', model=migrator.orm['dossier'], on_delete='CASCADE')
        kind = pw.CharField(max_length=20)
        storage_key = pw.CharField(max_length=128)
        sha256 = pw.CharField(max_length=64)
        size = pw.IntegerField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "document"
            legacy_table_names = False
            indexes = [(('dossier', 'kind'), False)]

    @migrator.create_model
    class FasCardState(pw.Model):
        card_number = pw.CharField(max_length=20, primary_key=True)
        failed_pins = pw.IntegerField(default=0)
        blocked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "fas_card_state"
            legacy_table_names = False

    @migrator.create_model
    class FasGrant(pw.Model):
        id = pw.AutoField()
        code_hash = pw.CharField(max_length=64, unique=True)
        client_id = pw.CharField(max_length=128)
        redirect_uri = pw.CharField(max_length=500)
        scope = pw.CharField(max_length=255)
        nonce = pw.CharField(max_length=255, null=True)
        code_challenge = pw.CharField(max_length=128, null=True)
        code_challenge_method = pw.CharField(max_length=10, null=True)
        national_number = pw.CharField(max_length=11)
        auth_method = pw.CharField(max_length=20)
        auth_time = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        used_at = pw.DateTimeField(null=True)
        access_token_hash = pw.CharField(max_length=64, null=True, unique=True)
        access_expires_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "fas_grant"
            legacy_table_names = False

    @migrator.create_model
    class LoginIdentity(pw.Model):
        id = pw.AutoField()
        person = pw.ForeignKeyField(column_name='person_id', field='id', model=migrator.orm['person'], on_delete='CASCADE')
        issuer = pw.CharField(max_length=255)
        subject = pw.CharField(max_length=255)
        created_at = pw.DateTimeField()
        last_login_at = pw.DateTimeField()

        class Meta:
            table_name = "login_identity"
            legacy_table_names = False
            indexes = [(('issuer', 'subject'), True)]

    @migrator.create_model
    class Membership(pw.Model):
        id = pw.AutoField()
        person = pw.ForeignKeyField(column_name='person_id', field='id', model=migrator.orm['person'], on_delete='CASCADE')
        company = pw.ForeignKeyField(column_name='company_id', field='id', model=migrator.orm['company'], on_delete='CASCADE')
        roles = pw.IntegerField(default=0)
        is_access_manager = pw.BooleanField(default=False)
        is_main_access_manager = pw.BooleanField(default=False)
        professional_email = pw.CharField(max_length=254, null=True)
        professional_email_verified_at = pw.DateTimeField(null=True)
        invited_email = pw.CharField(max_length=254, null=True)
        invited_by = pw.ForeignKeyField(column_name='invited_by_id', field='id', model=migrator.orm['person'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "membership"
            legacy_table_names = False
            indexes = [(('person', 'company'), True), (('company', 'roles'), False)]

    @migrator.create_model
    class OutboxMessage(pw.Model):
        id = pw.AutoField()
        event = pw.CharField(max_length=40)
        message_id = pw.CharField(max_length=255, unique=True)
        dossier = pw.ForeignKeyField(column_name='dossier_id', field='id', model=migrator.orm['dossier'], null=True, on_delete='SET NULL')
        person = pw.ForeignKeyField(column_name='person_id', field='id', model=migrator.orm['person'], null=True, on_delete='SET NULL')
        to_email = pw.CharField(max_length=254)
        language = pw.CharField(default='fr', max_length=2)
        context = pw.TextField()
        subject = pw.CharField(max_length=300, null=True)
        body_text = pw.TextField(null=True)
        body_html = pw.TextField(null=True)
        status = pw.CharField(default='pending', max_length=10)
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        claimed_until = pw.DateTimeField(null=True)
        last_error = pw.TextField(null=True)
        created_at = pw.DateTimeField()
        sent_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "outbox_message"
            legacy_table_names = False
            indexes = [(('status', 'next_attempt_at'), False), (('dossier', 'created_at'), False)]

    @migrator.create_model
    class ReferenceCounter(pw.Model):
        id = pw.AutoField()
        prefix = pw.CharField(max_length=8)
        year = pw.IntegerField()
        last_number = pw.IntegerField(default=0)

        class Meta:
            table_name = "reference_counter"
            legacy_table_names = False
            indexes = [(('prefix', 'year'), True)]

    @migrator.create_model
    class RegisterEntry(pw.Model):
        enterprise_number = pw.CharField(max_length=10, primary_key=True)
        name = pw.CharField(index=True, max_length=300)
        data = pw.TextField()
        loaded_at = pw.DateTimeField()

        class Meta:
            table_name = "register_entry"
            legacy_table_names = False

    @migrator.create_model
    class ReminderSent(pw.Model):
        id = pw.AutoField()
        company = pw.ForeignKeyField(column_name='company_id', field='id', model=migrator.orm['company'], on_delete='CASCADE')
        year = pw.IntegerField()
        step = pw.IntegerField()
        sent_at = pw.DateTimeField()

        class Meta:
            table_name = "reminder_sent"
            legacy_table_names = False
            indexes = [(('company', 'year', 'step'), True)]

    @migrator.create_model
    class Signature(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(column_name='dossier_id', field='id', model=migrator.orm['dossier'], on_delete='CASCADE', unique=True)
        person = pw.ForeignKeyField(column_name='person_id', field='id', model=migrator.orm['person'], on_delete='RESTRICT')
        auth_method = pw.CharField(max_length=20, null=True)
        auth_level = pw.CharField(max_length=20, null=True)
        auth_time = pw.DateTimeField(null=True)
        signed_at = pw.DateTimeField()
        declaration = pw.TextField()
        answers_sha256 = pw.CharField(max_length=64)
        annexes = pw.TextField()
        digest = pw.CharField(max_length=64)

        class Meta:
            table_name = "signature"
            legacy_table_names = False

    @migrator.create_model
    class SmsMessage(pw.Model):
        id = pw.AutoField()
        to_phone = pw.CharField(max_length=32)
        body = pw.TextField()
        gateway = pw.CharField(max_length=20)
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "sms_message"
            legacy_table_names = False

    @migrator.create_model
    class StatusChange(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(column_name='dossier_id', field='id', model=migrator.orm['dossier'], on_delete='CASCADE')
        from_status = pw.CharField(max_length=20, null=True)
        to_status = pw.CharField(max_length=20)
        actor_kind = pw.CharField(max_length=20)
        actor_person = pw.ForeignKeyField(column_name='actor_person_id', field='id', model=migrator.orm['person'], null=True, on_delete='SET NULL')
        actor_staff = pw.ForeignKeyField(column_name='actor_staff_id', field='id', model=migrator.orm['staff_user'], null=True, on_delete='SET NULL')
        comment = pw.TextField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "status_change"
            legacy_table_names = False
            indexes = [(('dossier', 'created_at'), False)]

    @migrator.create_model
    class UserSession(pw.Model):
        id = pw.AutoField()
        token_hash = pw.CharField(max_length=64, unique=True)
        person = pw.ForeignKeyField(column_name='person_id', field='id', model=migrator.orm['person'], null=True, on_delete='CASCADE')
        staff = pw.ForeignKeyField(column_name='staff_id', field='id', model=migrator.orm['staff_user'], null=True, on_delete='CASCADE')
        auth_method = pw.CharField(max_length=20, null=True)
        auth_level = pw.CharField(max_length=20, null=True)
        created_at = pw.DateTimeField()
        auth_time = pw.DateTimeField()
        last_seen_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)
        ip_address = pw.CharField(max_length=45, null=True)
        user_agent = pw.CharField(max_length=300, null=True)

        class Meta:
            table_name = "user_session"
            legacy_table_names = False

    @migrator.create_model
    class VerificationCode(pw.Model):
        id = pw.AutoField()
        purpose = pw.CharField(max_length=20)
        subject = pw.CharField(max_length=64)
        channel = pw.CharField(max_length=10)
        address = pw.CharField(max_length=254)
        code_hash = pw.CharField(max_length=128)
        token_hash = pw.CharField(max_length=64, null=True, unique=True)
        attempts = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        used_at = pw.DateTimeField(null=True)
        invalidated_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "verification_code"
            legacy_table_names = False
            indexes = [(('purpose', 'subject', 'created_at'), False), (('purpose', 'address', 'created_at'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('verification_code')

    migrator.remove_model('user_session')

    migrator.remove_model('status_change')

    migrator.remove_model('sms_message')

    migrator.remove_model('signature')

    migrator.remove_model('reminder_sent')

    migrator.remove_model('register_entry')

    migrator.remove_model('reference_counter')

    migrator.remove_model('outbox_message')

    migrator.remove_model('membership')

    migrator.remove_model('login_identity')

    migrator.remove_model('fas_grant')

    migrator.remove_model('fas_card_state')

    migrator.remove_model('document')

    migrator.remove_model('audit_event')

    migrator.remove_model('annex')

    migrator.remove_model('message')

    migrator.remove_model('dossier')

    migrator.remove_model('staff_user')

    migrator.remove_model('person')

    migrator.remove_model('procedure_definition')

    migrator.remove_model('company')
