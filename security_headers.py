"""The headers every response carries, and the one way a file is handed to a browser.

Every page: a Content-Security-Policy without inline script or style (the templates keep both in
static files), no framing, no referrer to other sites, no camera, microphone, location or
payment, no MIME sniffing, HSTS in production; no copy kept by a browser or a proxy of anything
but the static files (pages and downloads carry personal data) and the few public pages that
say so (`cacheable`). Every download: an attachment whose name can neither end the header, add
one, nor name a folder."""

import io
import re
import unicodedata
from urllib.parse import quote

from flask import current_app, request, send_file

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# A file a company sent, opened in the browser's viewer: no script, no access to the site.
SANDBOX_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=()"
HSTS = "max-age=31536000; includeSubDomains"

# Characters a file name loses: those that end a quoted string or a header, separate folders, or
# that a file system or a shell reads specially.
UNSAFE_IN_NAME = re.compile(r'["\\/:*?<>|;%\s]+')
NAME_MAX = 150
# RFC 5987 attr-char: what filename*= carries unencoded.
ATTR_CHARS = "!#$&+-.^_`|~"


def init_app(app):
    app.after_request(set_headers)


def is_static():
    """A file of a static folder (the app's, a blueprint's, Flask-Admin's): these keep caching."""
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def set_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS)
    if current_app.config["ENV_NAME"] == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    if not is_static() and not getattr(response, "shared", False):
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def cacheable(response, seconds):
    """Let browsers and shared caches keep a page `seconds` that holds nothing personal and
    is the same for every anonymous visitor (the public statistics), one copy per language
    and cookie."""
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    response.vary.update(("Cookie", "Accept-Language"))
    response.shared = True
    return response


def safe_filename(name, fallback="document"):
    """`name` as a file name a browser saves as typed: no control or format character (CR, LF,
    bidi overrides), no quote, slash, backslash or other character files and headers read
    specially, no leading dot, at most NAME_MAX characters with the extension kept."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = "".join(c if not unicodedata.category(c).startswith("C") else " " for c in name)
    name = UNSAFE_IN_NAME.sub("_", name)
    name = re.sub(r"\.{2,}", ".", name).strip("._ ")
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: NAME_MAX - len(extension) - 1].rstrip("._ ") + "." + extension
        else:
            name = name[:NAME_MAX]
    return name or fallback


def content_disposition(name, inline=False):
    """The header value: an ASCII name for old clients and the UTF-8 one (RFC 6266)."""
    name = safe_filename(name)
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    ascii_stem = safe_filename(to_ascii(stem), fallback="document")
    ascii_extension = safe_filename(to_ascii(extension), fallback="")
    ascii_name = ascii_stem + (f".{ascii_extension}" if ascii_extension else "")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=ATTR_CHARS)}"


def to_ascii(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def as_download(response, name, inline=False):
    """Give `response` the Content-Disposition of a file named `name`."""
    response.headers["Content-Disposition"] = content_disposition(name, inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if inline:
        response.headers["Content-Security-Policy"] = SANDBOX_CSP
    return response


def download(data, name, mimetype="application/pdf", inline=False):
    """Bytes handed to the browser as a file to save (or, `inline`, to open in its sandboxed
    viewer)."""
    response = send_file(io.BytesIO(data), mimetype=mimetype, conditional=False)
    return as_download(response, name, inline)
