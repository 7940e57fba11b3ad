"""The annex PDF check, on real files made here: good, foreign, broken, locked and hostile."""

import io
import os
import resource
import time
import zlib
from pathlib import Path

import pytest
from pypdf import PdfWriter

from documents.pdf_check import PdfInfo, PdfRejected, check_pdf

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def blank_pdf(pages=1, password=None, owner_password=None, algorithm=None):
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password, owner_password, algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def one_page_pdf(content_streams):
    """A one-page PDF written by hand, whose /Contents is the given FlateDecode streams."""
    refs = " ".join(f"{4 + i} 0 R" for i in range(len(content_streams)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [{refs}] >>".encode(),
    ]
    objects += [
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)
        for data in content_streams
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def compression_bomb(megabytes):
    """One page whose content is `megabytes` MB of zero bytes (PDF whitespace), sent as 4 MB
    streams that deflate to about 4 KB each: distinct objects, so no cache spares the work."""
    chunk = zlib.compress(bytes(4 * 1024 * 1024), 9)
    return one_page_pdf([chunk] * (megabytes // 4))


def rejection(data, **limits):
    limits.setdefault("max_pages", 10)
    with pytest.raises(PdfRejected) as caught:
        check_pdf(data, **limits)
    return caught.value


def probe_children():
    """Our own child processes still running the probe."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"pdf_probe" in command:
            children.append(stat.parent.name)
    return children


def test_valid_pdf_gives_its_page_count():
    assert check_pdf(blank_pdf(3), max_pages=10) == PdfInfo(pages=3)


def test_exactly_the_page_limit_is_accepted():
    assert check_pdf(blank_pdf(4), max_pages=4).pages == 4


def test_a_few_whitespace_bytes_before_the_header_are_tolerated():
    assert check_pdf(b"\r\n" + blank_pdf(), max_pages=10).pages == 1


def test_empty_file():
    error = rejection(b"")
    assert error.reason == "empty"
    assert "vide" in str(error)


@pytest.mark.parametrize(
    "data",
    [
        PNG,
        b"Statuts de la SRL Exemple\nArticle 1er.\n",
        b"<html>" + blank_pdf(),
        b"\xef\xbb\xbf" + blank_pdf(),
        b" " * 9 + blank_pdf(),
    ],
    ids=["png", "text", "html-before-header", "bom", "too-much-whitespace"],
)
def test_other_formats_are_refused_by_content(data):
    error = rejection(data)
    assert error.reason == "not_pdf"
    assert "n'est pas un PDF" in str(error)


@pytest.mark.parametrize("pages", [1, 40])
def test_pdf_cut_in_half_is_refused(pages):
    data = blank_pdf(pages)
    error = rejection(data[: len(data) // 2], max_pages=100)
    assert error.reason == "unreadable"
    assert "endommagé ou incomplet" in str(error)


def test_corrupt_body_is_refused():
    data = blank_pdf()
    garbled = data[:15] + b"\x00garbage" * 40 + b"\nstartxref\n9\n%%EOF\n"
    assert rejection(garbled).reason == "unreadable"


@pytest.mark.parametrize(
    ("password", "owner", "algorithm"),
    [("secret", None, None), ("secret", None, "AES-256"), ("", "owner-only", None)],
    ids=["password", "aes-256", "permissions-only"],
)
def test_encrypted_pdf_is_refused(password, owner, algorithm):
    error = rejection(blank_pdf(password=password, owner_password=owner, algorithm=algorithm))
    assert error.reason == "encrypted"
    assert "protégé" in str(error)


def test_pdf_without_pages_is_refused():
    error = rejection(blank_pdf(pages=0))
    assert error.reason == "no_pages"
    assert "aucune page" in str(error)


def test_too_many_pages_names_the_count_and_the_limit():
    error = rejection(blank_pdf(pages=7), max_pages=5)
    assert error.reason == "too_many_pages"
    assert "7 pages" in str(error)
    assert "au plus 5" in str(error)


def test_timeout_kills_the_child_and_refuses_as_too_complex():
    data = blank_pdf(pages=300)
    started = time.monotonic()
    error = rejection(data, max_pages=500, timeout=0.05)
    assert time.monotonic() - started < 2
    assert error.reason == "too_complex"
    assert "trop complexe à analyser" in str(error)
    assert probe_children() == []


def test_compression_bomb_goes_off_in_the_child_and_is_refused():
    bomb = compression_bomb(64)
    assert len(bomb) < 100_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    error = rejection(bomb, memory_mb=96, timeout=10)
    assert time.monotonic() - started < 5
    assert error.reason == "too_complex"
    # The 64 MB were inflated in the child, not here, and this process still works.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 32 * 1024
    assert probe_children() == []
    assert check_pdf(blank_pdf(2), max_pages=10).pages == 2


def test_the_bomb_is_really_inflated_when_memory_allows():
    # With room to inflate it, the same file passes: the memory limit is what stopped it above.
    assert check_pdf(compression_bomb(64), max_pages=10, memory_mb=1024).pages == 1


def test_bomb_beyond_pypdf_ceiling_is_refused_under_the_default_limits():
    error = rejection(compression_bomb(400))
    assert error.reason == "too_complex"
