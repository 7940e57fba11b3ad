"""Authentic sources: the company register (BCE/KBO) behind a registry of adapters.

An adapter reads the register, loads it into the `RegisterEntry` table and answers `lookup` with
a `CompanyRecord`. The config's COMPANY_REGISTER picks one (default `kbo-open-data`, which reads
the public KBO Open Data files); `flask --app run register load DIR` loads a folder.
"""

from collections import Counter
from dataclasses import dataclass, field, is_dataclass
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from stdnum.be import vat
from stdnum.exceptions import ValidationError

from models import RegisterEntry
from procedures.display import format_address
from registry import Registry

DEFAULT_REGISTER = "kbo-open-data"
REGISTERS = Registry("company register", setting="COMPANY_REGISTER", default=DEFAULT_REGISTER)
register = REGISTERS.register


class RegisterFileError(RuntimeError):
    """The folder or one of its files cannot be loaded at all; the message says what is wrong."""


class CompanyRegister:
    id = None
    label = None
    stand_in = False

    def __init__(self, config):
        self.config = config

    def lookup(self, enterprise_number):
        """The `CompanyRecord` of the enterprise, or None when the register does not know it;
        ValueError (French message) when `enterprise_number` is not a valid number."""
        raise NotImplementedError

    def load(self, folder, progress=None):
        """Load the register's files from `folder`; `progress(done, total)` is called as it goes.
        Returns a `LoadSummary`; raises RegisterFileError when the folder cannot be loaded."""
        raise NotImplementedError


# --- numbers --------------------------------------------------------------------------------


def normalize_enterprise_number(text):
    """The 10 digits of an enterprise number written as 0566.988.259, 0566 988 259,
    BE0566988259 or 566988259; ValueError with a French message when it is not valid."""
    try:
        return vat.validate(str(text or ""))
    except ValidationError:
        raise ValueError(
            _(
                "« %(number)s » n'est pas un numéro d'entreprise valide : il compte 10 chiffres, "
                "commence par 0 ou 1 et se termine par deux chiffres de contrôle "
                "(par exemple 0566.988.259).",
                number=text,
            )
        ) from None


def is_establishment_number(digits):
    """True for the 10 digits of an establishment unit number: first digit 2 to 8, same check
    digits as an enterprise number."""
    return (
        len(digits) == 10
        and digits.isdigit()
        and digits[0] in "2345678"
        and vat.checksum(digits) == 0
    )


def format_enterprise_number(digits):
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def format_establishment_number(digits):
    return f"{digits[0]}.{digits[1:4]}.{digits[4:7]}.{digits[7:]}"


# --- the record -----------------------------------------------------------------------------


def _date(text):
    return date.fromisoformat(text) if text else None


def _jsonable(value):
    # Faster than dataclasses.asdict, which deep-copies: this runs for millions of records.
    if is_dataclass(value):
        return {k: _jsonable(v) for k, v in vars(value).items()}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Address:
    """An address with French names where the register gives French and Dutch ones."""

    street: str
    house_number: str
    box: str
    zipcode: str
    municipality: str
    country: str

    def __str__(self):
        return format_address(
            street=self.street,
            number=self.house_number,
            box=self.box,
            postcode=self.zipcode,
            municipality=self.municipality,
            country=self.country,
        )

    @classmethod
    def from_dict(cls, data):
        return cls(**data) if data else None


@dataclass(frozen=True)
class Establishment:
    number: str  # 10 digits, first digit 2 to 8
    start_date: date | None
    name: str | None
    address: Address | None

    @property
    def formatted_number(self):
        return format_establishment_number(self.number)

    @classmethod
    def from_dict(cls, data):
        return cls(
            number=data["number"],
            start_date=_date(data["start_date"]),
            name=data["name"],
            address=Address.from_dict(data["address"]),
        )


@dataclass(frozen=True)
class Activity:
    """A NACE-BEL activity: code as 78.200, version 2008 or 2025, MAIN / SECO / ANCI."""

    code: str
    version: str
    classification: str
    label: str | None


@dataclass(frozen=True)
class CompanyFunction:
    """A person holding a function that represents the enterprise (legal representative)."""

    national_number: str
    surname: str
    given_name: str
    code: str
    label: str | None
    start_date: date | None

    @classmethod
    def from_dict(cls, data):
        return cls(**{**data, "start_date": _date(data["start_date"])})


@dataclass(frozen=True)
class CompanyRecord:
    """One enterprise as the register describes it; labels are in French. Natural persons have
    no legal form (legal_form None, is_commercial_form False)."""

    enterprise_number: str  # 10 digits
    name: str
    legal_form: str | None
    legal_form_label: str | None
    is_commercial_form: bool
    is_natural_person: bool
    legal_situation: str | None
    legal_situation_label: str | None
    is_active: bool
    start_date: date | None
    address: Address | None
    establishments: tuple[Establishment, ...] = ()
    nace: tuple[Activity, ...] = ()
    functions: tuple[CompanyFunction, ...] = ()

    @property
    def formatted_number(self):
        return format_enterprise_number(self.enterprise_number)

    def is_legal_representative(self, national_number):
        return any(f.national_number == national_number for f in self.functions)

    def to_dict(self):
        return _jsonable(self)

    @classmethod
    def from_dict(cls, data):
        return cls(
            **{
                **data,
                "start_date": _date(data["start_date"]),
                "address": Address.from_dict(data["address"]),
                "establishments": tuple(Establishment.from_dict(e) for e in data["establishments"]),
                "nace": tuple(Activity(**a) for a in data["nace"]),
                "functions": tuple(CompanyFunction.from_dict(f) for f in data["functions"]),
            }
        )


# --- loading --------------------------------------------------------------------------------

SKIP_REASONS = {
    "invalid_number": "invalid enterprise or establishment unit number",
    "invalid_national_number": "invalid national register number",
    "invalid_date": "invalid date",
    "unknown_enterprise": "unknown enterprise",
    "unknown_establishment": "unknown establishment unit",
    "duplicate": "duplicate line",
    "out_of_order": "line out of order (the file must be sorted by number)",
    "malformed": "malformed line",
}


@dataclass
class LoadSummary:
    """What a load wrote, and the lines it skipped counted by reason (keys of SKIP_REASONS)."""

    enterprises: int = 0
    denominations: int = 0
    addresses: int = 0
    activities: int = 0
    establishments: int = 0
    functions: int = 0
    removed: int = 0
    skipped: Counter = field(default_factory=Counter)
    notes: list = field(default_factory=list)

    def skip(self, reason, count=1):
        if count:
            self.skipped[reason] += count

    def report(self):
        """The summary as lines for the CLI (in English, as every operator command)."""
        lines = [
            f"Enterprises loaded: {self.enterprises}",
            f"Denominations: {self.denominations}",
            f"Addresses: {self.addresses}",
            f"Activities: {self.activities}",
            f"Establishment units: {self.establishments}",
            f"Functions: {self.functions}",
            f"Enterprises removed (absent from the files): {self.removed}",
            f"Lines skipped: {sum(self.skipped.values())}",
        ]
        lines += [f"  - {SKIP_REASONS.get(r, r)}: {n}" for r, n in sorted(self.skipped.items())]
        return lines + self.notes


# --- choosing and using an adapter ----------------------------------------------------------


def _load_adapters():
    from sources import kbo_open_data  # noqa: F401  (registers the adapter)


def get_register(app_or_config):
    """The adapter named by COMPANY_REGISTER in a Flask app's config or a config mapping."""
    _load_adapters()
    config = getattr(app_or_config, "config", app_or_config)
    return REGISTERS.select(config)(config)


def company_register():
    """The adapter of the current app."""
    return current_app.extensions["company_register"]


def load_sample_if_empty():
    """Load the bundled fictional sample when the register table is empty (`seed-demo`);
    returns the LoadSummary, or None when the table already has entries."""
    if RegisterEntry.select().exists():
        return None
    return company_register().load(current_app.config["COMPANY_REGISTER_SAMPLE_DIR"])


class _ProgressBar:
    """A click progress bar opened at the first report, when the total is known."""

    def __init__(self):
        self.bar = None

    def __call__(self, done, total):
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Loading the register")
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _print_record(record):
    click.echo(f"{record.formatted_number} — {record.name}")
    if record.is_natural_person:
        click.echo("Natural person")
    else:
        kind = "commercial" if record.is_commercial_form else "not commercial"
        click.echo(f"Legal form: {record.legal_form_label} ({record.legal_form}), {kind}")
    state = "active" if record.is_active else "stopped"
    click.echo(f"Legal situation: {record.legal_situation_label} — enterprise {state}")
    start = record.start_date.isoformat() if record.start_date else "?"
    click.echo(f"Start date: {start}")
    click.echo(f"Registered office: {record.address or 'unknown'}")
    click.echo(f"Establishment units: {len(record.establishments)}")
    for e in record.establishments:
        name = f" {e.name}" if e.name else ""
        click.echo(f"  {e.formatted_number}{name} — {e.address or 'address unknown'}")
    click.echo("Activities (NACE-BEL):")
    for a in record.nace:
        click.echo(f"  {a.code} ({a.version}, {a.classification}) {a.label or ''}")
    click.echo("Functions:")
    for f in record.functions:
        click.echo(f"  {f.given_name} {f.surname} ({f.national_number}) — {f.label or f.code}")


def init_app(app):
    app.extensions["company_register"] = get_register(app)
    group = AppGroup("register", help="The company register (BCE/KBO).")

    @group.command("load")
    @click.argument("folder")
    def load_command(folder):
        """Load the register's files (KBO Open Data) from the folder FOLDER."""
        bar = _ProgressBar()
        try:
            summary = company_register().load(folder, progress=bar)
        except RegisterFileError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise SystemExit(1) from None
        finally:
            bar.close()
        for line in summary.report():
            click.echo(line)

    @group.command("show")
    @click.argument("number")
    def show_command(number):
        """Show the enterprise NUMBER as the loaded register describes it."""
        try:
            digits = normalize_enterprise_number(number)
        except ValueError:
            click.echo(f"Error: {number!r} is not a valid enterprise number.", err=True)
            raise SystemExit(1) from None
        record = company_register().lookup(digits)
        if record is None:
            click.echo(f"The loaded register has no enterprise {number}.", err=True)
            raise SystemExit(1)
        _print_record(record)

    app.cli.add_command(group)
