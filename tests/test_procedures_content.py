"""The three shipped procedures: the mandatory annexes for several combinations of answers, and
their rules (commercial legal form, report totals that must add up)."""

import pytest

from procedures import builtin_files, engine
from procedures.definition import parse_definition

DEFS = {p.stem: parse_definition(p.read_text(encoding="utf-8")) for p in builtin_files()}


def required(code, answers, have=None):
    needs = engine.annex_needs(DEFS[code], engine.prune(DEFS[code], answers), have or {})
    return {n.key: n.count for n in needs if n.required}


PERSONS = [{"surname": "A"}, {"surname": "B"}]


@pytest.mark.parametrize(
    "answers, expected",
    [
        (  # legal person in Belgium, recruitment only: no fees question, no foreign proof
            {
                "person_type": "legal",
                "established": "belgium",
                "services": ["recruitment_selection"],
                "persons_in_charge": PERSONS,
            },
            {"statutes": 1, "competence_proof": 1, "criminal_record": 2},
        ),
        (  # natural person abroad collecting fees for artists
            {
                "person_type": "natural",
                "established": "abroad",
                "services": ["artists"],
                "collects_fees": True,
                "persons_in_charge": PERSONS[:1],
            },
            {
                "competence_proof": 1,
                "criminal_record": 1,
                "general_conditions": 1,
                "foreign_authorisation": 1,
            },
        ),
        (  # fees answered but no service allowing them: the answer is hidden, no conditions annex
            {
                "person_type": "legal",
                "established": "belgium",
                "services": ["outplacement"],
                "collects_fees": True,
                "persons_in_charge": PERSONS,
            },
            {"statutes": 1, "competence_proof": 1, "criminal_record": 2},
        ),
    ],
)
def test_enregistrement_annexes(answers, expected):
    assert required("enregistrement", answers) == expected


@pytest.mark.parametrize(
    "answers, expected",
    [
        (
            {"person_type": "legal", "established": "belgium", "persons_in_charge": PERSONS},
            {
                "social_fund_certificate": 1,
                "criminal_record": 2,
                "cv_diplomas": 1,
                "statutes": 1,
                "capital_release": 1,
            },
        ),
        (
            {"person_type": "legal", "established": "abroad", "persons_in_charge": PERSONS[:1]},
            {
                "social_fund_certificate": 1,
                "criminal_record": 1,
                "cv_diplomas": 1,
                "statutes": 1,
                "capital_release": 1,
                "social_security_certificate": 1,
                "tax_certificate": 1,
            },
        ),
        (
            {"person_type": "natural", "established": "belgium", "persons_in_charge": PERSONS[:1]},
            {"social_fund_certificate": 1, "criminal_record": 1, "cv_diplomas": 1},
        ),
    ],
)
def test_agrement_annexes(answers, expected):
    assert required("agrement-interim", answers) == expected


@pytest.mark.parametrize(
    "answers", [{}, {"fees_collected": True}, {"has_changes": True, "services": [{}]}]
)
def test_rapport_annex_is_optional_whatever_the_answers(answers):
    assert required("rapport-activites", answers) == {}


def rule_messages(code, answers):
    return [i.message for i in engine.rule_issues(DEFS[code], answers)]


def test_commercial_legal_form_is_required_for_a_legal_person():
    base = {"person_type": "legal", "legal_form": "Association sans but lucratif"}
    messages = rule_messages("agrement-interim", {**base, "is_commercial_form": False})
    assert any("n'est pas une forme commerciale" in m for m in messages)
    assert any("Association sans but lucratif" in m for m in messages)
    ok = rule_messages("agrement-interim", {**base, "is_commercial_form": True})
    assert not any("forme commerciale" in m for m in ok)


def test_report_totals_must_add_up_and_name_the_numbers():
    row = {
        "service": "job_search",
        "received": 10,
        "placed": 12,
        "received_women": 4,
        "received_men": 4,
        "received_x": 1,
        "received_under_25": 3,
        "received_25_49": 5,
        "received_50_plus": 2,
    }
    messages = rule_messages("rapport-activites", {"services": [row]})
    assert any(m.startswith("Service 1 : 12 personnes placées pour 10 reçues") for m in messages)
    assert any("4 femmes, 4 hommes et 1 X" in m for m in messages)
    received_ages = [m for m in messages if "moins de 25 ans" in m and "personnes reçues" in m]
    assert received_ages == [], "3 + 5 + 2 = 10: the ages of the people received add up"
    assert any(
        "? femmes, ? hommes et ? X ne font pas les 12 personnes placées" in m for m in messages
    )
    fixed = {
        **row,
        "received_x": 2,
        **dict.fromkeys(["placed", "placed_women", "placed_25_49"], 6),
        **dict.fromkeys(["placed_men", "placed_x", "placed_under_25", "placed_50_plus"], 0),
        "on_file": 3,
        **dict.fromkeys(["on_file_men", "on_file_50_plus"], 3),
        **dict.fromkeys(["on_file_women", "on_file_x", "on_file_under_25", "on_file_25_49"], 0),
    }
    assert rule_messages("rapport-activites", {"services": [fixed]}) == []
    ages = {**fixed, "on_file_50_plus": 2, "on_file_25_49": 0}
    [message] = rule_messages("rapport-activites", {"services": [ages]})
    assert "ne font pas les 3 personnes inscrites au 31 décembre" in message
