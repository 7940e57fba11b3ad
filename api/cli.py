"""`flask --app run api-token ...`: make, revoke and list the REST API's tokens.

The secret of a new token is printed once, on standard output alone (so that a script can
capture it); only its SHA-256 is kept.
"""

import click
from flask.cli import AppGroup

from access import AccessRefused, api_tokens
from languages import operator_command
from models import Actor, ApiScope, ApiToken

token_group = AppGroup("api-token", help="Tokens of the REST API (/api/v1).")


def fail(message):
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


@token_group.command("create")
@click.argument("name")
@click.option("--scope", required=True, type=click.Choice([s.value for s in ApiScope]))
@click.option(
    "--procedure",
    "procedures",
    multiple=True,
    metavar="CODE",
    help="Limit the token to this procedure (repeat for several; none: every procedure).",
)
@operator_command
def create_command(name, scope, procedures):
    """Make the token NAME and print its secret, once."""
    try:
        token, secret = api_tokens.create(Actor.system(), name, scope, procedures)
    except AccessRefused as refused:
        fail(str(refused))
    limited = ", ".join(token.procedures) or "every procedure"
    click.echo(f"Token {token.name!r} created ({token.scope}; {limited}).", err=True)
    click.echo("Its secret, shown only now (send it as 'Authorization: Bearer ...'):", err=True)
    click.echo(secret)


@token_group.command("revoke")
@click.argument("name")
@operator_command
def revoke_command(name):
    """Revoke the token NAME: every call with it is refused from now on."""
    token = api_tokens.find(name)
    if token is None:
        fail(f"no token named {name!r}.")
    if api_tokens.revoke(Actor.system(), token):
        click.echo(f"Token {token.name!r} revoked.")
    else:
        when = f"{token.revoked_at:%Y-%m-%d %H:%M}"
        click.echo(f"Token {token.name!r} was already revoked on {when} UTC.")


@token_group.command("list")
@operator_command
def list_command():
    """List the tokens: scope, procedures, last use, revocation."""
    rows = list(ApiToken.select().order_by(ApiToken.name))
    if not rows:
        click.echo("No API token.")
    for token in rows:
        procedures = ",".join(token.procedures) or "*"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.is_revoked else "active"
        click.echo(
            f"{token.name:<30} {token.prefix}… {token.scope:<8} {procedures:<30} {used:<16} {state}"
        )


def init_app(app):
    app.cli.add_command(token_group)
