"""Receipts and letters at volume: the seal key parsed once per process and one signature per
document, the fonts parsed once with the same embedded subsets as fpdf2's own, and two workers
given the same job recording one document."""

import io
import os
import pathlib
import shutil
import sys
import threading

import fpdf.fpdf
import fpdf.line_break
import pytest
from cryptography.hazmat.primitives import serialization
from flask import current_app
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import pdf_signer
from pypdf import PdfReader

import storage
from documents import line_break, seal, typeface
from documents.layout import FACES, FAMILY, GuichetPdf
from dossiers import documents
from helpers import make_company, make_member, make_signed_dossier
from models import Document, DossierStatus, StatusChange, utcnow


def submitted():
    company = make_company(name="Agence Alpha")
    person = make_member(company, given_name="Jonas", surname="Schmitz")
    answers = {"person_type": "legal", "established": "belgium"}
    return make_signed_dossier(DossierStatus.SUBMITTED, company, person, answers)


@pytest.fixture
def key_loads(monkeypatch):
    """Counts the parses of a private key and the reads of the seal key file, from a cold
    start of the process's signer cache."""
    monkeypatch.setattr(seal, "_SIGNERS", {})
    counts = {"parsed": 0, "read": 0}
    for name in ("load_pem_private_key", "load_der_private_key"):
        inner = getattr(serialization, name)

        def counting(*args, _inner=inner, **kwargs):
            counts["parsed"] += 1
            return _inner(*args, **kwargs)

        monkeypatch.setattr(serialization, name, counting)
    read_bytes = pathlib.Path.read_bytes
    key_file = current_app.config["SEAL_KEY_FILE"]

    def reading(path):
        if str(path) == key_file:
            counts["read"] += 1
        return read_bytes(path)

    monkeypatch.setattr(pathlib.Path, "read_bytes", reading)
    return counts


def test_the_seal_key_is_read_and_parsed_once_per_process(ctx, key_loads):
    first, second = submitted(), submitted()
    for dossier in (first, second):
        document = documents.produce_receipt(dossier.id)
        assert seal.verify_seal(documents.read(document)).valid
    assert key_loads == {"parsed": 1, "read": 1}


def test_worker_threads_starting_together_load_the_key_once(ctx, key_loads):
    config, barrier, found = current_app.config, threading.Barrier(4), []

    def sign():
        barrier.wait()
        found.append(seal._signer(config))

    threads = [threading.Thread(target=sign) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 and len({id(signer) for signer in found}) == 1
    assert key_loads["parsed"] == 1


def test_worker_threads_sealing_at_once_from_a_cold_start_all_seal(app, monkeypatch):
    """The certificate's lazily decoded ASN.1, shared by the threads, read by one at a time."""
    monkeypatch.setattr(seal, "_SIGNERS", {})
    threads_, barrier, sealed, errors = 4, threading.Barrier(4, timeout=30), [], []

    def work():
        try:
            with app.app_context():
                barrier.wait()
                sealed.extend(seal.sign_pdf(seal_free_pdf()) for _ in range(2))
        except Exception as exc:  # shown by the assertion below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the threads switching often, as under load
    try:
        threads = [threading.Thread(target=work) for _ in range(threads_)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    with app.app_context():
        assert len(sealed) == 8 and all(seal.verify_seal(data).valid for data in sealed)


def test_each_document_carries_exactly_one_signature(ctx, monkeypatch):
    signed = []
    sign_raw = seal.SealSigner.sign_raw

    def counting(self, data, digest_algorithm):
        signed.append(len(data))
        return sign_raw(self, data, digest_algorithm)

    monkeypatch.setattr(seal.SealSigner, "sign_raw", counting)
    data = documents.read(documents.produce_receipt(submitted().id))

    assert len(signed) == 1, "the size estimate of the signature signs nothing"
    assert len(PdfFileReader(io.BytesIO(data)).embedded_signatures) == 1
    fields = PdfReader(io.BytesIO(data)).get_fields()
    assert [name for name, field in fields.items() if field.get("/FT") == "/Sig"] == ["Cachet"]
    assert seal.verify_seal(data).valid


def test_the_room_for_the_signature_is_estimated_by_the_first_document_only(ctx, monkeypatch):
    monkeypatch.setattr(seal, "_SIGNERS", {})
    estimates = []
    session = pdf_signer.PdfSigningSession
    estimate = session.estimate_signature_container_size

    async def counting(self, *args, **kwargs):
        estimates.append(await estimate(self, *args, **kwargs))
        return estimates[-1]

    monkeypatch.setattr(session, "estimate_signature_container_size", counting)
    sealed = [documents.read(documents.produce_receipt(submitted().id)) for _ in range(3)]

    assert len(estimates) == 1
    for data in sealed:
        assert seal.verify_seal(data).valid
        [signature] = PdfFileReader(io.BytesIO(data)).embedded_signatures
        assert 2 * len(signature.sig_object["/Contents"]) == estimates[0]


def test_a_replaced_seal_is_used_from_the_next_document(ctx, tmp_path):
    config = current_app.config
    config["SEAL_CERT_FILE"], config["SEAL_KEY_FILE"] = seal.development_seal_files(
        tmp_path / "old"
    )
    before = seal.sign_pdf(seal_free_pdf())
    assert seal.verify_seal(before).valid
    new_cert, new_key = seal.development_seal_files(tmp_path / "new")
    for new, old in ((new_cert, config["SEAL_CERT_FILE"]), (new_key, config["SEAL_KEY_FILE"])):
        shutil.copyfile(new, old)
        later = os.stat(old).st_mtime_ns + 1_000_000_000  # a clock of coarse resolution
        os.utime(old, ns=(later, later))

    after = seal.sign_pdf(seal_free_pdf())
    assert seal.verify_seal(after).valid, "sealed with the new key, checked with the new cert"
    assert not seal.verify_seal(before).valid, "the old seal is not the configured one any more"


def seal_free_pdf():
    pdf = FPDF()
    pdf.add_page()
    return bytes(pdf.output())


# The extents and maxima of the whole face, which fpdf2 recomputes over the subset's glyphs by
# decoding and encoding every glyph again: the subsets here keep those of the whole face (the
# PDF's FontBBox is the whole face's either way), and so the file's checksum differs.
WHOLE_FACE_EXTENTS = {
    "head": {"xMin", "yMin", "xMax", "yMax", "flags", "checkSumAdjustment"},
    "hhea": {"minLeftSideBearing", "minRightSideBearing", "xMaxExtent", "advanceWidthMax"},
    "maxp": {
        "maxComponentElements",
        "maxPoints",
        "maxContours",
        "maxCompositePoints",
        "maxCompositeContours",
        "maxComponentDepth",
    },
}


def embedded_face(font_file):
    """The tables of an embedded TrueType subset: each glyph's outline (encoded alike: fpdf2
    encodes the glyphs again, the subsets here keep the face's own encoding) and every other
    table byte for byte, but for the whole-face values in head, hhea and maxp."""
    face = ttLib.TTFont(io.BytesIO(font_file))
    glyf = face["glyf"]
    tables = {"glyphs": {name: glyf[name].compile(glyf, True) for name in face.getGlyphOrder()}}
    for tag in sorted(face.reader.keys()):
        if tag in ("glyf", "loca"):
            continue
        if tag in WHOLE_FACE_EXTENTS:
            values = vars(face[tag])
            tables[tag] = {k: v for k, v in values.items() if k not in WHOLE_FACE_EXTENTS[tag]}
        else:
            tables[tag] = face.reader[tag]
    return tables


def document_fonts(data):
    """(font tables, widths, ToUnicode map) of each font the PDF embeds, in page order, and
    the content of each page (where each line of text broke and went)."""
    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        found.append(page.get_contents().get_data())
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            font_file = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
            found.append(
                (
                    embedded_face(font_file),
                    descendant["/W"],
                    font["/ToUnicode"].get_object().get_data(),
                )
            )
    return found


def two_faces(text, shared):
    pdf = FPDF()
    for style, path in FACES.items():
        if shared:
            fontkey = f"{FAMILY.lower()}{style}"
            pdf.fonts[fontkey] = typeface.fpdf_font(pdf, path, fontkey, style)
        else:
            pdf.add_font(FAMILY, style, path)
    pdf.add_page()
    for style in FACES:
        pdf.set_font(FAMILY, style, 11)
        pdf.multi_cell(0, 5, " ".join([text] * 6), new_x="LMARGIN", new_y="NEXT")
    return typeface.write(pdf) if shared else bytes(pdf.output())


@pytest.mark.parametrize(
    "text",
    [
        "Rue de l’Étang 12 — « placement » de 1 250,50 € ; Zoé Lefèvre, Œuvre, Straße",
        "Zoé Lefèvre, Łódź, Ærøskøbing, Dvořák",  # beyond Windows-1252: the Latin face
        "Кирилл Ωμέγα Ǆemal ŉ ∑ ☺",  # outside the reduced faces: subset from the whole one
    ],
)
def test_fonts_parsed_once_lay_out_and_embed_as_fpdf2_does(text):
    ours, theirs = two_faces(text, shared=True), two_faces(text, shared=False)
    assert document_fonts(ours) == document_fonts(theirs)
    assert len(document_fonts(ours)) == 3


def test_documents_leave_nothing_behind_in_the_worker(ctx):
    documents.produce_receipt(submitted().id)
    assert SubsetMap.pick.cache_info().currsize == 0
    assert SubsetMap.get_glyph.cache_info().currsize == 0


def closed():
    dossier = submitted()
    dossier.status, dossier.decision, dossier.closed_at = "closed", "granted", utcnow()
    dossier.save()
    StatusChange.create(
        dossier=dossier, from_status="processing", to_status="closed", actor_kind="staff"
    )
    return dossier


@pytest.mark.parametrize(
    "make, produce, kind",
    [
        (submitted, documents.produce_receipt, Document.RECEIPT),
        (closed, documents.produce_letter, Document.DECISION_LETTER),
    ],
)
def test_two_workers_given_the_same_job_record_one_document(app, monkeypatch, make, produce, kind):
    """Both render (each past the first check, held at a barrier), one records its PDF."""
    with app.app_context():
        dossier_id = make().id
    barrier = threading.Barrier(2, timeout=30)
    sign_pdf = seal.sign_pdf

    def sign_then_wait(*args, **kwargs):
        sealed = sign_pdf(*args, **kwargs)
        barrier.wait()
        return sealed

    monkeypatch.setattr(seal, "sign_pdf", sign_then_wait)
    results, errors = [], []

    def work():
        try:
            with app.app_context():
                results.append(produce(dossier_id).id)
        except Exception as exc:  # shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with app.app_context():
        rows = list(Document.select().where(Document.dossier == dossier_id, Document.kind == kind))
        assert len(rows) == 1 and results == [rows[0].id] * 2
        kept = {key for key, _ in storage.get_storage().listing()}
        recorded = {d.storage_key for d in Document.select()}
        assert rows[0].storage_key in kept
        assert kept == recorded, "the other worker's PDF is not left stored"


LINE_TEXTS = [
    "",
    "Zoé Lefèvre, rue de l’Étang 12 — « placement » de 1 250,50 € ; " * 6,
    "  deux  espaces   " * 10,
    "x" * 250,
    "a b " * 30 + "y" * 200,
    "ligne\n\nvide\n",
    "{nb} " * 30,
    "mot-composé très-long-" * 10,
    "mot\u00a0insécable césure\u00adpossible " * 8,  # broken by fpdf2's own
    "Кирилл Ωμέγα Ǆemal ŉ ∑ ☺ " * 6,
]


def text_blocks():
    pdf = GuichetPdf("Titre", "Dossier")
    for text in LINE_TEXTS:
        for indent in (0, 8):
            for style in ({}, {"size": 9, "bold": True, "align": "R"}, {"align": "C"}):
                pdf.paragraph(text, indent=indent, **style)
        pdf.heading(text[:200] or "Titre", level=2)
        pdf.heading(text[:40] or "Titre", level=1)
        pdf.labelled("Libellé " * 20, text)
        pdf.pairs([("Libellé " * 5, text), (text, "valeur")])
    return [page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf.output())).pages]


def test_lines_break_as_fpdf2_breaks_them(ctx, monkeypatch):
    """Paragraphs, headings and table cells: the pages' content byte for byte fpdf2's own."""
    broken = []
    one_pass = line_break.LineBreak._break
    monkeypatch.setattr(line_break.LineBreak, "_break", lambda *a: broken.append(1) or one_pass(*a))
    ours = text_blocks()
    assert len(broken) > 100, "the lines broken in one pass"
    monkeypatch.setattr(fpdf.fpdf, "MultiLineBreak", fpdf.line_break.MultiLineBreak)
    assert ours == text_blocks()
