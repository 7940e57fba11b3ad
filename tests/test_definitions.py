"""Definitions: validation against the schema and the semantic checks, errors with their line;
the engine's visibility, pruning, rules and annexes on a small definition."""

import textwrap

import pytest

from procedures import engine, fields
from procedures.definition import DefinitionError, parse_definition

BASE = """\
code: essai
version: 1
title: Démarche d'essai
reference_prefix: ESS
sections:
  - key: agence
    title: L'agence
    fields:
      - key: established
        type: choice
        label: Établie
        required: true
        options:
          - {value: belgium, label: En Belgique}
          - {value: abroad, label: À l'étranger}
      - key: country
        type: text
        label: Pays
        required: true
        visible_if: {"==": [{"var": "established"}, "abroad"]}
      - key: fees
        type: yesno
        label: Rétribution
      - key: fee_amount
        type: amount
        label: Montant
        required_if: {"var": "fees"}
        visible_if: {"var": "fees"}
  - key: services
    title: Services
    fields:
      - key: rows
        type: group
        label: Services
        item_label: Service
        min_items: 1
        fields:
          - {key: received, type: integer, label: Reçues, required: true, min: 0}
          - {key: placed, type: integer, label: Placées, required: true, min: 0}
rules:
  - key: placed_le_received
    section: services
    for_each: rows
    assert: {"<=": [{"var": ["placed", 0]}, {"var": ["received", 0]}]}
    message: "Service {n} : {placed} placées pour {received} reçues."
annexes:
  - key: proof
    label: Preuve d'autorisation
    required_if: {"==": [{"var": "established"}, "abroad"]}
    reason: Obligatoire car l'agence est établie à l'étranger.
  - key: record
    label: Extrait de casier
    required: true
    per_item: rows
"""


def definition():
    return parse_definition(BASE)


def problems_of(text):
    with pytest.raises(DefinitionError) as info:
        parse_definition(text)
    return info.value.problems


def test_valid_definition_parses():
    d = definition()
    assert d.code == "essai" and [s.key for s in d.sections] == ["agence", "services"]
    assert d.fields_by_key["placed"].group == "rows"


def test_yaml_syntax_error_names_the_line():
    [problem] = problems_of(BASE.replace("    title: Services", "    title: [Services"))
    assert "YAML invalide" in problem.message
    line = BASE.splitlines().index("    title: Services") + 1
    assert problem.line in (line, line + 1)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a: 1\n\tb: 2\n", "tabulation interdite : indentez avec des espaces", 2),
        ("a:\n\t- b\n", "indentez avec des espaces", 2),
        ("a:\n  b: 1\n c: 2\n", "indentation incohérente", 3),
        ('a: 1\nb: "ouvert\nc: 2\nd: 3\n', "(guillemet ouvert à la ligne 2)", 5),
        ("a: [1, 2\nb: 3\n", "(« [ » ouvert à la ligne 1)", 2),
        ("titre: Agence: placement\n", "« : » inattendu", 1),
    ],
)
def test_yaml_mistakes_are_told_in_french_with_where_they_began(text, message, line):
    [problem] = problems_of(text)
    assert problem.message.startswith("YAML invalide : ") and message in problem.message
    assert problem.line == line


def test_unknown_field_type_names_path_and_line():
    [problem] = problems_of(BASE.replace("type: yesno", "type: oui_non"))
    assert "type de champ inconnu « oui_non »" in problem.message
    assert problem.path == "sections[0].fields[2].type"
    assert problem.line == BASE.splitlines().index("        type: yesno") + 1


def test_duplicate_field_keys():
    [problem] = problems_of(BASE.replace("key: fee_amount", "key: fees"))
    assert "déjà défini" in problem.message and "fees" in problem.message


def test_duplicate_mapping_key():
    text = BASE.replace("version: 1\n", "version: 1\nversion: 2\n")
    [problem] = problems_of(text)
    assert "répétée" in problem.message and problem.line == 3


def test_condition_on_unknown_field():
    [problem] = problems_of(
        BASE.replace('{"var": "fees"}\n        visible_if', '{"var": "feez"}\n        visible_if')
    )
    assert "champ inconnu « feez »" in problem.message
    assert problem.path.endswith("required_if")


def test_schema_errors_have_lines():
    problems = problems_of(BASE.replace("reference_prefix: ESS", "reference_prefix: ess"))
    assert problems[0].path == "reference_prefix" and problems[0].line == 4


def test_duplicate_field_type_registration_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        fields.register("text")(type("Again", (fields.FieldType,), {}))


def test_visibility_and_pruning():
    d = definition()
    answers = {"established": "belgium", "country": "France", "fees": False, "fee_amount": "10.00"}
    assert engine.prune(d, answers) == {"established": "belgium", "fees": False}
    answers = {"established": "abroad", "country": "France", "unknown": 1, "_saved": ["agence"]}
    assert engine.prune(d, answers) == {
        "established": "abroad",
        "country": "France",
        "_saved": ["agence"],
    }


def test_required_if_and_missing_fields():
    d = definition()
    issues = engine.field_issues(d, {"established": "belgium", "fees": True})
    messages = [i.message for i in issues]
    assert "« Montant » est à compléter." in messages
    assert "Services : au moins 1 à encoder." in messages
    assert not any("Pays" in m for m in messages)


def test_rules_name_the_numbers():
    d = definition()
    answers = {"rows": [{"received": 5, "placed": 3}, {"received": 2, "placed": 4}]}
    [issue] = engine.rule_issues(d, answers)
    assert issue.message == "Service 2 : 4 placées pour 2 reçues."
    assert issue.section == "services"


@pytest.mark.parametrize(
    "answers, have, expected",
    [
        ({"established": "belgium", "rows": [{}]}, {}, {"proof": (False, 1), "record": (True, 1)}),
        (
            {"established": "abroad", "rows": [{}, {}, {}]},
            {"record": 1},
            {"proof": (True, 1), "record": (True, 2)},
        ),
        (
            {"established": "abroad", "rows": [{}]},
            {"proof": 1, "record": 1},
            {"proof": (True, 0), "record": (True, 0)},
        ),
    ],
)
def test_annex_needs_follow_answers(answers, have, expected):
    needs = {
        n.key: (n.required, n.missing if n.required else 1)
        for n in engine.annex_needs(definition(), answers, have)
    }
    assert needs == expected


def test_fourth_procedure_fixture_needs_no_code():
    from pathlib import Path

    for path in Path(__file__).parent.glob("fixtures/procedures/*.yaml"):
        d = parse_definition(path.read_text(encoding="utf-8"))
        assert d.sections and d.reference_prefix


def test_shipped_definitions_are_valid():
    import procedures

    results = procedures.check_files(procedures.builtin_files())
    assert len(results) == 3
    for path, result in results:
        assert not isinstance(result, DefinitionError), f"{path}: {result}"


def test_check_command_reports_errors(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent(BASE.replace("type: yesno", "type: oui_non")))
    result = runner.invoke(args=["procedures", "check", str(bad)])
    assert result.exit_code == 1
    # The operators' commands speak English, the definition problems included.
    assert "unknown field type" in result.output and "line" in result.output
    assert "type de champ inconnu" not in result.output


def test_check_command_names_each_missing_key_once(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("code: x-y\nversion: 1\n")
    result = runner.invoke(args=["procedures", "check", str(bad)])
    assert result.exit_code == 1
    assert result.output.count("missing required key: title, reference_prefix, sections") == 1


CONSTANTS = """\
code: seuils
version: 1
languages: [fr, de]
title: {fr: Seuils, de: Schwellen}
reference_prefix: SEU
constants:
  min_years: 3
  rate: 12.5
sections:
  - key: main
    title: {fr: Expérience, de: Erfahrung}
    description:
      fr: "Au moins {min_years} ans, à un taux de {rate} %."
      de: "Mindestens {min_years} Jahre, zu einem Satz von {rate} %."
    fields:
      - {key: years, type: integer, label: {fr: Années, de: Jahre}, required: true, min: 0}
rules:
  - key: enough
    section: main
    assert: {">=": [{"var": ["years", 0]}, {"var": "min_years"}]}
    message:
      fr: "Il faut {min_years} ans ; vous en indiquez {years}."
      de: "Erforderlich sind {min_years} Jahre; Sie geben {years} an."
"""


def test_a_constant_is_stated_once_and_read_by_the_rule_and_every_text():
    french = parse_definition(CONSTANTS, "fr")
    assert french.sections[0].description == "Au moins 3 ans, à un taux de 12,5 %."
    assert parse_definition(CONSTANTS, "de").sections[0].description == (
        "Mindestens 3 Jahre, zu einem Satz von 12,5 %."
    )
    [issue] = engine.rule_issues(french, {"years": 2})
    assert issue.message == "Il faut 3 ans ; vous en indiquez 2."
    assert engine.rule_issues(french, {"years": 3}) == []
    raised = parse_definition(CONSTANTS.replace("min_years: 3", "min_years: 5"), "fr")
    assert [i.message for i in engine.rule_issues(raised, {"years": 4})] == [
        "Il faut 5 ans ; vous en indiquez 4."
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("  min_years: 3", "  years: 3"), "« years » est déjà un champ"),
        (
            ("  - key: enough\n", '  - key: enough\n    when: {"var": "min_years"}\n'),
            "champ inconnu « min_years »",
        ),
        (("  min_years: 3", "  min_years: trois"), "min_years"),
    ],
)
def test_a_constant_that_cannot_be_read_is_refused(change, message):
    with pytest.raises(DefinitionError) as refused:
        parse_definition(CONSTANTS.replace(*change))
    assert message in str(refused.value)
