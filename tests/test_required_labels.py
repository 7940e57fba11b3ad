"""Required and optional told as the rules say for the current answers (#11): the label's
« (facultatif) », a field's and an annex's reason only while its condition holds, warnings
only on sections the user has reached; the texts in the page's language."""

import html
import re
from pathlib import Path

import pytest
from test_wizard import post_section, start

from helpers import login_person, make_company, make_member, text
from models import ProcedureDefinition, Role

TEXT = (Path(__file__).parent / "fixtures" / "procedures" / "multilingue.yaml").read_text()
REASON = "Obligatoire car l'agence est établie en Belgique."
FEE_REASON = "Obligatoire car vous percevez une rétribution."


@pytest.fixture
def filler(app, client):
    ProcedureDefinition.create(
        code="essai",  # test_wizard.start opens /dossiers/nouveau/essai
        version=1,
        title="Démarche multilingue",
        reference_prefix="MUL",
        yaml_text=TEXT.replace("code: multilingue", "code: essai"),
        published=True,
    )
    company = make_company(name="Essai SA")
    login_person(client, make_member(company, Role.ENCODE), company)


def label_of(page, key):
    match = re.search(rf'<label class="label" for="{key}">(.*?)</label>', page, re.S)
    return html.unescape(
        re.sub(r"<span[^>]*\bhidden\b[^>]*>.*?</span>", "", match.group(1), flags=re.S)
    )


def hint_of(page, key):
    match = re.search(rf'<p class="hint" id="{key}-hint">(.*?)</p>', page, re.S)
    return html.unescape(
        re.sub(r"<span[^>]*\bhidden\b[^>]*>.*?</span>", "", match.group(1), flags=re.S)
    )


def test_label_and_reason_follow_the_answers(filler, client):
    dossier = start(client)
    page = client.get(f"/dossiers/{dossier.id}/section/agency").text
    # not answered yet: the number is not required, and no reason is given for it
    assert "(facultatif)" in label_of(page, "national_number")
    assert REASON not in hint_of(page, "national_number")
    assert "Onze chiffres." in hint_of(page, "national_number")
    post_section(client, dossier, "agency", {"established": "belgium"})
    page = client.get(f"/dossiers/{dossier.id}/section/agency").text
    assert "(facultatif)" not in label_of(page, "national_number")
    assert REASON in hint_of(page, "national_number")
    assert "(facultatif)" in label_of(page, "workers")  # never required
    post_section(client, dossier, "agency", {"established": "abroad"})
    page = client.get(f"/dossiers/{dossier.id}/section/agency").text
    assert "(facultatif)" in label_of(page, "national_number")
    assert REASON not in hint_of(page, "national_number")


def test_the_page_carries_the_condition_for_live_updates(filler, client):
    dossier = start(client)
    page = client.get(f"/dossiers/{dossier.id}/section/agency").text
    assert 'data-optional-unless="{&#34;==&#34;: [{&#34;var&#34;: &#34;established&#34;}' in page
    assert "data-shown-if=" in page


def test_annex_reason_only_while_it_is_required(filler, client):
    dossier = start(client)
    page = text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert FEE_REASON not in page, "no reason before the question is answered"
    assert "Toujours obligatoire." in page  # the statutes
    post_section(client, dossier, "fees", {"collects_fees": "false"})
    assert FEE_REASON not in text(client.get(f"/dossiers/{dossier.id}/annexes"))
    post_section(client, dossier, "fees", {"collects_fees": "true"})
    assert FEE_REASON in text(client.get(f"/dossiers/{dossier.id}/annexes"))


def test_warnings_wait_until_the_section_is_reached(filler, client):
    dossier = start(client)
    dossier.answers = {**dossier.answers, "fee_count": 12}  # e.g. from an earlier version
    dossier.save()
    warning = "Au plus 10 rétributions (12 indiquées)."
    assert warning not in text(client.get(f"/dossiers/{dossier.id}/section/fees"))
    check = text(client.get(f"/dossiers/{dossier.id}/verifier"))
    assert warning not in check
    assert "« Rétribution » : pas encore rempli." in check
    assert "« Percevez-vous une rétribution ? » est à compléter." not in check
    post_section(client, dossier, "fees", {"collects_fees": "true", "fee_count": "12"})
    assert warning in text(client.get(f"/dossiers/{dossier.id}/section/fees"))
    check = text(client.get(f"/dossiers/{dossier.id}/verifier"))
    assert warning in check
    assert "« Rétribution » : pas encore rempli." not in check
    assert "« Agence » : pas encore rempli." in check


def test_pages_in_german(filler, client, app):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    dossier = start(client)
    post_section(client, dossier, "agency", {"established": "belgium"})
    page = client.get(f"/dossiers/{dossier.id}/section/agency?lang=de").text
    assert "Nationalregisternummer" in label_of(page, "national_number")
    assert "Erforderlich, da die Agentur in Belgien niedergelassen ist." in hint_of(
        page, "national_number"
    )
    assert "Mehrsprachiges Verfahren" in page
    assert "(facultatif)" not in page
    annexes = text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert "Immer erforderlich." in annexes and "Satzung" in annexes
    listing = text(client.get("/dossiers/"))
    assert "Mehrsprachiges Verfahren" in listing and "Démarche multilingue" not in listing
