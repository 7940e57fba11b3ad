"""How long the check of a 20 MB annex takes: the PDF probe in its own process (pypdf, page
count, active content, limits) and storing the file with its SHA-256, as an upload does.

    .venv/bin/python bench/annexes.py                # the two 20 MB PDFs, 5 runs each
    .venv/bin/python bench/annexes.py --repeat 10

Two PDFs at the upload limit (MAX_ANNEX_BYTES, 20 MB) are made by the bench: a scan (one page
holding a 20 MB image, the common case of a scanned certificate) and a long document (500
pages, the MAX_ANNEX_PAGES limit, each with its own content stream). Each is checked by
`dossiers.annexes.checked_pdf` and stored through the app's storage backend; the median and
95th percentile of each step are printed, and the goal is the whole check within the
upload's budget (PDF_CHECK_TIMEOUT).
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common
from backoffice_list import make_app
from volume import fresh_database

LIMIT = 20 * 1024 * 1024


def pdf_of(objects):
    """A PDF file of `objects` (their bodies, numbered from 1; the first is the catalog)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def stream(data, extra=b""):
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def scanned(size=LIMIT - 64 * 1024, seed=1):
    """One A4 page showing a grey image of about `size` bytes (incompressible)."""
    side = int(size**0.5)
    pixels = random.Random(seed).randbytes(side * side)
    image = stream(
        pixels,
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 " % (side, side),
    )
    return pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
            image,
            stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q"),
        ]
    )


def long_document(pages=500, size=LIMIT - 256 * 1024):
    """`pages` pages of text, each its own content stream, about `size` bytes in all."""
    per_page = size // pages
    line = b"BT /F1 9 Tf 40 800 Td (Annexe - ligne de texte du document long) Tj ET\n"
    content = line * (per_page // len(line))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for _ in range(pages):
        page, body = len(objects) + 1, len(objects) + 2
        kids.append(b"%d 0 R" % page)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % body
        )
        objects.append(stream(content))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    return pdf_of(objects)


def parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="checks of each PDF")
    return p


def run(args):
    from dossiers.annexes import checked_pdf
    from storage import store

    report = common.Report("A 20 MB annex: check and store")
    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    fresh_database(url)
    app = make_app(url, workdir)
    files = {"scan, 1 page": scanned(), "document, 500 pages": long_document()}
    report.print(
        f"{'annex':22} {'MB':>6} {'check p50':>10} {'p95 ms':>8} {'store p50':>10} {'p95 ms':>8}"
    )
    worst = 0.0
    with app.app_context():
        budget = app.config["PDF_CHECK_TIMEOUT"] * 1000
        for label, data in files.items():
            assert len(data) <= app.config["MAX_ANNEX_BYTES"], (label, len(data))
            checks, stores = [], []
            for _ in range(args.repeat + 1):  # the first run warms the page cache
                start = time.perf_counter()
                info = checked_pdf("annexe.pdf", data)
                checked = time.perf_counter()
                stored = store(data)  # the file's SHA-256, then the backend's put
                stores.append((time.perf_counter() - checked) * 1000)
                checks.append((checked - start) * 1000)
            checks, stores = checks[1:], stores[1:]
            check50, check95 = common.p50_p95(checks)
            store50, store95 = common.p50_p95(stores)
            worst = max(worst, check95 + store95)
            report.print(
                f"{label:22} {len(data) / 1e6:6.1f} {check50:10.0f} {check95:8.0f} "
                f"{store50:10.0f} {store95:8.0f}   ({info.pages} page(s), {stored.size:,} bytes)"
            )
    report.goals.append(
        common.at_most("20 MB annex check and store p95", worst, budget, limit="the PDF probe")
    )
    return report


def main():
    common.finish(run(parser().parse_args()))


if __name__ == "__main__":
    main()
