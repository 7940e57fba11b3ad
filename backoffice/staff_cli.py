"""`flask --app run staff ...`: create staff accounts, reset their second factor, list them.

New accounts have no TOTP secret: their owner enrols at first login (backoffice/login.py).
"""

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup
from peewee import fn

from access import staff as access_staff
from models import Actor, StaffRole, StaffUser, utcnow

MIN_PASSWORD_LENGTH = 12

staff_group = AppGroup("staff", help="Comptes du personnel (back-office).")


def fail(message):
    click.echo(f"Erreur : {message}", err=True)
    raise SystemExit(1)


def normalized_email(address):
    try:
        result = validate_email(
            address.strip(),
            check_deliverability=False,
            test_environment=current_app.config.get("EMAIL_ALLOW_TEST_DOMAINS", False),
        )
    except EmailNotValidError as exc:
        fail(f"l'adresse {address!r} n'est pas valable ({exc}).")
    return result.normalized.lower()


def find_staff(email):
    return StaffUser.get_or_none(fn.LOWER(StaffUser.email) == email.strip().lower())


def read_password(from_stdin):
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(
        "Mot de passe",
        hide_input=True,
        confirmation_prompt="Répétez le mot de passe",
    )


@staff_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Nom complet, tel que le back-office l'affiche.")
@click.option("--role", required=True, type=click.Choice([role.value for role in StaffRole]))
@click.option(
    "--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard (scripts)."
)
def create_command(email, name, role, password_stdin):
    """Créer le compte EMAIL (mot de passe demandé deux fois, sans écho)."""
    email = normalized_email(email)
    if not name.strip():
        fail("le nom ne peut pas être vide.")
    if find_staff(email) is not None:
        fail(f"un compte existe déjà pour {email}.")
    password = read_password(password_stdin)
    if len(password) < MIN_PASSWORD_LENGTH:
        fail(f"mot de passe trop faible : il faut au moins {MIN_PASSWORD_LENGTH} caractères.")
    staff = access_staff.create_account(Actor.system(), email, name, role, password)
    if staff is None:
        fail(f"un compte existe déjà pour {email}.")
    click.echo(
        f"Compte créé : {staff.email} ({staff.full_name}, {role}). La double authentification "
        "sera activée à la première connexion sur /admin."
    )


@staff_group.command("reset-totp")
@click.argument("email")
def reset_totp_command(email):
    """Effacer le second facteur d'EMAIL : nouvel enrôlement à la prochaine connexion."""
    staff = find_staff(email)
    if staff is None:
        fail(f"aucun compte du personnel pour {email}.")
    if not staff.totp_secret:
        click.echo(f"{staff.email} n'a pas de second facteur enregistré : rien à effacer.")
        return
    revoked = access_staff.reset_second_factor(Actor.system(), staff)
    click.echo(
        f"Second facteur effacé pour {staff.email} ({revoked} session(s) fermée(s)) : "
        "nouvel enrôlement à la prochaine connexion."
    )


@staff_group.command("list")
def list_command():
    """Lister les comptes du personnel."""
    now = utcnow()
    rows = list(StaffUser.select().order_by(StaffUser.email))
    if not rows:
        click.echo("Aucun compte du personnel.")
    for staff in rows:
        states = [
            "TOTP actif" if staff.totp_secret else "TOTP à activer",
            "actif" if staff.active else "désactivé",
        ]
        if staff.locked_until is not None and staff.locked_until > now:
            states.append(f"bloqué jusqu'à {staff.locked_until:%H:%M} UTC")
        click.echo(f"{staff.email:<40} {staff.role:<11} {staff.full_name} — {', '.join(states)}")


def init_app(app):
    app.cli.add_command(staff_group)
