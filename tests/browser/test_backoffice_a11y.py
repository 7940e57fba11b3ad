"""Every page of the back-office, in French and in German, checked with axe-core (WCAG 2.1 A and
AA): the staff login and its second factor, the dashboard, each list and detail, the dossier
actions (the group change among them), following a dossier, the preferences page (the choice
of emails), the staff accounts (list, form, account, the page that chooses a password), the
bulk pages, the groups, the statistics, the definition editor (a new version, a new procedure)
and preview, the email texts (list, edit with an error, preview), the
confirmation pages and an error page. Zero violations, and `<html lang>` the language of the
page."""

import datetime
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import expect

from backoffice.dossier_filters import FollowedFilter
from backoffice.dossiers import DossierView
from dossiers import groups
from dossiers.events import sequence_pending
from helpers import STAFF_PASSWORD, make_company, make_dossier, make_member, make_staff, totp_of
from models import (
    Actor,
    AuditEvent,
    DossierStatus,
    Event,
    Membership,
    OutboxMessage,
    ProcedureDefinition,
    Role,
    StaffRole,
    WebhookAttempt,
    WebhookDelivery,
)
from webhooks import subscriptions

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => v.id + " (" + v.impact + "): " + v.nodes.map(
    n => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\\s+/g, " ")
  ).join(" | "));
}"""


class Scanner:
    """Runs axe on each page it is shown and keeps what it found, by page."""

    def __init__(self, language):
        self.language = language
        self.found = {}

    def __call__(self, page, name):
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang") == self.language, name
        page.evaluate(AXE.read_text())  # not a <script>: the page's policy refuses inline ones
        violations = page.evaluate(RUN_AXE, TAGS)
        self.found[f"{name} <{page.url}>"] = violations
        return violations


def submit(page):
    page.locator("main button[type=submit]").first.click()


def staff_login(browser, base, staff, scan, language, step="enrol"):
    """A new browser where `staff` logs in (choosing `language` on the login page), each
    page of the login scanned; the page is then on the dashboard."""
    page = browser.new_context().new_page()
    page.goto(f"{base}/admin/login/?lang={language}")
    scan(page, "login")
    page.fill("#email", staff.email)
    page.fill("#password", STAFF_PASSWORD)
    submit(page)
    expect(page).to_have_url(re.compile(rf"/admin/login/{step}/$"))
    scan(page, f"login {step}")
    if step == "enrol":
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        code = pyotp.TOTP(secret).now()
    else:
        staff = type(staff).get_by_id(staff.id)
        code = pyotp.TOTP(totp_of(staff)).at(time.time() + 30)  # not the step just used
    page.fill("#code", code)
    submit(page)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    return page


def visit(page, scan, base, name, path):
    response = page.goto(base + path)
    assert response.status < 500, (name, response.status)
    scan(page, name)


@pytest.fixture
def world(live_server):
    """Dossiers at every status a member of staff sees, on a shipped procedure, with the emails
    and audit rows that their transitions wrote."""
    from procedures import sync_builtin

    live_server.app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    sync_builtin()
    definition = ProcedureDefinition.latest_published("enregistrement")
    company = make_company(name="Agence Accessible")
    person = make_member(company, Role.SIGN)
    agent = make_staff(StaffRole.AGENT, full_name="Agathe Traitant")
    dossiers = {
        status: make_dossier(
            status, company=company, person=person, staff=agent, definition=definition
        )
        for status in (
            DossierStatus.SUBMITTED,
            DossierStatus.RECEIVED,
            DossierStatus.PROCESSING,
            DossierStatus.CLOSED,
        )
    }
    liege = groups.save_group(Actor.system(), None, "Liège", "liege", [agent.id], True)
    groups.save_group(Actor.system(), None, "Namur", "namur", [])
    return {
        "base": live_server.url,
        "server": live_server,
        "liege": liege,
        "definition": definition,
        "company": company,
        "person": person,
        "membership": Membership.get(Membership.person == person),
        "dossiers": dossiers,
    }


@pytest.mark.parametrize("language", ["fr", "de"])
def test_every_backoffice_page_passes_axe(world, browser, language):
    base, scan = world["base"], Scanner(language)
    dossiers = world["dossiers"]

    page = staff_login(browser, base, make_staff(StaffRole.SUPERVISOR), scan, language)
    scan(page, "dashboard")
    visit(page, scan, base, "dossier list", "/admin/dossiers/")
    visit(page, scan, base, "dossier list, searched", "/admin/dossiers/?search=agence")
    visit(page, scan, base, "dossier list, filtered", "/admin/dossiers/?flt0_0=processing")
    for status, dossier in dossiers.items():
        visit(
            page, scan, base, f"dossier {status.value}", f"/admin/dossiers/details/?id={dossier.id}"
        )
    page.goto(f"{base}/admin/dossiers/details/?id={dossiers[DossierStatus.RECEIVED].id}")
    complement = page.locator("form[action*='/complement/']")
    complement.locator("textarea").evaluate("box => box.removeAttribute('required')")
    complement.locator("button[type=submit]").click()  # no message: refused, page again
    scan(page, "dossier, refused action")
    move = page.locator("form[action*='/group/']")
    move.locator("textarea").evaluate("box => box.removeAttribute('required')")
    move.locator("button[type=submit]").click()  # no reason: refused, page again
    scan(page, "dossier, group change refused")
    move = page.locator("form[action*='/group/']")
    move.locator("textarea").fill("Siège de l'agence à Liège.")
    move.locator("button[type=submit]").click()
    expect(page.locator("li.group-change")).to_have_count(1)
    scan(page, "dossier, group changed")
    visit(page, scan, base, "dossier list, my groups", "/admin/dossiers/?flt0_7=1")
    for name, path in [
        ("groups", "/admin/groups/"),
        ("new group", "/admin/groups/new/"),
        ("group", f"/admin/groups/edit/?id={world['liege'].id}"),
    ]:
        visit(page, scan, base, name, path)
    page.fill("#code", "Pas un code !")
    submit(page)  # refused: the form again with the error
    scan(page, "group, refused")

    visit(page, scan, base, "labels", "/admin/labels/")
    visit(page, scan, base, "new label", "/admin/labels/new/?url=/admin/labels/")
    submit(page)  # no name, no colour: refused, the form again
    scan(page, "new label, refused")
    page.locator("#procedure_code").select_option("enregistrement")
    page.locator("#name").fill("Urgent")
    page.locator("#colour-3").check()
    submit(page)
    expect(page).to_have_url(re.compile(r"/admin/labels/$"))
    scan(page, "labels, one made")
    page.locator("main table a", has_text="Urgent").click()
    scan(page, "label edit")
    received = dossiers[DossierStatus.RECEIVED]
    page.goto(f"{base}/admin/dossiers/details/?id={received.id}")
    page.locator(f"form[action$='/label/{received.id}'] button[type=submit]").click()
    page.locator("#new-note").fill("Siège à vérifier lors de la visite.")
    page.locator(f"form[action$='/note/{received.id}'] button[type=submit]").click()
    expect(page.locator(".bo-label", has_text="Urgent")).to_be_visible()
    scan(page, "dossier with a label and a note")
    editing = page.locator(f"form[action*='/note/{received.id}/']")
    editing.locator("xpath=ancestor::details").locator("summary").click()  # "Modifier…"
    editing.locator("textarea").fill("x" * 5001)
    editing.locator("button[type=submit]").click()  # too long: refused, the text kept
    scan(page, "dossier, note refused")
    opinion_pages(browser, page, scan, world["server"], received, language)
    page.goto(f"{base}/admin/dossiers/details/?id={received.id}")
    page.locator(f"form[action$='/follow/{received.id}'] button[type=submit]").click()
    expect(page.locator(f"form[action$='/unfollow/{received.id}']")).to_be_visible()
    scan(page, "dossier followed")
    page.locator("main a[href$='/admin/preferences/']").click()
    expect(page).to_have_url(re.compile(r"/admin/preferences/$"))
    scan(page, "preferences")
    page.locator("input[value=daily]").check()
    submit(page)
    expect(page.locator("input[value=daily]")).to_be_checked()
    scan(page, "preferences, daily digest chosen")
    page.locator("main form").evaluate(
        "form => { form.querySelector('input[value=daily]').value = 'weekly'; }"
    )
    submit(page)  # a choice the page does not offer: refused, the message beside the choice
    expect(page.locator("#emails-error")).to_be_visible()
    scan(page, "preferences, refused")
    followed = next(
        i for i, f in enumerate(DossierView.column_filters) if isinstance(f, FollowedFilter)
    )
    visit(page, scan, base, "dossiers I follow", f"/admin/dossiers/?flt0_{followed}=1")
    expect(page.get_by_role("row").filter(has_text=received.reference)).to_be_visible()
    visit(page, scan, base, "dossier list with labels", "/admin/dossiers/")
    row = page.get_by_role("row").filter(has_text=dossiers[DossierStatus.SUBMITTED].reference)
    row.locator("input.action-checkbox").check()
    page.locator(".dropdown-toggle[aria-haspopup]").last.click()
    page.locator(".dropdown-item[data-model-action='label_set']").click()
    scan(page, "bulk label form")
    submit(page)
    expect(page).to_have_url(re.compile(r"/admin/dossiers/bulk/result/\d+$"))
    scan(page, "bulk label result")

    page.goto(f"{base}/admin/dossiers/")
    row = page.get_by_role("row").filter(has_text=dossiers[DossierStatus.PROCESSING].reference)
    row.locator("input.action-checkbox").check()
    page.locator(".dropdown-toggle[aria-haspopup]").last.click()
    page.locator(".dropdown-item[data-model-action='close']").click()
    scan(page, "bulk form")
    page.locator("#decision").select_option("granted")
    page.locator("#comment").fill("Conditions remplies.")
    submit(page)
    expect(page).to_have_url(re.compile(r"/admin/dossiers/bulk/result/\d+$"))
    scan(page, "bulk result")

    page.goto(f"{base}/admin/dossiers/")
    csv = page.locator("form[action*='/export-background/csv/']")
    csv.locator("xpath=ancestor::li").locator(".dropdown-toggle").click()
    csv.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/exports/$"))
    scan(page, "exports")

    company, person = world["company"], world["person"]
    for name, path in [
        ("companies", "/admin/companies/"),
        ("company", f"/admin/companies/details/?id={company.id}"),
        ("persons", "/admin/persons/"),
        ("person", f"/admin/persons/details/?id={person.id}"),
        ("memberships", "/admin/memberships/"),
        ("membership", f"/admin/memberships/details/?id={world['membership'].id}"),
        ("outbox", "/admin/outbox/"),
        ("email", f"/admin/outbox/details/?id={OutboxMessage.select().first().id}"),
        ("audit log", "/admin/audit/"),
        ("audit event", f"/admin/audit/details/?id={AuditEvent.select().first().id}"),
        ("statistics", "/admin/statistics/"),
        ("error page", "/admin/dossiers/details/?id=999999"),
        ("not found", "/admin/nothing-here/"),
    ]:
        visit(page, scan, base, name, path)

    admin = make_staff(StaffRole.ADMIN)
    page = staff_login(browser, base, admin, scan, language)
    staff_account_pages(browser, page, scan, world["server"], admin)
    definition = world["definition"]
    for name, path in [
        ("definitions", "/admin/definitions/"),
        ("definition preview", f"/admin/definitions/preview/{definition.id}"),
        ("new procedure", "/admin/definitions/new/"),
        ("definition editor", f"/admin/definitions/new-version/{definition.code}"),
    ]:
        visit(page, scan, base, name, path)
    submit(page)  # the text as proposed: identical to version 1, refused
    scan(page, "definition editor, refused")
    editor = page.locator("main textarea")
    editor.fill(editor.input_value() + "\n# Relue.\n")
    submit(page)  # saved as the next version, not published
    expect(page).to_have_url(re.compile(r"/admin/definitions/preview/\d+$"))
    scan(page, "definition preview, not published")
    page.locator("a[href*='/admin/definitions/publish/']").click()
    scan(page, "publish")

    closed = dossiers[DossierStatus.CLOSED]
    visit(page, scan, base, "email texts", "/admin/email-templates/")
    visit(page, scan, base, "email text", f"/admin/email-templates/edit/closed/{language}")
    page.locator("#body").fill("{{ montant }} {% for x in reference %}{% endfor %}")
    submit(page)  # an unknown placeholder and a loop: refused, the text kept
    expect(page.locator("#body-error")).to_be_visible()
    scan(page, "email text, refused")
    page.locator("#body").fill(
        "{{ company }} : {{ decision }}.\n\n{% if comment %}{{ comment }}{% endif %}"
    )
    page.locator("#reference").fill(closed.reference)
    page.locator("main button[value=preview]").click()
    expect(page.locator("#apercu-html")).to_be_visible()
    scan(page, "email text, previewed")
    visit(
        page,
        scan,
        base,
        "email preview",
        f"/admin/email-templates/preview/closed/{language}?procedure={definition.code}",
    )
    page.locator("form[action$='/admin/logout/'] button").click()
    page = staff_login(browser, base, admin, scan, language, step="code")
    webhook_pages(page, scan, base, admin)

    page = staff_login(browser, base, make_staff(StaffRole.HELPDESK), scan, language)
    membership = world["membership"].id
    visit(page, scan, base, "reset email", f"/admin/memberships/reset-email/{membership}")
    visit(
        page, scan, base, "resend validation", f"/admin/memberships/resend-validation/{membership}"
    )
    visit(page, scan, base, "preferences, helpdesk", "/admin/preferences/")

    failing = {name: found for name, found in scan.found.items() if found}
    assert len(scan.found) >= 30
    assert not failing, "\n".join(f"{name}:\n  " + "\n  ".join(v) for name, v in failing.items())


def opinion_pages(browser, page, scan, server, dossier, language):
    """The agent asks an outside expert (refused once: no question), the expert's page (its
    refused answer, its thanks, the used link), and the dossier with the answer. The link is
    read from the email the expert receives (once sent, the outbox keeps no link)."""
    base = server.url
    page.goto(f"{base}/admin/dossiers/details/?id={dossier.id}")
    asking = page.locator(f"form[action$='/opinion/{dossier.id}']")
    page.locator("details summary", has_text=re.compile("avis|Stellungnahme")).click()
    asking.locator("#expert_name").fill("Eva Experte")
    asking.locator("#expert_email").fill("eva@inspection.example")
    asking.locator("[required]").evaluate_all(
        "boxes => boxes.forEach(b => b.removeAttribute('required'))"
    )
    asking.locator("button[type=submit]").click()  # no question, no deadline: refused
    expect(page.locator("#question-error")).to_be_visible()
    scan(page, "dossier, opinion refused")
    asking = page.locator(f"form[action$='/opinion/{dossier.id}']")
    asking.locator("#question").fill("La convention collective est-elle appliquée ?")
    asking.locator("#due_on").fill(f"{datetime.date.today() + datetime.timedelta(days=10)}")
    asking.locator("button[type=submit]").click()
    expect(page.locator(".opinion")).to_have_count(1)
    scan(page, "dossier, opinion asked")

    def to_expert(mail):
        return mail["To"] == "eva@inspection.example"

    mail = next(m for m in server.wait_for_mail(to_expert, 30) if to_expert(m))
    link = re.search(r"https?://\S+/avis/\S+", mail.get_body(("plain",)).get_content()).group(0)
    path = urlsplit(link)._replace(scheme="", netloc="").geturl()
    path = path.replace("lang=fr", f"lang={language}")
    expert = browser.new_context().new_page()
    visit(expert, scan, base, "expert page", path)
    submit(expert)  # no answer: refused, the form again
    expect(expert.locator("#answer-error")).to_be_visible()
    scan(expert, "expert page, refused")
    expert.locator("#answer").fill("Oui, appliquée depuis 2024.")
    submit(expert)
    scan(expert, "expert page, answered")
    visit(expert, scan, base, "expert link used", path)
    expert.context.close()
    page.goto(f"{base}/admin/dossiers/details/?id={dossier.id}")
    expect(page.locator("li.opinion-change")).to_have_count(2)
    scan(page, "dossier, opinion answered")


def staff_account_pages(browser, page, scan, server, admin):
    """The staff accounts: the list, the form (refused once: an address already taken), the new
    account's page, and the page of the link emailed to its owner, where the password is chosen
    (refused once: too short)."""
    base = server.url
    visit(page, scan, base, "staff accounts", "/admin/staff/")
    visit(page, scan, base, "new staff account", "/admin/staff/new/")
    page.fill("#email", admin.email)
    page.fill("#full_name", "Nina Nouvelle")
    submit(page)
    expect(page.locator("#email-error")).to_be_visible()
    scan(page, "new staff account, refused")
    page.fill("#email", "nina@guichet.test")
    page.fill("#full_name", "Nina Nouvelle")
    submit(page)
    expect(page).to_have_url(re.compile(r"/admin/staff/details/\?id=\d+$"))
    scan(page, "staff account")

    def to_nina(mail):
        return mail["To"] == "nina@guichet.test"

    mail = next(m for m in server.wait_for_mail(to_nina, 30) if to_nina(m))
    body = mail.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/admin/login/password/\S+", body).group(0)
    newcomer = browser.new_context().new_page()
    path = urlsplit(link)._replace(scheme="", netloc="").geturl()
    visit(newcomer, scan, base, "choose a password", path)
    newcomer.fill("#password", "court")
    newcomer.fill("#confirmation", "court")
    submit(newcomer)
    expect(newcomer.locator("#password-error")).to_be_visible()
    scan(newcomer, "choose a password, refused")
    newcomer.context.close()


def webhook_pages(page, scan, base, admin):
    """The webhooks' pages, with a subscription that has a delivered and a dead delivery."""
    sequence_pending()
    subscription, _secret = subscriptions.create(
        Actor.staff_member(admin), "archives", "https://127.0.0.1:9/hooks", [], [], admin
    )
    first, second = Event.select().where(Event.position.is_null(False)).order_by(Event.id)[:2]
    for event, status, code in ((first, "delivered", 200), (second, "dead", 503)):
        made = WebhookDelivery.create(
            subscription=subscription,
            event=event,
            position=event.position,
            status=status,
            attempts=1,
            last_status_code=code,
        )
        WebhookAttempt.create(
            delivery=made, subscription=subscription, status_code=code, duration_ms=42
        )
    visit(page, scan, base, "webhooks", "/admin/webhooks/")
    visit(page, scan, base, "new webhook", "/admin/webhooks/new/")
    page.fill("#name", "statistiques")
    page.fill("#url", "pas-une-adresse")
    submit(page)
    expect(page.locator("#url-error")).to_be_visible()
    scan(page, "new webhook, refused")
    for name, path in [
        ("webhook", f"/admin/webhooks/details/?id={subscription.id}"),
        ("webhook log", f"/admin/webhooks/{subscription.id}/log"),
        ("webhook dead letters", "/admin/webhooks/dead-letters/"),
        ("delete webhook", f"/admin/webhooks/delete/{subscription.id}"),
    ]:
        visit(page, scan, base, name, path)
    page.goto(f"{base}/admin/webhooks/details/?id={subscription.id}")
    page.locator("form[action*='/rotate/'] button").click()
    scan(page, "new webhook secret")


def luminance(rgb):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb(css):
    return tuple(int(n) for n in re.findall(r"\d+", css)[:3])


FOCUS_STYLE = """() => {
  const s = getComputedStyle(document.activeElement);
  return {outline: s.outlineWidth + " " + s.outlineStyle, colour: s.outlineColor,
          shadow: s.boxShadow};
}"""


def test_skip_link_and_a_focus_ring_seen_on_white_and_on_the_header(live_server, browser):
    live_server.app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    page = browser.new_context(locale="fr-BE").new_page()
    page.goto(live_server.url + "/admin/login/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Adresse e-mail")).to_be_focused()

    white, header = (255, 255, 255), (0x1A, 0x4F, 0x8B)
    ring = page.evaluate(FOCUS_STYLE)
    assert ring["outline"] == "3px solid"
    shadow = re.match(r"(rgb\([^)]+\)) 0px 0px 0px (\d+)px", ring["shadow"])
    assert shadow and int(shadow[2]) - 3 >= 2, ring  # 3 px of dark ring outside the outline
    assert contrast(rgb(shadow[1]), white) >= 3, ring

    page.get_by_role("link", name="Deutsch").focus()  # on the blue header
    ring = page.evaluate(FOCUS_STYLE)
    assert ring["outline"] == "3px solid" and contrast(rgb(ring["colour"]), header) >= 3, ring
