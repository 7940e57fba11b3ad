"""Every table of Guichet, the dossier state machine and the query helpers.

No Flask-Mail, no pypdf, no request objects here: the portal, the back-office and the worker all
go through these models, and the state of a dossier only changes through `Dossier.transition`.
"""

import enum
import json
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import signal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from peewee import (
    EXCLUDED,
    JOIN,
    BooleanField,
    CharField,
    Check,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
    fn,
)

db = DatabaseProxy()
# Sent for every email written to the outbox; `jobs` wakes the worker once the work in progress
# (a request, a task) is over, so after its transaction has committed.
outbox_queued = signal("outbox-queued")
# Sent when a change calls for a document of the dossier (the receipt of a submission, the
# letter of a closing); `jobs` asks the worker for it in the same way, after the commit.
document_wanted = signal("document-wanted")
# Sent when a staff member asks for a background export; `jobs` enqueues it after the commit.
export_wanted = signal("export-wanted")
# An event was written (Event.record): once committed, the worker hands it to the webhooks.
event_recorded = signal("event-recorded")


def utcnow():
    """Naive UTC timestamp, the one form every table stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def remaining_days(due_at, now=None):
    """Whole days left before `due_at`, rounded down: late by an hour is -1."""
    return (due_at - (now or utcnow())).days


def write_transaction():
    """A transaction that takes the write lock at once (SQLite) so that concurrent writers queue
    on the busy timeout instead of failing on a stale snapshot; plain on PostgreSQL."""
    if isinstance(db.obj, SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return db.atomic()


class JSONField(TextField):
    """JSON stored as text, the same on SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


# --- people and companies -------------------------------------------------------------------


class Role(enum.IntFlag):
    """Roles of a company user; each includes the ones before it: Signature can also
    encode and consult, Encodage can also consult."""

    CONSULT = 1
    ENCODE = 2
    SIGN = 4

    @property
    def label(self):
        return ROLE_LABELS[self]

    @staticmethod
    def describe(roles):
        """ "Consultation, Encodage" in the current language; "aucun rôle" for none."""
        return ", ".join(str(r.label) for r in Role if r & roles) or str(_l("aucun rôle"))


ROLE_LABELS = {
    Role.CONSULT: _l("Consultation"),
    Role.ENCODE: _l("Encodage"),
    Role.SIGN: _l("Signature"),
}


def fold(text):
    """Lower case without accents, for searches that find "Liège" when "liege" is typed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class Person(UserMixin, BaseModel):
    """A natural person, identified by the national register number."""

    session_prefix = "person"
    national_number = CharField(max_length=11, unique=True)
    surname = CharField(max_length=200)
    given_name = CharField(max_length=200)
    login_email = CharField(max_length=254, null=True)
    language = CharField(max_length=2, default="fr")
    # Chosen by the person (profile, switcher): the login's prefLanguage no longer changes it.
    language_chosen = BooleanField(default=False)
    notifications_opt_out = BooleanField(default=False)
    # False while the name is only the one an access manager typed when inviting by national
    # number: the first login's claims replace it and confirm it.
    name_confirmed = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    search_name = CharField(max_length=401, default="", index=True)  # fold(full name), by save()

    def __str__(self):
        return self.shown_name

    def save(self, *args, **kwargs):
        self.search_name = fold(self.full_name)
        return super().save(*args, **kwargs)

    @property
    def full_name(self):
        return f"{self.given_name} {self.surname}"

    @property
    def shown_name(self):
        """The name wherever others see it: an invited person who never logged in is shown
        as invited, the name typed by the inviter marked as not yet confirmed."""
        if self.name_confirmed:
            return self.full_name
        return _("%(name)s (invitation en attente, nom non confirmé)", name=self.full_name)

    def get_id(self):
        return f"{self.session_prefix}:{self.id}"

    def membership_in(self, company_id):
        return Membership.get_or_none(
            Membership.person == self.id, Membership.company == company_id
        )


class Company(BaseModel):
    enterprise_number = CharField(max_length=10, unique=True)
    name = CharField(max_length=300, index=True)
    search_name = CharField(max_length=300, default="", index=True)  # fold(name), kept by save()
    legal_form = CharField(max_length=10, null=True)
    legal_form_label = CharField(max_length=200, null=True)
    legal_situation = CharField(max_length=200, null=True)
    start_date = DateField(null=True)
    register_data = JSONField(default=dict)
    activated_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)
        return super().save(*args, **kwargs)

    @classmethod
    def from_register(cls, record):
        """Create or refresh the company from its company-register record
        (`sources.CompanyRecord`); the record is kept whole for pre-filling forms."""
        company = cls.get_or_none(cls.enterprise_number == record.enterprise_number)
        company = company or cls(enterprise_number=record.enterprise_number)
        company.name = record.name
        company.legal_form = record.legal_form
        company.legal_form_label = record.legal_form_label
        company.legal_situation = record.legal_situation_label
        company.start_date = record.start_date
        company.register_data = record.to_dict()
        company.save()
        return company

    @property
    def formatted_number(self):
        n = self.enterprise_number
        return f"{n[:4]}.{n[4:7]}.{n[7:]}"


class Membership(BaseModel):
    person = ForeignKeyField(Person, backref="memberships", on_delete="CASCADE")
    company = ForeignKeyField(Company, backref="memberships", on_delete="CASCADE")
    roles = IntegerField(default=0)
    is_access_manager = BooleanField(default=False)
    is_main_access_manager = BooleanField(default=False)
    # The professional address, entered and validated at the first login in the company's
    # space; no dossier action before it is validated.
    professional_email = CharField(max_length=254, null=True)
    professional_email_verified_at = DateTimeField(null=True)
    invited_email = CharField(max_length=254, null=True)
    invited_by = ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("person", "company"), True), (("company", "roles"), False))

    @property
    def contact_address(self):
        """Where to tell the member of a change of access: the validated professional address,
        else the invitation's, else the login address."""
        return self.notification_email or self.invited_email or self.person.login_email

    @property
    def notification_email(self):
        """The validated professional address, the only one Guichet writes to for the company."""
        if self.professional_email and self.professional_email_verified_at:
            return self.professional_email
        return None

    def mark_email_validated(self):
        """The pending professional address is validated (by its code or its link)."""
        self.professional_email_verified_at = utcnow()
        self.save(only=[Membership.professional_email_verified_at])

    def forget_professional_email(self):
        """The helpdesk's reset: the member enters and validates an address again at their
        next page in the company (the portal's gate)."""
        self.professional_email = None
        self.professional_email_verified_at = None
        self.save(only=[Membership.professional_email, Membership.professional_email_verified_at])

    def allows(self, need):
        """True if the roles held include `need`, directly or through a higher role."""
        return any(Role(r) & self.roles for r in Role if r >= need)

    @property
    def role_list(self):
        return [r for r in Role if r & self.roles]

    @classmethod
    def signers(cls, company):
        """The members of `company` who hold the Signature role, by name."""
        return (
            cls.select(cls, Person)
            .join(Person)
            .where(cls.company == company, cls.roles.bin_and(int(Role.SIGN)) != 0)
            .order_by(Person.surname, Person.given_name)
        )

    @classmethod
    def access_managers(cls, company):
        return (
            cls.select(cls, Person)
            .join(Person)
            .where(cls.company == company, cls.is_access_manager == True)  # noqa: E712
            .order_by(Person.surname, Person.given_name)
        )


# --- staff ----------------------------------------------------------------------------------


class StaffRole(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    HELPDESK = "helpdesk"
    ADMIN = "admin"

    @property
    def label(self):
        return STAFF_ROLE_LABELS[self]


class FollowEmails(enum.StrEnum):
    """What a staff member is emailed of the company's activity on the dossiers they follow."""

    EACH = "each"  # each message and complement answer
    DAILY = "daily"  # one digest a day
    NONE = "none"


STAFF_ROLE_LABELS = {
    StaffRole.AGENT: _l("Agent"),
    StaffRole.SUPERVISOR: _l("Superviseur"),
    StaffRole.HELPDESK: _l("Helpdesk"),
    StaffRole.ADMIN: _l("Administrateur"),
}


MAX_FAILED_LOGINS = 5  # failed passwords or codes in a row that lock a staff account
LOCK_MINUTES = 15


class StaffUser(UserMixin, BaseModel):
    """An account of the administration's staff, for the back-office only."""

    session_prefix = "staff"
    email = CharField(max_length=254, unique=True)
    full_name = CharField(max_length=200)
    role = CharField(max_length=20, choices=[(r.value, r.value) for r in StaffRole])
    password_hash = CharField(max_length=255)
    # sealed (`sealed`, access.staff.totp_secret_of): a copy of the database gives no second
    # factor (migration 032)
    totp_secret = TextField(null=True)
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    language = CharField(max_length=2, default="fr")  # of the back-office pages
    # Chosen with the switcher: the browser's language at login no longer changes it.
    language_chosen = BooleanField(default=False)
    # The emails of the dossiers they follow (FollowEmails); the last daily digest sent.
    follow_emails = CharField(max_length=10, default="each")
    digest_sent_at = DateTimeField(null=True)

    def __str__(self):
        return self.full_name

    def get_id(self):
        return f"{self.session_prefix}:{self.id}"

    @property
    def is_active(self):
        return self.active

    @property
    def staff_role(self):
        return StaffRole(self.role)

    def is_locked(self, now):
        return self.locked_until is not None and self.locked_until > now

    def lock_row(self):
        """This account read again and locked until the transaction ends (SELECT ... FOR UPDATE
        on PostgreSQL; SQLite's IMMEDIATE write lock already is one)."""
        query = StaffUser.select().where(StaffUser.id == self.id)
        return (query.for_update() if db.for_update else query).get()

    def record_failed_login(self, now):
        """One more failed password or code, counted in the database so that concurrent
        failures all count; the MAX_FAILED_LOGINS-th locks the account for LOCK_MINUTES and
        starts the count again. True when this failure locked it."""
        with write_transaction():
            StaffUser.update(failed_logins=StaffUser.failed_logins + 1).where(
                StaffUser.id == self.id
            ).execute()
            row = self.lock_row()
            locked = row.failed_logins >= MAX_FAILED_LOGINS
            if locked:
                row.failed_logins, row.locked_until = 0, now + timedelta(minutes=LOCK_MINUTES)
                row.save(only=[StaffUser.failed_logins, StaffUser.locked_until])
        self.failed_logins, self.locked_until = row.failed_logins, row.locked_until
        return locked

    def record_login(self, now):
        """A login completed: the failure count starts again."""
        self.failed_logins, self.last_login_at = 0, now
        self.save(only=[StaffUser.failed_logins, StaffUser.last_login_at])

    def save_first_totp_secret(self, secret):
        """Keep `secret` (sealed by access.staff) as the account's TOTP secret unless one was
        saved meanwhile (two enrolments at once: the first wins). True if this one was saved."""
        saved = (
            StaffUser.update(totp_secret=secret)
            .where(StaffUser.id == self.id, StaffUser.totp_secret.is_null())
            .execute()
        )
        if saved:
            self.totp_secret = secret
        return saved == 1


# --- groups of agents -----------------------------------------------------------------------


class StaffGroup(BaseModel):
    """A group of agents (by province, by procedure…) to which submitted dossiers are routed by
    the rules of their procedure (dossiers/groups.py); the default group receives the dossiers
    no rule sends elsewhere. Managed by supervisors and administrators."""

    name = CharField(max_length=100, unique=True)
    code = CharField(max_length=40, unique=True)  # how a procedure's `routing:` may name it
    is_default = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    def __str__(self):
        return self.name


class StaffGroupMember(BaseModel):
    group = ForeignKeyField(StaffGroup, backref="members", on_delete="CASCADE", index=False)
    staff = ForeignKeyField(
        StaffUser, backref="group_memberships", on_delete="CASCADE", index=False
    )  # both read through the two indexes below

    class Meta:
        indexes = ((("group", "staff"), True), (("staff", "group"), False))


# --- procedures and dossiers ----------------------------------------------------------------


class ProcedureDefinition(BaseModel):
    """One version of a procedure's YAML definition; a dossier keeps the version it began with."""

    code = CharField(max_length=64)
    version = IntegerField()
    title = CharField(max_length=300)
    reference_prefix = CharField(max_length=8)
    # The legal processing time in days (the YAML's `deadline:` with `when_passed: flag`), read
    # by `Dossier.transition` without parsing the YAML; None: no clock is kept.
    deadline_days = IntegerField(null=True)
    yaml_text = TextField()
    published = BooleanField(default=False)
    published_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("code", "version"), True),)

    def __str__(self):
        return f"{self.title} (v{self.version})"

    @classmethod
    def latest_published(cls, code):
        return (
            cls.select()
            .where(cls.code == code, cls.published == True)  # noqa: E712
            .order_by(cls.version.desc())
            .first()
        )

    def publish(self):
        """Make this version the one new dossiers use; True if this call published it (a
        concurrent publisher or an earlier click finds it published already). Dossiers keep
        the version they began with."""
        now = utcnow()
        done = (
            ProcedureDefinition.update(published=True, published_at=now)
            .where(
                ProcedureDefinition.id == self.id,
                ProcedureDefinition.published == False,  # noqa: E712
            )
            .execute()
        )
        if done:
            self.published, self.published_at = True, now
        return bool(done)


class DossierStatus(enum.StrEnum):
    DRAFT = "draft"
    COMPLETE = "complete"
    SUBMITTED = "submitted"
    RECEIVED = "received"
    PROCESSING = "processing"
    CLOSED = "closed"

    @property
    def label(self):
        return STATUS_LABELS[self]

    @property
    def is_editable(self):
        """Not yet submitted: the company may still change answers and annexes, or delete it;
        staff never see it."""
        return self in (DossierStatus.DRAFT, DossierStatus.COMPLETE)

    @property
    def visible_to_staff(self):
        return not self.is_editable

    @property
    def in_instruction(self):
        """Received and not closed: staff and company exchange messages and complements."""
        return self in (DossierStatus.RECEIVED, DossierStatus.PROCESSING)

    @property
    def is_closed(self):
        return self == DossierStatus.CLOSED

    @property
    def awaiting_decision(self):
        """Submitted and not closed: the administration still has to decide."""
        return self.visible_to_staff and not self.is_closed


STATUS_LABELS = {
    DossierStatus.DRAFT: _l("En cours"),
    DossierStatus.COMPLETE: _l("Complet"),
    DossierStatus.SUBMITTED: _l("Soumis"),
    DossierStatus.RECEIVED: _l("Réceptionné"),
    DossierStatus.PROCESSING: _l("En traitement"),
    DossierStatus.CLOSED: _l("Clôturé"),
}
STAFF_STATUSES = tuple(s for s in DossierStatus if s.visible_to_staff)
INSTRUCTION_STATUSES = tuple(s.value for s in DossierStatus if s.in_instruction)
AWAITING_STATUSES = tuple(s for s in DossierStatus if s.awaiting_decision)


class Decision(enum.StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    NO_FOLLOW_UP = "no_follow_up"

    @property
    def label(self):
        return DECISION_LABELS[self]


DECISION_LABELS = {
    Decision.GRANTED: _l("Accordé"),
    Decision.REFUSED: _l("Refusé"),
    Decision.NO_FOLLOW_UP: _l("Sans suite"),
}


class ActorKind(enum.StrEnum):
    APPLICANT = "applicant"
    STAFF = "staff"
    SYSTEM = "system"
    API = "api"  # another system of the administration, through an ApiToken


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a company user, a staff member, the system itself, or another system
    through the REST API (its token); with the address the request came from (for the audit
    log) and whether their login is recent enough for a sensitive step (under 15 minutes)."""

    kind: ActorKind
    person: Person | None = None
    staff: StaffUser | None = None
    ip_address: str | None = None
    fresh_login: bool = False
    api_token: "ApiToken | None" = None

    @classmethod
    def applicant(cls, person, ip_address=None, fresh_login=False):
        return cls(ActorKind.APPLICANT, person, ip_address=ip_address, fresh_login=fresh_login)

    @classmethod
    def staff_member(cls, staff, ip_address=None):
        return cls(ActorKind.STAFF, staff=staff, ip_address=ip_address)

    @classmethod
    def api(cls, token, ip_address=None):
        return cls(ActorKind.API, api_token=token, ip_address=ip_address)

    @property
    def name(self):
        if self.person is not None:
            return self.person.full_name
        if self.staff is not None:
            return self.staff.full_name
        if self.api_token is not None:
            return self.api_token.name
        return str(_l("Système"))

    @classmethod
    def system(cls):
        return cls(ActorKind.SYSTEM)


@dataclass(frozen=True)
class TransitionRule:
    actor: ActorKind
    email_event: str | None = None
    staff_roles: frozenset = frozenset()  # empty: any staff role that processes dossiers
    comment_required: bool = False
    # A staff transition that another system may also make through the REST API, with a token
    # of scope `process` (the token's procedures are checked by `dossiers.access`).
    by_api: bool = False


PROCESSING_ROLES = frozenset({StaffRole.AGENT, StaffRole.SUPERVISOR})
S = DossierStatus
TRANSITIONS = {
    (S.DRAFT, S.COMPLETE): TransitionRule(ActorKind.SYSTEM),
    (S.COMPLETE, S.DRAFT): TransitionRule(ActorKind.SYSTEM),
    (S.COMPLETE, S.SUBMITTED): TransitionRule(ActorKind.APPLICANT, "submitted"),
    (S.SUBMITTED, S.RECEIVED): TransitionRule(
        ActorKind.STAFF, "received", PROCESSING_ROLES, by_api=True
    ),
    (S.RECEIVED, S.PROCESSING): TransitionRule(
        ActorKind.STAFF, "processing", PROCESSING_ROLES, by_api=True
    ),
    (S.PROCESSING, S.CLOSED): TransitionRule(
        ActorKind.STAFF, "closed", PROCESSING_ROLES, by_api=True
    ),
    (S.CLOSED, S.PROCESSING): TransitionRule(
        ActorKind.STAFF,
        "processing",
        frozenset({StaffRole.SUPERVISOR}),
        comment_required=True,
        by_api=True,
    ),
}
del S


class TransitionError(Exception):
    """A change of status that the table or the dossier's current state does not allow.

    `reason` says why, for the interfaces that explain it in the user's language: not_allowed,
    actor, role, reason_required, decision_required or concurrent."""

    def __init__(self, message, reason="not_allowed"):
        super().__init__(message)
        self.reason = reason


class ConcurrentTransitionError(TransitionError):
    """Another request changed the dossier's status first."""

    def __init__(self, message):
        super().__init__(message, "concurrent")


class Dossier(BaseModel):
    company = ForeignKeyField(Company, backref="dossiers", on_delete="RESTRICT")
    definition = ForeignKeyField(ProcedureDefinition, backref="dossiers", on_delete="RESTRICT")
    status = CharField(max_length=20, default=DossierStatus.DRAFT.value)
    answers = JSONField(default=dict)
    reference = CharField(max_length=32, null=True, unique=True)
    created_by = ForeignKeyField(Person, backref="created_dossiers", on_delete="RESTRICT")
    submitted_by = ForeignKeyField(
        Person, backref="submitted_dossiers", null=True, on_delete="RESTRICT"
    )
    assigned_to = ForeignKeyField(StaffUser, backref="dossiers", null=True, on_delete="SET NULL")
    # The group it was routed to at its submission or moved to since (dossiers/groups.py).
    group = ForeignKeyField(
        StaffGroup, backref="dossiers", null=True, on_delete="SET NULL", index=False
    )  # (group, submitted_at, id) is its index, the list's "Mes groupes"
    # Copies for the staff list's sorts by procedure and by agent (each on an index of its own,
    # with no join): the definition's title, set once, and the agent's name, kept by `assign`.
    procedure_title = CharField(max_length=300, null=True)
    agent_name = CharField(max_length=200, null=True)
    decision = CharField(max_length=20, null=True)
    archived = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    # the staff list reads it newest first, on the partial index of (submitted_at, id)
    submitted_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    # Retention (dossiers/retention.py): when the draft's author was told it will be deleted
    # (a warning counts only if given after the last change), and when a dossier kept for its
    # period was anonymised.
    draft_warned_at = DateTimeField(null=True)
    anonymised_at = DateTimeField(null=True)
    # The last sequence number given to an event of the dossier (Event.record): only ever
    # changed by its `UPDATE ... + 1`, never by `save`.
    event_sequence = IntegerField(default=0)
    # The legal deadline's clock (ProcedureDefinition.deadline_days): set at Réceptionné; while
    # a complement request waits for the company `deadline_paused_at` says since when, and its
    # answer moves `due_at` later by the paused time. The list's "late" and "due within 7 days"
    # filters and the dashboard's count read (status, due_at); the agent's reminder is sent once
    # (`deadline_reminded_at`).
    due_at = DateTimeField(null=True)
    deadline_paused_at = DateTimeField(null=True)
    deadline_reminded_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("status", "due_at"), False),
            (("company", "archived", "updated_at"), False),
            (("status", "submitted_at"), False),
            (("status", "updated_at"), False),  # the dashboard's "waiting for N days"
            (("assigned_to", "status"), False),
            (("definition", "status"), False),
        )
        constraints = [
            Check("status in ('draft','complete','submitted','received','processing','closed')")
        ]

    def __str__(self):
        return self.reference or f"#{self.id}"

    def save(self, *args, **kwargs):
        """A new dossier is counted in its status (DossierCount) in the same transaction;
        an existing one changes status only through `transition`."""
        if self._pk is not None and not kwargs.get("force_insert"):
            if not kwargs.get("only"):  # an event's counter is never written from memory
                kwargs["only"] = [f for f in self._meta.sorted_fields if f.name != "event_sequence"]
            return super().save(*args, **kwargs)
        if self.procedure_title is None and self.definition_id is not None:
            self.procedure_title = self.definition.title
        if self.agent_name is None and self.assigned_to_id is not None:
            self.agent_name = self.assigned_to.full_name
        with db.atomic():
            done = super().save(*args, **kwargs)
            DossierCount.add(self.definition_id, self.status, 1)
        return done

    def delete_instance(self, *args, **kwargs):
        """Delete the dossier and take it off the count of the status it has now (read
        under its lock: a concurrent transition may have changed it)."""
        with write_transaction():
            try:
                current = Dossier.locked(self.id)
            except Dossier.DoesNotExist:
                return 0
            done = super().delete_instance(*args, **kwargs)
            DossierCount.add(current.definition_id, current.status, -done)
        return done

    @classmethod
    def locked(cls, dossier_id):
        """The dossier read again and locked until the transaction ends, for a read-then-write
        (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE write lock already is one)."""
        query = cls.select().where(cls.id == dossier_id)
        return (query.for_update() if db.for_update else query).get()

    @property
    def state(self):
        return DossierStatus(self.status)

    @property
    def is_editable(self):
        return self.state.is_editable

    @property
    def in_instruction(self):
        return self.state.in_instruction

    @property
    def decision_label(self):
        return Decision(self.decision).label if self.decision else None

    # --- queries --------------------------------------------------------------------------

    @classmethod
    def for_company(cls, company, archived=False):
        """The company's dossiers for its users, newest change first (the caller checks the
        user's membership and role), with their procedure version but not its text: a page of
        rows would carry it once per row (30 kB each)."""
        version = [f for f in ProcedureDefinition._meta.sorted_fields if f.name != "yaml_text"]
        return (
            cls.select(cls, Company, *version)
            .join(Company)
            .switch(cls)
            .join(ProcedureDefinition)
            .where(cls.company == company, cls.archived == archived)
            .order_by(cls.updated_at.desc(), cls.id.desc())
        )

    @classmethod
    def staff_visible(cls):
        """What staff may see: never a dossier that is not submitted yet."""
        return cls.select().where(cls.is_staff_visible())

    @classmethod
    def is_staff_visible(cls):
        """The condition of `staff_visible`, for queries that select their own columns. A
        submitted dossier always has its `submitted_at`; saying so lets the database read the
        list's partial indexes (WHERE submitted_at IS NOT NULL), which hold no draft."""
        return cls.submitted_at.is_null(False) & cls.status.in_([s.value for s in STAFF_STATUSES])

    # --- the legal deadline ---------------------------------------------------------------

    @classmethod
    def is_clock_running(cls):
        """Submitted (as every dossier in instruction is: said so for the partial index), in
        instruction and not paused: the condition of the running clocks' index."""
        return (
            cls.submitted_at.is_null(False)
            & cls.status.in_(INSTRUCTION_STATUSES)
            & cls.deadline_paused_at.is_null()
        )

    @classmethod
    def is_running_late(cls, now):
        """Its clock running and its due date passed (the running clocks' index, due date
        included: see the indexes after the class)."""
        return cls.is_clock_running() & (cls.due_at < now)

    @classmethod
    def is_due_within(cls, now, days):
        """Its clock running, due from `now` to `days` days later."""
        return (
            cls.is_clock_running() & (cls.due_at >= now) & (cls.due_at < now + timedelta(days=days))
        )

    def remaining_days(self, now=None):
        """Whole days left before the due date (negative: late), None without a clock or
        while paused."""
        if self.due_at is None or self.deadline_paused_at is not None:
            return None
        return remaining_days(self.due_at, now)

    def _deadline_resumed(self, now, since):
        """The changes that resume the clock at `now`, stopped since `since`."""
        if self.due_at is None or since is None:
            return {}
        return {"due_at": self.due_at + (now - since), "deadline_paused_at": None}

    def pause_deadline(self, now):
        """A complement request now waits for the company: the clock stops (in the caller's
        transaction)."""
        paused = (
            Dossier.update(deadline_paused_at=now)
            .where(
                Dossier.id == self.id,
                Dossier.due_at.is_null(False),
                Dossier.deadline_paused_at.is_null(),
            )
            .execute()
        )
        if paused:
            self.deadline_paused_at = now

    def resume_deadline(self, now):
        """The company answered the complement request: the due date moves by the paused time
        (read under the dossier's lock, in the caller's transaction)."""
        current = Dossier.locked(self.id)
        changes = current._deadline_resumed(now, current.deadline_paused_at)
        if changes:
            Dossier.update(changes).where(Dossier.id == self.id).execute()
            for field, value in changes.items():
                setattr(self, field, value)

    def _deadline_changes(self, current, to, now):
        """What a transition does to the clock: it starts at Réceptionné; closing stops it (a
        pause still open ends there, so that `due_at` compares with `closed_at`); reopening
        resumes it with the closed time not counted."""
        if to == DossierStatus.RECEIVED and self.due_at is None:
            days = (
                ProcedureDefinition.select(ProcedureDefinition.deadline_days)
                .where(ProcedureDefinition.id == self.definition_id)
                .scalar()
            )
            return {"due_at": now + timedelta(days=days)} if days else {}
        if to != DossierStatus.CLOSED and current != DossierStatus.CLOSED:
            return {}
        row = Dossier.locked(self.id)  # the clock as a complement request or answer left it
        if row.due_at is None:
            return {}
        since = row.deadline_paused_at if to == DossierStatus.CLOSED else row.closed_at
        return row._deadline_resumed(now, since) or {"due_at": row.due_at}

    # --- the state machine ----------------------------------------------------------------

    def assign(self, staff):
        """Give the dossier to `staff` (an agent or supervisor), or to nobody with None; the
        agent it is given to follows it (DossierFollow), in the caller's transaction."""
        name = staff.full_name if staff else None
        Dossier.update(assigned_to=staff, agent_name=name).where(Dossier.id == self.id).execute()
        if staff is not None:
            DossierFollow.add(staff, self)
        self.assigned_to, self.agent_name = staff, name

    def touch(self):
        """Record a change of the company's (an annex attached or removed): the draft's
        retention counts from it."""
        self.updated_at = utcnow()
        Dossier.update(updated_at=self.updated_at).where(Dossier.id == self.id).execute()

    def set_archived(self, archived):
        """The company's own filing of a submitted dossier; staff still see it."""
        Dossier.update(archived=archived).where(Dossier.id == self.id).execute()
        self.archived = archived

    def transition(self, to, actor, comment=None, decision=None):
        """Move the dossier to `to`, writing history and outbox rows in the same transaction."""
        to = DossierStatus(to)
        current = self.state
        rule = TRANSITIONS.get((current, to))
        if rule is None:
            raise TransitionError(
                f"Transition {current.value} → {to.value} is not allowed for dossier {self.id}."
            )
        check_actor(rule, actor, current, to)
        if rule.comment_required and not (comment and comment.strip()):
            raise TransitionError(
                f"Transition {current.value} → {to.value} needs a reason.", "reason_required"
            )
        if to == DossierStatus.CLOSED and decision is None:
            raise TransitionError("Closing a dossier needs a decision.", "decision_required")

        now = utcnow()
        changes = {"status": to.value, "updated_at": now}
        with write_transaction():
            if to == DossierStatus.SUBMITTED:
                changes["submitted_at"] = now
                changes["submitted_by"] = actor.person
                if not self.reference:
                    changes["reference"] = ReferenceCounter.next_reference(
                        self.definition.reference_prefix, brussels_day(now).year
                    )
            if to == DossierStatus.CLOSED:
                changes["decision"] = Decision(decision).value
                changes["closed_at"] = now
            changes.update(self._deadline_changes(current, to, now))
            reopened = None
            if current == DossierStatus.CLOSED:  # reopened: to be decided again
                changes["decision"] = None
                changes["closed_at"] = None
                reopened = Dossier.locked(self.id)  # the closing the statistics take back
            updated = (
                Dossier.update(changes)
                .where(Dossier.id == self.id, Dossier.status == current.value)
                .execute()
            )
            if updated != 1:
                raise ConcurrentTransitionError(
                    f"Dossier {self.id} is no longer {current.value}: another change came first."
                )
            DossierCount.move(self.definition_id, current.value, to.value)
            for field, value in changes.items():
                setattr(self, field, value)
            MonthlyStatistics.record(self, to, now, reopened)
            StatusChange.create(
                dossier=self,
                from_status=current.value,
                to_status=to.value,
                actor_kind=actor.kind.value,
                actor_person=actor.person,
                actor_staff=actor.staff,
                actor_token=actor.api_token,
                comment=comment,
                created_at=now,
            )
            if rule.email_event:
                OutboxMessage.queue_for_dossier(self, rule.email_event, comment=comment)
            if (current, to) in EVENT_OF_TRANSITION:
                Event.record(
                    EVENT_OF_TRANSITION[(current, to)],
                    actor,
                    self,
                    from_status=current.value,
                    to_status=to.value,
                    decision=self.decision,
                )
            if to in DOCUMENT_OF_STATUS:
                document_wanted.send(self, kind=DOCUMENT_OF_STATUS[to], dossier_id=self.id)
        return self

    def notification_recipients(self):
        """(person, address) for the submitter and every company user holding a role, with a
        validated professional address and no opt-out, one row per person."""
        memberships = (
            Membership.select(Membership, Person)
            .join(Person)
            .where(Membership.company == self.company_id)
        )
        recipients = []
        for m in memberships:
            has_role = m.roles > 0 or m.person_id == self.submitted_by_id
            if has_role and m.notification_email and not m.person.notifications_opt_out:
                recipients.append((m.person, m.notification_email))
        return recipients


def check_actor(rule, actor, current, to):
    if actor.kind == ActorKind.API and rule.by_api:
        if actor.api_token is None or not actor.api_token.allows_scope(ApiScope.PROCESS):
            raise TransitionError(
                f"Transition {current.value} → {to.value} through the API needs a token of "
                "scope process.",
                "actor",
            )
        return
    if actor.kind != rule.actor:
        raise TransitionError(
            f"Transition {current.value} → {to.value} is for the {rule.actor.value}, "
            f"not for the {actor.kind.value}.",
            "actor",
        )
    if actor.kind == ActorKind.APPLICANT and actor.person is None:
        raise TransitionError("An applicant transition needs the person who makes it.")
    if actor.kind == ActorKind.STAFF:
        if actor.staff is None:
            raise TransitionError("A staff transition needs the staff member who makes it.")
        if rule.staff_roles and actor.staff.staff_role not in rule.staff_roles:
            raise TransitionError(
                f"Transition {current.value} → {to.value} needs one of the roles "
                f"{', '.join(sorted(r.value for r in rule.staff_roles))}.",
                "role",
            )


# The event each change of status writes (Event.record); a draft's own changes (En cours ⇄
# Complet) write none: no other system ever sees a draft.
S = DossierStatus
EVENT_OF_TRANSITION = {
    (S.COMPLETE, S.SUBMITTED): "dossier.submitted",
    (S.SUBMITTED, S.RECEIVED): "dossier.received",
    (S.RECEIVED, S.PROCESSING): "dossier.processing",
    (S.PROCESSING, S.CLOSED): "dossier.closed",
    (S.CLOSED, S.PROCESSING): "dossier.reopened",
}
del S

# The document each status calls for, made by the worker (see `document_wanted`).
DOCUMENT_OF_STATUS = {
    DossierStatus.SUBMITTED: "receipt",
    DossierStatus.CLOSED: "decision_letter",
}


# The staff list's sorts, in keyset order (key, id), on the submitted dossiers only: drafts are
# never listed, and a draft's NULLs never come first in a descending read (migration 014); the
# REST API's list reads (updated_at, id) the same way (migration 017); the sorts by procedure
# and by agent read the copies kept on the dossier (migration 018).
for _columns in (
    (Dossier.submitted_at,),
    (Dossier.reference,),
    (Dossier.status,),
    (Dossier.updated_at,),
    (Dossier.procedure_title,),
    (Dossier.agent_name,),
    (Dossier.group, Dossier.submitted_at),
):
    Dossier.add_index(
        Dossier.index(*_columns, Dossier.id, where=Dossier.submitted_at.is_null(False))
    )
del _columns
# The legal deadline's running clocks (submitted, in instruction, not paused), newest first with
# their due date in the index: the list's "late" and "due within 7 days" read the due date there
# without visiting the recent dossiers not late yet, the dashboard counts the late (migration 031).
Dossier.add_index(
    Dossier.index(
        Dossier.submitted_at,
        Dossier.id,
        Dossier.due_at,
        where=Dossier.is_clock_running(),
    )
)


class DossierCount(BaseModel):
    """How many dossiers each procedure version has in each status: kept in the transaction of
    every creation, transition and deletion of a dossier (an upsert adding to the row, so that
    concurrent changes never lose one), read by the dashboard instead of counting the table.
    `flask --app run counts rebuild` counts again."""

    definition = ForeignKeyField(ProcedureDefinition, on_delete="CASCADE")
    status = CharField(max_length=20)
    n = IntegerField(default=0)

    class Meta:
        indexes = ((("definition", "status"), True),)

    @classmethod
    def add(cls, definition_id, status, delta):
        cls.insert(definition=definition_id, status=status, n=delta).on_conflict(
            conflict_target=[cls.definition, cls.status], update={cls.n: cls.n + EXCLUDED.n}
        ).execute()

    @classmethod
    def move(cls, definition_id, old, new):
        """One dossier from status `old` to `new`; the two rows always locked in the same
        order, so that two opposite transitions never wait for each other."""
        for status, delta in sorted([(old, -1), (new, 1)]):
            cls.add(definition_id, status, delta)

    @classmethod
    def kept(cls):
        """{(definition id, status): count} as kept, without the empty ones."""
        rows = cls.select(cls.definition, cls.status, cls.n).where(cls.n != 0).tuples()
        return {(definition, status): n for definition, status, n in rows}

    @classmethod
    def recount(cls):
        """{(definition id, status): count} counted on the dossier table (a full scan)."""
        rows = (
            Dossier.select(Dossier.definition, Dossier.status, fn.COUNT(Dossier.id))
            .group_by(Dossier.definition, Dossier.status)
            .tuples()
        )
        return {(definition, status): n for definition, status, n in rows}

    @classmethod
    def rebuild(cls):
        """Count again, changes waiting meanwhile (PostgreSQL: the table locked against other
        writers, so a transition committed during the count is neither lost nor counted
        twice); returns the new counts."""
        with write_transaction():
            if not isinstance(db.obj, SqliteDatabase):
                db.execute_sql(f'LOCK TABLE "{cls._meta.table_name}" IN EXCLUSIVE MODE')
            counts = cls.recount()
            cls.delete().execute()
            rows = [{"definition": d, "status": s, "n": n} for (d, s), n in counts.items()]
            for start in range(0, len(rows), 500):
                cls.insert_many(rows[start : start + 500]).execute()
        return counts


class ReferenceCounter(BaseModel):
    """Last number given per prefix and year; the row lock keeps references gap-free."""

    prefix = CharField(max_length=8)
    year = IntegerField()
    last_number = IntegerField(default=0)

    class Meta:
        indexes = ((("prefix", "year"), True),)

    @classmethod
    def next_reference(cls, prefix, year):
        """Next `PREFIX-YYYY-NNNNNN`; call inside the transaction that uses it."""
        # One statement: the year's first number, or the next one; the row stays locked until
        # the transaction commits, so that numbers have no gap.
        table, mark = cls._meta.table_name, db.param
        number = db.execute_sql(
            f'INSERT INTO "{table}" (prefix, year, last_number) VALUES ({mark}, {mark}, 1) '  # noqa: S608 - our table
            f'ON CONFLICT (prefix, year) DO UPDATE SET last_number = "{table}".last_number + 1 '
            "RETURNING last_number",
            (prefix, year),
        ).fetchone()[0]
        return f"{prefix}-{year}-{number:06d}"


class RegistrationCounter(BaseModel):
    """Last registration number given per procedure code and year (see RegistrationNumber)."""

    code = CharField(max_length=40)
    year = IntegerField()
    last_number = IntegerField(default=0)

    class Meta:
        indexes = ((("code", "year"), True),)


# The procedures whose granted decision gives a number, and the letters of its prefix.
REGISTERED_PROCEDURES = {"enregistrement": "RE", "agrement-interim": "AI"}
REGISTRATION_LABELS = {
    "enregistrement": _l("Numéro d'enregistrement"),
    "agrement-interim": _l("Numéro d'agrément"),
}


class RegistrationNumber(BaseModel):
    """The number of a granted registration (`enregistrement`) or approval
    (`agrement-interim`), which the agency must print in its advertisements.

    Format `W.<letters>.<year>.<NNNN>`: W for Wallonia, RE (enregistrement) or AI (agrément
    interim), the year of the first grant, then a sequence per procedure and year, at least
    four digits — "W.RE.2026.0001". The sequence is taken from a RegistrationCounter row by
    `UPDATE ... last_number + 1` inside the closing transaction (a row lock on PostgreSQL, the
    write lock on SQLite), and `number` is unique: a number is never given twice. A dossier
    keeps its number for life (one row per dossier): reopened and granted again, it gets the
    same one. The number counts only while the dossier's decision is "accordé".

    A registration granted before Guichet is imported (`flask registrations import`, dossiers/
    registrations.py) without a dossier, with its services: it counts as in force.
    """

    company = ForeignKeyField(Company, backref="registration_numbers", on_delete="RESTRICT")
    dossier = ForeignKeyField(
        Dossier, backref="registration_numbers", unique=True, null=True, on_delete="RESTRICT"
    )
    procedure_code = CharField(max_length=40)
    number = CharField(max_length=32, unique=True)
    granted_at = DateTimeField(default=utcnow)
    services = JSONField(null=True)  # an imported registration's services (codes)

    def __str__(self):
        return self.number

    @property
    def label(self):
        return REGISTRATION_LABELS[self.procedure_code]

    @classmethod
    def grant(cls, dossier, when=None):
        """The dossier's number (an existing one, else a new one), or None when its procedure
        gives none; call inside the transaction that closes it."""
        code = dossier.definition.code
        letters = REGISTERED_PROCEDURES.get(code)
        if letters is None:
            return None
        existing = cls.get_or_none(cls.dossier == dossier)
        if existing is not None:
            return existing
        when = when or utcnow()
        year = brussels_day(when).year  # the Belgian year: 1 January starts at 23:00 UTC
        counter = RegistrationCounter
        counter.insert(code=code, year=year, last_number=0).on_conflict_ignore().execute()
        counter.update(last_number=counter.last_number + 1).where(
            counter.code == code, counter.year == year
        ).execute()
        n = counter.get((counter.code == code) & (counter.year == year)).last_number
        return cls.create(
            company=dossier.company_id,
            dossier=dossier,
            procedure_code=code,
            number=f"W.{letters}.{year}.{n:04d}",
            granted_at=when,
        )

    @classmethod
    def granted(cls):
        """The numbers in force: their dossier is closed with the decision "accordé", or they
        were imported (granted before Guichet, no dossier)."""
        return (
            cls.select(cls, Dossier)
            .join(Dossier, JOIN.LEFT_OUTER)
            .where(
                cls.dossier.is_null()
                | (
                    (Dossier.status == DossierStatus.CLOSED.value)
                    & (Dossier.decision == Decision.GRANTED.value)
                )
            )
            .order_by(cls.granted_at, cls.id)
        )

    @classmethod
    def of_company(cls, company):
        return cls.granted().where(cls.company == company)

    @classmethod
    def of_dossier(cls, dossier):
        return cls.granted().where(cls.dossier == dossier).first()


class Signature(BaseModel):
    """Who signed and submitted a dossier, how they had logged in, and what exactly they signed:
    the SHA-256 of the canonical answers and of every annex, and their combined digest."""

    dossier = ForeignKeyField(Dossier, backref="signatures", unique=True, on_delete="CASCADE")
    person = ForeignKeyField(Person, on_delete="RESTRICT")
    auth_method = CharField(max_length=20, null=True)
    auth_level = CharField(max_length=20, null=True)
    auth_time = DateTimeField(null=True)
    signed_at = DateTimeField(default=utcnow)
    declaration = TextField()
    answers_sha256 = CharField(max_length=64)
    annexes = JSONField(default=list)
    digest = CharField(max_length=64)


class Document(BaseModel):
    """A PDF made by Guichet for a dossier: the sealed receipt, the decision letter."""

    RECEIPT = "receipt"
    DECISION_LETTER = "decision_letter"

    dossier = ForeignKeyField(Dossier, backref="documents", on_delete="CASCADE")
    kind = CharField(max_length=20)
    storage_key = CharField(max_length=128)
    sha256 = CharField(max_length=64)
    size = IntegerField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("dossier", "kind"), False),)

    @classmethod
    def latest(cls, dossier, kind, since=None):
        """The newest document of `kind`; with `since`, only one made at or after it."""
        query = cls.select().where(cls.dossier == dossier, cls.kind == kind)
        if since is not None:
            query = query.where(cls.created_at >= since)
        return query.order_by(cls.created_at.desc(), cls.id.desc()).first()

    @classmethod
    def current_letter(cls, dossier):
        """The decision letter of the dossier's current closing: none while it is open again
        after a reopening, nor the previous closing's letter before the new one is made."""
        if dossier.state != DossierStatus.CLOSED or dossier.closed_at is None:
            return None
        return cls.latest(dossier, cls.DECISION_LETTER, since=dossier.closed_at)


# --- REST API -------------------------------------------------------------------------------


class ApiScope(enum.StrEnum):
    """What a token allows: `read` the procedures and dossiers, or also `process` them (a
    process token can read)."""

    READ = "read"
    PROCESS = "process"


class ApiToken(BaseModel):
    """A bearer token of the REST API, for one of the administration's systems: only the
    SHA-256 of its secret is kept (the secret is shown once, when it is made); limited to the
    procedures listed (none: every procedure); revoked, never deleted, so that the audit log
    keeps naming it."""

    name = CharField(max_length=100, unique=True)
    secret_sha256 = CharField(max_length=64, unique=True)
    prefix = CharField(max_length=12)  # the secret's first characters, to recognise it
    scope = CharField(max_length=10, default=ApiScope.READ.value)
    procedures = JSONField(default=list)  # procedure codes; empty: all
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")  # None: the CLI
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)

    class Meta:
        constraints = [Check("scope in ('read','process')")]

    def __str__(self):
        return self.name

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def allows_scope(self, need):
        return need == ApiScope.READ or self.scope == ApiScope.PROCESS.value

    def allows_procedure(self, code):
        return not self.procedures or code in self.procedures


# How staff read a change or a message made through the API, and how the company reads a
# message: a token's name is internal to the administration.
ADMINISTRATION = _l("L'administration")


def token_label(token):
    return _("API · %(name)s", name=token.name)


class Message(BaseModel):
    """One message of a dossier's thread; a complement request from staff is a message that
    asks for answers and annexes, closed by the company's reply. Sent messages never change."""

    TO_COMPANY, FROM_COMPANY = "to_company", "from_company"

    dossier = ForeignKeyField(Dossier, backref="messages", on_delete="CASCADE")
    direction = CharField(max_length=20)
    author_person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    author_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    author_token = ForeignKeyField(ApiToken, null=True, on_delete="SET NULL")  # via the API
    body = TextField()
    is_complement_request = BooleanField(default=False)
    requested_annexes = JSONField(default=list)
    in_reply_to = ForeignKeyField("self", null=True, backref="replies", on_delete="SET NULL")
    answered_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("dossier", "created_at"), False),)

    @property
    def author_name(self):
        """Who wrote it, as staff and the administration's systems read it."""
        if self.author_person_id:
            return self.author_person.full_name
        if self.author_staff_id:
            return self.author_staff.full_name
        if self.author_token_id:
            return token_label(self.author_token)
        return ""

    @property
    def author_name_for_company(self):
        """Who wrote it, as the company reads it: a staff member by name, as always; another
        system of the administration as the administration (a token's name is internal)."""
        if self.author_token_id:
            return str(ADMINISTRATION)
        return self.author_name


class ReminderSent(BaseModel):
    """An activity-report reminder already sent: never twice per company, year and step."""

    company = ForeignKeyField(Company, on_delete="CASCADE")
    year = IntegerField()
    step = IntegerField()  # days before the due date
    sent_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("company", "year", "step"), True),)


class ScanStatus(enum.StrEnum):
    """Where an annex stands with the virus scanner: in quarantine until it is clean."""

    PENDING = "pending"  # not scanned yet, or the scanner could not be reached
    CLEAN = "clean"
    INFECTED = "infected"  # its file is erased; the row stays to tell the company
    ERROR = "error"  # the scanner answered an error about this file: asked again later


class Annex(BaseModel):
    dossier = ForeignKeyField(Dossier, backref="annexes", on_delete="CASCADE")
    requirement = CharField(max_length=64)
    original_name = CharField(max_length=255)
    storage_key = CharField(max_length=128)
    sha256 = CharField(max_length=64)
    size = IntegerField()
    pages = IntegerField()
    uploaded_by = ForeignKeyField(Person, on_delete="RESTRICT")
    uploaded_at = DateTimeField(default=utcnow)
    frozen = BooleanField(default=False)
    message = ForeignKeyField(Message, null=True, backref="annexes", on_delete="SET NULL")
    scan_status = CharField(max_length=10, default=ScanStatus.PENDING.value, index=True)
    scanned_at = DateTimeField(null=True)
    scan_detail = CharField(max_length=200, null=True)  # what the scanner found or said

    class Meta:
        indexes = ((("dossier", "requirement"), False),)

    @property
    def scan(self):
        return ScanStatus(self.scan_status)

    @property
    def is_clean(self):
        return self.scan == ScanStatus.CLEAN

    @property
    def is_infected(self):
        return self.scan == ScanStatus.INFECTED

    @classmethod
    def awaiting_scan(cls):
        return cls.select().where(
            cls.scan_status.in_([ScanStatus.PENDING.value, ScanStatus.ERROR.value])
        )


class StatusChange(BaseModel):
    """One row per change of status: the dossier's history."""

    dossier = ForeignKeyField(Dossier, backref="history", on_delete="CASCADE")
    from_status = CharField(max_length=20, null=True)
    to_status = CharField(max_length=20)
    actor_kind = CharField(max_length=20)
    actor_person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    actor_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    actor_token = ForeignKeyField(ApiToken, null=True, on_delete="SET NULL")  # via the API
    comment = TextField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("dossier", "created_at"), False),)

    @property
    def actor_name(self):
        """Who made the change, as staff and the administration's systems read it."""
        if self.actor_person_id:
            return self.actor_person.full_name
        if self.actor_staff_id:
            return self.actor_staff.full_name
        if self.actor_token_id:
            return token_label(self.actor_token)
        return _l("Système")


class GroupChange(BaseModel):
    """A dossier routed to a group at its submission (no actor: the rules of its procedure, or
    the default group) or moved to another by staff with a reason: the staff's history of the
    dossier, never shown to the company."""

    dossier = ForeignKeyField(Dossier, backref="group_changes", on_delete="CASCADE")
    from_group = ForeignKeyField(StaffGroup, null=True, on_delete="SET NULL", backref="+")
    to_group = ForeignKeyField(StaffGroup, null=True, on_delete="SET NULL", backref="+")
    actor_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")
    rule = CharField(max_length=200, null=True)  # the routing rule that matched, as written
    reason = TextField(null=True)
    created_at = DateTimeField(default=utcnow)

    is_group_change = True  # told apart from a StatusChange in the merged history

    class Meta:
        indexes = ((("dossier", "created_at"), False),)

    @property
    def actor_name(self):
        return self.actor_staff.full_name if self.actor_staff_id else _l("Système")


# --- outbox and audit -----------------------------------------------------------------------


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(BaseModel):
    """An email written in the transaction of the change it reports, sent later by the worker."""

    event = CharField(max_length=40)
    message_id = CharField(max_length=255, unique=True)
    dossier = ForeignKeyField(Dossier, null=True, backref="emails", on_delete="SET NULL")
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    to_email = CharField(max_length=254)
    language = CharField(max_length=2, default="fr")
    context = JSONField(default=dict)
    subject = CharField(max_length=300, null=True)
    body_text = TextField(null=True)
    body_html = TextField(null=True)
    status = CharField(max_length=10, default=OutboxStatus.PENDING.value)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    claimed_until = DateTimeField(null=True)
    # The worker process holding the claim (notifications.claims.worker_id): a claim whose
    # worker is seen dead is released at once instead of at the end of its lease.
    claimed_by = CharField(max_length=120, null=True)
    last_error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False), (("dossier", "created_at"), False))

    @staticmethod
    def new_message_id():
        return f"{uuid.uuid4().hex}.{secrets.token_hex(4)}"

    @classmethod
    def queue(cls, event, to_email, person=None, dossier=None, language="fr", **context):
        message = cls.create(
            event=event,
            message_id=cls.new_message_id(),
            dossier=dossier,
            person=person,
            to_email=to_email,
            language=language,
            context=context,
        )
        outbox_queued.send(cls, message=message)
        return message

    @classmethod
    def queue_for_dossier(cls, dossier, event, comment=None, **extra):
        """The event's email to every recipient of the dossier: the submitter and every
        company user holding a role, at their validated professional address."""
        for person, address in dossier.notification_recipients():
            cls.queue(
                event,
                address,
                person=person,
                dossier=dossier,
                language=person.language,
                dossier_id=dossier.id,
                reference=dossier.reference,
                procedure=dossier.definition.title,
                company=dossier.company.name,
                status=dossier.status,
                decision=dossier.decision,
                comment=comment,
                recipient=person.full_name,
                **extra,
            )

    @classmethod
    def due(cls, now, limit):
        return (
            cls.select()
            .where(
                cls.status == OutboxStatus.PENDING.value,
                cls.next_attempt_at <= now,
                (cls.claimed_until.is_null()) | (cls.claimed_until < now),
            )
            .order_by(cls.next_attempt_at, cls.id)
            .limit(limit)
        )


class AuditEvent(BaseModel):
    """Append-only record of staff actions and access-rights changes."""

    actor_kind = CharField(max_length=20)
    actor_person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    actor_staff = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    action = CharField(max_length=64, index=True)
    target_type = CharField(max_length=40, null=True)
    target_id = CharField(max_length=40, null=True)
    details = JSONField(default=dict)
    ip_address = CharField(max_length=45, null=True)
    created_at = DateTimeField(default=utcnow, index=True)

    def save(self, *args, **kwargs):
        if self.id is not None:
            raise PermissionError("Audit events are append-only.")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")

    @classmethod
    def record(cls, action, actor, target=None, ip_address=None, **details):
        """One row; a change made through the REST API names its token."""
        if actor.api_token is not None:
            details.setdefault("token", actor.api_token.name)
        return cls.create(
            actor_kind=actor.kind.value,
            actor_person=actor.person,
            actor_staff=actor.staff,
            action=action,
            target_type=type(target).__name__ if target is not None else None,
            target_id=str(target.id) if target is not None else None,
            details=details,
            ip_address=ip_address or actor.ip_address,
        )


# --- events for the administration's other systems ---------------------------------------


class EventType(enum.StrEnum):
    """The stable names of the events that the feed and the webhooks hand to other systems."""

    SUBMITTED = "dossier.submitted"
    RECEIVED = "dossier.received"
    PROCESSING = "dossier.processing"
    CLOSED = "dossier.closed"
    REOPENED = "dossier.reopened"
    MESSAGE = "dossier.message"  # from staff to the company
    COMPLEMENT_REQUESTED = "dossier.complement_requested"
    COMPLEMENT_ANSWERED = "dossier.complement_answered"  # the company's reply
    ACCESS_CHANGED = "company.access_changed"


class Event(BaseModel):
    """One thing that happened to a dossier or to a company's access, for the administration's
    other systems (the feed `GET /api/v1/events`, the webhooks): written in the transaction of
    the change it reports (a transactional outbox, as emails are), so that a change that rolls
    back leaves none and a committed one is never lost.

    `sequence` numbers the events of one dossier 1, 2, 3… with no gap and no duplicate: it is
    taken from the dossier's `event_sequence` by an `UPDATE ... + 1 RETURNING`, which also
    locks the row until the commit, and (dossier, sequence) is unique. `position` is the feed's
    order, given after the commit by `dossiers.events.sequence_pending` (see there why the id
    cannot be). `data` holds what a receiver needs without another call, and no personal data
    (no names, texts or answers of the company's people): those are erased from a dossier by
    its retention, and an event is kept as it was written."""

    type = CharField(max_length=40)
    dossier = ForeignKeyField(
        Dossier, null=True, backref="events", on_delete="RESTRICT", index=False
    )  # (dossier, sequence) is its index
    company = ForeignKeyField(Company, backref="events", on_delete="RESTRICT")
    procedure_code = CharField(max_length=40, null=True)  # None: a company's event
    sequence = IntegerField(null=True)
    data = JSONField(default=dict)
    actor_kind = CharField(max_length=20)
    actor_label = CharField(max_length=200, null=True)  # a staff member's name, a token's
    created_at = DateTimeField(default=utcnow)
    position = IntegerField(null=True, unique=True)

    class Meta:
        indexes = ((("dossier", "sequence"), True),)

    def save(self, *args, **kwargs):
        if self.id is not None:
            raise PermissionError("Events never change once written.")
        return super().save(*args, **kwargs)

    @classmethod
    def record(cls, type, actor, dossier=None, company=None, **data):
        """Write one event of the dossier (its next sequence number) or of the company; call
        inside the transaction of the change it reports."""
        if not db.in_transaction():
            raise RuntimeError("An event is written in the transaction of its change.")
        if dossier is not None:
            [(sequence, status, reference)] = (
                Dossier.update(event_sequence=Dossier.event_sequence + 1)
                .where(Dossier.id == dossier.id)
                .returning(Dossier.event_sequence, Dossier.status, Dossier.reference)
                .tuples()
                .execute()
            )
            dossier.event_sequence = sequence
            definition = dossier.definition
            company = dossier.company
            data = {
                "dossier_id": dossier.id,
                "reference": reference,
                "procedure": definition.code,
                "procedure_version": definition.version,
                "status": status,
                **data,
            }
        data["enterprise_number"] = company.enterprise_number
        event = cls.create(
            type=EventType(type).value,
            dossier=dossier,
            company=company,
            procedure_code=definition.code if dossier is not None else None,
            sequence=sequence if dossier is not None else None,
            data=data,
            actor_kind=actor.kind.value,
            actor_label=event_actor_label(actor),
        )
        event_recorded.send(cls, event_id=event.id)
        return event


def event_actor_label(actor):
    """Who made the change, as other systems may read it: a staff member's name or a token's;
    nobody's for the company's people (personal data) or the system."""
    if actor.staff is not None:
        return actor.staff.full_name
    if actor.api_token is not None:
        return actor.api_token.name
    return None


# The feed reads the events still without a position (the sequencer) and in position order.
Event.add_index(Event.index(Event.id, where=Event.position.is_null()))


class EventPosition(BaseModel):
    """The last feed position given (one row), locked by the sequencer so that positions are
    given by one writer at a time, in the order of their commits."""

    last_position = IntegerField(default=0)

    class Meta:
        table_name = "event_position_counter"  # "event_position" is the index of Event.position

    @classmethod
    def locked(cls):
        """The row, made if missing, read and locked until the transaction ends (SELECT ... FOR
        UPDATE on PostgreSQL; SQLite's IMMEDIATE write lock already is one)."""
        cls.insert(id=1, last_position=0).on_conflict_ignore().execute()
        query = cls.select().where(cls.id == 1)
        return (query.for_update() if db.for_update else query).get()


class ExportStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def label(self):
        return EXPORT_STATUS_LABELS[self]

    @property
    def in_progress(self):
        return self in (ExportStatus.PENDING, ExportStatus.RUNNING)


EXPORT_STATUS_LABELS = {
    ExportStatus.PENDING: _l("En attente"),
    ExportStatus.RUNNING: _l("En cours"),
    ExportStatus.READY: _l("Prêt"),
    ExportStatus.FAILED: _l("Échoué"),
    ExportStatus.EXPIRED: _l("Expiré"),
}


class Export(BaseModel):
    """A file of a back-office list (CSV or XLSX) that the worker makes in the background, for
    the staff member who asked for it alone; its file is erased when it expires."""

    staff = ForeignKeyField(StaffUser, backref="exports", on_delete="CASCADE")
    source = CharField(max_length=40)  # which list: "dossiers"
    format = CharField(max_length=10)
    language = CharField(max_length=2, default="fr")
    query_args = JSONField(default=dict)  # the list's search, filters and sort when asked
    status = CharField(max_length=10, default=ExportStatus.PENDING.value, index=True)
    rows_done = IntegerField(default=0)
    rows_total = IntegerField(null=True)
    storage_key = CharField(max_length=128, null=True)
    sha256 = CharField(max_length=64, null=True)
    size = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    finished_at = DateTimeField(null=True)
    error = TextField(null=True)

    class Meta:
        indexes = ((("staff", "created_at"), False),)

    @property
    def state(self):
        return ExportStatus(self.status)

    def progress(self, done, total=None):
        """Write how far the worker is (read by the exports page while it runs)."""
        values = {Export.rows_done: done}
        if total is not None:
            values[Export.rows_total] = total
        Export.update(values).where(Export.id == self.id).execute()
        self.rows_done = done
        self.rows_total = self.rows_total if total is None else total


# --- webhooks -------------------------------------------------------------------------------


class WebhookSubscription(BaseModel):
    """A system of the administration told of the events by HTTP (webhooks/): every event of
    its procedures (none listed: every procedure and the companies' events) and of its types
    (none: every type), signed with its secret after the Standard Webhooks specification.

    `secret_sealed` is the signing secret encrypted with a key derived from the app's
    (webhooks.secrets); `last_position` the feed position up to which the events were looked
    at for it, so that each event is handed to it once. A subscription is paused by hand, or by
    the worker after `WEBHOOK_PAUSE_AFTER` failed attempts in a row (its owner is emailed);
    while paused its deliveries wait, none is lost."""

    name = CharField(max_length=100, unique=True)
    url = CharField(max_length=500)
    secret_sealed = TextField()
    procedures = JSONField(default=list)  # procedure codes; empty: all
    event_types = JSONField(default=list)  # EventType values; empty: all
    owner = ForeignKeyField(StaffUser, backref="webhooks", on_delete="RESTRICT")
    created_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    last_position = IntegerField(default=0)
    consecutive_failures = IntegerField(default=0)
    last_success_at = DateTimeField(null=True)
    paused_at = DateTimeField(null=True)
    pause_reason = CharField(max_length=20, null=True)  # "manual" or "failures"

    PAUSED_BY_HAND, PAUSED_BY_FAILURES = "manual", "failures"

    def __str__(self):
        return self.name

    @property
    def is_paused(self):
        return self.paused_at is not None

    def wants(self, event):
        """Whether the event is one this subscription receives."""
        if self.event_types and event.type not in self.event_types:
            return False
        if self.procedures:
            return event.procedure_code in self.procedures
        return True


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # to send, or to send again at `next_attempt_at`
    DELIVERED = "delivered"  # the receiver answered 2xx
    DEAD = "dead"  # every attempt failed: in the dead letters until replayed


class WebhookDelivery(BaseModel):
    """One event to hand to one subscription, made once (unique) when the worker looks at the
    event for it, then sent until the receiver answers 2xx or the back-off schedule ends (the
    dead letters). Its `webhook-id` stays the same on every attempt and replay, so that a
    receiver recognises an event it already has."""

    subscription = ForeignKeyField(WebhookSubscription, backref="deliveries", on_delete="CASCADE")
    event = ForeignKeyField(Event, backref="deliveries", on_delete="CASCADE")
    position = IntegerField()  # the event's: the order in which a subscription's are sent
    status = CharField(max_length=10, default=DeliveryStatus.PENDING.value)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    claimed_until = DateTimeField(null=True)
    last_status_code = IntegerField(null=True)
    last_error = CharField(max_length=300, null=True)
    created_at = DateTimeField(default=utcnow)
    delivered_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("subscription", "event"), True),
            (("subscription", "status", "position"), False),
            (("status", "next_attempt_at"), False),
        )

    @property
    def state(self):
        return DeliveryStatus(self.status)

    @property
    def webhook_id(self):
        return f"evt_{self.event_id}"


class WebhookAttempt(BaseModel):
    """One HTTP call of a delivery: the subscription's delivery log, with the receiver's
    answer (or the error that stood for one) and how long it took."""

    delivery = ForeignKeyField(WebhookDelivery, backref="attempt_rows", on_delete="CASCADE")
    subscription = ForeignKeyField(WebhookSubscription, on_delete="CASCADE", index=False)
    attempted_at = DateTimeField(default=utcnow)
    status_code = IntegerField(null=True)  # None: no answer (refused, timed out)
    duration_ms = IntegerField()
    error = CharField(max_length=300, null=True)

    class Meta:
        indexes = ((("subscription", "attempted_at"), False),)


# --- editable email texts -------------------------------------------------------------------


class EmailTemplate(BaseModel):
    """One version of an email's text as an administrator saved it (notifications.texts), for
    one event and language: the latest version is the one sent. A version with
    `is_default` set is a return to the shipped text (its subject and body are empty), so that
    every change, the return included, stays in the history."""

    event = CharField(max_length=40)
    language = CharField(max_length=2)
    subject = CharField(max_length=300, null=True)
    body = TextField(null=True)
    is_default = BooleanField(default=False)
    author = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("event", "language", "id"), False),)

    @classmethod
    def history(cls, event, language):
        """The versions of one email, newest first."""
        return (
            cls.select().where(cls.event == event, cls.language == language).order_by(cls.id.desc())
        )

    @classmethod
    def in_force(cls, event, language):
        """The version sent, or None when the shipped text is (no version, or the latest is
        a return to it)."""
        latest = cls.history(event, language).first()
        return None if latest is None or latest.is_default else latest


# --- labels and private notes (staff only) --------------------------------------------------


class Label(BaseModel):
    """A label of one procedure (every version), set by staff on its dossiers to sort their
    work (`dossiers.labels`); its colour is a key of the palette `dossiers.labels.COLOURS`.
    Never shown to the company, nor in the API."""

    procedure_code = CharField(max_length=64)
    name = CharField(max_length=50)
    colour = CharField(max_length=20)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("procedure_code", "name"), True),)

    def __str__(self):
        return self.name


class DossierLabel(BaseModel):
    """A label set on a dossier; (label, dossier) unique, the index the list's filter reads."""

    label = ForeignKeyField(Label, backref="dossier_labels", on_delete="CASCADE", index=False)
    dossier = ForeignKeyField(Dossier, backref="label_rows", on_delete="CASCADE")
    set_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    set_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("label", "dossier"), True),)


class DossierFollow(BaseModel):
    """A staff member following a dossier (`dossiers.following`); (staff, dossier) unique, the
    index the list's "Suivis" filter reads, and one by dossier for its followers."""

    staff = ForeignKeyField(StaffUser, backref="follows", on_delete="CASCADE", index=False)
    dossier = ForeignKeyField(Dossier, backref="followers", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("staff", "dossier"), True),)

    @classmethod
    def add(cls, staff, dossier):
        """`staff` follows the dossier; already following: nothing changes."""
        cls.insert(
            staff=staff.id, dossier=dossier.id, created_at=utcnow()
        ).on_conflict_ignore().execute()


class PrivateNote(BaseModel):
    """A note of staff on a dossier, for staff of the processing roles only (`dossiers.notes`):
    never shown to the company, nor in its documents, emails, the API or the events. Its author
    may edit it; each text it replaces is kept (PrivateNoteVersion)."""

    dossier = ForeignKeyField(Dossier, backref="private_notes", on_delete="CASCADE", index=False)
    author = ForeignKeyField(StaffUser, backref="private_notes", on_delete="RESTRICT")
    body = TextField()
    created_at = DateTimeField(default=utcnow)
    edited_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("dossier", "created_at"), False),)


class PrivateNoteVersion(BaseModel):
    """A text a note had before an edit, with the time it was written."""

    note = ForeignKeyField(PrivateNote, backref="versions", on_delete="CASCADE")
    body = TextField()
    written_at = DateTimeField()
    replaced_at = DateTimeField(default=utcnow)


class DossierAnnotation(BaseModel):
    """One private annotation of a dossier (`dossiers.annotations`): a field its procedure
    declares under `annotations:`, filled by staff, never shown to the company. A row per key
    with its value as text, so that the list's "equals" filter on a key reads the index
    (key, value_text, dossier) at any number of dossiers."""

    dossier = ForeignKeyField(Dossier, backref="annotations", on_delete="CASCADE", index=False)
    key = CharField(max_length=64)
    value_text = CharField(max_length=500)

    class Meta:
        indexes = (
            (("dossier", "key"), True),
            (("key", "value_text", "dossier"), False),
        )


class ExpertOpinion(BaseModel):
    """An opinion an agent asks of another staff member or of an outside expert
    (`dossiers.opinions`): by an emailed link that opens only what the agent shared (the
    answers, some annexes) and answers once, until the end of its deadline day. A confidential
    opinion is never shown to the company; the others are, once answered, on its dossier
    page."""

    dossier = ForeignKeyField(Dossier, backref="opinions", on_delete="CASCADE", index=False)
    asked_by = ForeignKeyField(StaffUser, backref="+", on_delete="RESTRICT")
    expert_staff = ForeignKeyField(StaffUser, null=True, backref="+", on_delete="SET NULL")
    expert_name = CharField(max_length=200)
    expert_email = CharField(max_length=254)
    language = CharField(max_length=2, default="fr")  # of the expert's emails and page
    question = TextField()
    due_on = DateField()  # the last day (in Brussels) the link answers
    confidential = BooleanField(default=True)
    share_answers = BooleanField(default=False)
    shared_annexes = JSONField(default=list)  # ids of the dossier's annexes the expert may open
    # The link's secret is an HMAC of this nonce under SECRET_KEY (the reminder sends it again);
    # the link is looked up by the secret's SHA-256.
    link_nonce = CharField(max_length=64)
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    reminded_at = DateTimeField(null=True)
    cancelled_at = DateTimeField(null=True)
    answered_at = DateTimeField(null=True)
    answer = TextField(null=True)
    # The answer's PDF, if one was sent: checked by its content, scanned, kept under a random key.
    file_name = CharField(max_length=255, null=True)
    file_key = CharField(max_length=128, null=True)
    file_sha256 = CharField(max_length=64, null=True)
    file_size = IntegerField(null=True)
    file_pages = IntegerField(null=True)

    class Meta:
        indexes = (
            (("dossier", "created_at"), False),
            (("due_on",), False),  # the reminders' range
        )

    @property
    def is_open(self):
        return self.answered_at is None and self.cancelled_at is None


# --- statistics -----------------------------------------------------------------------------

BRUSSELS = ZoneInfo("Europe/Brussels")
# The decision each column of MonthlyStatistics counts.
DECISION_COLUMNS = {
    Decision.GRANTED: "granted",
    Decision.REFUSED: "refused",
    Decision.NO_FOLLOW_UP: "dismissed",
}


def brussels_day(moment):
    """The calendar day in Brussels of a naive UTC timestamp: statistics count Belgian days
    and months (a dossier submitted on 31 January at 23:30 in Liège counts in January)."""
    return moment.replace(tzinfo=UTC).astimezone(BRUSSELS).date()


def month_of(moment):
    """The first day of the month (Brussels) of a naive UTC timestamp."""
    return brussels_day(moment).replace(day=1)


def processing_days(submitted_at, closed_at):
    """Calendar days (Brussels) from the submission to the closing: 0 for a dossier closed on
    the day it was submitted."""
    return (brussels_day(closed_at) - brussels_day(submitted_at)).days


def procedure_code_of(dossier):
    """The code of the dossier's procedure, without reading the definition's 30 kB text."""
    definition = dossier.__rel__.get("definition")
    if definition is not None and definition.code:
        return definition.code
    return (
        ProcedureDefinition.select(ProcedureDefinition.code)
        .where(ProcedureDefinition.id == dossier.definition_id)
        .scalar()
    )


class MonthlyStatistics(BaseModel):
    """Per procedure (its code, all versions together) and month (its first day, Brussels
    time): the dossiers submitted that month, and those closed that month with their
    decision. Kept in the transaction of every transition (an upsert adding to the row, as
    DossierCount), so that the statistics pages read a few rows and never the dossier table;
    `flask --app run statistics rebuild` computes them again from the dossiers.

    A dossier counts once as submitted (it is submitted once) and at most once as closed: in
    the month of its last closing, with its last decision and its processing time from its
    submission to that closing (MonthlyProcessingDays). Reopening it takes its closing back
    from the month it was counted in; closing it again counts it in the new month.

    `late` counts the closings after the dossier's legal due date (`closed_at > due_at`, see
    Dossier._deadline_changes), in the month of the closing and taken back with it."""

    procedure_code = CharField(max_length=64)
    month = DateField()
    submitted = IntegerField(default=0)
    closed = IntegerField(default=0)
    granted = IntegerField(default=0)
    refused = IntegerField(default=0)
    dismissed = IntegerField(default=0)
    late = IntegerField(default=0)

    COUNTS = ("submitted", "closed", "granted", "refused", "dismissed", "late")

    class Meta:
        indexes = ((("procedure_code", "month"), True),)

    @classmethod
    def add(cls, code, month, **deltas):
        update = {
            getattr(cls, name): getattr(cls, name) + getattr(EXCLUDED, name) for name in deltas
        }
        cls.insert(procedure_code=code, month=month, **deltas).on_conflict(
            conflict_target=[cls.procedure_code, cls.month], update=update
        ).execute()

    @classmethod
    def count_closing(cls, code, submitted_at, closed_at, decision, delta, due_at=None):
        """A closing counted (delta 1) or taken back (-1): its month, decision, duration and
        whether it came after the legal due date."""
        month = month_of(closed_at)
        late = {"late": delta} if due_at is not None and closed_at > due_at else {}
        cls.add(code, month, closed=delta, **{DECISION_COLUMNS[Decision(decision)]: delta}, **late)
        MonthlyProcessingDays.add(code, month, processing_days(submitted_at, closed_at), delta)

    @classmethod
    def record(cls, dossier, to, now, reopened=None):
        """Count the transition the dossier just made to `to` at `now`; `reopened` is the
        dossier as it was closed, when this transition reopens it."""
        if to == DossierStatus.SUBMITTED:
            cls.add(procedure_code_of(dossier), month_of(now), submitted=1)
        elif to == DossierStatus.CLOSED:
            submitted_at = dossier.submitted_at or (
                Dossier.select(Dossier.submitted_at).where(Dossier.id == dossier.id).scalar()
            )
            code = procedure_code_of(dossier)
            cls.count_closing(code, submitted_at, now, dossier.decision, 1, dossier.due_at)
        elif reopened is not None and reopened.closed_at is not None:
            code = procedure_code_of(dossier)
            cls.count_closing(
                code,
                reopened.submitted_at,
                reopened.closed_at,
                reopened.decision,
                -1,
                reopened.due_at,
            )

    @classmethod
    def kept(cls):
        """({(code, month): {count: n}}, {(code, month, days): n}) as kept, without zeros."""
        months = {}
        for row in cls.select():
            counts = {name: getattr(row, name) for name in cls.COUNTS if getattr(row, name)}
            if counts:
                months[(row.procedure_code, row.month)] = counts
        days = MonthlyProcessingDays.select().where(MonthlyProcessingDays.n != 0)
        return months, {(r.procedure_code, r.month, r.days): r.n for r in days}

    @classmethod
    def recount(cls, batch=10_000):
        """The same as `kept`, computed from the submitted dossiers (read by id, `batch` at a
        time): their submission, and for the closed ones their closing and decision."""
        months, days = {}, {}

        def count(key, name):
            counts = months.setdefault(key, {})
            counts[name] = counts.get(name, 0) + 1

        query = (
            Dossier.select(
                Dossier.id,
                ProcedureDefinition.code,
                Dossier.submitted_at,
                Dossier.closed_at,
                Dossier.decision,
                Dossier.due_at,
            )
            .join(ProcedureDefinition)
            .where(Dossier.submitted_at.is_null(False))
            .order_by(Dossier.id)
            .limit(batch)
        )
        last = 0
        while True:
            rows = list(query.where(Dossier.id > last).tuples())
            for _id, code, submitted_at, closed_at, decision, due_at in rows:
                count((code, month_of(submitted_at)), "submitted")
                if closed_at is not None and decision:
                    month = month_of(closed_at)
                    count((code, month), "closed")
                    count((code, month), DECISION_COLUMNS[Decision(decision)])
                    if due_at is not None and closed_at > due_at:
                        count((code, month), "late")
                    key = (code, month, processing_days(submitted_at, closed_at))
                    days[key] = days.get(key, 0) + 1
            if len(rows) < batch:
                return months, days
            last = rows[-1][0]

    @classmethod
    def rebuild(cls):
        """Compute again and replace the kept rows, transitions waiting meanwhile (PostgreSQL:
        both tables locked against other writers, so that a closing committed during the count
        is neither lost nor counted twice); returns what `recount` gives."""
        with write_transaction():
            if not isinstance(db.obj, SqliteDatabase):
                for model in (cls, MonthlyProcessingDays):
                    db.execute_sql(f'LOCK TABLE "{model._meta.table_name}" IN EXCLUSIVE MODE')
            months, days = cls.recount()
            cls.delete().execute()
            MonthlyProcessingDays.delete().execute()
            rows = [{"procedure_code": c, "month": m, **n} for (c, m), n in months.items()]
            for start in range(0, len(rows), 500):
                cls.insert_many(rows[start : start + 500]).execute()
            rows = [
                {"procedure_code": c, "month": m, "days": d, "n": n}
                for (c, m, d), n in days.items()
            ]
            for start in range(0, len(rows), 500):
                MonthlyProcessingDays.insert_many(rows[start : start + 500]).execute()
        return months, days


class MonthlyProcessingDays(BaseModel):
    """How many of a procedure's dossiers closed in a month took each number of days (from
    submission to closing, `processing_days`): the histogram from which the median and the
    90th percentile are read exactly to the day. Kept with MonthlyStatistics."""

    procedure_code = CharField(max_length=64)
    month = DateField()
    days = IntegerField()
    n = IntegerField(default=0)

    class Meta:
        indexes = ((("procedure_code", "month", "days"), True),)

    @classmethod
    def add(cls, code, month, days, delta):
        cls.insert(procedure_code=code, month=month, days=days, n=delta).on_conflict(
            conflict_target=[cls.procedure_code, cls.month, cls.days],
            update={cls.n: cls.n + EXCLUDED.n},
        ).execute()


# --- identity -------------------------------------------------------------------------------


class LoginIdentity(BaseModel):
    """The (issuer, subject) pair an identity provider gave for a person: logins are bound to it."""

    person = ForeignKeyField(Person, backref="identities", on_delete="CASCADE")
    issuer = CharField(max_length=255)
    subject = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("issuer", "subject"), True),)


class UserSession(BaseModel):
    """A login session kept on the server: the cookie only carries its random id (hashed here),
    so logging out, "log out everywhere" and the idle and absolute limits cannot be undone by
    replaying an old cookie."""

    token_hash = CharField(max_length=64, unique=True)
    person = ForeignKeyField(Person, null=True, backref="sessions", on_delete="CASCADE")
    staff = ForeignKeyField(StaffUser, null=True, backref="sessions", on_delete="CASCADE")
    auth_method = CharField(max_length=20, null=True)
    auth_level = CharField(max_length=20, null=True)
    created_at = DateTimeField(default=utcnow)
    auth_time = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    ip_address = CharField(max_length=45, null=True)
    user_agent = CharField(max_length=300, null=True)


class VerificationCode(BaseModel):
    """A one-time code (and, for email validation, a link token), stored hashed.

    `subject` is who asks (a national number, or a membership id for email validation);
    `address` is where the code went (phone or email); `ip_address` where it was asked from:
    all three are rate-limited.
    """

    purpose = CharField(max_length=20)
    subject = CharField(max_length=64)
    channel = CharField(max_length=10)
    address = CharField(max_length=254)
    ip_address = CharField(max_length=45, null=True)
    code_hash = CharField(max_length=128)
    token_hash = CharField(max_length=64, null=True, unique=True)
    attempts = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    invalidated_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("purpose", "subject", "created_at"), False),
            (("purpose", "address", "created_at"), False),
            (("ip_address", "created_at"), False),
        )


class SmsMessage(BaseModel):
    """SMS kept by the development gateway, shown on the development mail page."""

    to_phone = CharField(max_length=32)
    body = TextField()
    gateway = CharField(max_length=20)
    created_at = DateTimeField(default=utcnow, index=True)


class RegisterEntry(BaseModel):
    """One enterprise of the company register (BCE/KBO), as loaded from its open data files."""

    enterprise_number = CharField(max_length=10, primary_key=True)
    name = CharField(max_length=300, index=True)
    data = JSONField(default=dict)
    loaded_at = DateTimeField(default=utcnow)


# --- the stand-in identity provider (development and tests only) ------------------------------


class FasGrant(BaseModel):
    """An authorization code issued by the stand-in FAS, single use."""

    code_hash = CharField(max_length=64, unique=True)
    client_id = CharField(max_length=128)
    redirect_uri = CharField(max_length=500)
    scope = CharField(max_length=255)
    nonce = CharField(max_length=255, null=True)
    code_challenge = CharField(max_length=128, null=True)
    code_challenge_method = CharField(max_length=10, null=True)
    national_number = CharField(max_length=11)
    auth_method = CharField(max_length=20)
    auth_time = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    access_token_hash = CharField(max_length=64, null=True, unique=True)
    access_expires_at = DateTimeField(null=True)


class FasCardState(BaseModel):
    """Wrong PINs typed for a test eID card; three block it."""

    card_number = CharField(max_length=20, primary_key=True)
    failed_pins = IntegerField(default=0)
    blocked_at = DateTimeField(null=True)


ALL_MODELS = [
    Person,
    Company,
    Membership,
    StaffUser,
    StaffGroup,
    StaffGroupMember,
    ProcedureDefinition,
    Dossier,
    DossierCount,
    ReferenceCounter,
    RegistrationCounter,
    RegistrationNumber,
    Signature,
    Document,
    Message,
    ReminderSent,
    Annex,
    StatusChange,
    GroupChange,
    OutboxMessage,
    AuditEvent,
    Event,
    EventPosition,
    Export,
    ApiToken,
    WebhookSubscription,
    WebhookDelivery,
    WebhookAttempt,
    EmailTemplate,
    Label,
    DossierLabel,
    DossierFollow,
    PrivateNote,
    PrivateNoteVersion,
    DossierAnnotation,
    ExpertOpinion,
    MonthlyStatistics,
    MonthlyProcessingDays,
    LoginIdentity,
    UserSession,
    VerificationCode,
    SmsMessage,
    RegisterEntry,
    FasGrant,
    FasCardState,
]
