"""What the back-office's pages are made of: no stray "Filter" box on detail pages, the dossier
reference as the way into a dossier, a pager only when there is another page, one colour and
name per status, flash messages without a hidden close button, a named search-clear link, and
every input of the definition preview labelled."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import backoffice
from backoffice.columns import status_tag
from helpers import (
    csrf_from,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
)
from models import (
    AuditEvent,
    DossierStatus,
    Membership,
    OutboxMessage,
    ProcedureDefinition,
    StaffRole,
)

CSS = Path(backoffice.__file__).parent / "static" / "backoffice" / "backoffice.css"


@pytest.fixture
def supervisor(client, ctx):
    company = make_company(name="Agence Mise en Page")
    person = make_member(company)
    dossiers = [
        make_dossier(DossierStatus.SUBMITTED, company=company, person=person) for _ in range(2)
    ]
    staff = make_staff(StaffRole.SUPERVISOR)
    login_staff(client, staff)
    return dossiers


def dossier_view(app):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_dossiers")


def test_detail_pages_have_no_filter_box(supervisor, client, app):
    dossier = supervisor[0]
    membership = Membership.select().first()
    for path in (
        f"/admin/dossiers/details/?id={dossier.id}",
        f"/admin/companies/details/?id={dossier.company_id}",
        f"/admin/persons/details/?id={membership.person_id}",
        f"/admin/memberships/details/?id={membership.id}",
        f"/admin/outbox/details/?id={OutboxMessage.select().first().id}",
        f"/admin/audit/details/?id={AuditEvent.select().first().id}",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "fa_filter" not in page.text and ">Filtre<" not in page.text, path
        assert "details_filter.js" not in page.text, path
        assert '<th scope="row"' in page.text, path


def test_the_reference_is_the_link_into_a_dossier(supervisor, client):
    page = client.get("/admin/dossiers/").text
    for dossier in supervisor:
        link = re.search(rf'<a href="([^"]+)">{re.escape(dossier.reference)}</a>', page)
        assert link, dossier.reference
        target = link[1].replace("&amp;", "&")
        assert target.startswith(f"/admin/dossiers/details/?id={dossier.id}&")
        assert client.get(target).status_code == 200
    assert "fa-eye" not in page and "list-buttons-column" not in page


def test_no_pager_on_a_single_page(supervisor, client):
    page = client.get("/admin/dossiers/").text
    assert "pagination" not in page and "&lt;" not in page and "&gt;" not in page


def test_a_pager_in_words_when_there_is_another_page(supervisor, client, app, monkeypatch):
    monkeypatch.setattr(dossier_view(app), "page_size", 1)
    first = client.get("/admin/dossiers/").text
    assert "Page suivante" in first and "Page précédente" not in first
    assert '<span class="page-link" aria-current="page">Page 1</span>' in first
    second = client.get(link(first, "next")).text
    assert "Page précédente" in second and "Page 2" in second
    assert "Page suivante" not in second  # two dossiers, one a page
    assert "Page 1" in client.get(link(second, "prev")).text


def link(page, rel):
    """The address of the pager's link `rel` (next, prev): a signed cursor, not a number."""
    return re.search(rf'rel="{rel}" href="([^"]+)"', page)[1].replace("&amp;", "&")


def test_each_status_has_its_tag_colour_and_name(app):
    css = CSS.read_text()
    grounds = {}
    for status in DossierStatus:
        with app.test_request_context():
            tag = str(status_tag(status))
            assert tag == f'<span class="tag tag-{status.value}">{status.label}</span>'
        rule = re.search(rf"\.tag-{status.value} \{{([^}}]+)\}}", css)
        assert rule, status
        grounds[status] = re.search(r"background: (#[0-9a-f]{6})", rule[1])[1]
    assert len(set(grounds.values())) == len(DossierStatus), grounds


def test_the_list_and_detail_show_the_status_tag(supervisor, client):
    dossier = supervisor[0]
    tag = '<span class="tag tag-submitted">Soumis</span>'
    assert tag in client.get("/admin/dossiers/").text
    assert tag in client.get(f"/admin/dossiers/details/?id={dossier.id}").text


def test_flash_messages_have_no_focusable_close_button(supervisor, client):
    dossier = supervisor[0]
    page = client.get(f"/admin/dossiers/details/?id={dossier.id}")
    client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "to": "received"},
    )
    page = client.get(f"/admin/dossiers/details/?id={dossier.id}").text
    alert = re.search(r'<div class="alert alert-success" role="status">([^<]*)</div>', page)
    assert alert and "Réceptionné" in alert[1]
    assert 'aria-hidden="true">&times;' not in page and 'data-dismiss="alert"' not in page


def test_the_search_box_is_labelled_and_its_clear_link_named(supervisor, client):
    page = client.get("/admin/dossiers/?search=mise").text
    assert '<label for="list-search" class="sr-only">Chercher</label>' in page
    clear = re.search(r'<a href="([^"]+)" class="input-group-text" aria-label="([^"]+)"', page)
    assert clear and clear[2] == "Effacer la recherche"
    assert "search=" not in clear[1]


class Controls(HTMLParser):
    """The form controls of a page, and the ids that a <label for> names."""

    def __init__(self):
        super().__init__()
        self.controls, self.labelled = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label" and attrs.get("for"):
            self.labelled.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append(attrs)


def test_every_input_of_the_definition_preview_is_labelled(app, client, ctx):
    from procedures import sync_builtin

    sync_builtin()
    definitions = list(ProcedureDefinition.select())
    login_staff(client, make_staff(StaffRole.ADMIN))
    for definition in definitions:
        page = client.get(f"/admin/definitions/preview/{definition.id}")
        parser = Controls()
        parser.feed(page.text)
        previewed = [c for c in parser.controls if "disabled" in c]
        assert len(previewed) > 10, definition.code
        unlabelled = [
            c for c in previewed if c.get("id") not in parser.labelled and not c.get("aria-label")
        ]
        assert not unlabelled, (definition.code, unlabelled[:3])
