"""Demo data for development and demonstrations: `flask --app run seed-demo` (idempotent)."""

import json
import secrets
from pathlib import Path
from types import SimpleNamespace

import click
from flask import current_app

import procedures
import sources
from auth import hash_password
from documents.layout import GuichetPdf
from dossiers import annexes, filling, groups, processing, submission
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
    StaffGroup,
    StaffRole,
    StaffUser,
    db,
    utcnow,
)
from procedures import definition_of, engine

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
# Groups of agents (code, name, member emails, default): those the shipped procedures' routing
# rules name, by Walloon province and for agencies established abroad; the rest goes to
# "Accueil". The first company's seat is in Liège: its dossiers go to Anne Agent's group.
GROUPS = [
    ("accueil", "Accueil", ["superviseur@guichet.test"], True),
    ("liege", "Liège", ["agent@guichet.test"], False),
    ("namur", "Namur", ["superviseur@guichet.test"], False),
    ("hainaut", "Hainaut", [], False),
    ("luxembourg", "Luxembourg", [], False),
    ("brabant-wallon", "Brabant wallon", [], False),
    ("etranger", "Agences établies à l'étranger", ["superviseur@guichet.test"], False),
]
# One dossier per status for the first company, each brought there by the services a person
# or a staff member uses, so that what the portal says of it is true.
DOSSIER_PATHS = [
    ("enregistrement", DossierStatus.DRAFT),
    ("agrement-interim", DossierStatus.COMPLETE),
    ("enregistrement", DossierStatus.SUBMITTED),
    ("rapport-activites", DossierStatus.RECEIVED),
    ("agrement-interim", DossierStatus.PROCESSING),
    ("enregistrement", DossierStatus.CLOSED),
]
# The sections a draft has been filled in so far (the others are "Pas commencé").
DRAFT_SECTIONS = ("company", "applicant")
CONTACT = {
    "contact_name": "Marie Dubois",
    "contact_phone": "+3242223344",
    "contact_email": "marie.dubois@interim-liege.test",
}
PERSONS_IN_CHARGE = {
    "persons_in_charge": [
        {
            "surname": "Dubois",
            "given_name": "Marie",
            "national_number": "93051822361",
            "function": "Gérante",
        }
    ]
}
DECLARATIONS = {
    key: True
    for key in (
        "declaration_no_fees",
        "declaration_non_discrimination",
        "declaration_data_protection",
        "declaration_worker_information",
    )
}
SERVICE_FIGURES = {
    "received": 40,
    "received_women": 22,
    "received_men": 17,
    "received_x": 1,
    "received_under_25": 12,
    "received_25_49": 21,
    "received_50_plus": 7,
    "placed": 15,
    "placed_women": 9,
    "placed_men": 6,
    "placed_x": 0,
    "placed_under_25": 4,
    "placed_25_49": 9,
    "placed_50_plus": 2,
    "on_file": 25,
    "on_file_women": 13,
    "on_file_men": 11,
    "on_file_x": 1,
    "on_file_under_25": 8,
    "on_file_25_49": 12,
    "on_file_50_plus": 5,
    "client_employers": 9,
    "turnover": "48250.00",
}
# The answers of each section, as the form stores them; a multichoice filled from the
# company's establishments takes the first one.
ANSWERS = {
    "enregistrement": {
        "applicant": CONTACT,
        "agency": {"established": "belgium"},
        "placement_services": {"services": ["recruitment_selection", "outplacement"]},
        "persons": PERSONS_IN_CHARGE,
        "declarations": DECLARATIONS,
    },
    "agrement-interim": {
        "applicant": CONTACT,
        "agency": {"established": "belgium"},
        "interim_activities": {"activities": ["general"]},
        "persons": PERSONS_IN_CHARGE,
        "competence": {
            "competent_person": "Marie Dubois",
            "management_years": 6,
            "has_master": False,
        },
        "declarations": DECLARATIONS,
    },
    "rapport-activites": {
        "applicant": CONTACT,
        "placement_services": {
            "services": [{"service": "recruitment_selection", **SERVICE_FIGURES}]
        },
        "temporary_work": {
            "temp_workers": 12,
            "temp_hours": 8400,
            "user_companies": 5,
            "main_sectors": "Logistique, industrie alimentaire.",
        },
        "fees": {"fees_collected": False},
        "changes": {"has_changes": False},
    },
}
MOTIVATION = "Le dossier est complet et l'agence remplit les conditions du décret."


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


def seed_groups():
    """The demo's groups, made through the groups service (audited) when missing."""
    for code, name, emails, default in GROUPS:
        if StaffGroup.get_or_none(StaffGroup.code == code) is None:
            members = StaffUser.select().where(StaffUser.email.in_(emails))
            groups.save_group(Actor.system(), None, name, code, [m.id for m in members], default)


def demo_pdf(title):
    """A one-page PDF made here, to attach as a demo annex."""
    pdf = GuichetPdf(title=title, running_title=title)
    pdf.heading(title)
    pdf.paragraph("Document de démonstration du Guichet : il ne contient aucune donnée réelle.")
    return pdf.output_bytes()


def fill(dossier, actor, membership, only=None):
    """Save each visible section with its demo answers, as the wizard does, then attach a PDF
    to every annex the answers call for."""
    context = filling.prefill_context(dossier, actor.person, membership)
    definition = definition_of(dossier.definition)
    answers = ANSWERS[definition.code]
    for section in definition.sections:
        if only is not None and section.key not in only:
            continue
        if not engine.section_visible(section, dossier.answers):
            continue
        values = dict(answers.get(section.key, {}))
        for field in section.fields:
            if field.options_from and field.type == "multichoice" and field.key not in values:
                options = engine.options_for(field, context)
                values[field.key] = [options[0]["value"]] if options else None
        filling.save_section(actor, dossier, section.key, values, context)
    if only is not None:
        return
    for need in filling.annex_needs(dossier):
        for n in range(need.missing):
            name = f"{need.key}-{n + 1}.pdf"
            annexes.attach(actor, dossier, need.key, name, demo_pdf(str(need.label)))


def walk(dossier, target, applicant, agent):
    """From Complet to `target` through the submission and the staff's services."""
    steps = [
        DossierStatus.SUBMITTED,
        DossierStatus.RECEIVED,
        DossierStatus.PROCESSING,
        DossierStatus.CLOSED,
    ]
    for step in steps[: steps.index(target) + 1] if target in steps else []:
        if step == DossierStatus.SUBMITTED:
            # signed after a login with the stand-in FAS's eID card, as a real signing records it
            login = SimpleNamespace(auth_method="eid", auth_level="high", auth_time=utcnow())
            submission.submit(applicant, dossier, login)
        elif step == DossierStatus.RECEIVED:
            processing.receive(agent, dossier)
        elif step == DossierStatus.PROCESSING:
            processing.start_processing(agent, dossier)
        else:
            processing.close(agent, dossier, Decision.GRANTED, MOTIVATION)


def seed_dossiers(people, companies):
    if Dossier.select().exists():
        return 0
    person, company = people[0], companies[0]
    membership = Membership.get(Membership.person == person, Membership.company == company)
    applicant = Actor.applicant(person, fresh_login=True)
    agent = Actor.staff_member(StaffUser.get(StaffUser.role == StaffRole.AGENT.value))
    for code, target in DOSSIER_PATHS:
        row = ProcedureDefinition.latest_published(code)
        dossier, _created = filling.create(applicant, membership, row)
        if target == DossierStatus.DRAFT:
            fill(dossier, applicant, membership, only=DRAFT_SECTIONS)
            continue
        fill(dossier, applicant, membership)
        walk(dossier, target, applicant, agent)
    return len(DOSSIER_PATHS)


def seed():
    with db.atomic():
        procedures.sync_builtin()
        people, companies = seed_people()
        logins = seed_staff()
        seed_groups()
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
