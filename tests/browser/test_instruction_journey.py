"""Issue #15's journey: the staff's instruction kit, in Chromium against the live server, on
each database backend.

A company of Liège submits an agrément; its dossier goes to the Liège group by the province
rule; an agent of that group finds it under "Mes groupes", receives it (the legal deadline's
clock starts), labels it, writes a private note, fills an annotation, asks an expert's
opinion, asks for complements
(the clock stops, and resumes on the company's answer with the waiting time not counted) and
closes it. The company sees none of the staff's marks, on its pages, in its emails or in its
PDFs; the supervisors' statistics show the dossier's processing time; an administrator changes
the German text of the Clôture email, and the next closing, of a German-speaking company's
dossier, sends it. Every page the journey sees passes axe (the harness, conftest.py).

Between the annotation and the complement request, the agent asks an outside expert a
confidential opinion, which the expert gives through the emailed link; the company never sees
it either.

The clock is the test's (tests/clock.py): the company takes 15 days to answer without the test
waiting them."""

import io
import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from clock import Clock
from playwright.sync_api import expect
from pypdf import PdfReader
from test_pdf_check import blank_pdf

import backoffice.dashboard
import backoffice.dossier_filters
import backoffice.statistics
import dossiers.deadlines
import dossiers.messages
import dossiers.opinions
import dossiers.statistics
import models
from browser.conftest import serving
from browser.filler import fill_dossier
from browser.test_backoffice_journeys import mail_matching, plain, staff_login
from browser.test_identity import login_eid
from browser.test_procedures import CASES, agency_with_signer, sign_and_submit, start_procedure
from browser.words import in_any_language, tr, trn
from helpers import make_company, make_dossier, make_member, make_staff
from models import (
    Dossier,
    DossierStatus,
    ProcedureDefinition,
    Role,
    StaffRole,
    brussels_day,
    month_of,
    processing_days,
)
from procedures import definition_of
from procedures.prefill import context as prefill_context

CODE = "agrement-interim"
DEADLINE_DAYS = 60
LABEL = "Visite à planifier"
NOTE = "Siège visité : le registre du personnel n'était pas à jour, à revoir avant décision."
INSPECTION_REFERENCE = "INSP-LG-0427"
GERMAN_SUBJECT = "Entscheidung zu Ihrer Akte {{ reference }}"
GERMAN_BODY = (
    "Über Ihre Akte {{ reference }} wurde entschieden: {{ decision }}.\n\n"
    "{% if comment %}Begründung: {{ comment }}{% endif %}"
)


@pytest.fixture
def live_server(tmp_path, database_url):
    """This journey runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL."""
    with serving(tmp_path, database_url) as server:
        yield server


@pytest.fixture
def clock(live_server, monkeypatch):
    """The time the dossier's clock, its list and the statistics read, moved by the test."""
    clock = Clock()
    for module in (
        models,
        dossiers.messages,
        dossiers.deadlines,
        dossiers.opinions,
        dossiers.statistics,
        backoffice.dossier_filters,
        backoffice.dashboard,
        backoffice.statistics,
    ):
        monkeypatch.setattr(module, "utcnow", clock)
    return clock


EXPERT = "inspection.liege@emploi.example"
OPINION = "Avis de l'inspection : registre du personnel incomplet, accord sous réserve."


def ask_and_answer_expert_opinion(browser, staff, base, live_server, clock):
    """On the dossier's page (`staff`), the agent asks an outside expert a confidential opinion,
    sharing the answers; the expert opens the emailed link in a browser of their own, sees the
    question and the answers, and answers once; the answer is in the dossier's timeline.
    Returns the answer's text, which the company must never see."""
    staff.get_by_text(tr("Demander un avis"), exact=True).click()
    staff.get_by_label(tr("Nom de l'expert extérieur")).fill("Inès Inspectrice")
    staff.get_by_label(tr("Adresse e-mail de l'expert extérieur")).fill(EXPERT)
    question = "Le registre du personnel de l'agence est-il conforme ?"
    staff.get_by_label(tr("Question posée")).fill(question)
    due = brussels_day(clock.now) + timedelta(days=10)
    staff.get_by_label(tr("À rendre au plus tard le")).fill(due.isoformat())
    expect(
        staff.get_by_label(tr("Avis confidentiel : jamais montré à l'entreprise"))
    ).to_be_checked()
    staff.get_by_label(tr("Communiquer les réponses du formulaire")).check()
    staff.get_by_role("button", name=tr("Envoyer la demande d'avis")).click()
    expect(staff.get_by_text(tr("Demande d'avis envoyée."))).to_be_visible()

    mail = mail_matching(live_server, lambda m: m["To"] == EXPERT, timeout=30)
    link = re.search(r"https?://\S+/avis/\S+", plain(mail)).group(0)
    expert = browser.new_context().new_page()
    expert.goto(link)
    expect(expert.get_by_text(question)).to_be_visible()
    expect(
        expert.get_by_text(
            tr("Votre avis est confidentiel : il n'est pas communiqué à l'entreprise.")
        )
    ).to_be_visible()
    expert.get_by_label(tr("Votre avis")).fill(OPINION)
    expert.get_by_label(tr("Un document PDF (facultatif)")).set_input_files(
        files=[{"name": "rapport.pdf", "mimeType": "application/pdf", "buffer": blank_pdf(1)}]
    )
    expert.get_by_role("button", name=tr("Envoyer mon avis")).click()
    expect(expert.get_by_text(tr("Votre avis est envoyé"))).to_be_visible()
    expert.goto(link)  # the link served once: it opens nothing now
    expect(expert.get_by_role("heading", level=1)).to_have_text(
        tr("Ce lien n'ouvre plus de demande d'avis")
    )
    expert.context.close()

    staff.reload()
    expect(staff.locator("li.opinion-change")).to_have_count(2)
    expect(staff.locator(".opinion")).to_contain_text(OPINION)
    return OPINION


def list_row(page, base, dossier):
    """The dossier's row in the staff list (its "Jours restants" among its cells)."""
    page.goto(f"{base}/admin/dossiers/")
    return page.get_by_role("row").filter(has_text=dossier.reference)


def company_sees_no_staff_marks(page, base, dossier, mails, private):
    """None of the `private` texts on the company's pages of the dossier, in the emails it
    received or in their PDFs."""
    pages = ("/dossiers/", "", "/verifier", "/annexes")
    for path in (pages[0], *(f"/dossiers/{dossier.id}{tail}" for tail in pages[1:])):
        assert page.goto(base + path).ok, path
        for text in private:
            assert text not in page.content(), (path, text)
    assert mails
    pdfs = []
    for mail in mails:
        texts = [mail["Subject"], plain(mail), mail.get_body(("html",)).get_content()]
        for attachment in mail.iter_attachments():
            if attachment.get_content_type() == "application/pdf":
                reader = PdfReader(io.BytesIO(attachment.get_content()))
                pdfs.append("".join(sheet.extract_text() for sheet in reader.pages))
        for text in private:
            assert not any(text in t for t in texts + pdfs), (mail["Subject"], text)
    # The receipt and the decision letter were read as text: they name the dossier.
    assert len(pdfs) >= 2 and all(dossier.reference in text for text in pdfs)


def test_a_liege_dossier_through_the_instruction_kit(live_server, browser, clock):
    base = live_server.url
    company, person = agency_with_signer(
        live_server,
        national_number="93051822361",
        surname="Dubois",
        given_name="Marie",
        login_email="marie@agence.test",
    )
    # The shipped procedures declare no legal deadline: this one is given 60 days, as its YAML
    # would with `deadline: {days: 60, from: received}`.
    ProcedureDefinition.update(deadline_days=DEADLINE_DAYS).where(
        ProcedureDefinition.code == CODE
    ).execute()
    agent = make_staff(StaffRole.AGENT, full_name="Agathe Traitant")

    # A supervisor makes the Liège group, with Agathe in it, and a label of the procedure.
    supervisor = staff_login(browser, base, make_staff(StaffRole.SUPERVISOR), "/admin/groups/")
    supervisor.goto(f"{base}/admin/groups/new/")
    supervisor.get_by_label(tr("Nom"), exact=True).fill("Liège")
    supervisor.get_by_label(tr("Code"), exact=True).fill("liege")
    supervisor.get_by_label(re.compile("^Agathe Traitant")).check()
    supervisor.get_by_role("button", name=tr("Enregistrer")).click()
    expect(supervisor.get_by_role("row").filter(has_text="liege")).to_contain_text(
        "Agathe Traitant"
    )
    supervisor.goto(f"{base}/admin/labels/new/?url=/admin/labels/")
    supervisor.get_by_label(tr("Procédure")).select_option(CODE)
    supervisor.get_by_label(tr("Nom"), exact=True).fill(LABEL)
    supervisor.get_by_label(tr("Vert")).check()
    supervisor.get_by_role("button", name=tr("Enregistrer")).click()
    expect(supervisor.get_by_role("link", name=LABEL)).to_be_visible()

    # The company, in Liège (the register's address), fills and submits an agrément.
    portal = browser.new_context().new_page()
    login_eid(portal, base)
    row = start_procedure(portal, CODE)
    dossier = Dossier.select().order_by(Dossier.id.desc()).get()
    with live_server.app.app_context():
        ctx = prefill_context(company, person, person.membership_in(company.id))
    fill_dossier(portal, base, dossier.id, definition_of(row), CASES[CODE], ctx)
    portal.goto(f"{base}/dossiers/{dossier.id}")
    sign_and_submit(portal)
    dossier = Dossier.get_by_id(dossier.id)
    assert dossier.state == DossierStatus.SUBMITTED

    # Agathe finds it under "Mes groupes"; its history says which rule sent it there.
    staff = staff_login(browser, base, agent, "/admin/dossiers/")
    staff.get_by_role("link", name=tr("Mes groupes : les dossiers de mes groupes")).click()
    listed = staff.get_by_role("row").filter(has_text=dossier.reference)
    expect(listed).to_contain_text("Liège")
    listed.get_by_role("link", name=dossier.reference).click()
    routed = tr(
        "orienté vers le groupe %(name)s (règle %(rule)s)", name="Liège", rule="province: Liège"
    )
    expect(staff.locator("li.group-change")).to_contain_text(routed)
    details = staff.url

    # Réceptionné: the legal deadline starts.
    staff.get_by_role("button", name=tr("Réceptionner")).click()
    received = tr("Dossier %(ref)s : %(status)s.", ref=dossier.reference, status=tr("Réceptionné"))
    expect(staff.get_by_text(received)).to_be_visible()
    due = Dossier.get_by_id(dossier.id).due_at
    assert due == clock.now + timedelta(days=DEADLINE_DAYS)
    clock.advance(days=5)
    expect(list_row(staff, base, dossier)).to_contain_text(trn("%(num)d jour", "%(num)d jours", 55))

    # A label, a private note, an annotation.
    staff.goto(details)
    staff.get_by_label(tr("Étiquette à poser")).select_option(label=LABEL)
    staff.get_by_role("button", name=tr("Poser l'étiquette")).click()
    expect(staff.get_by_text(tr("Étiquette « %(name)s » posée.", name=LABEL))).to_be_visible()
    staff.get_by_label(tr("Nouvelle note interne")).fill(NOTE)
    staff.get_by_role("button", name=tr("Ajouter la note")).click()
    expect(staff.get_by_text(tr("Note interne ajoutée."))).to_be_visible()
    notes = staff.get_by_role("region", name=tr("Notes internes"))
    expect(notes.locator(".bo-pre-wrap")).to_have_text(NOTE)
    staff.get_by_label("Favorable avec réserves").check()
    staff.get_by_label("Référence du rapport d'inspection").fill(INSPECTION_REFERENCE)
    staff.get_by_role("button", name=tr("Enregistrer les annotations")).click()
    expect(staff.get_by_text(tr("Annotations privées enregistrées."))).to_be_visible()
    private = [LABEL, NOTE, INSPECTION_REFERENCE, "Favorable avec réserves"]

    # An outside expert's opinion, confidential: asked, answered through the emailed link.
    private.append(ask_and_answer_expert_opinion(browser, staff, base, live_server, clock))

    # Complements asked: the clock stops while the company is waited for.
    staff.goto(details)
    staff.get_by_label(tr("Demander des compléments : message à l'entreprise")).fill(
        "Veuillez joindre vos statuts coordonnés."
    )
    staff.get_by_label(tr("Autres documents demandés (séparés par des virgules)")).fill(
        "Statuts coordonnés"
    )
    staff.get_by_role("button", name=tr("Demander des compléments"), exact=True).click()
    asked = tr("Compléments demandés à %(name)s.", name=company.name)
    expect(staff.get_by_text(asked)).to_be_visible()
    expect(list_row(staff, base, dossier)).to_contain_text(tr("en pause"))

    # The company answers 15 days later, in the portal: the clock resumes where it stopped.
    clock.advance(days=15)
    portal.goto(f"{base}/dossiers/{dossier.id}")
    expect(portal.get_by_text(tr("Compléments demandés"), exact=True)).to_be_visible()
    portal.get_by_label(tr("Votre réponse")).fill("Voici nos statuts coordonnés.")
    portal.get_by_label(tr("Annexes (PDF, facultatif)")).set_input_files(
        files=[{"name": "statuts.pdf", "mimeType": "application/pdf", "buffer": blank_pdf(2)}]
    )
    portal.get_by_role("button", name=tr("Envoyer")).click()
    expect(portal.get_by_text(tr("Votre message est envoyé à l'administration."))).to_be_visible()
    resumed = Dossier.get_by_id(dossier.id)
    assert resumed.deadline_paused_at is None
    assert resumed.due_at == due + timedelta(days=15)  # later by the days it waited
    expect(list_row(staff, base, dossier)).to_contain_text(trn("%(num)d jour", "%(num)d jours", 55))

    # Agathe closes it: accordé.
    staff.goto(details)
    staff.get_by_role("button", name=tr("Mettre en traitement")).click()
    expect(staff.get_by_role("button", name=tr("Clôturer"))).to_be_visible()
    staff.get_by_label(tr("Décision")).select_option("granted")
    staff.get_by_label(tr("Motivation")).fill("Les conditions du décret sont remplies.")
    staff.get_by_role("button", name=tr("Clôturer")).click()
    closed_subject = in_any_language(
        "Votre dossier %(reference)s est clôturé", reference=dossier.reference
    )
    mail_matching(live_server, lambda m: closed_subject.fullmatch(m["Subject"]), timeout=30)
    closed = Dossier.get_by_id(dossier.id)
    assert closed.state == DossierStatus.CLOSED and closed.decision == "granted"

    # The company sees none of the staff's marks.
    to_company = [m for m in live_server.smtp.messages if m["To"] == person.login_email]
    company_sees_no_staff_marks(portal, base, dossier, to_company, private)

    # The supervisors' statistics: the dossier's processing time, in the month of its closing.
    days = processing_days(closed.submitted_at, closed.closed_at)
    assert days >= 20
    supervisor.goto(f"{base}/admin/statistics/")
    section = supervisor.locator(f"section[aria-labelledby='procedure-{CODE}']")
    month = format_date(month_of(closed.closed_at), "MMMM y", locale="fr")
    cells = section.get_by_role("row").filter(has=supervisor.get_by_role("rowheader", name=month))
    submitted = "1" if month_of(closed.submitted_at) == month_of(closed.closed_at) else "0"
    expect(cells.locator("td")).to_have_text(
        [submitted, "1", "1", "0", "0", "0", f"{days}", f"{days}"]
    )

    # An administrator rewrites the Clôture email in German.
    admin = staff_login(browser, base, make_staff(StaffRole.ADMIN), "/admin/email-templates/")
    closing = admin.get_by_role("row").filter(
        has=admin.get_by_role("rowheader", name=tr("Clôture"), exact=True)
    )
    closing.get_by_role("link", name=re.compile("Deutsch")).click()
    admin.get_by_label(tr("Objet"), exact=True).fill(GERMAN_SUBJECT)
    admin.get_by_label(tr("Texte"), exact=True).fill(GERMAN_BODY)
    admin.get_by_role("button", name=tr("Enregistrer"), exact=True).click()
    saved = tr(
        "Le texte de l'e-mail « %(event)s » en %(language)s est enregistré : les prochains "
        "envois l'utilisent.",
        event=tr("Clôture"),
        language="Deutsch",
    )
    expect(admin.get_by_text(saved)).to_be_visible()

    # The next closing, of a German-speaking company's dossier, sends that text.
    eupen = make_company(name="Zeitarbeit Eupen GmbH")
    jonas = make_member(
        eupen, Role.SIGN, given_name="Jonas", surname="Krings", language="de", email="jonas@z.test"
    )
    second = make_dossier(
        DossierStatus.PROCESSING,
        company=eupen,
        person=jonas,
        staff=agent,
        definition=ProcedureDefinition.latest_published(CODE),
    )
    staff.goto(f"{base}/admin/dossiers/details/?id={second.id}")
    staff.get_by_label(tr("Décision")).select_option("granted")
    staff.get_by_label(tr("Motivation")).fill("Alle Voraussetzungen sind erfüllt.")
    staff.get_by_role("button", name=tr("Clôturer")).click()
    subject = f"Entscheidung zu Ihrer Akte {second.reference}"
    german = mail_matching(live_server, lambda m: m["Subject"] == subject, timeout=30)
    assert german["To"] == jonas.login_email
    assert f"Über Ihre Akte {second.reference} wurde entschieden: Bewilligt." in plain(german)
    assert "Begründung: Alle Voraussetzungen sind erfüllt." in plain(german)
