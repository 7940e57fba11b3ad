"""Annexes with active content are refused, saying what was found and what to do: JavaScript
(a document script, an /OpenAction or a page's /AA running one), a /Launch action, an embedded
file, an XFA form, rich media. Plain PDFs, links and ordinary forms still pass."""

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from documents.pdf_check import PdfRejected, check_pdf


def written(writer):
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def writer_with_a_page():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return writer


def action(kind, **entries):
    return DictionaryObject(
        {NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind), **entries}
    )


def document_script():
    writer = writer_with_a_page()
    script = action("/JavaScript", **{NameObject("/JS"): TextStringObject("app.alert('bonjour')")})
    names = ArrayObject([TextStringObject("accueil"), writer._add_object(script)])
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): names})}
    )
    return written(writer)


def open_action_script():
    writer = writer_with_a_page()
    script = action("/JavaScript", **{NameObject("/JS"): TextStringObject("app.alert(1)")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(script)
    return written(writer)


def page_additional_action():
    writer = writer_with_a_page()
    script = action("/JavaScript", **{NameObject("/JS"): TextStringObject("this.print()")})
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): script})
    return written(writer)


def launch_action():
    writer = writer_with_a_page()
    launch = action("/Launch", **{NameObject("/F"): TextStringObject("calc.exe")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(launch)
    return written(writer)


def embedded_file():
    writer = writer_with_a_page()
    writer.add_attachment("facture.exe", b"MZ\x90\x00")
    return written(writer)


def xfa_form():
    writer = writer_with_a_page()
    xfa = writer._add_object(
        DictionaryObject({NameObject("/Length"): NumberObject(0)})  # any XFA packet
    )
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): xfa}
    )
    return written(writer)


def rich_media():
    writer = writer_with_a_page()
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/RichMedia"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return written(writer)


@pytest.mark.parametrize(
    "make, words",
    [
        (document_script, "du JavaScript"),
        (open_action_script, "du JavaScript"),
        (page_additional_action, "du JavaScript"),
        (launch_action, "une action qui lance un programme"),
        (embedded_file, "un fichier joint"),
        (xfa_form, "un formulaire XFA"),
        (rich_media, "un contenu multimédia"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_active_content_is_refused_saying_what_and_what_to_do(make, words):
    with pytest.raises(PdfRejected) as caught:
        check_pdf(make(), max_pages=10)
    assert caught.value.reason == "active_content"
    message = str(caught.value)
    assert words in message
    assert "Enregistrez-le à nouveau en PDF sans contenu actif" in message


def test_a_link_to_a_page_and_an_ordinary_form_are_not_active_content():
    writer = writer_with_a_page()
    writer.add_blank_page(width=595, height=842)
    writer.add_annotation(0, _link_to_page(writer, 1))
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject()}
    )
    writer._root_object[NameObject("/OpenAction")] = ArrayObject(
        [writer.pages[0].indirect_reference, NameObject("/Fit")]
    )
    assert check_pdf(written(writer), max_pages=10).pages == 2


def _link_to_page(writer, page):
    from pypdf.annotations import Link

    return Link(rect=(10, 10, 100, 40), target_page_index=page)
