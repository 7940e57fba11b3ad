"""ASVS 5.1.5 / 51.x: the page a login returns to is always a page of this site. One function
(`auth.safe_next`) decides for the portal and the back-office."""

from urllib.parse import urlencode, urlsplit

import pyotp
import pytest

from auth import safe_next
from helpers import STAFF_PASSWORD, csrf_from, make_staff, totp_code

HOSTILE = [
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "http:/evil.example",
    "/%0d%0aSet-Cookie:x=1",  # kept as typed: no raw CR/LF, so no header can be added
    "/\r\nSet-Cookie: x=1",
    "/ok\x00",
    "javascript:alert(1)",
    "evil.example/dossiers/",
    "",
    None,
]


@pytest.mark.parametrize("target", HOSTILE)
def test_no_other_site_and_no_control_character_is_a_next_page(target):
    kept = safe_next(target)
    assert kept is None or (kept.startswith("/") and not kept.startswith("//"))
    assert kept is None or ("\r" not in kept and "\n" not in kept and "\\" not in kept)
    assert safe_next(target, within="/admin/") is None


def test_pages_of_the_site_are_kept_and_the_back_offices_login_pages_are_not():
    assert safe_next("/dossiers/12?onglet=messages") == "/dossiers/12?onglet=messages"
    assert safe_next("/admin/dossiers/", within="/admin/") == "/admin/dossiers/"
    assert safe_next("/dossiers/", within="/admin/") is None
    assert safe_next("/admin/login/", within="/admin/", excluded=("/admin/log",)) is None
    assert len(safe_next("/" + "a" * 900)) == 500


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_the_portal_login_keeps_an_internal_page(client, target):
    client.get("/auth/login", query_string={"next": target})
    with client.session_transaction() as session:
        assert session["login_next"] == "/entreprises/"


@pytest.mark.parametrize(
    "target, lands",
    [
        ("//evil.example", "/admin/"),
        ("https://evil.example", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("/admin/dossiers/", "/admin/dossiers/"),  # the page asked is kept
    ],
)
def test_the_back_office_login_ends_on_an_internal_page(app, client, ctx, target, lands):
    secret = pyotp.random_base32()
    staff = make_staff(totp_secret=secret)
    url = "/admin/login/?" + urlencode({"next": target})
    page = client.get(url)
    sent = client.post(
        url,
        data={"email": staff.email, "password": STAFF_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    code_page = client.get(sent.headers["Location"])
    done = client.post(
        sent.headers["Location"],
        data={"code": totp_code(staff, secret), "csrf_token": csrf_from(code_page.text)},
    )
    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).path == lands
