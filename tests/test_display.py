"""Answers as people read them: each field type's display, answer_rows (visible sections and
fields, choice labels, group rows, units), annex labels and the one address formatter."""

import pytest
from flask import Flask
from flask_babel import Babel

from helpers import make_company, make_dossier
from procedures import fields, prefill
from procedures.definition import DefinitionError, Field, parse_definition
from procedures.display import annex_label, answer_rows, answer_text, format_address
from sources import Address

DEFINITION = """\
code: essai
version: 1
title: Démarche d'essai
reference_prefix: ESS
sections:
  - key: agency
    title: L'agence
    fields:
      - key: person_type
        type: choice
        label: L'agence est
        prefill: company.person_type
        options:
          - {value: legal, label: une personne morale}
          - {value: natural, label: une personne physique}
      - key: established
        type: choice
        label: Établie
        options:
          - {value: belgium, label: En Belgique}
          - {value: abroad, label: À l'étranger}
      - key: country
        type: text
        label: Pays
        visible_if: {"==": [{"var": "established"}, "abroad"]}
      - key: units
        type: multichoice
        label: Unités d'établissement
        options_from: company.establishments
      - key: workers
        type: integer
        label: Travailleurs
        unit: travailleurs
      - key: share
        type: number
        label: Part
        unit: "%"
      - key: note
        type: text
        label: Remarque
  - key: abroad
    title: À l'étranger
    visible_if: {"==": [{"var": "established"}, "abroad"]}
    fields:
      - {key: register, type: text, label: Registre}
  - key: people
    title: Personnes
    fields:
      - key: persons
        type: group
        label: Personnes responsables
        item_label: Personne responsable
        fields:
          - {key: surname, type: text, label: Nom}
          - {key: nrn, type: national_number, label: Numéro de registre national}
          - key: nrn_missing
            type: text
            label: Pourquoi pas de numéro ?
            visible_if: {"!": [{"var": "nrn"}]}
          - key: foreign_id
            type: text
            label: Identifiant étranger
            visible_if: {"==": [{"var": "established"}, "abroad"]}
annexes:
  - {key: competence_proof, label: Preuve de compétence professionnelle}
"""
CONTEXT = {
    "company.establishments": [
        {"value": "2123456789", "label": "2.123.456.789 — Siège de Namur"},
        {"value": "2987654321", "label": "2.987.654.321 — Atelier de Liège"},
    ]
}


@pytest.fixture(autouse=True)
def babel(request):
    if "app" in request.fixturenames:  # the real app, with its own contexts
        yield
        return
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_LOCALE"] = "fr"
    Babel(app)
    with app.test_request_context():
        yield


@pytest.fixture(scope="module")
def definition():
    return parse_definition(DEFINITION)


def spaces(text):
    """French number formatting separates thousands with a (narrow) no-break space."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def shown(type_id, value, options=(), **attrs):
    field = Field(key="x", type=type_id, label="X", **attrs)
    return spaces(field.kind.display(value, field, list(options)))


CHOICES = [
    {"value": "belgium", "label": "En Belgique"},
    {"value": "abroad", "label": "À l'étranger"},
]


@pytest.mark.parametrize(
    ("type_id", "value", "expected"),
    [
        ("text", "  Zoé  ", "  Zoé  "),
        ("choice", "abroad", "À l'étranger"),
        ("multichoice", ["belgium", "abroad"], "En Belgique\nÀ l'étranger"),
        ("yesno", True, "Oui"),
        ("yesno", False, "Non"),
        ("declaration", True, "Oui, je le déclare"),
        ("date", "2026-03-01", "01/03/2026"),
        ("integer", 1250, "1 250"),
        ("number", "12.5", "12,5"),
        ("amount", "1250.50", "1 250,50 €"),
        ("enterprise_number", "0566988259", "0566.988.259"),
        ("national_number", "93051822361", "93.05.18-223.61"),
        ("iban", "BE68539007547034", "BE68 5390 0754 7034"),
        (
            "address",
            {
                "street": "Rue de Fer",
                "number": "1",
                "box": "2",
                "postcode": "5000",
                "municipality": "Namur",
                "country": "Belgique",
            },
            "Rue de Fer 1 bte 2, 5000 Namur, Belgique",
        ),
        ("display", True, "Oui"),
        ("display", [{"value": "1", "label": "Un"}, "Deux"], "Un\nDeux"),
        ("display", 2025, "2025"),
    ],
)
def test_each_type_shows_its_answer_for_people(type_id, value, expected):
    assert shown(type_id, value, CHOICES) == expected


@pytest.mark.parametrize("type_id", sorted(set(fields.ids()) - {"group"}))
def test_an_unanswered_field_shows_nothing(type_id):
    assert shown(type_id, None, CHOICES) == ""


def test_a_choice_whose_option_is_gone_shows_its_value():
    assert shown("choice", "elsewhere", CHOICES) == "elsewhere"


def test_numbers_carry_the_unit_the_definition_gives():
    assert shown("integer", 12, unit="travailleurs") == "12 travailleurs"
    assert shown("integer", 0, unit="an(s)") == "0 an(s)"
    assert shown("number", "25", unit="%") == "25 %"
    assert shown("integer", None, unit="travailleurs") == ""


def test_unit_is_only_for_numbers():
    with pytest.raises(DefinitionError) as info:
        parse_definition(DEFINITION.replace("label: Remarque", "label: Remarque\n        unit: m"))
    assert "« unit » ne s'emploie qu'avec un nombre" in str(info.value)


def test_every_field_type_has_a_label():
    assert all(str(fields.get(type_id).label) for type_id in fields.ids())
    assert str(fields.get("multichoice").label) == "Choix multiple"


def test_answer_rows_keep_visible_sections_and_fields_in_order(definition):
    answers = {
        "person_type": "legal",
        "established": "belgium",
        "country": "France",  # hidden: established is not abroad
        "register": "RC 123",  # a hidden section
        "units": ["2987654321", "2123456789"],
        "workers": 12,
        "share": "25",
    }
    sections = answer_rows(definition, answers, CONTEXT)
    assert [s.title for s in sections] == ["L'agence", "Personnes"]
    rows = {r.label: spaces(r.value) for r in sections[0].rows}
    assert list(rows) == [
        "L'agence est",
        "Établie",
        "Unités d'établissement",
        "Travailleurs",
        "Part",
        "Remarque",
    ]
    assert rows["L'agence est"] == "une personne morale"
    assert rows["Établie"] == "En Belgique"
    assert rows["Unités d'établissement"] == (
        "2.987.654.321 — Atelier de Liège\n2.123.456.789 — Siège de Namur"
    )
    assert rows["Travailleurs"] == "12 travailleurs" and rows["Part"] == "25 %"
    assert rows["Remarque"] == "—"
    values = " ".join(r.value for s in sections for r in s.rows)
    for key in ("legal", "belgium", "2123456789", "France", "RC 123"):
        assert key not in values


def test_answer_rows_without_context_show_the_values_of_sourced_choices(definition):
    [agency, _people] = answer_rows(definition, {"units": ["2123456789"]})
    assert next(r for r in agency.rows if r.key == "units").value == "2123456789"


def test_group_rows_are_nested_and_drop_hidden_and_empty_answers(definition):
    answers = {
        "established": "belgium",
        "persons": [
            {"surname": "Dubois", "nrn": "93051822361", "foreign_id": "X-1"},
            {"surname": "Lefèvre", "nrn_missing": "Pas encore reçu", "foreign_id": ""},
        ],
    }
    people = answer_rows(definition, answers)[-1]
    [row] = people.rows
    assert row.label == "Personnes responsables"
    assert [i.title for i in row.items] == ["Personne responsable 1", "Personne responsable 2"]
    first, second = ([(r.label, r.value) for r in i.rows] for i in row.items)
    assert first == [("Nom", "Dubois"), ("Numéro de registre national", "93.05.18-223.61")]
    assert second == [("Nom", "Lefèvre"), ("Pourquoi pas de numéro ?", "Pas encore reçu")]
    assert row.value.splitlines()[0] == (
        "Personne responsable 1 : Nom : Dubois ; Numéro de registre national : 93.05.18-223.61"
    )


def test_a_group_row_sees_the_answers_of_the_form(definition):
    answers = {"established": "abroad", "persons": [{"surname": "Ali", "foreign_id": "X-1"}]}
    [item] = answer_rows(definition, answers)[-1].rows[0].items
    assert ("Identifiant étranger", "X-1") in [(r.label, r.value) for r in item.rows]


def test_an_empty_group_shows_a_dash(definition):
    row = answer_rows(definition, {})[-1].rows[0]
    assert row.items == [] and row.value == "—"


def test_answer_text_is_the_one_value_of_a_field(definition):
    field = definition.fields_by_key["units"]
    assert answer_text(field, ["2123456789"], CONTEXT) == "2.123.456.789 — Siège de Namur"
    assert answer_text(field, None, CONTEXT) == ""


def test_annex_kinds_are_shown_by_their_labels(definition):
    assert annex_label(definition, "competence_proof") == "Preuve de compétence professionnelle"
    assert annex_label(definition, "complement") == "Complément"
    assert annex_label(definition, "unknown") == "unknown"
    assert annex_label(definition, None) == ""


def test_one_address_formatter_for_answers_and_the_register():
    register = Address("Rue Saint-Gilles", "58", "3", "4000", "Liège", "Belgique")
    expected = "Rue Saint-Gilles 58 bte 3, 4000 Liège, Belgique"
    assert str(register) == expected
    assert prefill._address_text(vars(register)) == expected
    answer = {
        "street": "Rue Saint-Gilles",
        "number": "58",
        "box": "3",
        "postcode": "4000",
        "municipality": "Liège",
        "country": "Belgique",
    }
    assert shown("address", answer) == expected


def test_missing_address_parts_leave_no_stray_separators():
    assert format_address(street="Rue de Fer", postcode="5000", municipality="Namur") == (
        "Rue de Fer, 5000 Namur"
    )
    assert format_address(municipality="Namur", country="") == "Namur"
    assert (
        str(Address("Grand-Place", "", "", "1000", "Bruxelles", ""))
        == "Grand-Place, 1000 Bruxelles"
    )
    assert format_address() == ""


def test_registered_services_are_offered_by_their_labels(app):
    import procedures
    from models import Dossier, DossierStatus

    registration = next(d for d in procedures.sync_builtin() if d.code == "enregistrement")
    company = make_company()
    dossier = make_dossier(DossierStatus.CLOSED, company=company, definition=registration)
    answers = {"services": ["job_search", "artists"]}
    Dossier.update(answers=answers).where(Dossier.id == dossier.id).execute()
    with app.test_request_context():
        services = prefill.company_context(company)["company.registered_services"]
    assert services == [
        {"value": "artists", "label": "Placement d'artistes de spectacle"},
        {"value": "job_search", "label": "Recherche d'emploi"},
    ]
