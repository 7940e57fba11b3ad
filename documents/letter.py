"""The decision letter of a closed dossier (courrier de décision), sealed.

The text is the procedure's `decision_letter` template with {company}, {reference}, {decision},
{date}, {procedure} and {registration_number} (the number of a granted registration or
approval, also printed at the head of the letter) filled; any other {name} is printed as
written. The motivation goes where the template says {motivation}, else in its own paragraph
after the one that states the decision (or at the end of the text).

Blank lines separate paragraphs. Inside a paragraph, a template line of SOFT_WRAP characters or
more goes on with the next one (the author's editor wrapped it); a shorter line ends where the
author ended it, as in "Objet : …" or the signature block.
"""

import re
from itertools import pairwise

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from documents import seal
from documents.layout import LINE, MUTED, GuichetPdf, language_note, long_date
from languages import de_name
from models import RegistrationNumber, utcnow

LETTER_REASON = _l("Courrier de décision — Service public de Wallonie")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
ELIDED_COMPANY = re.compile(r"\bde \{company\}")
SOFT_WRAP = 72


def make_decision_letter(
    dossier, definition_title, template_text, decision_label, motivation, signed_by
) -> bytes:
    """The decision letter, sealed with the administration's seal."""
    data = render_decision_letter(
        dossier, definition_title, template_text, decision_label, motivation, signed_by
    )
    return seal.sign_pdf(data, reason=LETTER_REASON)


def render_decision_letter(
    dossier, definition_title, template_text, decision_label, motivation, signed_by
) -> bytes:
    """The decision letter as an unsealed PDF, dated on the dossier's closing (Brussels)."""
    reference = dossier.reference or str(dossier)
    date = long_date(dossier.closed_at or utcnow())
    motivation = (motivation or "").strip()
    registration = RegistrationNumber.of_dossier(dossier)
    values = {
        "registration_number": registration.number if registration else "",
        "company": dossier.company.name,
        "reference": reference,
        "decision": str(decision_label),
        "date": date,
        "procedure": definition_title,
        "motivation": motivation,
    }
    paragraphs = paragraphs_of(template_text)
    if motivation and "{motivation}" not in template_text:
        after = next(
            (i + 1 for i, p in enumerate(paragraphs) if "{decision}" in p), len(paragraphs)
        )
        paragraphs.insert(after, None)  # where the motivation block goes

    pdf = GuichetPdf(
        title=_("Décision — %(reference)s", reference=reference),
        running_title=_("Dossier %(reference)s", reference=reference),
    )
    pdf.paragraph(_("Namur, le %(date)s", date=date), align="R")
    pdf.ln(LINE)
    pdf.paragraph(dossier.company.name, bold=True)
    pdf.paragraph(_("Numéro d'entreprise : %(number)s", number=dossier.company.formatted_number))
    if registration is not None:
        pdf.paragraph(
            _("%(label)s : %(number)s", label=registration.label, number=registration.number),
            bold=True,
        )
    pdf.ln(2 * LINE)
    for paragraph in paragraphs:
        pdf.keep_room(2 * LINE)
        if paragraph is None:
            pdf.paragraph(_("Motivation de la décision :"), bold=True)
            pdf.paragraph(motivation)
        else:
            pdf.paragraph(fill(paragraph, values))
        pdf.ln(LINE * 0.8)
    if signed_by:
        pdf.ln(LINE)
        pdf.paragraph(signed_by, bold=True)
    pdf.ln(LINE)
    pdf.paragraph(language_note(), size=8, color=MUTED)
    return pdf.output_bytes()


def fill(text, values):
    """`text` with the known {placeholders} replaced; unknown ones stay as written. "de
    {company}" is elided as French wants it ("d'Agence Alpha")."""
    if "company" in values:
        text = ELIDED_COMPANY.sub(lambda m: de_name(values["company"], french=True), text)
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def paragraphs_of(template_text):
    """The template's paragraphs, each with its hard line breaks kept and soft ones joined."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", (template_text or "").strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        text = lines[0]
        for previous, line in pairwise(lines):
            text += (" " if len(previous) >= SOFT_WRAP else "\n") + line
        paragraphs.append(text)
    return paragraphs
