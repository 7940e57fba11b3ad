"""ASVS 14.4 / 50.x: every response carries a Content-Security-Policy without inline script or
style (and no page of the portal, the stand-in FAS or the back-office has any: every page a
visitor, a company user and staff of two roles can reach by links is read), no framing,
nosniff, a Referrer-Policy and a Permissions-Policy, HSTS in production; nothing but the static
files is kept by a cache; every download is an attachment whose name cannot add a header, name
a folder or break the quoting, however the file was named when it was sent."""

import re
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

import pytest

import demo
import security_headers
from conftest import make_config
from dossiers import documents
from helpers import csrf_from, login_person, login_staff
from models import Annex, Company, Dossier, DossierStatus, Person, StaffUser
from run import create_app

HOSTILE_NAME = 'a"\r\nX: y/../b.pdf'
MAX_PAGES = 120
# Links a crawl does not follow: another language, order, page size or filter of a list (the
# same page again), the development mail page, and the logouts.
SKIPPED = re.compile(r"[?&](lang|sort|desc|page_size|flt\d+_\w+)=|^/dev/|/logout")


class InlineContent(HTMLParser):
    """What a CSP without 'unsafe-inline' blocks: <script> without src, <style>, style=, on*=,
    javascript: links; and the page's same-site links."""

    def __init__(self):
        super().__init__()
        self.found = []
        self.links = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "action", "src") and (value or "").strip().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def inline_content(html):
    parser = InlineContent()
    parser.feed(html)
    return parser


def assert_headers(response, url, production=False):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, url
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (url, csp)
    if "sandbox" not in csp:
        for directive in ("script-src 'self'", "style-src 'self'", "object-src 'none'"):
            assert directive in csp, (url, csp)
    assert headers["X-Content-Type-Options"] == "nosniff", url
    assert headers["X-Frame-Options"] == "DENY", url
    assert headers["Referrer-Policy"] == "same-origin", url
    assert headers["Permissions-Policy"] == security_headers.PERMISSIONS, url
    assert ("Strict-Transport-Security" in headers) is production, url
    assert headers["Cache-Control"] == "no-store", url


def assert_download(response, url):
    disposition = response.headers["Content-Disposition"]
    match = re.fullmatch(
        r"(attachment|inline); filename=\"([^\"\\\x00-\x1f/]+)\"; filename\*=UTF-8''(\S+)",
        disposition,
    )
    assert match, (url, disposition)
    assert match[1] == "attachment" or "sandbox" in response.headers["Content-Security-Policy"]
    assert match[2].isascii(), (url, disposition)
    name = unquote(match[3])
    assert not re.search(r"[\x00-\x1f\x7f\"\\/]", name), (url, disposition)
    return match[2], name


def crawl(client, start, within):
    """Every page reachable by links from `start` under `within`: (url, response) pairs, each
    checked for the headers; a download is checked as one, a page for inline content."""
    seen, queue, problems, downloads = set(), list(start), [], []
    while queue and len(seen) < MAX_PAGES:
        parts = urlsplit(queue.pop(0))
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert_headers(response, url)
        if "Content-Disposition" in response.headers:
            assert_download(response, url)
            downloads.append(url)
            continue
        if response.status_code in (301, 302, 303, 307, 308):
            links = [response.headers["Location"]]
        elif response.status_code == 200 and response.mimetype == "text/html":
            parser = inline_content(response.text)
            problems += [(url, found) for found in parser.found]
            links = parser.links
        else:
            continue
        for href in links:
            parts = urlsplit(urljoin(url, href))
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc not in ("", "localhost") or not target.startswith(within):
                continue
            if SKIPPED.search(target):
                continue
            queue.append(target)
    assert not problems, "\n".join(f"{url}: {found}" for url, found in problems)
    return seen, downloads


@pytest.fixture
def seeded(app, ctx):
    logins, _created = demo.seed()
    for dossier in Dossier.select().where(Dossier.status != DossierStatus.DRAFT.value):
        documents.produce_receipt(dossier.id)
        documents.produce_letter(dossier.id)
    return logins


def test_the_anonymous_pages_have_the_headers_and_no_inline_content(client, seeded):
    seen, _downloads = crawl(
        client, ["/", "/auth/login", "/admin/login/", "/healthz", "/nulle-part"], "/"
    )
    assert {"/", "/admin/login/"} <= seen


def test_the_stand_in_fas_pages_have_the_headers_and_no_inline_content(client, seeded):
    login = client.get("/auth/login")
    assert login.status_code == 302
    seen, _downloads = crawl(client, [login.headers["Location"]], "/fas")
    assert any(url.startswith("/fas/") for url in seen)


def test_a_company_users_pages_have_the_headers_and_no_inline_content(client, seeded):
    person = Person.get(Person.national_number == demo.PERSONS[0][0])
    company = Company.get(Company.enterprise_number == demo.COMPANIES[0])
    login_person(client, person, company)
    seen, downloads = crawl(client, ["/", "/entreprises/", "/dossiers/", "/profil/"], "/")
    assert len(seen) > 20, seen
    assert any("/annexes/" in url for url in downloads), downloads
    assert any("/documents/" in url for url in downloads), "\n".join(sorted(seen))


@pytest.mark.parametrize("email", ["superviseur@guichet.test", "admin@guichet.test"])
def test_the_back_offices_pages_have_the_headers_and_no_inline_content(client, seeded, email):
    staff = StaffUser.get(StaffUser.email == email)
    login_staff(client, staff, password=seeded[email])
    if email.startswith("superviseur"):  # the list's Export menu posts; the files are links
        page = client.get("/admin/dossiers/")
        for fmt in ("csv", "xlsx"):
            url = f"/admin/dossiers/export-background/{fmt}/"
            assert url in page.text
            client.post(url, data={"csrf_token": csrf_from(page.text)})
    seen, downloads = crawl(client, ["/admin/"], "/admin")
    assert len(seen) > 15, seen
    if email.startswith("superviseur"):
        for kind in ("/annex/", "voir=1", "/receipt/", "/bundle/", "/exports/download/"):
            assert any(kind in url for url in downloads), (kind, downloads)
        assert len([url for url in downloads if "/exports/download/" in url]) == 2


@pytest.fixture
def hostile_annex(seeded):
    annex = (
        Annex.select().join(Dossier).where(Dossier.status == DossierStatus.PROCESSING.value).first()
    )
    annex.original_name = HOSTILE_NAME
    annex.save()
    return annex


def test_an_annex_with_a_hostile_name_downloads_under_a_safe_one(client, hostile_annex):
    dossier = hostile_annex.dossier
    login_person(client, dossier.created_by, dossier.company)
    url = f"/dossiers/{dossier.id}/annexes/{hostile_annex.id}"
    response = client.get(url)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.mimetype == "application/pdf"
    assert_headers(response, url)
    assert assert_download(response, url) == ("a_X_y_._b.pdf", "a_X_y_._b.pdf")
    assert "X" not in response.headers


def test_the_back_office_serves_it_under_the_same_safe_name(client, seeded, hostile_annex):
    staff = StaffUser.get(StaffUser.email == "superviseur@guichet.test")
    login_staff(client, staff, password=seeded["superviseur@guichet.test"])
    base = f"/admin/dossiers/annex/{hostile_annex.dossier_id}/{hostile_annex.id}"
    for url in (base, base + "?voir=1"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_headers(response, url)
        assert assert_download(response, url) == ("a_X_y_._b.pdf", "a_X_y_._b.pdf")
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["Content-Security-Policy"] == security_headers.SANDBOX_CSP


def test_static_files_keep_caching(client):
    for url in ("/static/portal/css/guichet.css", "/admin-static/backoffice/backoffice.css"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers.get("Cache-Control") != "no-store", url
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_hsts_only_in_production(app, client, tmp_path, database_url):
    assert "Strict-Transport-Security" not in client.get("/").headers
    production = create_app(
        make_config(
            tmp_path / "p",
            database_url,
            ENV_NAME="production",
            SMS_GATEWAY="http",
            SMS_HTTP_URL="https://sms.example/send",
            SMS_HTTP_TOKEN="token",
            ANTIVIRUS="clamd",
        )
    )
    response = production.test_client().get("/")
    assert_headers(response, "/", production=True)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    "name, ascii_name, utf8_name",
    [
        (HOSTILE_NAME, "a_X_y_._b.pdf", "a_X_y_._b.pdf"),
        ("Statuts coordonnés.pdf", "Statuts_coordonnes.pdf", "Statuts_coordonnés.pdf"),
        ("../../etc/passwd", "etc_passwd", "etc_passwd"),
        ("\u202egpj.exe.pdf", "gpj.exe.pdf", "gpj.exe.pdf"),
        ("..", "document", "document"),
        ("Сведения.pdf", "document.pdf", "Сведения.pdf"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf", "x" * 146 + ".pdf"),
    ],
)
def test_a_file_name_cannot_break_the_header(name, ascii_name, utf8_name):
    disposition = security_headers.content_disposition(name)
    quoted = security_headers.quote(utf8_name, safe=security_headers.ATTR_CHARS)
    assert disposition == f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
