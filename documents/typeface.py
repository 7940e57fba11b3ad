"""The documents' fonts, parsed once per process instead of once per document.

fpdf2's `add_font` parses the whole TrueType file (about 0.07 s for each DejaVu face) and, when
the document is written, subsets that parse in place to the glyphs the document used, which
decodes every one of the face's 6 000 glyphs again. Here each face is parsed once per process
(`fpdf_font` gives a document its own copy: its own glyph subset, the parsed tables shared), and
the document's subset is cut from the smallest of the faces already reduced (`_reduced_face`,
made once) that has every character the document used: Windows-1252's (French, German, Dutch,
English), then those of the Latin scripts; otherwise from the whole face, as fpdf2 does (a
subset costs in proportion to the face it is cut from). Either way the font embedded has the
glyphs, widths and tables of the subset fpdf2 would have made, with two differences that save
half the subsetting time: its glyphs are copied as the face encodes them, where fpdf2 decodes
and encodes each one again to recompute its bounding box, and head, hhea and maxp keep the
extents and maxima of the face it was cut from (a superset of the subset's, as the PDF's
FontBBox, the whole face's, already is).
"""

import copy
import threading
from io import BytesIO

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

# The printable characters of Windows-1252: Latin-1 with € ‚ „ … ‘ ’ “ ” – — Œ œ Š š Ž ž Ÿ.
WINDOWS_1252 = [ord(c) for c in bytes(range(0x20, 0x100)).decode("cp1252", "ignore") if c != "\x7f"]
# Basic Latin, Latin-1, Latin Extended-A and -B, spacing modifiers and combining accents,
# general punctuation (’ “ ” – — …), currency signs (€), letterlike symbols and arrows.
LATIN = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x250),
    *range(0x2B0, 0x370),
    *range(0x2000, 0x2070),
    *range(0x20A0, 0x20C1),
    *range(0x2100, 0x2200),
]

_FACES = {}
_LOCK = threading.Lock()


class Font(TTFFont):
    """fpdf2's TrueType font, summing the widths of a text in C loops: line breaking measures
    a line again for every character it adds. The same sums of the same integers."""

    __slots__ = ()

    def get_text_width(self, text, font_size_pt, text_shaping_params):
        if text_shaping_params or self.is_symbol:
            return super().get_text_width(text, font_size_pt, text_shaping_params)
        if font_size_pt > self.biggest_size_pt:
            self.biggest_size_pt = font_size_pt
        return len(text), sum(map(self.cw.__getitem__, map(ord, text))) * font_size_pt * 0.001


class _Face:
    """One TrueType file, parsed once: fpdf2's font object (widths, character map, metrics)
    and the bytes to cut subsets from."""

    def __init__(self, path, fontkey, style):
        self.data = path.read_bytes()
        self.template = Font(FPDF(), path, fontkey, style)
        self.reduced = []  # (glyph names, bytes), smallest first
        for characters in (WINDOWS_1252, LATIN):
            data = _reduced_face(self.data, characters)
            glyphs = frozenset(ttLib.TTFont(BytesIO(data), lazy=True).getGlyphOrder())
            self.reduced.append((glyphs, data))

    def for_subset(self, glyph_names):
        """A fresh parse for fpdf2 to subset in place: the smallest reduced face that has every
        glyph the document used, else the whole face; its glyphs saved as parsed (no bounding
        boxes recomputed, see the module docstring)."""
        data = next((d for glyphs, d in self.reduced if glyphs.issuperset(glyph_names)), self.data)
        return ttLib.TTFont(BytesIO(data), recalcBBoxes=False, recalcTimestamp=False, lazy=True)


def subset_options():
    """fpdf2's subsetting options (fpdf/output.py `_add_fonts`), glyph names kept: fpdf2 names
    the glyphs of a document's subset, so the reduced face must keep the names of the whole."""
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
    options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix"]
    options.drop_tables += ["CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR"]
    return options


def _reduced_face(data, characters):
    font = ttLib.TTFont(BytesIO(data), recalcTimestamp=False)
    subsetter = ftsubset.Subsetter(subset_options())
    subsetter.populate(unicodes=characters)
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


def face(path, fontkey, style):
    """The parsed face of `path`, made by the first document of the process that needs it."""
    key = (str(path), fontkey)
    with _LOCK:
        found = _FACES.get(key)
        if found is None:
            found = _FACES[key] = _Face(path, fontkey, style)
    return found


def fpdf_font(pdf, path, fontkey, style):
    """A font for one document: its own subset and list of missing glyphs, the parse of the
    face shared (read only: the parse fpdf2 subsets is made when the document is written)."""
    font = copy.copy(face(path, fontkey, style).template)
    font.i = len(pdf.fonts) + 1
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    return font


def write(pdf):
    """The bytes of `pdf`, each of its fonts subset from a parse of its own."""
    for font in pdf.fonts.values():
        parsed = _FACES.get((str(font.ttffile), font.fontkey))
        if parsed is not None:
            font.ttfont = parsed.for_subset(font.subset.get_all_glyph_names())
    try:
        return bytes(pdf.output())
    finally:
        # fpdf2 caches the glyph lookups of every document's subset for the life of the
        # process (functools.cache on methods): dropped, so a worker does not grow with each
        # document it makes (a lookup dropped while another document is made is redone alike).
        SubsetMap.pick.cache_clear()
        SubsetMap.get_glyph.cache_clear()
