"""What the register gives a form: the establishment units a registration may name are those in
Wallonia (the Walloon Region's five provinces), while the register's summary lists them all."""

from helpers import make_company
from models import ProcedureDefinition
from procedures import definition_of
from procedures.prefill import company_context


def unit(number, zipcode, municipality, country=None):
    address = {"zipcode": zipcode, "municipality": municipality, "street": "Rue 1"}
    if country:
        address["country"] = country
    return {"number": number, "name": f"Unité {municipality}", "address": address}


def test_only_walloon_units_can_be_chosen(app):
    from procedures import sync_builtin

    sync_builtin()
    company = make_company(
        register_data={
            "establishments": [
                unit("2100000001", "5000", "Namur"),
                unit("2100000002", "1000", "Bruxelles"),
                unit("2100000003", "3000", "Leuven"),
                unit("2100000004", "6700", "Arlon"),
                unit("2100000005", "4000", "Liège", country="France"),
                {"number": "2100000006", "name": "Sans adresse", "address": None},
            ]
        }
    )
    context = company_context(company)
    assert [u["value"] for u in context["company.establishments"]] == [
        f"210000000{i}" for i in range(1, 7)
    ]
    assert [u["value"] for u in context["company.walloon_establishments"]] == [
        "2100000001",
        "2100000004",
    ]
    registration = definition_of(ProcedureDefinition.latest_published("enregistrement"))
    field = registration.fields_by_key["walloon_units"]
    assert field.options_from == "company.walloon_establishments"
