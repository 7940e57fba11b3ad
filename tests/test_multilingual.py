"""Definitions in several languages: the format (a text or a mapping per language), what the
check reports about languages (with the line), the definition resolved in a language with its
fallback, answers stored by key and read in any language, the titles, the schema."""

import json
from pathlib import Path

import pytest
from flask_babel import force_locale
from jsonschema import Draft202012Validator
from test_definitions import BASE

from helpers import make_dossier
from models import ProcedureDefinition
from procedures import definition_of, display, engine, title_of
from procedures.definition import DefinitionError, parse_definition, schema_validator

FIXTURE = Path(__file__).parent / "fixtures" / "procedures" / "multilingue.yaml"
TEXT = FIXTURE.read_text(encoding="utf-8")


def line_of(fragment, text=TEXT):
    return next(i for i, line in enumerate(text.splitlines()) if fragment in line) + 1


def problems_of(text):
    with pytest.raises(DefinitionError) as info:
        parse_definition(text)
    return info.value.problems


def test_every_text_comes_in_the_language_asked():
    de = parse_definition(TEXT, "de")
    assert (de.language, de.languages) == ("de", ("fr", "de", "en"))
    assert de.title == "Mehrsprachiges Verfahren"
    assert de.sections[0].title == "Agentur"
    field = de.fields_by_key["national_number"]
    assert (field.label, field.help) == ("Nationalregisternummer", "Elf Ziffern.")
    assert field.reason == "Erforderlich, da die Agentur in Belgien niedergelassen ist."
    assert [o["label"] for o in de.fields_by_key["established"].options] == [
        "In Belgien",
        "Im Ausland",
    ]
    assert de.fields_by_key["workers"].unit == "Arbeitnehmer"
    assert de.rules[0].message.startswith("Höchstens 10")
    assert [a.label for a in de.annexes] == ["Allgemeine Geschäftsbedingungen", "Satzung"]
    en = parse_definition(TEXT, "en")
    assert en.title == "Multilingual procedure" and en.annexes[1].label == "Articles of association"


def test_a_language_not_declared_falls_back_to_the_source_language():
    for language in (None, "nl", "it"):
        d = parse_definition(TEXT, language)
        assert d.language == "fr" and d.title == "Démarche multilingue"


def test_plain_strings_with_one_language_keep_loading():
    d = parse_definition(BASE, "de")
    assert d.languages == ("fr",) and d.language == "fr" and d.title == "Démarche d'essai"
    mapped = BASE.replace("title: Démarche d'essai", "title: {fr: Démarche d'essai}")
    assert parse_definition(mapped).title == "Démarche d'essai"


def test_a_missing_language_is_reported_with_its_path_and_line():
    text = TEXT.replace("          en: National register number\n", "")
    [problem] = problems_of(text)
    assert problem.path == "sections[0].fields[1].label"
    assert problem.line == line_of("fr: Numéro de registre national") - 1  # at « label: »
    assert "texte manquant en en (la définition est en fr, de, en)" in problem.message


def test_a_plain_string_where_three_languages_are_declared_is_reported():
    text = TEXT.replace(
        "    label: {fr: Statuts, de: Satzung, en: Articles of association}", "    label: Statuts"
    )
    [problem] = problems_of(text)
    assert problem.path == "annexes[1].label" and problem.line == line_of("label: Statuts", text)
    assert "une seule langue" in problem.message


def test_a_language_not_declared_in_a_mapping_is_reported():
    text = TEXT.replace("en: Workers}", "en: Workers, nl: Werknemers}")
    [problem] = problems_of(text)
    assert problem.path == "sections[0].fields[2].label.nl"
    assert problem.line == line_of("nl: Werknemers", text)
    assert "« nl » non déclarée" in problem.message


def test_unknown_language_codes_are_reported():
    problems = problems_of(TEXT.replace("languages: [fr, de, en]", "languages: [fr, de, en, xx]"))
    assert problems[0].path == "languages[3]" and problems[0].line == line_of("languages:")
    assert "langue inconnue « xx »" in problems[0].message
    # every text then misses its "xx" version too
    assert all("manquant en xx" in p.message for p in problems[1:]) and len(problems) > 10
    [problem] = problems_of(TEXT.replace("en: Fees}", "en: Fees, zz: Fees}"))
    assert problem.path == "sections[1].title.zz" and "langue inconnue « zz »" in problem.message


def test_problems_come_out_in_the_readers_language(app):
    text = TEXT.replace("en: Workers}", "en: Workers, nl: Werknemers}")
    with app.test_request_context(), force_locale("de"):
        [problem] = problems_of(text)
        assert "Sprache „nl“ nicht angegeben" in problem.message
        assert str(problem).startswith(f"Zeile {line_of('nl: Werknemers', text)}, ")
        [schema] = problems_of(TEXT.replace("reference_prefix: MUL", "reference_prefix: mul"))
        assert "hat nicht die erwartete Form" in schema.message
    with app.test_request_context(), force_locale("en"):
        [problem] = problems_of(TEXT.replace("          en: National register number\n", ""))
        assert problem.message.startswith("text missing in en (the definition is in")


def test_the_schema_says_how_a_text_is_written():
    schema = json.loads((Path(__file__).parents[1] / "procedures" / "schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    text_def = {"$ref": "#/$defs/text"}
    field = schema["$defs"]["field"]["properties"]
    for key in ("label", "help", "placeholder", "unit", "item_label", "reason"):
        assert field[key]["$ref"] == text_def["$ref"], key
    for kind, keys in (("annex", ("label", "help", "reason")), ("rule", ("message",))):
        for key in keys:
            assert schema["$defs"][kind]["properties"][key]["$ref"] == text_def["$ref"]
    validator = schema_validator()
    ok = {"code": "ab", "version": 1, "title": {"fr": "Titre"}, "reference_prefix": "AB"}
    ok["sections"] = [
        {"key": "s", "title": "S", "fields": [{"key": "f", "type": "text", "label": "L"}]}
    ]
    assert not list(validator.iter_errors(ok))
    for bad in (3, {}, {"fr": 3}, {"FR": "Titre"}):
        assert list(validator.iter_errors({**ok, "title": bad})), bad


@pytest.fixture
def multilingual(app):
    row = ProcedureDefinition.create(
        code="multilingue",
        version=1,
        title="Démarche multilingue",
        reference_prefix="MUL",
        yaml_text=TEXT,
        published=True,
    )
    dossier = make_dossier(definition=row)
    dossier.answers = {
        "established": "abroad",
        "workers": 12,
        "collects_fees": True,
        "fee_count": 3,
    }
    dossier.save()
    return row, dossier


def rows_in(dossier, language):
    definition = definition_of(dossier.definition, language)
    return {
        block.title: [(r.label, r.value) for r in block.rows]
        for block in display.answer_rows(definition, dossier.answers)
    }


def test_one_dossier_reads_in_each_language(app, multilingual):
    _row, dossier = multilingual
    with app.test_request_context():
        assert rows_in(dossier, "fr")["Agence"][0] == (
            "Où l'agence est-elle établie ?",
            "À l'étranger",
        )
        with force_locale("de"):
            de = rows_in(dossier, "de")
            assert de["Agentur"] == [
                ("Wo ist die Agentur niedergelassen?", "Im Ausland"),
                ("Nationalregisternummer", "—"),
                ("Arbeitnehmer", "12 Arbeitnehmer"),
            ]
            assert de["Vergütung"][0] == ("Erheben Sie eine Vergütung?", "Ja")
        with force_locale("en"):
            en = rows_in(dossier, "en")
            assert en["Agency"][0] == ("Where is the agency established?", "Abroad")
            assert en["Fees"][0] == ("Do you charge fees?", "Yes")


def test_definition_of_follows_the_current_language(app, multilingual):
    row, _dossier = multilingual
    with app.test_request_context():
        assert definition_of(row).title == "Démarche multilingue"
        with force_locale("de"):
            assert definition_of(row).title == "Mehrsprachiges Verfahren"
            assert title_of(row) == "Mehrsprachiges Verfahren"
            assert title_of(row, "en") == "Multilingual procedure"
            partial = ProcedureDefinition.select(
                ProcedureDefinition.id, ProcedureDefinition.title
            ).get()
            assert title_of(partial) == "Mehrsprachiges Verfahren"
        with force_locale("nl"):
            assert definition_of(row).title == "Démarche multilingue"


def test_engine_texts_in_the_readers_language(app, multilingual):
    _row, dossier = multilingual
    with app.test_request_context(), force_locale("de"):
        definition = definition_of(dossier.definition)
        needs = {n.key: n for n in engine.annex_needs(definition, dossier.answers)}
        assert needs["general_conditions"].reason == "Erforderlich, da Sie eine Vergütung erheben."
        assert needs["statutes"].reason == "Immer erforderlich."
        issues = engine.field_issues(definition, {"established": "belgium"})
        assert "„Nationalregisternummer“ ist auszufüllen." in [i.message for i in issues]
        [rule] = engine.rule_issues(definition, {"fee_count": 12})
        assert rule.message == "Höchstens 10 Vergütungen (12 angegeben)."
