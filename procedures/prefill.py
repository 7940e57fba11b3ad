"""Values from the authentic sources, by the paths a definition's `prefill` and `options_from`
name: the company register (as kept on the company at activation), the logged-in identity and
the procedure's own dates."""

from datetime import date

from models import Decision, Dossier, DossierStatus, ProcedureDefinition, RegistrationNumber
from procedures import definition_of, provinces
from procedures.display import format_address
from procedures.fields import label_of

SERVICES_FIELD = "services"


def _address_text(address):
    """An address as the register keeps it (`sources.Address` as a dict), written out."""
    if not address:
        return ""
    return format_address(
        street=address.get("street"),
        number=address.get("house_number"),
        box=address.get("box"),
        postcode=address.get("zipcode"),
        municipality=address.get("municipality"),
        country=address.get("country"),
    )


def _granted(company, codes):
    """{code: the company's granted (closed) dossiers of that procedure} for each of `codes`,
    read in one query."""
    found = {code: [] for code in codes}
    query = (
        Dossier.select(Dossier, ProcedureDefinition)
        .join(ProcedureDefinition)
        .where(
            Dossier.company == company,
            ProcedureDefinition.code.in_(list(codes)),
            Dossier.status == DossierStatus.CLOSED.value,
            Dossier.decision == Decision.GRANTED.value,
        )
        .order_by(Dossier.id)
    )
    for dossier in query:
        found[dossier.definition.code].append(dossier)
    return found


def context(company, person, membership, due_month_day=(3, 31), today=None):
    """Every prefill path with its value for this company and person."""
    today = today or date.today()
    return {
        **company_context(company),
        "person.full_name": person.full_name,
        "person.national_number": person.national_number,
        "person.email": membership.notification_email if membership else person.login_email,
        "procedure.reference_year": today.year - 1,
        "procedure.due_date": date(today.year, *due_month_day).strftime("%d/%m/%Y"),
    }


def company_context(company):
    """The `company.*` paths: enough for the options of every choice, whoever reads them."""
    register = company.register_data or {}
    units = register.get("establishments", [])
    registrations = _granted(company, ("enregistrement",))["enregistrement"]
    numbers = list(RegistrationNumber.of_company(company))
    imported = [r for r in numbers if r.dossier_id is None and r.services]
    return {
        "company.enterprise_number": company.formatted_number,
        "company.name": company.name,
        "company.legal_form_label": company.legal_form_label or "",
        "company.legal_situation_label": company.legal_situation or "",
        "company.start_date": company.start_date.strftime("%d/%m/%Y") if company.start_date else "",
        "company.address": _address_text(register.get("address")),
        "company.establishments": [_unit_option(e) for e in units],
        # the units in the Walloon Region: where a registration's services may be provided
        "company.walloon_establishments": [
            _unit_option(e) for e in units if provinces.in_wallonia(e.get("address"))
        ],
        "company.nace": [f"{a['code']} — {a.get('label', '')}" for a in register.get("nace", [])],
        "company.person_type": "natural" if register.get("is_natural_person") else "legal",
        "company.is_commercial_form": bool(register.get("is_commercial_form")),
        # the numbers in force (W.RE.2026.0001), not the references of their dossiers
        "company.registrations": ", ".join(r.number for r in numbers),
        "company.registered_services": _services(registrations, imported),
        "company.has_approval": any(r.procedure_code == "agrement-interim" for r in numbers),
    }


def _services(registrations, imported=()):
    """The services of the granted registrations, each with its label in the registration's
    definition (an imported registration's: in the registration form in force)."""
    labels = {}
    for dossier in registrations:
        field = definition_of(dossier.definition).fields_by_key.get(SERVICES_FIELD)
        for value in dossier.answers.get(SERVICES_FIELD) or []:
            labels.setdefault(value, label_of(value, field.options if field else []))
    if imported:
        current = ProcedureDefinition.latest_published("enregistrement")
        field = definition_of(current).fields_by_key.get(SERVICES_FIELD) if current else None
        for number in imported:
            for value in number.services:
                labels.setdefault(value, label_of(value, field.options if field else []))
    return [{"value": s, "label": labels[s]} for s in sorted(labels)]


def _unit_option(unit):
    """An establishment unit as a choice: its number, name and address."""
    number = unit["number"]
    parts = (_unit(number), unit.get("name"), _address_text(unit.get("address")))
    return {"value": number, "label": " — ".join(p for p in parts if p)}


def _unit(number):
    return f"{number[0]}.{number[1:4]}.{number[4:7]}.{number[7:]}" if len(number) == 10 else number


def initial_answers(definition, ctx):
    """Answers taken from the sources when the dossier is created."""
    return {
        f.key: ctx.get(f.prefill)
        for f in definition.fields_by_key.values()
        if f.prefill and f.group is None
    }
