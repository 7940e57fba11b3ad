"""fpdf2's line breaking, with each character measured once, for the documents' own fonts.

fpdf2's `MultiLineBreak` measures the whole line again for every character it adds (the width
of a line is the sum of its fragments' widths, recomputed each time): a receipt spent most of
its layout time there, in its paragraphs and in the cells of its tables (`multi_cell` breaks
both). `LineBreak` makes the same lines, with the same float sums, in one pass over the text;
it stands in for `MultiLineBreak` in fpdf2's `multi_cell` (`install`), and only for the plain
text of a single fragment in a font of `documents.typeface` (one style, no text shaping, no
character spacing or stretching, word wrap, none of the characters fpdf2 breaks at or around
other than the plain space and the line break). Any other text, and any other document in the
process, is broken by fpdf2 itself.
"""

import re

import fpdf.fpdf
from fpdf.enums import Align, WrapMode
from fpdf.errors import FPDFException
from fpdf.line_break import (
    BREAKING_SPACE_SYMBOLS_STR,
    FORM_FEED,
    NBSP,
    SOFT_HYPHEN,
    Fragment,
    MultiLineBreak,
    TextLine,
)
from fpdf.util import FloatTolerance

from documents.typeface import Font

# What fpdf2 treats apart from a plain space and a line break.
SPECIAL = re.compile(
    "["
    + re.escape(BREAKING_SPACE_SYMBOLS_STR.replace(" ", "") + NBSP + SOFT_HYPHEN + FORM_FEED)
    + "]"
)


class LineBreak(MultiLineBreak):
    """`MultiLineBreak`, one pass over plain text (see the module docstring)."""

    def __init__(self, fragments, max_width, margins, *args, **kwargs):
        super().__init__(fragments, max_width, margins, *args, **kwargs)
        self.lines = None
        if not callable(max_width) and self._plain():
            self.lines = iter(self._break(fragments[0], max_width, margins))

    def _plain(self):
        if len(self.fragments) != 1:
            return False
        fragment = self.fragments[0]
        return (
            type(fragment) is Fragment
            and isinstance(fragment.font, Font)
            and not fragment.text_shaping_parameters
            and not fragment.char_spacing
            and fragment.font_stretching == 100
            and self.wrapmode == WrapMode.WORD
            and not self.skip_leading_spaces
            and not self.first_line_indent
            and self.line_height == 1.0
            and not SPECIAL.search("".join(fragment.characters))
        )

    def get_line(self):
        if self.lines is None:
            return super().get_line()
        return next(self.lines, None)

    def _break(self, fragment, max_width, margins):
        """The TextLines fpdf2's get_line returns one by one, as CurrentLine builds them."""
        text = "".join(fragment.characters)
        widths, size, k = fragment.font.cw, fragment.font_size_pt, fragment.k
        height = fragment.font_size * self.line_height
        limit = max_width
        for margin in margins:
            limit -= float(margin)
        align = self.align
        unjustified = Align.L if align == Align.J else align
        tolerance = FloatTolerance.TOLERANCE

        def line(start, end, units, line_align, added, trailing_nl=False):
            """The line of text[start:end]; `added`: whether CurrentLine took a character
            (it has a fragment then, maybe emptied back to a space)."""
            if not added:
                return TextLine(
                    [], 0, 0, line_align, height if trailing_nl else 0, max_width, trailing_nl
                )
            chars = text[start:end]
            return TextLine(
                [fragment.clone(characters=chars, link=fragment.link)],
                units * size * 0.001 / k,
                chars.count(" "),
                line_align,
                height,
                max_width,
                trailing_nl,
            )

        start, units, space, space_units, forced, i = 0, 0, -1, 0, -1, 0
        while i < len(text):
            character = text[i]
            if character == "\n":
                yield line(start, i, units, unjustified, i > start, trailing_nl=True)
                i += 1
            else:
                width = widths[ord(character)]
                if units * size * 0.001 / k + width * size * 0.001 / k - limit <= tolerance:
                    if character == " ":
                        space, space_units = i, units
                    units += width
                    i += 1
                    continue
                if character == " ":  # a space that overflows is dropped
                    yield line(start, i, units, align, i > start)
                    i += 1
                elif space >= 0:  # back to the last space, dropped
                    yield line(start, space, space_units, align, True)
                    i = space + 1
                else:  # a word longer than the line, cut where it overflows
                    if forced == i:
                        raise FPDFException(
                            "Not enough horizontal space to render a single character"
                        )
                    forced = i
                    yield line(start, i, units, unjustified, i > start)
            start, units, space = i, 0, -1
        if units:  # as fpdf2: a last line of no width is not a line
            yield line(start, len(text), units, unjustified, True)


def install():
    """Let fpdf2's multi_cell break lines with `LineBreak` (what it does not take, it hands
    back to fpdf2's own)."""
    fpdf.fpdf.MultiLineBreak = LineBreak
