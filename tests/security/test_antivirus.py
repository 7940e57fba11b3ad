"""Annexes are scanned by a real clamd (tests/clamd.py: its only signature matches the EICAR
test string) and kept in quarantine until found clean: an infected PDF is refused, erased and
audited, the company told; staff never open a file the scanner has not cleared; with clamd
down or hanging, annexes wait in quarantine and the periodic task scans them once it is back."""

import socket
import threading

import pytest
from clamd import EICAR, SIGNATURE, clamd_socket, eicar_pdf  # noqa: F401  (a fixture)
from test_annexes import upload
from test_pdf_check import blank_pdf
from test_wizard import PREFILLED, install, post_section, start

import antivirus
import jobs
import notifications
import storage
from antivirus.clamd import parse
from config import ConfigError, ProductionConfig
from dossiers import DossierRefused, messages, submission
from helpers import (
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import (
    Actor,
    Annex,
    AuditEvent,
    Dossier,
    DossierStatus,
    OutboxMessage,
    Role,
    ScanStatus,
)


def use_scanner(app, **settings):
    """Point the app at another scanner, the way it starts (`antivirus.init_app`)."""
    app.config.update(settings)
    antivirus.init_app(app)


@pytest.fixture
def scanned(app, clamd_socket):  # noqa: F811
    use_scanner(app, ANTIVIRUS="clamd", CLAMD_SOCKET=clamd_socket, CLAMD_TIMEOUT=10)
    return app


def draft(client):
    """A dossier of a company member (Signature), logged in, whose answers are all given:
    it asks for the annexes `proof` and `record`."""
    install(PREFILLED)
    company = make_company(name="Antivirus SA")
    person = make_member(company, Role.SIGN)
    login_person(client, person, company)
    d = start(client)
    post_section(
        client, d, "agence", {"established": "abroad", "country": "France", "fees": "false"}
    )
    post_section(
        client, d, "services", {"rows-count": "1", "rows-0-received": "3", "rows-0-placed": "1"}
    )
    return Dossier.get_by_id(d.id), person


def in_instruction(app):
    """A received dossier assigned to an agent, with an open complement request:
    (dossier, the applicant, the agent)."""
    company = make_company(name="Réponse SA")
    person = make_member(company, Role.SIGN)
    agent = make_staff()
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person)
    dossier.assign(agent)
    with app.test_request_context():
        messages.request_complement(Actor.staff_member(agent), dossier, "Vos statuts ?", [])
    return dossier, Actor.applicant(person), agent


def stored(app, annex):
    with app.app_context():
        return storage.get_storage().exists(annex.storage_key)


def test_clamd_answers_are_read_as_verdicts():
    assert parse("stream: OK") == antivirus.Verdict(antivirus.CLEAN)
    assert parse("stream: Eicar-Test-Signature FOUND") == antivirus.Verdict(
        antivirus.INFECTED, "Eicar-Test-Signature"
    )
    assert parse("INSTREAM size limit exceeded. ERROR").outcome == antivirus.ERROR


def test_eicar_in_a_pdf_is_refused_erased_audited_and_the_applicant_told(scanned, client):
    dossier, person = draft(client)
    upload(client, dossier, "proof", blank_pdf(2), name="preuve.pdf")
    upload(client, dossier, "record", blank_pdf(1))
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.COMPLETE.value
    assert {a.scan_status for a in Annex.select()} == {ScanStatus.CLEAN.value}

    infected_pdf = eicar_pdf()
    response = upload(client, dossier, "proof", infected_pdf, name="facture.pdf")
    assert response.status_code == 302
    page = text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert "« facture.pdf » est refusé : l'antivirus y a trouvé « Guichet.Test.EICAR" in page
    assert "Refusé : virus détecté" in page

    annex = Annex.get(Annex.original_name == "facture.pdf")
    assert annex.scan_status == ScanStatus.INFECTED.value
    assert annex.scan_detail.startswith(SIGNATURE) and annex.scanned_at is not None
    assert not stored(scanned, annex), "the infected file is erased from storage"
    assert not Annex.select().where(Annex.original_name == "preuve.pdf").exists(), "replaced"
    # No longer counted: the dossier is back to En cours, and cannot be signed.
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.DRAFT.value
    event = AuditEvent.get(AuditEvent.action == "annex.infected")
    assert event.target_id == str(dossier.id) and event.actor_kind == "system"
    assert event.details["annex"] == annex.id and event.details["found"].startswith(SIGNATURE)
    # The company is told: on its dossier page and by email; the file is not served back.
    detail = text(client.get(f"/dossiers/{dossier.id}"))
    assert "Fichier refusé par l'antivirus" in detail and "« facture.pdf » contient" in detail
    email = OutboxMessage.get(OutboxMessage.event == "annex_infected")
    assert email.to_email == person.login_email and email.context["name"] == "facture.pdf"
    with scanned.app_context():
        subject, body, html = notifications.render(email)
    assert subject == "Fichier refusé par l'antivirus : « facture.pdf »"
    assert "a été refusé par l'antivirus : il contient « Guichet.Test.EICAR" in body
    assert "joignez à nouveau un fichier sain" in html
    email.language = "de"
    with scanned.app_context():
        assert notifications.render(email)[0] == "Datei vom Virenscanner abgelehnt: „facture.pdf“"
    download = client.get(f"/dossiers/{dossier.id}/annexes/{annex.id}")
    assert download.status_code == 403 and "refusé par l'antivirus" in text(download)

    # A clean replacement is accepted, and the dossier is complete again.
    upload(client, dossier, "proof", blank_pdf(1), name="preuve-saine.pdf")
    assert Annex.get(Annex.original_name == "preuve-saine.pdf").is_clean
    assert not Annex.select().where(Annex.scan_status == ScanStatus.INFECTED.value).exists()
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.COMPLETE.value


def test_staff_open_a_clean_annex_never_an_infected_one(scanned, client):
    dossier, applicant, agent = in_instruction(scanned)
    with scanned.test_request_context():
        reply = messages.reply(
            applicant,
            dossier,
            "Voici nos statuts et la facture.",
            [("statuts.pdf", blank_pdf(1)), ("facture.pdf", eicar_pdf())],
        )
    clean, infected = sorted(reply.annexes, key=lambda a: a.original_name != "statuts.pdf")
    clean, infected = Annex.get_by_id(clean.id), Annex.get_by_id(infected.id)
    assert clean.is_clean and infected.is_infected and not stored(scanned, infected)

    login_staff(client, agent)
    opened = client.get(f"/admin/dossiers/annex/{dossier.id}/{clean.id}?voir=1")
    assert opened.status_code == 200 and opened.data.startswith(b"%PDF-")
    refused = client.get(f"/admin/dossiers/annex/{dossier.id}/{infected.id}")
    assert refused.status_code == 403
    assert "« facture.pdf » a été refusé par l'antivirus" in text(refused)
    assert EICAR not in refused.data
    page = text(client.get(f"/admin/dossiers/details/?id={dossier.id}"))
    assert "refusé par l'antivirus : Guichet.Test.EICAR" in page
    bundle = client.get(f"/admin/dossiers/bundle/{dossier.id}")
    assert bundle.status_code == 200 and EICAR not in bundle.data
    assert AuditEvent.select().where(AuditEvent.action == "annex.infected").count() == 1


class SilentServer:
    """A unix socket that accepts connections and never answers: a hung clamd."""

    def __init__(self, path):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.held = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self):
        for conn in self.held:
            conn.close()
        self.listener.close()


def test_clamd_down_or_hung_keeps_annexes_in_quarantine_until_the_periodic_scan(
    app,
    client,
    tmp_path,
    clamd_socket,  # noqa: F811
):
    use_scanner(app, ANTIVIRUS="clamd", CLAMD_SOCKET=str(tmp_path / "nobody.sock"))
    dossier, person = draft(client)
    response = upload(client, dossier, "proof", blank_pdf(1), name="preuve.pdf")
    assert response.status_code == 302
    page = text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert "l'antivirus l'analysera dans quelques minutes" in page
    assert "Analyse antivirus en cours" in page

    hung = SilentServer(tmp_path / "hung.sock")
    try:
        use_scanner(app, CLAMD_SOCKET=str(tmp_path / "hung.sock"), CLAMD_TIMEOUT=0.5)
        upload(client, dossier, "record", blank_pdf(1), name="registre.pdf")
    finally:
        hung.close()
    proof, record = (
        Annex.get(Annex.requirement == "proof"),
        Annex.get(Annex.requirement == "record"),
    )
    assert proof.scan_status == record.scan_status == ScanStatus.PENDING.value
    assert stored(app, proof) and stored(app, record)
    # Pending counts as attached (the dossier is complete) but is not served nor signed.
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.COMPLETE.value
    download = client.get(f"/dossiers/{dossier.id}/annexes/{proof.id}")
    assert download.status_code == 409 and "pas encore été analysé" in text(download)
    with app.test_request_context():
        signer = Actor.applicant(person, fresh_login=True)
        with pytest.raises(DossierRefused, match="pas encore été analysée par l'antivirus"):
            submission.submit(signer, Dossier.get_by_id(dossier.id), None)

    with app.app_context():
        assert jobs.rescan_annexes() == 0, "still down: nothing changes, nothing fails"
    assert Annex.get_by_id(proof.id).scan_status == ScanStatus.PENDING.value

    use_scanner(app, CLAMD_SOCKET=clamd_socket, CLAMD_TIMEOUT=10)
    with app.app_context():
        assert jobs.rescan_annexes() == 2
    assert Annex.get_by_id(proof.id).is_clean and Annex.get_by_id(record.id).is_clean
    assert client.get(f"/dossiers/{dossier.id}/annexes/{proof.id}").status_code == 200
    periodic = {task.name for task in app.extensions["jobs"].huey._registry.periodic_tasks}
    assert "rescan_annexes" in periodic


def test_a_pending_annex_is_not_opened_by_staff(app, client, tmp_path):
    use_scanner(app, ANTIVIRUS="clamd", CLAMD_SOCKET=str(tmp_path / "nobody.sock"))
    dossier, applicant, agent = in_instruction(app)
    with app.test_request_context():
        reply = messages.reply(applicant, dossier, "Voici.", [("statuts.pdf", blank_pdf(1))])
    [annex] = reply.annexes
    login_staff(client, agent)
    response = client.get(f"/admin/dossiers/annex/{dossier.id}/{annex.id}")
    assert response.status_code == 409
    assert "« statuts.pdf » n'a pas encore été analysé par l'antivirus" in text(response)
    page = text(client.get(f"/admin/dossiers/details/?id={dossier.id}"))
    assert "en quarantaine : pas encore analysé par l'antivirus" in page


def test_the_none_scanner_marks_annexes_clean(app, client):
    assert app.config["ANTIVIRUS"] == "none"
    dossier, _person = draft(client)
    upload(client, dossier, "proof", blank_pdf(1))
    annex = Annex.get(Annex.requirement == "proof")
    assert annex.is_clean and "ANTIVIRUS=none" in annex.scan_detail


def test_production_refuses_antivirus_none(monkeypatch):
    monkeypatch.setenv("ANTIVIRUS", "none")
    with pytest.raises(ConfigError, match="ANTIVIRUS=none"):
        ProductionConfig()
    assert antivirus.SCANNERS["none"].stand_in and not antivirus.SCANNERS["clamd"].stand_in
