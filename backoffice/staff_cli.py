"""`flask --app run staff ...`: create staff accounts, reset their second factor, list them.

New accounts have no TOTP secret: their owner enrols at first login (backoffice/login.py).
"""

import sys

import click
from flask.cli import AppGroup
from peewee import fn

from access import staff as access_staff
from languages import operator_command
from models import Actor, StaffRole, StaffUser, utcnow
from webhooks import subscriptions

MIN_PASSWORD_LENGTH = access_staff.MIN_PASSWORD_LENGTH

staff_group = AppGroup("staff", help="Staff accounts (back-office).")


def fail(message):
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


def normalized_email(address):
    try:
        return access_staff.normal_email(address)
    except access_staff.StaffRefused:
        fail(f"the address {address!r} is not valid.")


def find_staff(email):
    return StaffUser.get_or_none(fn.LOWER(StaffUser.email) == email.strip().lower())


def read_password(from_stdin):
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(
        "Password",
        hide_input=True,
        confirmation_prompt="Repeat the password",
    )


@staff_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as the back-office shows it.")
@click.option("--role", required=True, type=click.Choice([role.value for role in StaffRole]))
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
@operator_command
def create_command(email, name, role, password_stdin):
    """Create the account EMAIL (password asked twice, not echoed)."""
    email = normalized_email(email)
    if not name.strip():
        fail("the name cannot be empty.")
    if find_staff(email) is not None:
        fail(f"an account already exists for {email}.")
    password = read_password(password_stdin)
    if len(password) < MIN_PASSWORD_LENGTH:
        fail(f"password too weak: at least {MIN_PASSWORD_LENGTH} characters are needed.")
    try:
        staff = access_staff.create_account(Actor.system(), email, name, role, password)
    except access_staff.StaffRefused as refused:
        fail(str(refused))
    click.echo(
        f"Account created: {staff.email} ({staff.full_name}, {role}). The second factor is "
        "enrolled at the first login on /admin."
    )


@staff_group.command("reset-totp")
@click.argument("email")
def reset_totp_command(email):
    """Clear the second factor of EMAIL: a new enrolment at the next login."""
    staff = find_staff(email)
    if staff is None:
        fail(f"no staff account for {email}.")
    if not staff.totp_secret:
        click.echo(f"{staff.email} has no second factor recorded: nothing to clear.")
        return
    revoked = access_staff.reset_second_factor(Actor.system(), staff)
    click.echo(
        f"Second factor cleared for {staff.email} ({revoked} session(s) closed): "
        "a new enrolment at the next login."
    )


@staff_group.command("reseal-secrets")
def reseal_secrets_command():
    """Seal every TOTP and webhook secret again under SECRET_KEY (after a rotation)."""
    totp, staff_broken = access_staff.reseal_totp_secrets(Actor.system())
    hooks, hooks_broken = subscriptions.reseal_secrets(Actor.system())
    click.echo(f"Sealed again under SECRET_KEY: {totp} TOTP secret(s), {hooks} webhook secret(s).")
    for email in staff_broken:
        click.echo(f"No key opens the TOTP secret of {email}: `flask staff reset-totp {email}`.")
    for name in hooks_broken:
        click.echo(f"No key opens the secret of the webhook {name}: rotate it in the back-office.")
    if staff_broken or hooks_broken:
        raise SystemExit(1)


@staff_group.command("list")
def list_command():
    """List the staff accounts."""
    now = utcnow()
    rows = list(StaffUser.select().order_by(StaffUser.email))
    if not rows:
        click.echo("No staff account.")
    for staff in rows:
        states = [
            "TOTP enrolled" if staff.totp_secret else "TOTP to enrol",
            "active" if staff.active else "deactivated",
        ]
        if staff.locked_until is not None and staff.locked_until > now:
            states.append(f"locked until {staff.locked_until:%H:%M} UTC")
        click.echo(f"{staff.email:<40} {staff.role:<11} {staff.full_name} — {', '.join(states)}")


def init_app(app):
    app.cli.add_command(staff_group)
