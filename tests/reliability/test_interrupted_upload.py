"""Uploads cut short and processes killed half-way leave no file behind that a row would name,
and what a crash leaves in storage is removed by the orphan cleanup — never a file younger than
its grace period (an upload in progress), never a file a row refers to (item 20)."""

import os
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from test_pdf_check import blank_pdf
from test_wizard import PREFILLED, install, post_section, start

import storage
from dossiers import annexes, orphans
from dossiers.documents import issue
from helpers import csrf_from, login_person, make_company, make_member
from models import Actor, Annex, Document, Dossier, Role

BOUNDARY = "----guichet-cut-upload"
HOUR = 3600


def stored_files(app):
    """Every file under STORAGE_DIR, temporaries included."""
    root = app.config["STORAGE_DIR"]
    return sorted(
        os.path.join(folder, name) for folder, _dirs, names in os.walk(root) for name in names
    )


def draft(client):
    install(PREFILLED)
    company = make_company(name="Coupure SA")
    person = make_member(company, Role.SIGN)
    login_person(client, person, company)
    d = start(client)
    post_section(
        client, d, "agence", {"established": "abroad", "country": "France", "fees": "false"}
    )
    return Dossier.get_by_id(d.id), person


def multipart(csrf, data):
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="requirement"\r\n\r\nproof\r\n',
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
        f'name="file"; filename="preuve.pdf"\r\nContent-Type: application/pdf\r\n\r\n',
    ]
    return "".join(parts).encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def raw_upload(app, client, finished, dossier, body, sent):
    """POST `sent`, the first bytes of the multipart `body`, announcing the whole body's
    length, on a socket of its own to the live server, then close the sending side; the
    server's status line, once the request is over (the event `finished`)."""
    finished.clear()
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    address = urlsplit(app.config["PUBLIC_BASE_URL"])
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(
            (
                f"POST /dossiers/{dossier.id}/annexes HTTP/1.1\r\n"
                f"Host: {address.netloc}\r\n"
                f"Cookie: {cookie.key}={cookie.value}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + sent
        )
        time.sleep(0.2)  # the server has read what was sent and waits for the rest
        conn.shutdown(socket.SHUT_WR)  # the browser closed, the network went
        answer = conn.recv(100).split(b"\r\n")[0].decode()
    assert finished.wait(10), "the server never finished the request"
    return answer


@pytest.mark.parametrize("cut", ["none", "half", "before-the-last-boundary"])
def test_an_upload_cut_half_way_leaves_no_annex_and_no_file(live_app, cut):
    finished = threading.Event()
    live_app.teardown_request(lambda _error: finished.set())
    client = live_app.test_client()  # its session cookie is the live server's
    dossier, _person = draft(client)
    page = client.get(f"/dossiers/{dossier.id}/annexes")
    body = multipart(csrf_from(page.text), blank_pdf(40))
    sent = {
        "none": body,  # the control: the same request, whole, is taken
        "half": body[: len(body) // 2],
        "before-the-last-boundary": body[: -len(f"--{BOUNDARY}--\r\n")],
    }[cut]
    answer = raw_upload(live_app, client, finished, dossier, body, sent)
    if cut == "none":
        assert answer.startswith("HTTP/1.1 302"), answer
        annex = Annex.get()
        with live_app.app_context():
            assert storage.get_storage().exists(annex.storage_key)
        assert len(stored_files(live_app)) == 1
        return
    assert answer.startswith("HTTP/1.1 400"), answer  # werkzeug: the client went away
    assert Annex.select().count() == 0
    assert stored_files(live_app) == [], "no file, not even a temporary one"


class Crash(BaseException):
    """The process dies: no `except Exception` clean-up runs, the transaction is lost."""


def age(app, key, hours):
    path = storage.get_storage().path(key)
    then = time.time() - hours * HOUR
    os.utime(path, (then, then))


def test_files_left_by_a_crash_are_removed_after_their_grace_period_only(
    app, ctx, client, monkeypatch
):
    dossier, person = draft(client)
    actor = Actor.applicant(person)
    kept = annexes.attach(actor, dossier, "proof", "preuve.pdf", blank_pdf(1))
    document = issue(dossier, Document.RECEIPT, blank_pdf(1))

    def crash(*_args):
        raise Crash

    monkeypatch.setattr(annexes, "refresh_status", crash)
    with pytest.raises(Crash):  # killed between storing the file and committing its row
        annexes.attach(actor, dossier, "record", "registre.pdf", blank_pdf(2))
    monkeypatch.undo()
    assert Annex.select().count() == 1, "the crashed upload's row was never written"
    referenced = {kept.storage_key, document.storage_key}
    [orphan] = {key for key, _mtime in storage.get_storage().listing()} - referenced

    # Just written (an upload between its storing and its commit looks the same): kept.
    result = orphans.remove_orphans()
    assert (result.orphans, result.kept_young) == (0, 1)
    assert storage.get_storage().exists(orphan)

    # Past the grace period: the orphan goes; the annex and the receipt, as old, stay.
    for key in (orphan, *referenced):
        age(app, key, app.config["ORPHAN_GRACE_HOURS"] + 1)
    root = app.config["STORAGE_DIR"]
    leftover = os.path.join(root, kept.storage_key[:2], kept.storage_key[2:4], ".tmp-cut")
    fresh_leftover = leftover + "-now"
    for path in (leftover, fresh_leftover):
        with open(path, "wb") as f:
            f.write(b"%PDF-1.7 half a file")
    then = time.time() - 25 * HOUR
    os.utime(leftover, (then, then))

    result = runner_cleanup(app)
    assert "1 orphan file(s) and 1 temporary file(s) removed" in result
    assert not storage.get_storage().exists(orphan)
    assert all(storage.get_storage().exists(key) for key in referenced)
    assert storage.read_verified(kept.storage_key, kept.sha256).startswith(b"%PDF-")
    assert not os.path.exists(leftover) and os.path.exists(fresh_leftover)
    periodic = {task.name for task in app.extensions["jobs"].huey._registry.periodic_tasks}
    assert "remove_orphans" in periodic


def runner_cleanup(app):
    result = app.test_cli_runner().invoke(args=["cleanup-orphans"])
    assert result.exit_code == 0, result.output
    return result.output
