"""The public statistics page (`/statistiques`), without login, in French, English and German:
checked by the harness like every page a journey sees (axe-core, WCAG 2.1 A and AA, and no
French left on the other languages' pages), with the processing time of a closed dossier."""

import pytest
from playwright.sync_api import expect

from helpers import make_dossier
from models import DossierStatus, ProcedureDefinition


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_public_statistics_page(live_server, browser, lang):
    from procedures import sync_builtin, title_of

    sync_builtin()
    definition = ProcedureDefinition.latest_published("enregistrement")
    make_dossier(DossierStatus.CLOSED, definition=definition)  # closed the day it was sent
    page = browser.new_page()
    response = page.goto(f"{live_server.url}/statistiques?lang={lang}")
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", lang)
    title = title_of(definition, lang)
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=title))
    expect(row.get_by_role("cell").nth(0)).to_have_text("1")
    expect(row.get_by_role("cell").nth(1)).to_have_text("0")
