"""The child program that opens an untrusted PDF for `documents.pdf_check`; not imported by the app.

Usage: python -I pdf_probe.py MAX_PAGES MEMORY_MB CPU_SECONDS < file.pdf

It caps its own address space and CPU time before it reads a byte of the file, then prints one
JSON object: {"pages": n} when the file is acceptable, else {"refused": reason} (and "pages" when
there are too many). It imports only the standard library and pypdf, so that it starts fast in an
isolated interpreter that shares nothing with the application (no app modules, no environment).
"""

import io
import json
import logging
import resource
import sys
import warnings

import pypdf.filters  # noqa: F401  (imported by PdfReader on first use: load it before the limits)
from pypdf import PdfReader
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject


def limit_resources(memory_mb, cpu_seconds):
    """Cap address space and CPU time (never above the hard limits) and turn off core dumps."""
    for limit, soft in (
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_CORE, 0),
    ):
        _, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(limit, (soft, hard))


# Active content, by what a dictionary of the file holds: a key, or a name as the value of /S
# (an action's type) or /Subtype. Found anywhere in the objects reachable from the trailer.
ACTIVE_KEYS = {
    "/JavaScript": "javascript",
    "/JS": "javascript",
    "/EmbeddedFiles": "embedded_file",
    "/EF": "embedded_file",
    "/XFA": "xfa",
    "/RichMediaContent": "rich_media",
}
ACTIVE_NAMES = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/EmbeddedFile": "embedded_file",
    "/FileAttachment": "embedded_file",
    "/RichMedia": "rich_media",
    "/Movie": "rich_media",
    "/Sound": "rich_media",
    "/Rendition": "rich_media",
}


def active_content(reader):
    """The kind of the first active content found (javascript, launch, embedded_file, xfa,
    rich_media), or None: every object reachable from the trailer is looked at once."""
    seen, stack = set(), [reader.trailer]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for name, value in node.items():
                if name in ACTIVE_KEYS:
                    return ACTIVE_KEYS[name]
                if name in ("/S", "/Subtype", "/Type") and str(value) in ACTIVE_NAMES:
                    return ACTIVE_NAMES[str(value)]
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None


def read_pages(data, max_pages):
    """Open the PDF and decompress every page's content stream, so that a compression bomb goes
    off here, under the limits, rather than later in the application."""
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        return {"refused": "encrypted"}
    count = len(reader.pages)
    if count == 0:
        return {"refused": "no_pages"}
    if count > max_pages:
        return {"refused": "too_many_pages", "pages": count}
    kind = active_content(reader)
    if kind is not None:
        return {"refused": "active_content", "kind": kind}
    for page in reader.pages:
        page.get_contents()
    return {"pages": count}


def probe(data, max_pages):
    try:
        return read_pages(data, max_pages)
    except (MemoryError, RecursionError, LimitReachedError) as exc:
        return {"refused": "too_complex", "detail": type(exc).__name__}
    except Exception as exc:
        # pypdf fails on some encryption dictionaries before `is_encrypted` can be asked.
        reason = "encrypted" if b"/Encrypt" in data else "unreadable"
        return {"refused": reason, "detail": type(exc).__name__}


def main(argv):
    max_pages, memory_mb, cpu_seconds = (int(arg) for arg in argv[1:4])
    limit_resources(memory_mb, cpu_seconds)
    # Broken files make pypdf log and warn at length: the parent only reads the verdict.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    result = probe(sys.stdin.buffer.read(), max_pages)
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
