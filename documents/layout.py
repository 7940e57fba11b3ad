"""The page layout of the PDFs Guichet issues: A4, DejaVu Sans (shipped in `fonts/` with its
licence, for French accents, €, « », ’), a header line, "page X / Y" in the footer, headings
that are also bookmarks, and blocks of text that wrap and flow over as many pages as needed.

Every piece of text from a user goes through `clean()`. fpdf2 replaces its total page count
alias ("{nb}") wherever it was written while the alias was set, and only if it is still set at
output: the footer sets it and the next header unsets it, so that the alias of the last footer
is replaced while an answer reading "{nb}" is printed as typed.
"""

import logging
import re
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf import FPDF, FontFace, ViewerPreferences
from fpdf.enums import TableBordersLayout, XPos, YPos

from documents import line_break, typeface

FONTS = Path(__file__).with_name("fonts")
FAMILY = "DejaVu"
FACES = {"": FONTS / "DejaVuSans.ttf", "B": FONTS / "DejaVuSans-Bold.ttf"}
BRUSSELS = ZoneInfo("Europe/Brussels")
PAGE_ALIAS = "{nb}"
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

TEXT_SIZE = 10
LINE = 5  # mm per line of body text
MUTED = (85, 85, 85)
RULE = (180, 180, 180)
HEADING_SIZES = {0: 16, 1: 13, 2: 11}

# fontTools reports every font subset at INFO: dozens of lines per document.
logging.getLogger("fontTools").setLevel(logging.WARNING)
# multi_cell (paragraphs, headings, table cells) breaks our fonts' lines in one pass.
line_break.install()


def clean(value):
    """Text as the PDF prints it: line breaks normalised, control characters dropped."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return CONTROL_CHARS.sub("", text)


def brussels(moment):
    """A naive UTC datetime (as the tables store it) in Brussels time."""
    return moment.replace(tzinfo=UTC).astimezone(BRUSSELS)


def long_date(moment):
    """`27 novembre 2026` in the current language, for a naive UTC datetime, in Brussels."""
    return format_datetime(brussels(moment), "d MMMM y", rebase=False)


# The languages a document can be written in, named in the document's own language.
LANGUAGE_IN_TEXT = {
    "fr": _l("français"),
    "de": _l("allemand"),
    "en": _l("anglais"),
    "nl": _l("néerlandais"),
}


def language_note():
    """What the documents say of their language: the submitter's."""
    language = str(get_locale() or "fr")
    return _(
        "Document établi en %(language)s, la langue de la personne qui a soumis le dossier.",
        language=LANGUAGE_IN_TEXT.get(language, language),
    )


def long_datetime(moment):
    """`27 novembre 2026 à 14:32` (Brussels time) for a naive UTC datetime."""
    return format_datetime(brussels(moment), _("d MMMM y 'à' HH:mm"), rebase=False)


class GuichetPdf(FPDF):
    """An A4 document of the administration with its header, footer and text blocks."""

    def __init__(self, title, running_title=""):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.running_title = running_title
        for style, path in FACES.items():  # parsed once per process (documents.typeface)
            fontkey = f"{FAMILY.lower()}{style}"
            self.fonts[fontkey] = typeface.fpdf_font(self, path, fontkey, style)
        self.set_margins(20, 24, 20)
        self.set_auto_page_break(True, margin=22)
        self.set_lang(str(get_locale() or "fr"))
        self.set_title(title)
        self.set_author(_("Service public de Wallonie"))
        self.set_creator("Guichet")
        self.viewer_preferences = ViewerPreferences(display_doc_title=True)
        self.alias_nb_pages(None)
        self.set_font(FAMILY, size=TEXT_SIZE)
        self.add_page()

    # --- every page -------------------------------------------------------------------------

    def header(self):
        self.alias_nb_pages(None)  # see the module docstring
        self.set_y(10)
        self.set_font(FAMILY, "B", 8.5)
        self.set_text_color(*MUTED)
        self.cell(self.epw / 2, 5, _("Service public de Wallonie — Guichet"))
        self.set_font(FAMILY, "", 8.5)
        self.cell(self.epw / 2, 5, clean(self.running_title), align="R")
        self.set_draw_color(*RULE)
        self.line(self.l_margin, 16, self.w - self.r_margin, 16)
        self.set_y(self.t_margin)

    def footer(self):
        self.alias_nb_pages(PAGE_ALIAS)  # until the next header, see the module docstring
        self.set_y(-15)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FAMILY, "", 8.5)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            6,
            _("page %(number)s / %(total)s", number=self.page_no(), total=PAGE_ALIAS),
            align="R",
        )

    # --- blocks -----------------------------------------------------------------------------

    def keep_room(self, height):
        """Start a new page unless `height` mm fit below the current position (or the page is
        still empty: what is taller than a page flows over pages anyway)."""
        if self.will_page_break(height) and self.get_y() > self.t_margin:
            self.add_page()

    def heading(self, text, level=1):
        """A title, listed in the document outline (bookmarks) at `level`."""
        size = HEADING_SIZES[level]
        self.ln(2 if level == 0 else 4)
        self.keep_room(size * 0.5 + 3 * LINE)
        self.start_section(clean(text), level=level)
        self.set_font(FAMILY, "B", size)
        self.set_text_color(0)
        self.multi_cell(0, size * 0.5, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, "", TEXT_SIZE)
        self.ln(1.5)

    def paragraph(self, text, size=TEXT_SIZE, bold=False, color=0, indent=0, align="L"):
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(color)
        self.set_x(self.l_margin + indent)
        self.multi_cell(
            self.epw - indent,
            size * 0.5,
            clean(text),
            align=align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_font(FAMILY, "", TEXT_SIZE)
        self.set_text_color(0)

    def labelled(self, label, value, indent=0, value_size=TEXT_SIZE):
        """A label in bold with its value below, wrapped to the width, over pages if long."""
        self.keep_room(2 * LINE + 1)
        self.paragraph(label, size=9, bold=True, color=MUTED, indent=indent)
        self.paragraph(value or "—", size=value_size, indent=indent)
        self.ln(1.5)

    def pairs(self, rows, label_width=58):
        """Short labelled values side by side (label | value); rows flow over pages."""
        self.set_font(FAMILY, "", TEXT_SIZE)
        self.set_text_color(0)
        self.rules()
        with self.table(
            col_widths=(label_width, self.epw - label_width),
            width=self.epw,
            first_row_as_headings=False,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            line_height=LINE,
            padding=(1.2, 1.5),
            text_align="LEFT",
            v_align="TOP",
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(clean(label), style=FontFace(emphasis="BOLD", color=MUTED))
                row.cell(clean(value) or "—")
        self.ln(2)

    def rules(self):
        """Thin grey lines for the tables that follow."""
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)

    def output_bytes(self):
        return typeface.write(self)
