"""Factories and login helpers shared by the tests."""

import contextlib
import functools
import hashlib
import html
import itertools
import re
import secrets
import time
from datetime import timedelta

import pyotp
from flask import has_app_context

import sealed
from access import staff as access_staff
from auth import hash_password
from models import (
    Actor,
    AuditEvent,
    Company,
    Decision,
    Dossier,
    DossierStatus,
    Export,
    Membership,
    Person,
    ProcedureDefinition,
    Role,
    Signature,
    StaffRole,
    StaffUser,
    UserSession,
    utcnow,
)

_counter = itertools.count(1)
STAFF_PASSWORD = "correct horse battery staple"


def enterprise_number(n):
    """A valid BCE/KBO number built from an 8-digit base."""
    base = f"0{n:07d}"
    return base + f"{97 - int(base) % 97:02d}"


def national_number(n, birth="850312"):
    """A valid national register number for a person born in the 1900s."""
    first = f"{birth}{n % 1000:03d}"
    return first + f"{97 - int(first) % 97:02d}"


def make_person(**kwargs):
    n = next(_counter)
    email = kwargs.pop("email", f"person{n}@example.test")
    defaults = {
        # born on another day than the tests' own numbers (national_number(n)), and on another
        # day for each thousand made, so that no two persons of a process share a number
        "national_number": national_number(
            n, birth=f"{60 + n // 12000 % 30}{n // 1000 % 12 + 1:02d}01"
        ),
        "surname": f"Nom{n}",
        "given_name": f"Prénom{n}",
        "login_email": email,
    }
    defaults.update(kwargs)
    return Person.create(**defaults)


def make_company(**kwargs):
    n = next(_counter)
    defaults = {
        "enterprise_number": enterprise_number(4_000_000 + n),
        "name": f"Entreprise {n}",
        "legal_form": "014",
    }
    defaults.update(kwargs)
    return Company.create(**defaults)


def make_member(
    company, roles=Role.SIGN, person=None, manager=False, verified=True, **person_fields
):
    """A person holding `roles` in `company` (a new person unless given), whose professional
    address in the company is their login address, validated unless `verified=False`."""
    person = person or make_person(**person_fields)
    Membership.create(
        person=person,
        company=company,
        roles=int(roles),
        is_access_manager=manager,
        is_main_access_manager=manager,
        professional_email=person.login_email,
        professional_email_verified_at=utcnow() if verified else None,
    )
    return person


@functools.cache
def staff_password_hash():
    return hash_password(STAFF_PASSWORD)


def make_staff(role=StaffRole.AGENT, **kwargs):
    n = next(_counter)
    defaults = {
        "email": f"staff{n}@guichet.test",
        "full_name": f"Staff {n}",
        "role": StaffRole(role).value,
        "password_hash": staff_password_hash(),
    }
    defaults.update(kwargs)
    if defaults.get("totp_secret"):  # given in clear, kept sealed as the login keeps it
        with app_keys():
            defaults["totp_secret"] = sealed.seal(
                access_staff.TOTP_PURPOSE, defaults["totp_secret"]
            )
    return StaffUser.create(**defaults)


# The app of the running test (conftest's `app` and `live_app`): its keys seal and open secrets.
TEST_APPS = []


def app_keys():
    """The test's app context, or one of its app when the test holds none (`app` alone)."""
    return contextlib.nullcontext() if has_app_context() else TEST_APPS[-1].app_context()


def totp_of(staff):
    """The TOTP secret of `staff` as saved now, opened (None before the enrolment)."""
    with app_keys():
        return access_staff.totp_secret_of(StaffUser.get_by_id(staff.id))


MINIMAL_DEFINITION = """\
code: {code}
version: {version}
title: Procédure {code}
reference_prefix: {prefix}
sections:
  - key: main
    title: Demande
    fields:
      - {{key: note, type: text, label: Remarque}}
"""


def make_definition(code="enregistrement", prefix="ENR", version=1):
    definition = ProcedureDefinition.get_or_none(
        ProcedureDefinition.code == code, ProcedureDefinition.version == version
    )
    return definition or ProcedureDefinition.create(
        code=code,
        version=version,
        title=f"Procédure {code}",
        reference_prefix=prefix,
        yaml_text=MINIMAL_DEFINITION.format(code=code, version=version, prefix=prefix),
        published=True,
    )


WALK = [
    DossierStatus.COMPLETE,
    DossierStatus.SUBMITTED,
    DossierStatus.RECEIVED,
    DossierStatus.PROCESSING,
    DossierStatus.CLOSED,
]


def make_dossier(
    status=DossierStatus.DRAFT, company=None, person=None, staff=None, definition=None
):
    """A dossier brought to `status` through the real transitions."""
    company = company or make_company()
    person = person or make_member(company)
    dossier = Dossier.create(
        company=company, definition=definition or make_definition(), created_by=person
    )
    status = DossierStatus(status)
    steps = WALK[: WALK.index(status) + 1] if status in WALK else []
    for step in steps:
        if step == DossierStatus.COMPLETE:
            actor = Actor.system()
        elif step == DossierStatus.SUBMITTED:
            actor = Actor.applicant(person)
        else:
            staff = staff or make_staff()
            actor = Actor.staff_member(staff)
        decision = Decision.GRANTED if step == DossierStatus.CLOSED else None
        dossier.transition(step, actor, decision=decision)
    return dossier


def make_signed_dossier(status=DossierStatus.SUBMITTED, company=None, person=None, answers=None):
    """A dossier submitted by `person` (a new member of `company`) with its signature, as the
    signing step leaves it: what the receipt and the letter are made from."""
    company = company or make_company()
    person = person or make_member(company)
    dossier = make_dossier(status, company=company, person=person, definition=make_definition())
    dossier.submitted_by, dossier.submitted_at = person, utcnow()
    if answers is not None:
        dossier.answers = answers
    dossier.save()
    Signature.create(
        dossier=dossier,
        person=person,
        auth_method="eid",
        auth_level="high",
        declaration="…",
        answers_sha256="0" * 64,
        digest="1" * 64,
    )
    return dossier


def login_person(client, person, company=None, auth_minutes_ago=0, method="eid"):
    """Log `person` in the way the OIDC callback does (a server-side session row), acting for
    `company` when given; `auth_minutes_ago` ages the login for step-up tests."""
    token = secrets.token_urlsafe(16)
    when = utcnow() - timedelta(minutes=auth_minutes_ago)
    UserSession.create(
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        person=person,
        auth_method=method,
        auth_level="high",
        auth_time=when,
        created_at=when,
    )
    with client.session_transaction() as session:
        session["_user_id"] = person.get_id()
        session["_fresh"] = True
        session["sid"] = token
        if company is not None:
            session["company_id"] = company.id


def text(response):
    """The page as a reader sees it: HTML entities such as &#39; decoded."""
    return html.unescape(response.get_data(as_text=True))


def csrf_from(html):
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def exported_file(client, fmt, query=""):
    """The file of the dossier list's Export menu (`fmt`: csv or xlsx) for the list at `query`,
    as the worker made it: the request posted from the list, then the download."""
    page = client.get(f"/admin/dossiers/?{query}")
    client.post(
        f"/admin/dossiers/export-background/{fmt}/?{query}",
        data={"csrf_token": csrf_from(page.text)},
    )
    export = Export.select().order_by(Export.id.desc()).get()
    assert export.status == "ready", export.error
    return client.get(f"/admin/exports/download/{export.id}")


def totp_code(staff, secret):
    """A current code for a time step the server has not accepted yet for `staff`: a second login
    within the same 30 seconds uses the next step (the server accepts one step ahead)."""
    totp = pyotp.TOTP(secret)
    logins = AuditEvent.select().where(
        AuditEvent.action == "staff.login", AuditEvent.target_id == str(staff.id)
    )
    used = max((e.details.get("totp_step", -1) for e in logins), default=-1)
    while totp.timecode(time.time()) < used:
        time.sleep(0.5)
    return totp.generate_otp(max(totp.timecode(time.time()), used + 1))


def login_staff(client, staff, password=STAFF_PASSWORD):
    """Log `staff` in through the pages: the password, then the TOTP code (enrolling first when
    the account has no secret yet). Returns the last response."""
    page = client.get("/admin/login/")
    response = client.post(
        "/admin/login/",
        data={"email": staff.email, "password": password, "csrf_token": csrf_from(page.text)},
    )
    location = response.headers.get("Location", "")
    if not location.endswith(("/admin/login/code/", "/admin/login/enrol/")):
        return response
    page = client.get(location)
    secret = totp_of(staff)
    if secret is None:
        secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page.text)[1].replace(" ", "")
    return client.post(
        location, data={"code": totp_code(staff, secret), "csrf_token": csrf_from(page.text)}
    )
