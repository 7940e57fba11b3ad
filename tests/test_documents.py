"""The PDFs Guichet issues: the sealed receipt and decision letter, read back as real PDFs."""

import asyncio
import contextvars
import hashlib
import io
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from flask import Flask
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader

from config import ConfigError, ProductionConfig
from documents import letter, receipt, seal
from helpers import make_company, make_definition, make_dossier, make_member
from models import Annex, DossierStatus
from procedures import display
from procedures.definition import parse_definition

ROOT = Path(__file__).resolve().parent.parent
SIGNED_AT = datetime(2026, 11, 27, 13, 32)  # naive UTC: 14:32 in Brussels
DEV_SIGNER = "Guichet — cachet de développement"


@pytest.fixture(scope="module")
def definition():
    return parse_definition(
        (ROOT / "procedures" / "definitions" / "enregistrement.yaml").read_text(encoding="utf-8")
    )


def answers(**changes):
    base = {
        "enterprise_number": "0566988259",
        "company_name": "Agence Hélène & Frères",
        "legal_form": "Société à responsabilité limitée",
        "registered_address": "Rue de l’Étang 12, 5000 Namur, Belgique",
        "filer_name": "Marie Dubois",
        "filer_national_number": "93051822361",
        "filer_email": "marie.dubois@example.test",
        "contact_name": "Zoé Lefèvre",
        "contact_phone": "+32 81 33 44 55",
        "contact_email": "zoe@example.test",
        "person_type": "legal",
        "established": "belgium",
        "services": ["job_search", "artists"],
        "collects_fees": True,
        "fee_basis": "amount",
        "fee_amount": "1250.50",
        "fee_conditions": "Forfait « placement » dû à la signature du contrat ; l’artiste paie.",
        "walloon_units": ["2123456789"],
        "persons_in_charge": [
            {
                "surname": "Dubois",
                "given_name": "Marie",
                "national_number": "93051822361",
                "function": "gérante",
            }
        ],
        "declaration_no_fees": True,
        "declaration_non_discrimination": True,
        "declaration_data_protection": True,
        "declaration_worker_information": True,
    }
    base.update(changes)
    return base


UNITS = [{"value": "2123456789", "label": "2.123.456.789 — Siège de Namur, Rue de Fer 1"}]
CONTEXT = {"company.establishments": UNITS, "company.walloon_establishments": UNITS}


def submitted_dossier(answers_):
    company = make_company(name="Agence Hélène & Frères", enterprise_number="0566988259")
    person = make_member(company, given_name="Marie", surname="Dubois")
    dossier = make_dossier(
        DossierStatus.SUBMITTED, company=company, person=person, definition=make_definition()
    )
    dossier.answers = answers_
    dossier.submitted_at = SIGNED_AT
    dossier.save()
    for n, (requirement, name) in enumerate(
        [
            ("statutes", "statuts coordonnés.pdf"),
            ("competence_proof", "CV – Marie Dubois.pdf"),
            ("criminal_record", "extrait de casier.pdf"),
        ],
        start=1,
    ):
        Annex.create(
            dossier=dossier,
            requirement=requirement,
            original_name=name,
            storage_key=f"key-{n}",
            sha256=hashlib.sha256(f"annex {n}".encode()).hexdigest(),
            size=1000 * n,
            pages=n * 3,
            uploaded_by=person,
            scan_status="clean",
        )
    return dossier


def signature_of(dossier):
    answers_sha = hashlib.sha256(
        json.dumps(dossier.answers, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    annexes = [
        {
            "requirement": a.requirement,
            "name": a.original_name,
            "pages": a.pages,
            "sha256": a.sha256,
        }
        for a in dossier.annexes.order_by(Annex.id)
    ]
    digest = hashlib.sha256(
        "\n".join([answers_sha, *sorted(a["sha256"] for a in annexes)]).encode()
    ).hexdigest()
    return {
        "signed_by": "Marie Dubois",
        "national_number": "93051822361",
        "method": "eid",
        "level": "high",
        "signed_at": SIGNED_AT,
        "answers_sha256": answers_sha,
        "annexes": annexes,
        "digest": digest,
    }


def pages_text(data):
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def body(pages):
    """The pages' text without their header and footer lines, as one text."""
    return "\n".join("\n".join(page.splitlines()[1:-1]) for page in pages)


def flat(text):
    """Text with every run of whitespace (line breaks of wrapped lines included) as one space."""
    return " ".join(text.split())


def test_receipt_restates_the_dossier(ctx, definition):
    dossier = submitted_dossier(answers())
    signature = signature_of(dossier)
    data = receipt.make_receipt(dossier, definition, CONTEXT, signature)

    reader = PdfReader(io.BytesIO(data))
    assert reader.trailer["/Root"]["/Lang"] == "fr"
    assert reader.metadata.title == f"Accusé de réception — {dossier.reference}"
    text = flat("\n".join(pages_text(data)))
    for expected in [
        "Service public de Wallonie — Guichet",
        "Accusé de réception",
        dossier.reference,
        "Demande d'enregistrement d'une agence de placement",
        "Agence Hélène & Frères",
        "0566.988.259",
        "27 novembre 2026 à 14:32 (heure de Bruxelles)",
        "Marie Dubois",
        "93.05.18-223.61",
        "carte d'identité électronique (eID)",
        "Rue de l’Étang 12",
        "1 250,50 €",
        "Forfait « placement » dû à la signature du contrat ; l’artiste paie.",
        "2.123.456.789 — Siège de Namur",
        "Personne responsable 1",
        signature["answers_sha256"],
        signature["digest"],
    ]:
        assert flat(expected) in text, expected
    for block in display.answer_rows(definition, dossier.answers, CONTEXT):
        for row in block.rows:
            assert flat(row.label) in text, row.label
            if not row.items:
                assert flat(row.value) in text, row.key
    for annex in signature["annexes"]:
        assert annex["name"] in text
        assert annex["sha256"] in text
    assert "Statuts" in text, "the annex's requirement is named"
    for label in (
        "L'agence est une personne morale (société, association)",
        "En Belgique",
        "Recherche d'emploi Placement d'artistes de spectacle",
        "Preuve de compétence professionnelle (CV, diplômes)",
    ):
        assert label in text, label
    for key in ("legal", "belgium", "job_search", "competence_proof", "2123456789"):
        assert key not in text, key
    assert "page 1 / " in text


def test_long_answers_and_many_rows_flow_over_pages(ctx, definition):
    words = "Rétribution « forfaitaire » de 125 € par mois, l’agence {nb} facture "
    long_text = (words * 80)[:5000] + " FIN-DU-TEXTE"
    rows = [
        {
            "surname": f"Nom{n:02d}",
            "given_name": "Zoé",
            "national_number": "93051822361",
            "function": "administratrice déléguée",
        }
        for n in range(1, 61)
    ]
    dossier = submitted_dossier(answers(fee_conditions=long_text, persons_in_charge=rows))
    data = receipt.make_receipt(dossier, definition, CONTEXT, signature_of(dossier))

    pages = pages_text(data)
    total = len(pages)
    assert total >= 5
    for number, page in enumerate(pages, start=1):
        assert f"page {number} / {total}" in page
        assert "Service public de Wallonie — Guichet" in page
    text = flat(body(pages))
    assert flat(long_text) in text, "the long answer is printed whole, '{nb}' included"
    for n in range(1, 61):
        assert f"Personne responsable {n} Nom : Nom{n:02d}" in text
    assert seal.verify_seal(data).valid


def test_seal_validates(ctx, definition):
    dossier = submitted_dossier(answers())
    data = receipt.make_receipt(dossier, definition, CONTEXT, signature_of(dossier))

    assert seal.verify_seal(data) == seal.SealStatus(intact=True, valid=True, signer=DEV_SIGNER)
    embedded = PdfFileReader(io.BytesIO(data)).embedded_signatures
    assert len(embedded) == 1
    assert embedded[0].field_name == "Cachet"
    assert embedded[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert embedded[0].sig_object["/Reason"] == "Accusé de réception — Service public de Wallonie"
    assert embedded[0].sig_object["/Location"] == "Namur"


def test_seal_inside_a_running_event_loop(ctx, definition):
    dossier = submitted_dossier(answers())
    data = receipt.render_receipt(dossier, definition, CONTEXT, signature_of(dossier))

    async def seal_and_check():
        sealed = seal.sign_pdf(data)
        return seal.verify_seal(sealed)

    def in_own_loop():
        # A fresh thread: the browser tests' driver may already run a loop in this one.
        return asyncio.run(seal_and_check())

    app_context = contextvars.copy_context()  # the thread keeps the test's app context
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(app_context.run, in_own_loop).result().valid


def test_unsealed_receipt_has_no_valid_seal(ctx, definition):
    dossier = submitted_dossier(answers())
    data = receipt.render_receipt(dossier, definition, CONTEXT, signature_of(dossier))
    assert seal.verify_seal(data) == seal.SealStatus(intact=False, valid=False, signer="")


def test_one_altered_byte_breaks_the_seal(ctx, definition):
    dossier = submitted_dossier(answers())
    data = bytearray(receipt.make_receipt(dossier, definition, CONTEXT, signature_of(dossier)))
    first_range_end = int(re.search(rb"/ByteRange \[0 (\d+) ", data).group(1))
    offset = data.index(b"stream\n") + 7 + 20  # inside the first page's content stream
    assert offset < first_range_end
    data[offset] ^= 0x01

    status = seal.verify_seal(bytes(data))
    assert not status.intact
    assert not status.valid


def test_development_seal_is_made_once_and_kept(tmp_path):
    first = seal.development_seal_files(tmp_path)
    again = seal.development_seal_files(tmp_path)
    assert first == again == (str(tmp_path / "seal/cert.pem"), str(tmp_path / "seal/key.pem"))
    for path in first:
        assert os.stat(path).st_mode & 0o777 == 0o600
    certificate = x509.load_pem_x509_certificate(Path(first[0]).read_bytes())
    assert certificate.subject.rfc4514_string() == (
        "C=BE,O=Service public de Wallonie (développement),CN=Guichet — cachet de développement"
    )
    assert certificate.public_key().key_size == 3072
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert 5 * 365 <= lifetime.days <= 5 * 366

    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(INSTANCE_DEFAULTS=True, SEAL_CERT_FILE=None, SEAL_KEY_FILE=None)
    seal.init_app(app)
    assert first == (app.config["SEAL_CERT_FILE"], app.config["SEAL_KEY_FILE"])
    reloaded = x509.load_pem_x509_certificate(Path(app.config["SEAL_CERT_FILE"]).read_bytes())
    assert reloaded.fingerprint(hashes.SHA256()) == certificate.fingerprint(hashes.SHA256())


def test_without_instance_defaults_no_seal_is_made(tmp_path):
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(INSTANCE_DEFAULTS=False, SEAL_CERT_FILE=None, SEAL_KEY_FILE=None)
    seal.init_app(app)
    assert app.config["SEAL_CERT_FILE"] is None
    assert not any(tmp_path.iterdir())


@pytest.fixture
def production_env(production_env):
    """Production without a seal: each test gives the files it is about."""
    for key in ("SEAL_CERT_FILE", "SEAL_KEY_FILE"):
        production_env.delenv(key)
    return production_env


def test_production_refuses_to_start_without_seal(production_env):
    with pytest.raises(ConfigError, match="SEAL_CERT_FILE is not set"):
        ProductionConfig()


def test_production_refuses_a_missing_seal_file(production_env, tmp_path):
    cert, _key = seal.development_seal_files(tmp_path)
    production_env.setenv("SEAL_CERT_FILE", cert)
    production_env.setenv("SEAL_KEY_FILE", str(tmp_path / "absent.pem"))
    with pytest.raises(ConfigError, match=r"SEAL_KEY_FILE=.*absent\.pem is not a file"):
        ProductionConfig()


def test_production_starts_with_seal_files(production_env, tmp_path):
    cert, key = seal.development_seal_files(tmp_path)
    production_env.setenv("SEAL_CERT_FILE", cert)
    production_env.setenv("SEAL_KEY_FILE", key)
    assert cert == ProductionConfig().SEAL_CERT_FILE


TEMPLATE = """Objet : {procedure}
Référence du dossier : {reference}

Madame, Monsieur,

Nous avons examiné la demande d'enregistrement introduite au nom de {company}, dont le texte
continue sur cette ligne.

Décision prise le {date} : {decision}.

Le champ {inconnu} reste tel quel.

Pour le Service public de Wallonie,
la Direction de l'Emploi
"""


def test_decision_letter(ctx):
    dossier = make_dossier(DossierStatus.CLOSED, company=make_company(name="Agence Hélène"))
    dossier.closed_at = SIGNED_AT
    data = letter.make_decision_letter(
        dossier,
        "Demande d'enregistrement d'une agence de placement",
        TEMPLATE,
        "Accordé",
        "Le dossier est complet ; l’agence remplit les conditions du décret.",
        "Luc Martin",
    )

    text = flat("\n".join(pages_text(data)))
    for expected in [
        "Service public de Wallonie — Guichet",
        "Namur, le 27 novembre 2026",
        "Objet : Demande d'enregistrement d'une agence de placement",
        f"Référence du dossier : {dossier.reference}",
        "introduite au nom d'Agence Hélène, dont le texte continue sur cette ligne.",
        "Décision prise le 27 novembre 2026 : Accordé. Motivation de la décision : "
        "Le dossier est complet ; l’agence remplit les conditions du décret.",
        "Le champ {inconnu} reste tel quel.",
        "Pour le Service public de Wallonie, la Direction de l'Emploi Luc Martin",
        "page 1 / 1",
    ]:
        assert expected in text, expected
    assert seal.verify_seal(data) == seal.SealStatus(intact=True, valid=True, signer=DEV_SIGNER)
    reason = PdfFileReader(io.BytesIO(data)).embedded_signatures[0].sig_object["/Reason"]
    assert reason == "Courrier de décision — Service public de Wallonie"


def test_letter_motivation_placeholder_and_line_breaks():
    paragraphs = letter.paragraphs_of(
        "Objet : {procedure}\nRéférence : {reference}\n\n" + "x" * 80 + "\nsuite\n\n{motivation}"
    )
    assert paragraphs == [
        "Objet : {procedure}\nRéférence : {reference}",
        "x" * 80 + " suite",
        "{motivation}",
    ]
    assert letter.fill("{company} {date} {autre}", {"company": "A", "date": "1"}) == "A 1 {autre}"
