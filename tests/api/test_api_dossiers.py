"""The dossiers of the API: only what staff see, the list's filters and its cursor, one dossier
whole, and its files with their SHA-256."""

import base64
import hashlib
from datetime import timedelta

import pytest
from api_helpers import PROBLEM, auth, bearer, make_token
from test_pdf_check import blank_pdf

import storage
from dossiers import documents
from helpers import make_company, make_definition, make_dossier, make_member
from models import Annex, Document, Dossier, DossierStatus, utcnow

VISIBLE = [
    DossierStatus.SUBMITTED,
    DossierStatus.RECEIVED,
    DossierStatus.PROCESSING,
    DossierStatus.CLOSED,
]


def ids(response):
    assert response.status_code == 200, response.json
    return [d["id"] for d in response.json["items"]]


def walk(client, headers, url):
    """Every page of the list from `url`, following `next`: the ids in order, and the pages."""
    seen, pages = [], 0
    while url:
        response = client.get(url, headers=headers)
        seen += ids(response)
        url, pages = response.json["next"], pages + 1
    return seen, pages


@pytest.mark.parametrize("status", [DossierStatus.DRAFT, DossierStatus.COMPLETE])
def test_a_draft_is_404_as_if_absent(client, ctx, status):
    draft = make_dossier(status)
    headers = bearer()
    absent = client.get("/api/v1/dossiers/999999", headers=headers)
    response = client.get(f"/api/v1/dossiers/{draft.id}", headers=headers)
    assert response.status_code == absent.status_code == 404
    assert response.content_type == PROBLEM
    assert response.json["type"] == absent.json["type"] == "/api/v1/problems/not-found"
    assert client.get(f"/api/v1/dossiers/{draft.id}/receipt", headers=headers).status_code == 404
    assert draft.id not in ids(client.get("/api/v1/dossiers", headers=headers))


def test_unknown_dossier_and_out_of_range_id(client, ctx):
    headers = bearer()
    assert client.get("/api/v1/dossiers/424242", headers=headers).status_code == 404
    huge = client.get("/api/v1/dossiers/99999999999999999999", headers=headers)
    assert huge.status_code == 404 and huge.content_type == PROBLEM


def test_the_list_shows_every_status_staff_see_and_no_draft(client, ctx):
    company = make_company()
    person = make_member(company)
    made = {s: make_dossier(s, company=company, person=person) for s in DossierStatus}
    listed = ids(client.get("/api/v1/dossiers?limit=100", headers=bearer()))
    assert sorted(listed) == sorted(made[s].id for s in VISIBLE)


def test_filters(client, ctx):
    first, second = make_company(), make_company()
    other = make_definition("agrement-interim", "AGR")
    received = make_dossier(DossierStatus.RECEIVED, company=first)
    closed = make_dossier(DossierStatus.CLOSED, company=second)
    agreement = make_dossier(DossierStatus.SUBMITTED, company=first, definition=other)
    old = utcnow() - timedelta(days=40)
    Dossier.update(submitted_at=old, updated_at=old).where(Dossier.id == closed.id).execute()
    headers = bearer()

    def query(args):
        return sorted(ids(client.get(f"/api/v1/dossiers?{args}", headers=headers)))

    assert query("status=received") == [received.id]
    assert query("status=received,closed") == sorted([received.id, closed.id])
    assert query("procedure=agrement-interim") == [agreement.id]
    assert query(f"company={first.enterprise_number}") == sorted([received.id, agreement.id])
    dotted = second.enterprise_number
    dotted = f"{dotted[:4]}.{dotted[4:7]}.{dotted[7:]}"
    assert query(f"company={dotted}") == [closed.id]
    day = (old + timedelta(days=1)).date().isoformat()
    assert query(f"submitted_to={day}") == [closed.id]
    assert query(f"updated_from={day}") == sorted([received.id, agreement.id])
    since = (utcnow() - timedelta(days=1)).isoformat() + "Z"
    assert query(f"updated_since={since}") == sorted([received.id, agreement.id])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ("status=draft", "status"),
        ("status=complete", "status"),
        ("status=nope", "status"),
        ("status=", "status"),
        ("company=12", "company"),
        ("submitted_from=yesterday", "submitted_from"),
        ("updated_since=2026-13-40T00:00:00", "updated_since"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("sort=reference", "sort"),
        ("stauts=received", "stauts"),
        ("submitted_from=2026-02-01&submitted_to=2026-01-01", "submitted_to"),
        ("procedure=no-such-procedure", "procedure"),
    ],
)
def test_invalid_filters_are_400_naming_the_field(client, ctx, args, field):
    response = client.get(f"/api/v1/dossiers?{args}", headers=bearer())
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    problem = response.json
    assert problem["type"] == "/api/v1/problems/invalid-request"
    assert problem["title"] == "Requête invalide"
    assert problem["field"] == field
    assert field in {e["field"] for e in problem["errors"]}


def test_invalid_filter_title_in_english(client, ctx):
    headers = {**bearer(), "Accept-Language": "en"}
    problem = client.get("/api/v1/dossiers?limit=0", headers=headers).json
    assert problem["title"] == "Invalid request"
    assert problem["detail"] == "Parameter refused: limit."


@pytest.mark.parametrize("sort", ["updated_at", "-updated_at", "submitted_at", "-submitted_at"])
def test_paging_through_every_dossier_returns_each_exactly_once(client, ctx, sort):
    company = make_company()
    person = make_member(company)
    made = [make_dossier(DossierStatus.RECEIVED, company=company, person=person) for _ in range(7)]
    # Ties on the sort key: the id decides, and no row is skipped or repeated.
    same = utcnow() - timedelta(hours=1)
    tied = [d.id for d in made[2:5]]
    Dossier.update(updated_at=same, submitted_at=same).where(Dossier.id.in_(tied)).execute()
    make_dossier(DossierStatus.DRAFT, company=company, person=person)
    headers = bearer()
    seen, pages = walk(client, headers, f"/api/v1/dossiers?limit=2&sort={sort}")
    assert sorted(seen) == sorted(d.id for d in made)
    assert len(seen) == len(set(seen)) == 7
    assert pages == 4
    key = sort.lstrip("-")
    values = [getattr(Dossier.get_by_id(i), key) for i in seen]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_next_cursor_as_a_parameter_with_the_same_filters(client, ctx):
    for _ in range(3):
        make_dossier(DossierStatus.RECEIVED)
    headers = bearer()
    first = client.get("/api/v1/dossiers?status=received&limit=2", headers=headers).json
    cursor = first["next_cursor"]
    rest = client.get(f"/api/v1/dossiers?status=received&limit=2&cursor={cursor}", headers=headers)
    assert len(rest.json["items"]) == 1 and rest.json["next_cursor"] is None
    other = client.get(f"/api/v1/dossiers?status=closed&limit=2&cursor={cursor}", headers=headers)
    assert other.status_code == 400
    assert other.json["type"] == "/api/v1/problems/invalid-cursor"
    assert other.json["field"] == "cursor"


@pytest.mark.parametrize("change", ["flip", "cut", "garbage"])
def test_a_tampered_cursor_is_400(client, ctx, change):
    for _ in range(3):
        make_dossier(DossierStatus.RECEIVED)
    headers = bearer()
    cursor = client.get("/api/v1/dossiers?limit=1", headers=headers).json["next_cursor"]
    tampered = {
        "flip": cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:],
        "cut": cursor[: len(cursor) // 2],
        "garbage": "not-a-cursor",
    }[change]
    response = client.get(f"/api/v1/dossiers?limit=1&cursor={tampered}", headers=headers)
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert response.json["type"] == "/api/v1/problems/invalid-cursor"


def test_one_dossier_whole(client, ctx):
    dossier = make_dossier(DossierStatus.CLOSED)
    Dossier.update(answers={"note": "Bonjour"}).where(Dossier.id == dossier.id).execute()
    body = client.get(f"/api/v1/dossiers/{dossier.id}", headers=bearer()).json
    assert body["reference"] == dossier.reference
    assert body["status"] == "closed" and body["decision"] == "granted"
    assert body["answers"] == [
        {
            "section": "main",
            "key": "note",
            "label": "Remarque",
            "value": "Bonjour",
            "text": "Bonjour",
        }
    ]
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [
        ("draft", "complete"),
        ("complete", "submitted"),
        ("submitted", "received"),
        ("received", "processing"),
        ("processing", "closed"),
    ]
    assert body["submitted_at"].endswith("+00:00")
    assert body["status_label"] == "Clôturé"
    english = client.get(
        f"/api/v1/dossiers/{dossier.id}", headers={**bearer(), "Accept-Language": "en"}
    ).json
    assert english["status_label"] == "Closed"


def with_annex(dossier, scan_status="clean"):
    data = blank_pdf(1)
    stored = storage.store(data)
    return Annex.create(
        dossier=dossier,
        requirement="statutes",
        original_name="statuts.pdf",
        storage_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        pages=1,
        uploaded_by=dossier.created_by,
        frozen=True,
        scan_status=scan_status,
    ), data


def test_files_come_with_their_sha256(client, ctx):
    dossier = make_dossier(DossierStatus.CLOSED)
    annex, data = with_annex(dossier)
    receipt_data = blank_pdf(2)
    documents.issue(dossier, Document.RECEIPT, receipt_data)
    headers = bearer()

    body = client.get(f"/api/v1/dossiers/{dossier.id}", headers=headers).json
    [listed] = body["annexes"]
    assert listed["sha256"] == annex.sha256 and listed["requirement"] == "statutes"
    response = client.get(listed["url"], headers=headers)
    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    assert response.data == data
    digest = hashlib.sha256(data).digest()
    assert response.headers["X-Checksum-SHA256"] == digest.hex()
    assert response.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"

    receipt = client.get(body["documents"]["receipt"]["url"], headers=headers)
    assert receipt.status_code == 200 and receipt.data == receipt_data
    assert receipt.headers["X-Checksum-SHA256"] == hashlib.sha256(receipt_data).hexdigest()
    assert body["documents"]["letter"] is None  # the worker has not made it
    letter = client.get(f"/api/v1/dossiers/{dossier.id}/letter", headers=headers)
    assert letter.status_code == 404 and letter.content_type == PROBLEM


def test_an_annex_in_quarantine_or_of_another_dossier_is_not_served(client, ctx):
    dossier = make_dossier(DossierStatus.RECEIVED)
    other = make_dossier(DossierStatus.RECEIVED)
    pending, _data = with_annex(dossier, scan_status="pending")
    theirs, _data = with_annex(other)
    headers = bearer()
    body = client.get(f"/api/v1/dossiers/{dossier.id}", headers=headers).json
    assert body["annexes"][0]["url"] is None
    response = client.get(f"/api/v1/dossiers/{dossier.id}/annexes/{pending.id}", headers=headers)
    assert response.status_code == 409
    assert response.json["type"] == "/api/v1/problems/file-unavailable"
    crossed = client.get(f"/api/v1/dossiers/{dossier.id}/annexes/{theirs.id}", headers=headers)
    assert crossed.status_code == 404


def test_an_altered_file_is_not_served(client, ctx):
    dossier = make_dossier(DossierStatus.RECEIVED)
    annex, _data = with_annex(dossier)
    Annex.update(sha256="0" * 64).where(Annex.id == annex.id).execute()
    response = client.get(f"/api/v1/dossiers/{dossier.id}/annexes/{annex.id}", headers=bearer())
    assert response.status_code == 409
    assert response.json["type"] == "/api/v1/problems/file-unavailable"


def test_a_token_limited_to_a_procedure_reads_its_files(client, ctx):
    dossier = make_dossier(DossierStatus.RECEIVED)
    annex, data = with_annex(dossier)
    _token, secret = make_token(procedures=["enregistrement"])
    url = f"/api/v1/dossiers/{dossier.id}/annexes/{annex.id}"
    assert client.get(url, headers=auth(secret)).data == data
    make_definition("agrement-interim", "AGR")
    _token, elsewhere = make_token(procedures=["agrement-interim"])
    refused = client.get(url, headers=auth(elsewhere))
    assert refused.status_code == 404 and refused.content_type == PROBLEM
