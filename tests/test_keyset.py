"""The staff dossier list at any size: pages by signed cursor in every sort (each submitted
dossier once, in order, also with ties on the sort key and NULLs; never a draft), a constant
number of queries per page whatever its size, the search on its indexes, and a cursor that was
tampered with giving the first page with a message, never an error."""

import re
from datetime import timedelta

import pytest

import models
from helpers import (
    login_staff,
    make_company,
    make_definition,
    make_dossier,
    make_member,
    make_staff,
)
from models import Dossier, DossierStatus, StaffRole, utcnow

LIST = "/admin/dossiers/"
# column_sortable_list: reference, definition, company, status, submitted_at, assigned_to
SORT_KEYS = {
    0: lambda d: d.reference,
    1: lambda d: d.definition.title,
    2: lambda d: d.company.name,
    3: lambda d: d.status,
    4: lambda d: d.submitted_at,
    5: lambda d: d.assigned_to.full_name if d.assigned_to_id else None,
}


def dossier_view(app):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_dossiers")


def references(page):
    return re.findall(r'<a href="/admin/dossiers/details/\?id=\d+[^"]*">([^<]+)</a>', page)


def link(page, rel):
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return found[1].replace("&amp;", "&") if found else None


@pytest.fixture
def crowd(app, client):
    """Eleven submitted dossiers with ties on every key (two companies of the same name, four
    dossiers submitted at the same instant, several in one status) and unassigned ones; two
    drafts that must never show."""
    same_a, same_b = make_company(name="Agence Pareille"), make_company(name="Agence Pareille")
    other = make_company(name="Bureau Autre")
    report = make_definition("rapport", "RAP")
    agents = [make_staff(full_name="Agent Alpha"), make_staff(full_name="Agent Beta")]
    shown = []
    for n in range(11):
        company = (same_a, same_b, other)[n % 3]
        status = (DossierStatus.SUBMITTED, DossierStatus.RECEIVED, DossierStatus.CLOSED)[n % 3]
        dossier = make_dossier(status, company=company, definition=report if n % 4 == 0 else None)
        if n % 5:
            dossier.assign(agents[n % 2])
        shown.append(dossier.id)
    instant = utcnow() - timedelta(days=3)
    Dossier.update(submitted_at=instant).where(Dossier.id.in_(shown[2:6])).execute()
    for _ in range(2):
        make_dossier(DossierStatus.DRAFT, company=same_a)
        make_dossier(DossierStatus.COMPLETE, company=other)
    login_staff(client, make_staff(StaffRole.SUPERVISOR))
    return list(Dossier.select().where(Dossier.id.in_(shown)))


def expected(dossiers, sort, desc):
    """The order of the list: (key, id), NULLs counted as the largest key."""

    def rank(d):
        key = SORT_KEYS[sort](d)
        return (key is None, key if key is not None else "", d.id)

    return [d.reference for d in sorted(dossiers, key=rank, reverse=desc)]


@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_walking_the_pages_shows_each_dossier_once_in_order(
    app, client, crowd, monkeypatch, sort, desc
):
    monkeypatch.setattr(dossier_view(app), "page_size", 3)
    url = f"{LIST}?sort={sort}" + ("&desc=1" if desc else "")
    pages, seen = [], []
    while url:
        page = client.get(url).text
        pages.append(references(page))
        seen += pages[-1]
        assert f"Page {len(pages)}<" in page
        url = link(page, "next")
    assert seen == expected(crowd, sort, desc)
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    # and back again from the last page, by the "previous" links
    back = []
    while True:
        previous = link(page, "prev")
        if previous is None:
            break
        page = client.get(previous).text
        back.insert(0, references(page))
    assert back == pages[:-1]


def test_the_default_order_is_newest_submitted_first(app, client, crowd):
    page = client.get(LIST).text
    assert references(page) == expected(crowd, 4, True)
    assert "Page suivante" not in page and "pagination" not in page  # all on one page


def test_queries_per_page_do_not_grow_with_its_size(app, client, monkeypatch):
    company = make_company(name="Agence Volume")
    person = make_member(company)
    definition = make_definition()
    now = utcnow()
    Dossier.insert_many(
        [
            {
                "company": company.id,
                "definition": definition.id,
                "status": "received",
                "answers": {},
                "reference": f"ENR-2026-{n:06d}",
                "created_by": person.id,
                "submitted_by": person.id,
                "created_at": now,
                "updated_at": now,
                "submitted_at": now - timedelta(minutes=n),
            }
            for n in range(1, 131)
        ]
    ).execute()
    login_staff(client, make_staff())
    inner, count = models.db.obj.execute_sql, [0]

    def counting(*args, **kwargs):
        count[0] += 1
        return inner(*args, **kwargs)

    monkeypatch.setattr(models.db.obj, "execute_sql", counting)
    used = {}
    for size in (20, 100):
        monkeypatch.setattr(dossier_view(app), "page_size", size)
        first = client.get(LIST).text
        for label, url in (
            ("first", LIST),
            ("next", link(first, "next")),
            ("search", f"{LIST}?search=ENR-2026-0001"),
            ("name", f"{LIST}?search=volume"),
            ("nothing found", f"{LIST}?search=introuvable"),
        ):
            count[0] = 0
            page = client.get(url)
            assert page.status_code == 200
            used[size, label] = count[0]
        assert len(references(first)) == size
    assert max(used.values()) <= 5, used
    assert {used[20, k] for k in ("first", "next")} == {used[100, k] for k in ("first", "next")}


def test_search_by_reference_number_and_names(app, client):
    liege = make_company(name="Intérim Liège SA")
    namur = make_company(name="Namur Emploi")
    zoe = make_member(namur, given_name="Zoé", surname="Dœuf-Müller")
    a = make_dossier(DossierStatus.SUBMITTED, company=liege)
    b = make_dossier(DossierStatus.RECEIVED, company=namur, person=zoe)
    draft = make_dossier(DossierStatus.COMPLETE, company=liege)
    login_staff(client, make_staff())

    def found(search):
        return set(references(client.get(LIST, query_string={"search": search}).text))

    assert found(a.reference) == {a.reference}
    assert found(a.reference.lower()) == {a.reference}
    prefix = a.reference[: a.reference.rindex("-") + 1]  # "ENR-2026-": both
    assert found(prefix) == {a.reference, b.reference}
    assert found(liege.formatted_number) == {a.reference}
    assert found(f"BE {liege.formatted_number}") == {a.reference}
    assert found(liege.enterprise_number[:6]) >= {a.reference}
    for typed in ("liege", "LIÈGE", "interim lie", "Interim Liege SA"):
        assert found(typed) == {a.reference}, typed
    for typed in ("zoe", "ZOÉ DŒUF", "muller"):  # the applicant who submitted it
        assert found(typed) == {b.reference}, typed
    assert found("liege namur") == set()
    assert found("%") == found("_") == {a.reference, b.reference}  # no wildcard: all words
    assert draft.reference is None


def test_a_tampered_cursor_gives_the_first_page_with_a_message(app, client, crowd, monkeypatch):
    monkeypatch.setattr(dossier_view(app), "page_size", 3)
    first = client.get(LIST).text
    following = link(first, "next")
    token = re.search(r"cursor=([^&]+)", following)[1]
    changed = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (changed, "abc", "W10.xyz", token[:10]):
        page = client.get(f"{LIST}?cursor={bad}")
        assert page.status_code == 200, bad
        assert references(page.text) == references(first)
        assert "Ce lien de page n&#39;est pas valable" in page.text
    # one of ours, but of another sort or search: the first page of that list, quietly
    other = client.get(f"{LIST}?sort=0&cursor={token}").text
    assert references(other) == expected(crowd, 0, False)[:3]
    assert "pas valable" not in other
    searched = client.get(f"{LIST}?search=agence&cursor={token}").text
    assert "pas valable" not in searched and "Page 1<" in searched


def test_a_search_finding_many_walks_the_list_and_finds_the_same(app, client, crowd, monkeypatch):
    """More dossiers found than dossiers.search.CAP: read by walking the list's order (each
    row tested) instead of by id; the same dossiers, in the same order, page after page."""
    from dossiers import search

    monkeypatch.setattr(dossier_view(app), "page_size", 4)

    def walk(url):
        seen = []
        while url:
            page = client.get(url).text
            seen += references(page)
            url = link(page, "next")
        return seen

    by_id = walk(f"{LIST}?search=pareille")
    monkeypatch.setattr(search, "CAP", 2)
    assert walk(f"{LIST}?search=pareille") == by_id
    assert by_id == [r for r in expected(crowd, 4, True) if r in set(by_id)]
    assert len(by_id) == 8  # the two companies named "Agence Pareille"


@pytest.mark.parametrize("lang", ["fr", "en", "de", "nl"])
def test_the_date_pattern_read_once_gives_what_format_datetime_gives(app, lang):
    from datetime import datetime

    from flask_babel import force_locale, format_datetime

    from backoffice.columns import ListFormats

    for value in (datetime(2026, 1, 15, 10, 30), datetime(2026, 7, 1, 23, 5)):
        with app.test_request_context(), force_locale(lang):
            assert ListFormats().datetime(value) == format_datetime(value, "short")


def test_filter_options_are_kept_a_while_then_read_again(app, client, monkeypatch):
    """The Agent and Procédure filters' options are read once per OPTIONS_SECONDS by a process
    (two queries less per page); a new agent shows once that time has passed, a version saved
    through the back-office at once."""
    from backoffice import columns

    login_staff(client, make_staff(full_name="Agent Premier"))
    clock = [1000.0]
    monkeypatch.setattr(columns.time, "monotonic", lambda: clock[0])
    assert "Agent Premier" in client.get(LIST).text
    make_staff(full_name="Agent Nouveau")
    assert "Agent Nouveau" not in client.get(LIST).text  # kept
    clock[0] += columns.OPTIONS_SECONDS + 1
    assert "Agent Nouveau" in client.get(LIST).text
    make_definition("autre", "AUT")
    with app.app_context():
        columns.forget_options()  # what saving or publishing a version does
    assert "autre" in client.get(LIST).text
