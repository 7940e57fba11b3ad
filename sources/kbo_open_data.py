"""The default company register: the public KBO Open Data files, loaded into `RegisterEntry`.

The files are read as the FPS Economy publishes them each month: code.csv, enterprise.csv,
denomination.csv, address.csv, activity.csv and establishment.csv, UTF-8 with a header row and
quoted values, each sorted by its first column; enterprise numbers written 0201.310.929,
establishment units 2.000.000.339, dates dd-mm-yyyy. Functions are not open data: an optional
function.csv beside them, in the same conventions, lists the persons who represent an enterprise:

    "EntityNumber","NationalNumber","Surname","GivenName","FunctionCode","StartDate"
    "0566.988.259","93051822361","Dubois","Marie","011",01-03-2012

with the function codes under the category Function of code.csv.

A real dump has about 1.9 million enterprises and tens of millions of activity lines, so no file
is held in memory: each is read as a stream sorted by number and the streams are joined like a
merge, one enterprise at a time. Establishment units are sorted by their own number, so their
lines are joined first and then sorted by enterprise number through temporary files.
"""

import itertools
import logging
import tempfile
from datetime import date
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from flask_babel import lazy_gettext as _l
from stdnum.be import vat

from models import RegisterEntry, utcnow, write_transaction
from procedures.validators import person_number
from sources import (
    Activity,
    Address,
    CompanyFunction,
    CompanyRecord,
    CompanyRegister,
    Establishment,
    LoadSummary,
    RegisterFileError,
    is_establishment_number,
    normalize_enterprise_number,
    register,
)
from sources.sorted_csv import (
    Cursor,
    SkipLine,
    count_lines,
    grouped,
    read_header,
    read_lines,
    sorted_items,
    sorted_through_disk,
)

log = logging.getLogger(__name__)

# Legal forms (JuridicalForm codes) of commercial companies: the companies of the Code des
# sociétés et des associations and the older forms that the register still holds. Associations
# (ASBL 017, AISBL 125), foundations (026, 029), public bodies and every code not listed here
# are not commercial; natural persons have no legal form.
COMMERCIAL_LEGAL_FORMS = {
    "001": "Société coopérative européenne",
    "006": "Société coopérative à responsabilité illimitée (avant 2019)",
    "008": "Société coopérative à responsabilité limitée (avant 2019)",
    "011": "Société en nom collectif",
    "012": "Société en commandite (simple)",
    "013": "Société en commandite par actions (avant 2019)",
    "014": "Société anonyme",
    "015": "Société privée à responsabilité limitée (avant 2019)",
    "610": "Société à responsabilité limitée",
    "706": "Société coopérative",
}
# NACE-BEL 2003 lines are kept by the register for history only; they are not loaded.
NACE_VERSIONS = ("2008", "2025")
CLASSIFICATION_ORDER = {"MAIN": 0, "SECO": 1, "ANCI": 2}
FRENCH, LABEL_LANGUAGES = "1", ("FR", "NL", "DE", "EN")
OFFICIAL, ABBREVIATION, COMMERCIAL = "001", "002", "003"
SEAT, ESTABLISHMENT_ADDRESS = "REGO", "BAET"
ACTIVE, NATURAL_PERSON = "AC", "1"
COLUMNS = {
    "code.csv": ("Category", "Code", "Language", "Description"),
    "enterprise.csv": (
        "EnterpriseNumber", "Status", "JuridicalSituation", "TypeOfEnterprise", "JuridicalForm",
        "JuridicalFormCAC", "StartDate",
    ),
    "denomination.csv": ("EntityNumber", "Language", "TypeOfDenomination", "Denomination"),
    "address.csv": (
        "EntityNumber", "TypeOfAddress", "CountryNL", "CountryFR", "Zipcode", "MunicipalityNL",
        "MunicipalityFR", "StreetNL", "StreetFR", "HouseNumber", "Box", "ExtraAddressInfo",
        "DateStrikingOff",
    ),
    "activity.csv": ("EntityNumber", "ActivityGroup", "NaceVersion", "NaceCode", "Classification"),
    "establishment.csv": ("EstablishmentNumber", "StartDate", "EnterpriseNumber"),
}  # fmt: skip
FUNCTION_FILE = "function.csv"
FUNCTION_COLUMNS = (
    "EntityNumber", "NationalNumber", "Surname", "GivenName", "FunctionCode", "StartDate",
)  # fmt: skip
BATCH_SIZE = 500
SORT_CHUNK = 50_000  # establishment units held in memory at once while sorting
ENTERPRISE, ESTABLISHMENT, BRANCH = "enterprise", "establishment", "branch"


@lru_cache(maxsize=4096)
def classify(text):
    """(kind, 10 digits) of an entity number as the files write it, or None when not valid."""
    digits = text.replace(".", "").strip()
    if len(digits) != 10 or not digits.isdigit():
        return None
    if digits[0] in "01":
        return (ENTERPRISE, digits) if vat.checksum(digits) == 0 else None
    if digits[0] == "9":
        return BRANCH, digits  # branches of foreign entities: not loaded
    return (ESTABLISHMENT, digits) if is_establishment_number(digits) else None


def entity_key(text, wanted):
    """The digits of the number if it is of the `wanted` kind, None if of another kind. Invalid
    numbers are counted once, by the enterprise pass of the file."""
    found = classify(text)
    if found is None:
        if wanted == ENTERPRISE:
            raise SkipLine("invalid_number")
        return None
    kind, digits = found
    return digits if kind == wanted else None


def parse_date(text):
    if not text:
        return None
    try:
        day, month, year = text.split("-")
        return date(int(year), int(month), int(day))
    except ValueError:
        raise SkipLine("invalid_date") from None


def format_nace(code):
    return f"{code[:2]}.{code[2:]}" if len(code) == 5 and code.isdigit() else code


# --- reading the files ----------------------------------------------------------------------


def check_folder(folder):
    """Refuse a folder that lacks a file or a column before anything is written."""
    if not folder.is_dir():
        raise RegisterFileError(f"The folder {folder} does not exist.")
    for name, columns in COLUMNS.items():
        if not (folder / name).is_file():
            raise RegisterFileError(
                f"The folder {folder} has no {name}: it needs the KBO Open Data files "
                f"{', '.join(COLUMNS)} (and, if possible, {FUNCTION_FILE})."
            )
        read_header(folder / name, columns)
    if (folder / FUNCTION_FILE).is_file():
        read_header(folder / FUNCTION_FILE, FUNCTION_COLUMNS)


def stream(folder, name, parse, summary, orphan, columns=None):
    """A cursor over the lines of one file, grouped by the key that `parse` gives them."""
    lines = read_lines(folder / name, columns or COLUMNS[name], summary)
    return Cursor(grouped(sorted_items(lines, parse, summary)), summary, orphan)


def read_labels(folder, summary):
    """{(category, code): label} in French, else Dutch, German or English."""
    texts = {}
    for category, code, language, text in read_lines(
        folder / "code.csv", COLUMNS["code.csv"], summary
    ):
        texts.setdefault((category, code), {})[language.upper()] = text.strip()
    return {
        key: next((by_lang[lang] for lang in LABEL_LANGUAGES if by_lang.get(lang)), None)
        for key, by_lang in texts.items()
    }


# --- parsing one line of each file ----------------------------------------------------------


def parse_denomination(kind):
    def parse(v):
        key = entity_key(v[0], kind)
        return None if key is None else (key, (v[1], v[2], v[3].strip()))

    return parse


def parse_address(kind):
    def parse(v):
        key = entity_key(v[0], kind)
        if key is None:
            return None
        country = v[3] or v[2] or ("Belgique" if v[4] else "")  # empty for Belgian addresses
        address = Address(
            street=v[8] or v[7],
            house_number=v[9],
            box=v[10],
            zipcode=v[4],
            municipality=v[6] or v[5],
            country=country,
        )
        return key, (v[1], address, parse_date(v[12]))

    return parse


def parse_activity(v):
    key = entity_key(v[0], ENTERPRISE)
    if key is None or v[2] not in NACE_VERSIONS:
        return None
    return key, (v[2], v[3], v[4])


def parse_enterprise(v):
    found = classify(v[0])
    if found is None or found[0] != ENTERPRISE:
        raise SkipLine("invalid_number")
    return found[1], (v[1], v[2], v[3], v[4], v[5], parse_date(v[6]))


def parse_establishment(v):
    unit, enterprise = classify(v[0]), classify(v[2])
    if (
        unit is None
        or enterprise is None
        or (unit[0], enterprise[0]) != (ESTABLISHMENT, ENTERPRISE)
    ):
        raise SkipLine("invalid_number")
    return unit[1], (enterprise[1], parse_date(v[1]))


def parse_function(v):
    key = entity_key(v[0], ENTERPRISE)
    if key is None:
        return None
    national_number = "".join(c for c in v[1] if c.isdigit())
    if not person_number.is_valid(national_number):
        raise SkipLine("invalid_national_number")
    return key, (national_number, v[2].strip(), v[3].strip(), v[4], parse_date(v[5]))


# --- building the records -------------------------------------------------------------------


def choose_name(denominations, types):
    """The French denomination of the first of `types` present, else its first one."""
    for wanted in types:
        of_type = [(lang, text) for lang, kind, text in denominations if kind == wanted and text]
        if of_type:
            return next((text for lang, text in of_type if lang == FRENCH), of_type[0][1])
    return None


def current_address(addresses, wanted):
    return next((a for kind, a, struck in addresses if kind == wanted and struck is None), None)


def activities(lines, labels):
    unique = dict.fromkeys(lines)
    found = [
        Activity(format_nace(code), version, cls, labels.get((f"Nace{version}", code)))
        for version, code, cls in unique
    ]
    return tuple(
        sorted(
            found, key=lambda a: (CLASSIFICATION_ORDER.get(a.classification, 9), -int(a.version))
        )
    )


def establishment_items(folder, summary):
    """[enterprise, unit number, unit as a dict, denomination lines, address lines] for each
    establishment unit, in the order of the unit numbers."""
    orphan = "unknown_establishment"
    den = stream(folder, "denomination.csv", parse_denomination(ESTABLISHMENT), summary, orphan)
    adr = stream(folder, "address.csv", parse_address(ESTABLISHMENT), summary, orphan)
    units = sorted_items(
        read_lines(folder / "establishment.csv", COLUMNS["establishment.csv"], summary),
        parse_establishment,
        summary,
    )
    for number, lines in grouped(units):
        summary.skip("duplicate", len(lines) - 1)
        enterprise, start = lines[0]
        names, addresses = den.take(number), adr.take(number)
        address = current_address(addresses, ESTABLISHMENT_ADDRESS)
        unit = {
            "number": number,
            "start_date": start.isoformat() if start else None,
            "name": choose_name(names, (COMMERCIAL, OFFICIAL, ABBREVIATION)),
            "address": dict(vars(address)) if address else None,
        }
        yield [enterprise, number, unit, len(names), len(addresses)]
    den.finish()
    adr.finish()


def unit_weight(units):
    return sum(1 + u[3] + u[4] for u in units)


def enterprise_cursors(folder, summary, tmp):
    """One cursor per file, over the lines of enterprises, in the order of their numbers."""
    orphan = "unknown_enterprise"
    units = sorted_through_disk(
        establishment_items(folder, summary), itemgetter(0, 1), tmp, SORT_CHUNK
    )
    unit_groups = ((k, list(g)) for k, g in itertools.groupby(units, key=itemgetter(0)))
    cursors = {
        "denominations": stream(
            folder, "denomination.csv", parse_denomination(ENTERPRISE), summary, orphan
        ),
        "addresses": stream(folder, "address.csv", parse_address(ENTERPRISE), summary, orphan),
        "activities": stream(folder, "activity.csv", parse_activity, summary, orphan),
        "establishments": Cursor(unit_groups, summary, orphan, unit_weight),
        "functions": Cursor([], summary, orphan),
    }
    if (folder / FUNCTION_FILE).is_file():
        cursors["functions"] = stream(
            folder, FUNCTION_FILE, parse_function, summary, orphan, FUNCTION_COLUMNS
        )
    else:
        summary.notes.append(f"{FUNCTION_FILE} absent: no function loaded.")
    return cursors


def build_record(number, enterprise, lines, labels):
    status, situation, kind, form, cac, start = enterprise
    natural = kind == NATURAL_PERSON
    form = None if natural else (form or None)
    functions = tuple(
        CompanyFunction(nat, surname, given, code, labels.get(("Function", code)), since)
        for nat, surname, given, code, since in lines["functions"]
    )
    units = tuple(Establishment.from_dict(u[2]) for u in lines["establishments"])
    return CompanyRecord(
        enterprise_number=number,
        name=choose_name(lines["denominations"], (OFFICIAL, COMMERCIAL, ABBREVIATION)) or "",
        legal_form=form,
        legal_form_label=labels.get(("JuridicalForm", form)) if form else None,
        is_commercial_form=form is not None
        and any(c in COMMERCIAL_LEGAL_FORMS for c in (form, cac) if c),
        is_natural_person=natural,
        legal_situation=situation or None,
        legal_situation_label=labels.get(("JuridicalSituation", situation)),
        is_active=status == ACTIVE,
        start_date=start,
        address=current_address(lines["addresses"], SEAT),
        establishments=units,
        nace=activities(lines["activities"], labels),
        functions=functions,
    )


def count(summary, lines):
    units = lines["establishments"]
    summary.enterprises += 1
    summary.denominations += len(lines["denominations"]) + sum(u[3] for u in units)
    summary.addresses += len(lines["addresses"]) + sum(u[4] for u in units)
    summary.activities += len(lines["activities"])
    summary.establishments += len(units)
    summary.functions += len(lines["functions"])


def write_batch(records):
    now = utcnow()
    rows = [
        {
            "enterprise_number": r.enterprise_number,
            "name": r.name[:300],
            "data": r.to_dict(),
            "loaded_at": now,
        }
        for r in records
    ]
    with write_transaction():
        RegisterEntry.insert_many(rows).on_conflict(
            conflict_target=[RegisterEntry.enterprise_number],
            preserve=[RegisterEntry.name, RegisterEntry.data, RegisterEntry.loaded_at],
        ).execute()


@register("kbo-open-data", label=_l("BCE — fichiers KBO Open Data"))
class KboOpenData(CompanyRegister):
    """The KBO Open Data files of a folder, loaded into the RegisterEntry table."""

    def lookup(self, enterprise_number):
        number = normalize_enterprise_number(enterprise_number)
        entry = RegisterEntry.get_or_none(RegisterEntry.enterprise_number == number)
        return CompanyRecord.from_dict(entry.data) if entry else None

    def load(self, folder, progress=None):
        folder = Path(folder)
        check_folder(folder)
        summary = LoadSummary()
        labels = read_labels(folder, summary)
        total = count_lines(folder / "enterprise.csv")
        if not total:
            # Loading an empty file would remove every entry of the table.
            raise RegisterFileError(f"{folder / 'enterprise.csv'} holds no enterprise.")
        started = utcnow()
        done, batch = 0, []
        with tempfile.TemporaryDirectory(prefix="kbo-") as tmp:
            cursors = enterprise_cursors(folder, summary, tmp)
            enterprises = sorted_items(
                read_lines(folder / "enterprise.csv", COLUMNS["enterprise.csv"], summary),
                parse_enterprise,
                summary,
            )
            for number, found in grouped(enterprises):
                summary.skip("duplicate", len(found) - 1)
                lines = {name: cursor.take(number) for name, cursor in cursors.items()}
                batch.append(build_record(number, found[0], lines, labels))
                count(summary, lines)
                done += len(found)
                if len(batch) == BATCH_SIZE:
                    write_batch(batch)
                    batch = []
                    if progress:
                        progress(min(done, total), total)
            if batch:
                write_batch(batch)
            for cursor in cursors.values():
                cursor.finish()
        with write_transaction():
            summary.removed = (
                RegisterEntry.delete().where(RegisterEntry.loaded_at < started).execute()
            )
        if progress:
            progress(total, total)
        log.info("Company register loaded from %s: %s", folder, summary)
        return summary
