"""Layout at 1280×800: the logged-in header on one row, "Modifier" in its own column, multiple
answers as lists, and a 200-character unbroken name that does not make the page scroll
sideways."""

from playwright.sync_api import expect
from test_wizard import install

from browser.test_identity import login_eid
from helpers import make_company, make_member
from models import Dossier, Role

LAYOUT = """\
code: essai
version: 1
title: Démarche d'essai
reference_prefix: ESS
sections:
  - key: agence
    title: L'agence
    fields:
      - {key: company_name, type: display, label: Dénomination, prefill: company.name}
      - {key: contact, type: text, label: Personne de contact}
      - key: services
        type: multichoice
        label: Services
        options:
          - {value: a, label: Recherche d'emploi}
          - {value: b, label: Outplacement}
          - {value: c, label: Sélection}
      - key: people
        type: group
        label: Personnes responsables
        item_label: Personne
        fields:
          - {key: name, type: text, label: Nom}
          - {key: role, type: text, label: Fonction}
"""
LONG_NAME = "Agence" + "X" * 194  # 200 characters, no break opportunity


def one_row(page, selector):
    """True when every child of `selector` overlaps the others vertically (one flex row)."""
    return page.evaluate(
        """(sel) => {
          const boxes = [...document.querySelector(sel).children]
            .map(e => e.getBoundingClientRect()).filter(b => b.height > 0);
          return Math.max(...boxes.map(b => b.top)) < Math.min(...boxes.map(b => b.bottom));
        }""",
        selector,
    )


def no_sideways_scroll(page):
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_layout_at_1280(live_server, page):
    install(LAYOUT)
    company = make_company(name=LONG_NAME)
    other = make_company(name="Brico SA")
    marie = make_member(
        company,
        Role.SIGN,
        manager=True,
        national_number="93051822361",
        given_name="Marie",
        surname="Dubois-Vandenberghe",
    )
    make_member(other, Role.SIGN, person=marie, manager=True)
    dossier = Dossier.create(
        company=company,
        definition=Dossier.definition.rel_model.get(),
        created_by=marie,
        answers={
            "company_name": LONG_NAME,
            "contact": "Contact" + "Y" * 150,
            "services": ["a", "b", "c"],
            "people": [{"name": "Alpha", "role": "Gérant"}, {"name": "Bravo", "role": "Aide"}],
        },
    )
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})
    login_eid(page, base)
    page.locator("form", has=page.locator(f"input[value='{company.id}']")).get_by_role(
        "button"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes dossiers")

    paths = ("/dossiers/", f"/dossiers/{dossier.id}", f"/dossiers/{dossier.id}/verifier")
    # in French, then in German (longer words) with the language switcher in the header
    live_server.app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    for lang in ("fr", "de", "fr"):
        for path in paths:
            page.goto(f"{base}{path}?lang={lang}")
            assert one_row(page, ".header-inner"), f"the header wraps on {path} ({lang})"
            height = page.evaluate("document.querySelector('.site-header').offsetHeight")
            assert height < 120, f"header {height}px high on {path} ({lang})"
            assert no_sideways_scroll(page), f"{path} scrolls sideways ({lang})"

    # "Modifier" stays right of the answer, on the label's line, never under the label
    row = page.locator(".summary > div", has=page.get_by_text("Personne de contact"))
    label = row.locator("dt").bounding_box()
    answer = row.locator("dd").first.bounding_box()
    change = row.locator(".change").bounding_box()
    assert change["x"] >= answer["x"] + answer["width"] - 1 > label["x"] + label["width"]
    assert abs(change["y"] - label["y"]) < 5

    services = page.locator(".summary > div", has=page.get_by_text("Services", exact=True))
    expect(services.locator("li")).to_have_text(["Recherche d'emploi", "Outplacement", "Sélection"])
    people = page.locator(".answer-items > li")
    expect(people).to_have_count(2)
    expect(people.nth(1)).to_contain_text("Bravo")
