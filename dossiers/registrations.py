"""Registrations and approvals granted before Guichet, imported from the administration's own
list so that their agencies are known as holders from the first day: their numbers show in
their space and on their activity report, they get the report's reminders, and the report
offers the sections their registration or approval calls for.

`flask registrations import FILE.csv` reads a CSV file (UTF-8; `;` or `,` between columns) with
the columns `enterprise_number`, `procedure` (`enregistrement` or `agrement-interim`),
`number` (`W.RE.2019.0042`, `W.AI.2021.0007`), `granted_on` (`2019-05-14` or `14/05/2019`) and
`services` (for a registration: the codes of its services, separated by `|`). Every line is
checked before anything is written: one wrong line imports nothing, and each wrong line is
named with what to correct. A number already imported for the same company is left as it is.
The counters of the numbers are raised past every imported one, so that Guichet never gives a
number again."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

import click
from flask.cli import AppGroup

import sources
from models import (
    REGISTERED_PROCEDURES,
    Actor,
    AuditEvent,
    Company,
    RegistrationCounter,
    RegistrationNumber,
    write_transaction,
)

COLUMNS = ("enterprise_number", "procedure", "number", "granted_on", "services")
NUMBER = re.compile(r"^W\.([A-Z]{2})\.(\d{4})\.(\d{4,6})$")  # at most 999999 a year
# The services a registration may cover (the `services` choice of the enregistrement form).
SERVICES = frozenset(
    (
        "job_search",
        "recruitment_selection",
        "socio_professional_integration",
        "outplacement",
        "athletes",
        "artists",
    )
)


class ImportRefused(Exception):
    """The file cannot be imported; `problems` are its lines' problems, each "line N: ...",
    and nothing was written."""

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Line:
    line: int
    enterprise_number: str
    procedure: str
    number: str
    year: int
    sequence: int
    granted_on: date
    services: tuple


def parse_date(text):
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def read(text):
    """The lines of the CSV `text`, checked one by one (ImportRefused with every problem)."""
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=";,")
    except csv.Error:
        raise ImportRefused(["line 1: a header line naming the columns is expected"]) from None
    rows = csv.DictReader(io.StringIO(text), dialect=dialect)
    missing = [c for c in COLUMNS[:4] if c not in (rows.fieldnames or ())]
    if missing:
        raise ImportRefused([f"line 1: missing column(s) {', '.join(missing)}"])
    lines, problems, seen = [], [], {}
    for n, row in enumerate(rows, start=2):
        line, wrong = check_row(n, {k: (v or "").strip() for k, v in row.items() if k})
        if wrong:
            problems += [f"line {n}: {w}" for w in wrong]
        elif line.number in seen:
            problems.append(f"line {n}: number {line.number} already on line {seen[line.number]}")
        else:
            seen[line.number] = n
            lines.append(line)
    if problems:
        raise ImportRefused(problems)
    return lines


def check_row(n, row):
    """(Line, []) for a right row, else (None, what is wrong)."""
    wrong = []
    try:
        enterprise = sources.normalize_enterprise_number(row.get("enterprise_number"))
    except ValueError:
        wrong.append(f"enterprise number {row.get('enterprise_number')!r} is not valid")
        enterprise = None
    procedure = row.get("procedure")
    letters = REGISTERED_PROCEDURES.get(procedure)
    if letters is None:
        known = " or ".join(REGISTERED_PROCEDURES)
        wrong.append(f"procedure {procedure!r} is not one that gives a number ({known})")
    match = NUMBER.match(row.get("number", ""))
    if match is None:
        wrong.append(
            f"number {row.get('number')!r} is not of the form W.RE.2019.0042 (4 to 6 digits last)"
        )
    elif letters and match[1] != letters:
        wrong.append(f"number {row['number']} is not a number of {procedure} (W.{letters}.…)")
    try:
        granted_on = parse_date(row.get("granted_on", ""))
    except ValueError:
        wrong.append(f"date {row.get('granted_on')!r} is not a date (2019-05-14 or 14/05/2019)")
        granted_on = None
    if granted_on and granted_on > date.today():
        wrong.append(f"date {granted_on} is in the future")
    services = tuple(s.strip() for s in row.get("services", "").split("|") if s.strip())
    unknown = sorted(set(services) - SERVICES)
    if unknown:
        known = ", ".join(sorted(SERVICES))
        wrong.append(f"unknown service(s) {', '.join(unknown)} (known: {known})")
    if services and procedure != "enregistrement":
        wrong.append("only a registration (enregistrement) lists services")
    if wrong:
        return None, wrong
    year, sequence = int(match[2]), int(match[3])
    line = Line(n, enterprise, procedure, row["number"], year, sequence, granted_on, services)
    return line, []


def import_registrations(actor, text, name="file"):
    """Import the registrations of the CSV `text`, audited; returns (imported, already there).
    ImportRefused (nothing written) when a line is wrong, a company is not in the register, or
    a number is another company's."""
    lines = read(text)
    register = sources.company_register()
    records, problems = {}, []
    for line in lines:
        if line.enterprise_number not in records:
            records[line.enterprise_number] = register.lookup(line.enterprise_number)
        if records[line.enterprise_number] is None:
            problems.append(
                f"line {line.line}: the register has no enterprise {line.enterprise_number}"
            )
    if problems:
        raise ImportRefused(problems)
    imported = kept = 0
    with write_transaction():
        for line in lines:
            company = Company.from_register(records[line.enterprise_number])
            existing = RegistrationNumber.get_or_none(RegistrationNumber.number == line.number)
            if existing is not None:
                if existing.company_id != company.id:
                    problems.append(f"line {line.line}: number {line.number} is another company's")
                kept += 1
                continue
            RegistrationNumber.create(
                company=company,
                dossier=None,
                procedure_code=line.procedure,
                number=line.number,
                granted_at=datetime.combine(line.granted_on, datetime.min.time()),
                services=list(line.services) or None,
            )
            raise_counter(line.procedure, line.year, line.sequence)
            imported += 1
        if problems:
            raise ImportRefused(problems)  # the transaction is rolled back: nothing written
        AuditEvent.record(
            "registrations.imported", actor, file=name, imported=imported, kept=kept, via="cli"
        )
    return imported, kept


def raise_counter(code, year, sequence):
    """The counter of `code` and `year` at `sequence` at least: a later grant in that year
    takes the number after the highest imported one."""
    RegistrationCounter.insert(code=code, year=year, last_number=0).on_conflict_ignore().execute()
    RegistrationCounter.update(last_number=sequence).where(
        RegistrationCounter.code == code,
        RegistrationCounter.year == year,
        RegistrationCounter.last_number < sequence,
    ).execute()


registrations_group = AppGroup("registrations", help="Registrations granted before Guichet.")


@registrations_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(path):
    """Import the registrations and approvals listed in the CSV file PATH."""
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    try:
        imported, kept = import_registrations(Actor.system(), text, name=path)
    except ImportRefused as refused:
        for problem in refused.problems:
            click.echo(problem, err=True)
        click.echo("Nothing was imported: correct the file and run the import again.", err=True)
        raise SystemExit(1) from None
    click.echo(f"{imported} registration(s) imported, {kept} already there.")


def init_app(app):
    app.cli.add_command(registrations_group)
