"""After a failed submit the focus is on the error summary (GOV.UK pattern), with and without
JavaScript; an upload refused stands at its file field too; one journey done with the keyboard
alone, from the login through the FAS to the check page."""

import re

import pytest
from playwright.sync_api import expect
from test_pdf_check import blank_pdf

from browser.harness import shoot
from browser.test_identity import login_eid
from browser.test_procedures import agency, start_procedure  # noqa: F401 (fixture)
from browser.words import tr
from models import Dossier


def new_dossier(page, base, code="enregistrement"):
    login_eid(page, base)
    start_procedure(page, code)
    expect(page).to_have_url(re.compile(r"/dossiers/\d+$"))
    return Dossier.select().order_by(Dossier.id.desc()).get()


def focused(page):
    """What has the focus, as a screen reader would announce it first."""
    return page.evaluate("document.activeElement.className || document.activeElement.tagName")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.usefixtures("agency")
def test_a_failed_section_puts_the_focus_on_the_error_summary(live_server, browser, javascript):
    base = live_server.url
    page = browser.new_context(java_script_enabled=javascript).new_page()
    dossier = new_dossier(page, base)
    page.goto(f"{base}/dossiers/{dossier.id}/section/applicant")
    page.locator("[name='contact_email']").fill("pas-une-adresse")
    page.get_by_role("button", name=tr("Enregistrer et continuer")).click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    link = summary.locator("a[href='#contact_email']")
    expect(link).to_have_count(1)
    expect(page.locator("#contact_email")).to_have_attribute(
        "aria-describedby", re.compile("contact_email-error")
    )
    shoot(page, "formulaire-avec-erreur", docs=javascript)


@pytest.mark.usefixtures("agency")
def test_a_refused_upload_is_in_the_summary_and_at_its_file_field(live_server, browser):
    base = live_server.url
    page = browser.new_context().new_page()
    dossier = new_dossier(page, base, "agrement-interim")
    page.goto(f"{base}/dossiers/{dossier.id}/annexes")
    file_input = page.locator("input[type='file']").first
    key = file_input.get_attribute("id").removeprefix("file-")
    file_input.set_input_files(
        files=[
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"\x89PNG" + b"0" * 99}
        ]
    )
    page.locator(f"#annexe-{key}").get_by_role("button", name=tr("Joindre")).click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator(f"a[href='#file-{key}']")).to_contain_text("scan.pdf")
    error = page.locator(f"#file-{key}-error")
    expect(error).to_contain_text("scan.pdf")
    expect(page.locator(f"#file-{key}")).to_have_attribute("aria-describedby", f"file-{key}-error")
    page.reload()  # shown once: the page as it is now
    expect(page.locator(".error-summary")).to_have_count(0)
    page.locator(f"#file-{key}").set_input_files(
        files=[{"name": "bon.pdf", "mimeType": "application/pdf", "buffer": blank_pdf(1)}]
    )
    page.locator(f"#annexe-{key}").get_by_role("button", name=tr("Joindre")).click()
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator(f"#file-{key}-error")).to_have_count(0)


# --- the keyboard alone ------------------------------------------------------------------------


def tab_to(page, target, key="Tab", limit=120):
    """Press Tab (or Shift+Tab) until `target` has the focus; fails if it never does."""
    for _ in range(limit):
        page.keyboard.press(key)
        if target.evaluate("e => e === document.activeElement"):
            return target
    raise AssertionError(f"{target} never took the focus with {key}")


@pytest.mark.usefixtures("agency")
def test_from_the_login_to_the_check_page_with_the_keyboard_alone(live_server, browser):
    base = live_server.url
    page = browser.new_context().new_page()
    page.goto(base + "/")

    skip = page.locator("a.skip-link")
    tab_to(page, skip)  # the first stop of every page
    expect(skip).to_be_visible()
    tab_to(page, page.get_by_role("link", name=tr("Se connecter")).first).press("Enter")
    expect(
        page.get_by_role("heading", name=tr("Choisissez votre moyen de connexion"))
    ).to_be_visible()
    tab_to(page, page.get_by_role("link", name=tr("Carte d'identité électronique"))).press("Enter")
    card = tab_to(page, page.get_by_label(tr("Carte d'identité de test")))
    while "592-0000001-01" not in card.evaluate("e => e.value"):
        page.keyboard.press("ArrowDown")
    tab_to(page, page.get_by_label(tr("Code PIN")))
    page.keyboard.type("1111")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=tr("Mes entreprises"))).to_be_visible()

    act = page.get_by_role("button", name=tr("Agir pour %(name)s", name="Agence Intérim Liège"))
    tab_to(page, act).press("Space")
    expect(page).to_have_url(re.compile(r"/dossiers/$"))
    tab_to(page, page.get_by_role("link", name=tr("Nouvelle démarche"))).press("Enter")
    start = page.locator("form[action$='/nouveau/enregistrement']").get_by_role("button")
    tab_to(page, start).press("Enter")
    expect(page).to_have_url(re.compile(r"/dossiers/\d+$"))
    dossier = Dossier.select().order_by(Dossier.id.desc()).get()

    section = page.locator(f"a[href$='/dossiers/{dossier.id}/section/applicant']")
    tab_to(page, section).press("Enter")
    save = page.get_by_role("button", name=tr("Enregistrer et continuer"))
    tab_to(page, page.locator("[name='contact_email']"))
    page.keyboard.type("pas-une-adresse")
    page.keyboard.press("Enter")  # submits the form: the summary takes the focus
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    page.keyboard.press("Tab")  # its first link, to the field in error
    expect(summary.locator("a[href='#contact_email']")).to_be_focused()
    for name, value in (
        ("contact_name", "Marie Dubois"),
        ("contact_phone", "+32 81 33 31 11"),
        ("contact_email", "marie@agence.test"),
    ):
        tab_to(page, page.locator(f"[name='{name}']"))
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    tab_to(page, save).press("Enter")
    expect(page).not_to_have_url(re.compile(r"/section/applicant$"))
    answers = Dossier.get_by_id(dossier.id).answers
    assert answers["contact_name"] == "Marie Dubois"
    assert answers["contact_email"] == "marie@agence.test"

    back = page.get_by_role("link", name=re.compile(re.escape(tr("Retour à la liste des étapes"))))
    tab_to(page, page.locator("a.skip-link"), key="Shift+Tab")  # back up to the first stop
    tab_to(page, back).press("Enter")
    expect(page).to_have_url(re.compile(rf"/dossiers/{dossier.id}$"))
    tab_to(page, page.get_by_role("link", name=tr("Vérifier vos réponses"))).press("Enter")
    expect(page).to_have_url(re.compile(rf"/dossiers/{dossier.id}/verifier$"))
    expect(page.get_by_text("Marie Dubois").first).to_be_visible()


FOCUS_RING = """e => {
    const style = getComputedStyle(e);
    let back = e.parentElement;  // the colour around the element, where the ring is drawn
    while (back && getComputedStyle(back).backgroundColor === 'rgba(0, 0, 0, 0)') {
        back = back.parentElement;
    }
    return [style.outlineStyle, parseFloat(style.outlineWidth), style.outlineColor,
            back ? getComputedStyle(back).backgroundColor : 'rgb(255, 255, 255)'];
}"""


def luminance(css):
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
    return sum(
        w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        for w, c in zip((0.2126, 0.7152, 0.0722), (r, g, b), strict=True)
    )


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_fas_pages_have_a_skip_link_and_a_focus_ring_of_3_to_1(live_server, browser):
    base = live_server.url
    page = browser.new_context().new_page()
    page.goto(base + "/auth/login")
    targets = [
        page.locator("a.skip-link"),
        page.locator("header").get_by_role("link", name="Deutsch"),
        page.get_by_role("link", name=tr("Carte d'identité électronique")),
    ]
    for target in targets:
        tab_to(page, target)
        style, width, colour, around = target.evaluate(FOCUS_RING)
        assert style == "solid" and width >= 2, (target, style, width)
        assert contrast(colour, around) >= 3, (target, colour, around)
    tab_to(page, page.locator("a.skip-link"), key="Shift+Tab").press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
