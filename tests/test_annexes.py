"""Annexes in the portal: PDF decided by content, limits, hostile names, download checks,
removal while a draft, isolation between companies."""

import hashlib
import io
import time

import pytest
from test_pdf_check import blank_pdf, compression_bomb
from test_wizard import PREFILLED, install, post_section, start

from auth import limiter
from helpers import csrf_from, login_person, make_company, make_member, text
from models import Actor, Annex, Dossier, DossierStatus, Role


@pytest.fixture
def dossier(app, client):
    install(PREFILLED)
    company = make_company(name="Annexes SA")
    person = make_member(company, Role.SIGN)
    login_person(client, person, company)
    d = start(client)
    post_section(
        client, d, "agence", {"established": "abroad", "country": "France", "fees": "false"}
    )
    post_section(
        client, d, "services", {"rows-count": "1", "rows-0-received": "3", "rows-0-placed": "1"}
    )
    return Dossier.get_by_id(d.id)


def upload(client, dossier, requirement, data, name="document.pdf"):
    page = client.get(f"/dossiers/{dossier.id}/annexes")
    return client.post(
        f"/dossiers/{dossier.id}/annexes",
        data={
            "csrf_token": csrf_from(page.text),
            "requirement": requirement,
            "file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def test_page_lists_mandatory_annexes_and_why(dossier, client):
    page = text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert "Preuve d'autorisation" in page and "établie à l'étranger" in page
    assert "Obligatoire car l'agence est établie à l'étranger." in page
    assert "Facultative" not in page


def test_valid_pdf_is_stored_and_completes_the_dossier(dossier, client, app):
    pdf = blank_pdf(2)
    assert upload(client, dossier, "proof", pdf).status_code == 302
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.DRAFT.value
    upload(client, dossier, "record", blank_pdf(1))
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.COMPLETE.value
    annex = Annex.get(Annex.requirement == "proof")
    assert annex.pages == 2 and annex.size == len(pdf)
    assert annex.sha256 == hashlib.sha256(pdf).hexdigest()
    assert annex.storage_key != "document.pdf" and "document" not in annex.storage_key


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "pas un PDF"),
        (blank_pdf(3)[: len(blank_pdf(3)) // 2], ""),
        (blank_pdf(1, password="secret"), "protégé"),
        (b"", ""),
    ],
    ids=["png-renamed", "truncated", "encrypted", "empty"],
)
def test_bad_files_are_refused_with_a_reason(dossier, client, data, message):
    response = upload(client, dossier, "proof", data, name="scan.pdf")
    page = text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert response.status_code == 302
    assert "« scan.pdf » est refusé" in page
    assert message in page
    assert not Annex.select().exists()


def test_pdf_without_pages(dossier, client):
    from pypdf import PdfWriter

    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    upload(client, dossier, "proof", buffer.getvalue(), name="vide.pdf")
    assert "« vide.pdf » est refusé" in text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert not Annex.select().exists()


def test_over_the_page_limit(dossier, client, app):
    app.config["MAX_ANNEX_PAGES"] = 2
    upload(client, dossier, "proof", blank_pdf(3), name="long.pdf")
    page = text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert "« long.pdf » est refusé" in page and "3" in page and "2" in page
    assert not Annex.select().exists()


def test_one_byte_over_the_size_limit_is_413(dossier, client, app):
    pdf = blank_pdf(1)
    app.config["MAX_ANNEX_BYTES"] = len(pdf) - 1
    response = upload(client, dossier, "proof", pdf)
    assert response.status_code == 413
    assert "Fichier trop volumineux" in text(response)
    assert not Annex.select().exists()


def test_request_over_the_body_limit_is_413_before_the_view(dossier, client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = upload(client, dossier, "proof", blank_pdf(1) + b" " * 2048)
    assert response.status_code == 413


def test_compression_bomb_is_refused_in_bounded_time(dossier, client, app):
    app.config["PDF_CHECK_MEMORY_MB"] = 96
    started = time.monotonic()
    upload(client, dossier, "proof", compression_bomb(256), name="bombe.pdf")
    assert time.monotonic() - started < 15
    assert "« bombe.pdf » est refusé" in text(client.get(f"/dossiers/{dossier.id}/annexes"))
    assert upload(client, dossier, "proof", blank_pdf(1)).status_code == 302, "still serving"


@pytest.mark.parametrize(
    "name, shown",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("<img src=x onerror=alert(1)>.pdf", "&lt;img src=x onerror=alert(1)&gt;.pdf"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_hostile_file_names(dossier, client, name, shown, app):
    upload(client, dossier, "proof", blank_pdf(1), name=name)
    annex = Annex.get()
    assert len(annex.original_name) <= 255 and "/" not in annex.original_name
    page = client.get(f"/dossiers/{dossier.id}/annexes").get_data(as_text=True)
    assert shown in page
    assert "<img src=x" not in page
    assert annex.storage_key not in name


def test_download_headers_and_tamper_detection(dossier, client, app):
    pdf = blank_pdf(1)
    upload(client, dossier, "proof", pdf, name="preuve.pdf")
    annex = Annex.get()
    response = client.get(f"/dossiers/{dossier.id}/annexes/{annex.id}")
    assert response.data == pdf
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "preuve.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    import storage

    with app.app_context():
        path = storage.get_storage().path(annex.storage_key)
    path.write_bytes(blank_pdf(2))
    response = client.get(f"/dossiers/{dossier.id}/annexes/{annex.id}")
    assert response.status_code == 409
    assert "ne correspond plus" in text(response)


def test_removal_while_draft_then_frozen(dossier, client, app):
    upload(client, dossier, "proof", blank_pdf(1))
    annex = Annex.get()
    page = client.get(f"/dossiers/{dossier.id}/annexes")
    client.post(
        f"/dossiers/{dossier.id}/annexes/{annex.id}/supprimer",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert not Annex.select().exists()
    upload(client, dossier, "proof", blank_pdf(1))
    upload(client, dossier, "record", blank_pdf(1))
    d = Dossier.get_by_id(dossier.id)
    d.transition(DossierStatus.SUBMITTED, Actor.applicant(d.created_by))
    annex = Annex.get(Annex.requirement == "proof")
    page = client.get(f"/dossiers/{dossier.id}/annexes")
    assert "Retirer" not in text(page)
    client.post(
        f"/dossiers/{dossier.id}/annexes/{annex.id}/supprimer",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert Annex.select().count() == 2
    assert upload(client, dossier, "proof", blank_pdf(1)).status_code == 302
    assert Annex.select().count() == 2


def test_other_company_cannot_touch_annexes(dossier, client, app):
    upload(client, dossier, "proof", blank_pdf(1))
    annex = Annex.get()
    outsider_company = make_company()
    outsider = make_member(outsider_company, Role.SIGN)
    other = app.test_client()
    login_person(other, outsider, outsider_company)
    assert other.get(f"/dossiers/{dossier.id}/annexes/{annex.id}").status_code == 404
    token = csrf_from(other.get("/dossiers/").text)
    response = other.post(
        f"/dossiers/{dossier.id}/annexes/{annex.id}/supprimer", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert Annex.select().count() == 1


def test_uploads_are_rate_limited_per_person_and_per_company(dossier, client, app):
    """Past the person's limit the next upload is 429 with the service's message, and a
    colleague of the same company shares the company's limit."""
    app.config["UPLOAD_RATE"] = "2/minute|3/minute"
    limiter.reset()  # counts of earlier tests' persons and companies (ids are reused)
    for _n in range(2):
        assert upload(client, dossier, "proof", blank_pdf(1)).status_code == 302
    refused = upload(client, dossier, "proof", blank_pdf(1))
    assert refused.status_code == 429 and "Trop de demandes" in text(refused)

    colleague = make_member(dossier.company, Role.SIGN)
    other = app.test_client()
    login_person(other, colleague, dossier.company)
    assert upload(other, dossier, "proof", blank_pdf(1)).status_code == 302
    assert upload(other, dossier, "proof", blank_pdf(1)).status_code == 429, "company: 3/minute"
