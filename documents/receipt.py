"""The receipt of a submitted dossier (accusé de réception): a sealed PDF restating what was
signed — procedure, company, every answer as the form showed it, every annex with its page count
and SHA-256 — with who signed, how they had logged in, and the digests of the signature.

The signatory's national register number is printed in full: the receipt is the proof of who
signed, the same number is already among the answers the company's users can read, and a
masked number would not identify the signatory.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf import FontFace
from fpdf.enums import TableBordersLayout

from documents import seal
from documents.layout import (
    FAMILY,
    LINE,
    MUTED,
    TEXT_SIZE,
    GuichetPdf,
    clean,
    language_note,
    long_datetime,
)
from procedures import display
from procedures import fields as field_types

METHODS = {
    "eid": _l("carte d'identité électronique (eID)"),
    "itsme": _l("itsme"),
    "sms": _l("code à usage unique reçu par SMS"),
    "email": _l("code à usage unique reçu par e-mail"),
}
LEVELS = {"high": _l("élevé"), "substantial": _l("substantiel"), "low": _l("faible")}
HASH_SIZE = 7  # pt: a SHA-256 in hexadecimal fits on one line of its column


def make_receipt(dossier, definition, context, signature) -> bytes:
    """The receipt, sealed with the administration's seal."""
    return seal.sign_pdf(render_receipt(dossier, definition, context, signature))


def render_receipt(dossier, definition, context, signature) -> bytes:
    """The receipt as an unsealed PDF.

    `definition` is the parsed definition of the dossier's version, `context` the authentic
    source values its choices take their options from (`procedures.prefill.context`), and
    `signature` the signature record as a dict: signed_by, national_number, method, level,
    signed_at (naive UTC), answers_sha256, annexes [{name, pages, sha256, requirement?}], digest.
    """
    reference = dossier.reference or str(dossier)
    pdf = GuichetPdf(
        title=_("Accusé de réception — %(reference)s", reference=reference),
        running_title=_("Dossier %(reference)s", reference=reference),
    )
    submitted_at = dossier.submitted_at or signature["signed_at"]
    pdf.heading(_("Accusé de réception"), level=0)
    pdf.paragraph(
        _(
            "Ce document atteste que le dossier ci-dessous a été signé et soumis au Service "
            "public de Wallonie par le Guichet, le %(when)s (heure de Bruxelles).",
            when=long_datetime(submitted_at),
        )
    )
    pdf.ln(2)
    pdf.heading(_("Dossier"), level=1)
    pdf.pairs(
        [
            (_("Référence"), reference),
            (_("Démarche"), definition.title),
            (_("Version du formulaire"), str(definition.version)),
            (_("Entreprise"), dossier.company.name),
            (_("Numéro d'entreprise"), dossier.company.formatted_number),
            (_("Soumis le"), _brussels_time(submitted_at)),
        ]
    )
    pdf.paragraph(language_note(), size=9, color=MUTED)
    _answers(pdf, definition, dossier.answers or {}, context or {})
    _annexes(pdf, definition, signature.get("annexes") or [])
    _signature(pdf, signature)
    return pdf.output_bytes()


def _brussels_time(moment):
    return _("%(when)s (heure de Bruxelles)", when=long_datetime(moment))


def _answers(pdf, definition, answers, context):
    pdf.heading(_("Réponses"), level=1)
    for block in display.answer_rows(definition, answers, context):
        pdf.heading(block.title, level=2)
        for row in block.rows:
            if row.field.is_group:
                _group(pdf, row)
            else:
                pdf.labelled(row.label, row.value)


def _group(pdf, row):
    """A repeated block: each row numbered, its answers one per line."""
    pdf.keep_room(3 * LINE)
    pdf.paragraph(row.label, size=9, bold=True, color=MUTED)
    if not row.items:
        pdf.paragraph(display.EMPTY)
    for item in row.items:
        pdf.keep_room((1 + len(item.rows)) * LINE + 1)  # a row on one page when it fits
        pdf.paragraph(item.title, bold=True, indent=4)
        for sub in item.rows:
            pdf.paragraph(f"{sub.label} : {sub.value}", indent=8)
        pdf.ln(1.5)
    pdf.ln(1)


def _annexes(pdf, definition, annexes):
    pdf.heading(_("Annexes"), level=1)
    if not annexes:
        pdf.paragraph(_("Aucune annexe."))
        return
    pdf.set_font(FAMILY, "", HASH_SIZE)
    hash_width = pdf.get_string_width("0" * 64) + 4
    widths = (9, 14, hash_width)
    pdf.set_font(FAMILY, "", TEXT_SIZE - 1)
    pdf.rules()
    with pdf.table(
        col_widths=(widths[0], pdf.epw - sum(widths), widths[1], widths[2]),
        width=pdf.epw,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", color=MUTED),
        line_height=LINE - 0.5,
        padding=(1.2, 1.5),
        text_align=("LEFT", "LEFT", "RIGHT", "LEFT"),
        v_align="TOP",
    ) as table:
        heading = table.row()
        for title in (_("N°"), _("Fichier"), _("Pages"), _("SHA-256")):
            heading.cell(title)
        for n, annex in enumerate(annexes, start=1):
            row = table.row()
            row.cell(str(n))
            name = clean(annex.get("name"))
            label = display.annex_label(definition, annex.get("requirement"))
            row.cell(f"{name}\n{label}" if label else name)
            row.cell(str(annex.get("pages", "")))
            row.cell(clean(annex.get("sha256")), style=FontFace(size_pt=HASH_SIZE))
    pdf.set_font(FAMILY, "", TEXT_SIZE)
    pdf.ln(2)


def _signature(pdf, signature):
    pdf.heading(_("Signature électronique"), level=1)
    method, level = signature.get("method"), signature.get("level")
    national_number = field_types.get("national_number").display(
        signature.get("national_number"), None, []
    )
    pdf.pairs(
        [
            (_("Signé et soumis par"), signature.get("signed_by")),
            (_("Numéro de registre national"), national_number),
            (_("Connexion"), str(METHODS.get(method, method or "—"))),
            (_("Niveau de garantie"), str(LEVELS.get(level, level or "—"))),
            (_("Signé le"), _brussels_time(signature["signed_at"])),
        ]
    )
    pdf.labelled(
        _("Empreinte SHA-256 des réponses (forme canonique)"),
        signature.get("answers_sha256"),
        value_size=9,
    )
    pdf.labelled(
        _("Empreinte SHA-256 combinée des réponses et des annexes"),
        signature.get("digest"),
        value_size=9,
    )
    pdf.ln(1)
    pdf.paragraph(
        _(
            "Ces empreintes permettent de vérifier que les réponses et les annexes conservées "
            "par l'administration sont exactement celles qui ont été signées. Ce document porte "
            "le cachet électronique du Service public de Wallonie : toute modification "
            "l'invalide."
        ),
        size=9,
        color=MUTED,
    )
