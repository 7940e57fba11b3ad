"""Item 15: a double-clicked or concurrent submit of one dossier is one submission and one
email, on SQLite and PostgreSQL."""

import threading

from helpers import csrf_from, login_person, make_company, make_dossier, make_member, text
from models import (
    AuditEvent,
    Dossier,
    DossierStatus,
    OutboxMessage,
    ReferenceCounter,
    Role,
    Signature,
    StatusChange,
)

CLICKS = 8


def same_browser(app, client):
    """Another client holding `client`'s session cookie: a second tab, or the second request
    of a double click."""
    other = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    other.set_cookie(cookie.key, cookie.value)
    return other


def post_together(clients, url, data):
    """POST from every client at once (released together); the responses in order."""
    barrier = threading.Barrier(len(clients))
    responses = [None] * len(clients)

    def post(i, c):
        barrier.wait()
        try:
            responses[i] = c.post(url, data=data)
        except Exception as exc:  # an unhandled error is a result too
            responses[i] = exc

    threads = [threading.Thread(target=post, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return responses


def test_double_clicked_and_concurrent_submits_give_one_submission_and_one_email(app, client):
    company = make_company()
    person = make_member(company, Role.SIGN)
    dossier = make_dossier(DossierStatus.COMPLETE, company=company, person=person)
    login_person(client, person, company)
    url = f"/dossiers/{dossier.id}/signer"
    data = {"csrf_token": csrf_from(client.get(url).text), "declaration": "y"}
    clients = [same_browser(app, client) for _ in range(CLICKS)]

    responses = post_together(clients, url, data)
    responses.append(clients[0].post(url, data=data))  # a click after the others were answered

    shown = f"/dossiers/{dossier.id}"
    for response in responses:
        assert not isinstance(response, Exception), response
        assert response.status_code == 302, response.status_code
        assert response.headers["Location"] == shown, "every click lands on the dossier"
    pages = [text(c.get(shown)) for c in clients]
    dossier = Dossier.get_by_id(dossier.id)
    assert dossier.state == DossierStatus.SUBMITTED
    assert sum("est signé et soumis" in page for page in pages) == 1
    assert all("est signé et soumis" in page or "déjà soumis" in page for page in pages), (
        "the other clicks are told it is submitted, never that it is incomplete"
    )

    assert Signature.select().where(Signature.dossier == dossier).count() == 1
    to_submitted = StatusChange.to_status == DossierStatus.SUBMITTED.value
    assert StatusChange.select().where(StatusChange.dossier == dossier, to_submitted).count() == 1
    emails = OutboxMessage.select().where(OutboxMessage.event == "submitted")
    assert [m.to_email for m in emails] == [person.login_email]
    assert dossier.reference.endswith("-000001")
    assert [c.last_number for c in ReferenceCounter.select()] == [1], "no number taken by a loser"
    audit = AuditEvent.select().where(AuditEvent.target_id == str(dossier.id))
    actions = [a.action for a in audit if a.target_type == "Dossier"]
    assert len(actions) == len(set(actions)), f"an audit row written twice: {actions}"
