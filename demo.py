"""Demo data for development and demonstrations: `flask --app run seed-demo` (idempotent)."""

import json
import secrets
from pathlib import Path

import click
from flask import current_app

import procedures
import sources
from auth import hash_password
from fas_standin import identities
from models import (
    Actor,
    Company,
    Decision,
    Dossier,
    DossierStatus,
    Membership,
    Person,
    ProcedureDefinition,
    Role,
    StaffRole,
    StaffUser,
    db,
    utcnow,
)

# Companies of the sample company register (sources/kbo_sample), activated for the demo.
COMPANIES = ["0566988259", "0314595348", "0202239951"]
PERSONS = [
    ("93051822361", "Dubois", "Marie", "marie.dubois@interim-liege.test"),
    ("42012205181", "Lambert", "Jean", "jean.lambert@interim-liege.test"),
    ("05010100113", "Peeters", "Sofia", "sofia.peeters@wallonie-placement.test"),
]
# (person index, company index, roles, access manager)
MEMBERSHIPS = [
    (0, 0, Role.SIGN, True),
    (1, 0, Role.ENCODE, False),
    (1, 2, Role.CONSULT, False),
    (2, 1, Role.SIGN, True),
    (0, 2, Role.SIGN, True),
]
STAFF = [
    ("agent@guichet.test", "Anne Agent", StaffRole.AGENT),
    ("superviseur@guichet.test", "Serge Superviseur", StaffRole.SUPERVISOR),
    ("helpdesk@guichet.test", "Hélène Helpdesk", StaffRole.HELPDESK),
    ("admin@guichet.test", "Adrien Administrateur", StaffRole.ADMIN),
]
# One dossier per status for the first company, walked through real transitions.
DOSSIER_PATHS = [
    ("enregistrement", DossierStatus.DRAFT),
    ("agrement-interim", DossierStatus.COMPLETE),
    ("enregistrement", DossierStatus.SUBMITTED),
    ("rapport-activites", DossierStatus.RECEIVED),
    ("agrement-interim", DossierStatus.PROCESSING),
    ("rapport-activites", DossierStatus.CLOSED),
]
WALK = [
    DossierStatus.COMPLETE,
    DossierStatus.SUBMITTED,
    DossierStatus.RECEIVED,
    DossierStatus.PROCESSING,
    DossierStatus.CLOSED,
]


def logins_path():
    return Path(current_app.config["INSTANCE_DIR"]) / "demo-logins.json"


def seed_people():
    people = []
    for nn, surname, given, email in PERSONS:
        person, _ = Person.get_or_create(
            national_number=nn,
            defaults={
                "surname": surname,
                "given_name": given,
                "login_email": email,
            },
        )
        people.append(person)
    sources.load_sample_if_empty()
    register = sources.company_register()
    companies = []
    for number in COMPANIES:
        company = Company.get_or_none(Company.enterprise_number == number)
        if company is None:
            company = Company.from_register(register.lookup(number))
            company.activated_at = utcnow()
            company.save()
        companies.append(company)
    for p, c, roles, manager in MEMBERSHIPS:
        Membership.get_or_create(
            person=people[p],
            company=companies[c],
            defaults={
                "roles": int(roles),
                "is_access_manager": manager,
                "is_main_access_manager": manager,
                "professional_email": people[p].login_email,
                "professional_email_verified_at": utcnow(),
            },
        )
    return people, companies


def seed_staff():
    """Staff accounts with random development passwords, kept in instance/demo-logins.json."""
    path = logins_path()
    saved = json.loads(path.read_text()) if path.exists() else {}
    for email, name, role in STAFF:
        staff = StaffUser.get_or_none(StaffUser.email == email)
        if staff is not None and email in saved:
            continue
        password = secrets.token_urlsafe(12)
        if staff is None:
            StaffUser.create(
                email=email, full_name=name, role=role.value, password_hash=hash_password(password)
            )
        else:
            staff.password_hash = hash_password(password)
            staff.save()
        saved[email] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=2))
    path.chmod(0o600)
    return saved


def seed_dossiers(people, companies):
    if Dossier.select().exists():
        return 0
    applicant = Actor.applicant(people[0])
    agent = Actor.staff_member(StaffUser.get(StaffUser.role == StaffRole.AGENT.value))
    for code, target in DOSSIER_PATHS:
        dossier = Dossier.create(
            company=companies[0],
            definition=ProcedureDefinition.latest_published(code),
            created_by=people[0],
        )
        for step in WALK[: WALK.index(target) + 1] if target in WALK else []:
            actor = {
                DossierStatus.COMPLETE: Actor.system(),
                DossierStatus.SUBMITTED: applicant,
            }.get(step, agent)
            dossier.transition(
                step, actor, decision=Decision.GRANTED if step == DossierStatus.CLOSED else None
            )
    return len(DOSSIER_PATHS)


def seed():
    with db.atomic():
        procedures.sync_builtin()
        people, companies = seed_people()
        logins = seed_staff()
        created = seed_dossiers(people, companies)
    return logins, created


def print_logins(logins):
    click.echo("Demo logins")
    click.echo("  Portal: Se connecter, then at the stand-in FAS (eID card + PIN, or itsme):")
    for identity in identities.all_identities()[:3]:
        click.echo(
            f"    {identity.full_name:<16} card {identity.card} PIN {identity.pin}"
            f" — itsme / SMS {identity.phone}"
        )
    click.echo("    (all test identities: fas_standin/identities.yaml; codes show on /dev/mail)")
    click.echo("  Back-office /admin (email / password):")
    for email, _, role in STAFF:
        click.echo(f"    {role.value:<11} {email} / {logins.get(email, '?')}")


def init_app(app):
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Load demo companies, persons, staff and dossiers (safe to run again)."""
        logins, created = seed()
        click.echo(f"Demo data ready ({created} dossier(s) created).")
        print_logins(logins)

    @app.cli.command("demo-logins")
    def demo_logins_command():
        """Print the demo logins."""
        path = logins_path()
        print_logins(json.loads(path.read_text()) if path.exists() else {})
