"""GET /api/v1/dossiers/<id>/annexes/<annex_id>, /receipt and /letter: the files of a dossier,
each read back through `dossiers.documents` (checked against its SHA-256, an annex only once
scanned clean) and sent with its digest: `X-Checksum-SHA256` (hex) and `Repr-Digest`
(RFC 9530), so that the receiving system can check what it stores."""

import base64

from flask_babel import gettext as _

import security_headers
from api.auth import current_actor, token_required
from api.dossiers import bp, load_dossier
from api.problems import Problem
from dossiers import DossierNotFound, DossierRefused, documents
from models import Document

PDF_RESPONSE = {
    "200": {
        "description": "The PDF file.",
        "content": {
            "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}}
        },
        "headers": {
            "X-Checksum-SHA256": {
                "description": "SHA-256 of the file, hexadecimal.",
                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
            "Repr-Digest": {
                "description": "RFC 9530: `sha-256=:<base64>:`.",
                "schema": {"type": "string"},
            },
        },
    },
    "404": "NOT_FOUND",
    "409": "CONFLICT",
}


def send(data, sha256, name):
    response = security_headers.download(data, name)
    response.headers["X-Checksum-SHA256"] = sha256
    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response


@bp.route("/<int(max=2147483647):dossier_id>/annexes/<int(max=2147483647):annex_id>")
@token_required()
@bp.doc(responses=PDF_RESPONSE)
def get_annex(dossier_id, annex_id):
    """One annex, once the antivirus has found it clean."""
    dossier = load_dossier(dossier_id)
    try:
        annex, data = documents.annex_file(current_actor(), dossier, annex_id)
    except DossierNotFound:
        raise Problem(
            "not-found", _("Aucune annexe n° %(id)s dans ce dossier.", id=annex_id)
        ) from None
    except DossierRefused as refused:  # in quarantine, refused, or altered in storage
        raise Problem("file-unavailable", str(refused)) from None
    return send(data, annex.sha256, annex.original_name)


@bp.route("/<int(max=2147483647):dossier_id>/receipt")
@token_required()
@bp.doc(responses=PDF_RESPONSE)
def get_receipt(dossier_id):
    """The sealed submission receipt (404 until the worker has made it)."""
    return document(dossier_id, Document.RECEIPT, "accuse-de-reception")


@bp.route("/<int(max=2147483647):dossier_id>/letter")
@token_required()
@bp.doc(responses=PDF_RESPONSE)
def get_letter(dossier_id):
    """The decision letter of the current closing (404 while the dossier is not closed)."""
    return document(dossier_id, Document.DECISION_LETTER, "decision")


def document(dossier_id, kind, prefix):
    dossier = load_dossier(dossier_id)
    try:
        doc, data = documents.document_file(current_actor(), dossier, kind)
    except DossierRefused as refused:
        raise Problem("file-unavailable", str(refused)) from None
    if doc is None:
        raise Problem("not-found", _("Ce document n'existe pas (encore) pour ce dossier."))
    return send(data, doc.sha256, f"{prefix}-{dossier.reference}.pdf")
