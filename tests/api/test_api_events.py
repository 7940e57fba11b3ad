"""The events feed of the API: every change in commit order from a cursor, each once, the same
for every call; limited to a token's procedures; a tampered cursor refused."""

from api_helpers import PROBLEM, auth, bearer, make_token

from access import members
from helpers import (
    make_company,
    make_definition,
    make_dossier,
    make_member,
    make_staff,
    national_number,
)
from models import Actor, DossierStatus, Role

FEED = "/api/v1/events"


def feed(client, headers, after=None, **params):
    if after:
        params["after"] = after
    response = client.get(FEED, headers=headers, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def walk(client, headers, limit, **params):
    """Every event of the feed, a call of `limit` at a time: (events, the last cursor)."""
    seen, cursor = [], None
    while True:
        page = feed(client, headers, cursor, limit=limit, **params)
        seen += page["items"]
        cursor = page["next_cursor"]
        if not page["items"]:
            return seen, cursor


def a_life(definition=None):
    """A dossier submitted, received and being processed: three events."""
    agent = make_staff()
    dossier = make_dossier(DossierStatus.PROCESSING, staff=agent, definition=definition)
    return dossier


def test_the_feed_gives_each_event_once_in_order_and_the_same_every_time(client, ctx):
    first, second = a_life(), a_life()
    headers = bearer()
    events, cursor = walk(client, headers, limit=2)
    assert [(e["dossier_id"], e["sequence"]) for e in events] == [
        (first.id, 1),
        (first.id, 2),
        (first.id, 3),
        (second.id, 1),
        (second.id, 2),
        (second.id, 3),
    ]
    assert [e["type"] for e in events[:3]] == [
        "dossier.submitted",
        "dossier.received",
        "dossier.processing",
    ]
    assert events[0]["data"]["reference"] == first.reference
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert walk(client, headers, limit=4)[0] == events  # the same events in the same order

    # A system that comes back with its cursor gets what happened since, and only that.
    assert feed(client, headers, cursor)["items"] == []
    later = a_life()
    since = feed(client, headers, cursor)
    assert [(e["dossier_id"], e["sequence"]) for e in since["items"]] == [
        (later.id, 1),
        (later.id, 2),
        (later.id, 3),
    ]
    assert feed(client, headers, since["next_cursor"])["items"] == []


def test_drafts_give_no_event_and_types_filter(client, ctx):
    make_dossier(DossierStatus.COMPLETE)
    dossier = a_life()
    headers = bearer()
    assert walk(client, headers, limit=50)[0][0]["dossier_id"] == dossier.id
    only = walk(client, headers, limit=50, type="dossier.received,dossier.processing")[0]
    assert [e["type"] for e in only] == ["dossier.received", "dossier.processing"]


def test_a_token_of_other_procedures_reads_none_of_these_events(client, ctx):
    mine = make_definition("enregistrement", "ENR")
    other = make_definition("agrement-interim", "AGR")
    a_life(mine)
    a_life(other)
    company = make_company()
    manager = make_member(company, Role.SIGN, manager=True)
    members.invite(
        Actor.applicant(manager, fresh_login=True),
        company.id,
        members.NewPerson(national_number(901), "Martin", "Léa", "lea@example.test"),
        int(Role.CONSULT),
    )
    everything = walk(client, bearer(), limit=100)[0]
    assert "company.access_changed" in {e["type"] for e in everything}
    limited = walk(client, bearer(procedures=["enregistrement"]), limit=100)[0]
    assert {e["procedure"] for e in limited} == {"enregistrement"}
    assert len(limited) == 3  # no company event, nothing of the other procedure


def test_a_tampered_or_foreign_cursor_and_bad_parameters_are_400(client, ctx):
    a_life()
    headers = bearer()
    cursor = feed(client, headers, limit=1)["next_cursor"]
    for bad in (cursor[:-2] + "xx", "not-a-cursor"):
        response = client.get(FEED, headers=headers, query_string={"after": bad})
        assert response.status_code == 400 and response.content_type == PROBLEM
        assert response.json["type"].endswith("/invalid-cursor")
        assert response.json["field"] == "after"
    for params, field in (({"type": "dossier.deleted"}, "type"), ({"limit": 0}, "limit")):
        response = client.get(FEED, headers=headers, query_string=params)
        assert response.status_code == 400 and response.json["field"] == field, response.json


def test_no_token_and_a_revoked_token_are_refused(client, ctx):
    from access import api_tokens

    assert client.get(FEED).status_code == 401
    token, secret = make_token()
    api_tokens.revoke(Actor.system(), token)
    response = client.get(FEED, headers=auth(secret))
    assert response.status_code == 401 and response.content_type == PROBLEM
