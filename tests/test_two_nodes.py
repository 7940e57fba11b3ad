"""Two app nodes and a worker, sharing nothing but PostgreSQL, Redis and an S3 store.

Two gunicorn processes (`gunicorn.conf.py`, each with an instance folder of its own and no
shared disk) and one `flask worker` run on a new PostgreSQL database, one Redis database and a
bucket of the moto S3 server, with mail to a real SMTP sink. A company member logs in through
the stand-in FAS on node A, fills the dossier, uploads two PDFs and signs it there; the worker
makes the receipt; an agent logs in (password and TOTP) on node B, receives the dossier there
and downloads the annexes and the receipt, byte for byte what was sent and what the store
holds; the Réception email reaches the sink. The company, its member, the agent and the
procedure are made in the test process with the test factories, on the same database; every
step a person takes goes over HTTP to a node.
"""

import hashlib
import os
import secrets

import pytest
from cluster import (
    Node,
    Processes,
    base_environment,
    forget_queue,
    healthy,
    migrate,
    new_database,
    wait_until,
)
from fas import MARIE, login_eid
from s3server import s3_server, s3_settings  # noqa: F401  (fixtures)
from test_pdf_check import blank_pdf
from test_wizard import PREFILLED, install

import models
from conftest import SEAL_FILES, make_config
from helpers import csrf_from, login_staff, make_company, make_member, make_person, make_staff
from models import Annex, Document, Dossier, DossierStatus, Role, StaffRole
from run import create_app
from smtp import SMTPServer, free_port
from storage.s3 import S3Storage

DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (DATABASE_URL and REDIS_URL), reason="needs TEST_DATABASE_URL and TEST_REDIS_URL"
    ),
]


@pytest.fixture
def cluster(tmp_path, s3_server):  # noqa: F811
    """(node A, node B, the SMTP sink, the S3 settings): both nodes and the worker running."""
    database_url = new_database(DATABASE_URL, "nodes")
    # A queue and rate-limit counts of their own, whatever else uses this Redis database.
    queue = f"guichet-nodes-{secrets.token_hex(4)}"
    smtp = SMTPServer().start()
    s3 = s3_server.settings(s3_server.new_bucket())
    ports = {"a": free_port(), "b": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    shared = {
        **base_environment(),
        **s3,
        "GUICHET_ENV": "development",
        "SECRET_KEY": "two-nodes-" + "k" * 40,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "HUEY_NAME": queue,
        "SEAL_CERT_FILE": SEAL_FILES[0],
        "SEAL_KEY_FILE": SEAL_FILES[1],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        # One public address, as behind the reverse proxy: the FAS callback comes back to A.
        "PUBLIC_BASE_URL": urls["a"],
        "FAS_STANDIN_ENABLED": "1",
        "WORKER_IN_PROCESS": "0",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
    }
    processes = Processes(tmp_path)

    def env(name):
        # Each process has an instance folder of its own: nothing a node needs is on its disk.
        instance = tmp_path / name
        return {**shared, "GUICHET_INSTANCE_DIR": str(instance), "STORAGE_DIR": str(instance)}

    migrate(env("migrate"))
    try:
        for name, port in ports.items():
            processes.node(f"node-{name}", port, env(f"node-{name}"))
        processes.worker("worker", env("worker"), "--workers", "2")
        for name, url in urls.items():
            wait_until(lambda url=url: healthy(url), f"node {name} not up", processes)
        # The factories of the test process write to the same database.
        app = create_app(make_config(tmp_path / "test", database_url))
        with app.app_context():
            yield Node(urls["a"]), Node(urls["b"]), smtp, s3, processes
    finally:
        processes.stop()
        smtp.stop()
        forget_queue(REDIS_URL, queue)
        if models.db.obj is not None:
            models.db.close()


def test_a_dossier_sent_through_one_node_is_received_through_the_other(cluster):
    node_a, node_b, smtp, s3, processes = cluster
    install(PREFILLED)
    company = make_company(name="Deux Nœuds SA")
    marie = make_person(national_number=MARIE, login_email="marie.dubois@interim-liege.test")
    make_member(company, Role.SIGN, person=marie)
    agent = make_staff(StaffRole.AGENT)

    # Node A: the company member logs in through the stand-in FAS and acts for the company.
    response = login_eid(node_a)
    assert response.status_code == 302, response.text[:500]
    response = node_a.form("/entreprises/", "/entreprises/choisir", company_id=str(company.id))
    assert response.status_code == 302, response.text[:500]

    response = node_a.form("/dossiers/nouveau", "/dossiers/nouveau/essai")
    assert response.status_code == 302, response.text[:500]
    dossier = Dossier.select().where(Dossier.company == company).get()
    for section, answers in {
        "agence": {"established": "abroad", "country": "France", "fees": "false"},
        "services": {"rows-count": "1", "rows-0-received": "3", "rows-0-placed": "1"},
    }.items():
        path = f"/dossiers/{dossier.id}/section/{section}"
        assert node_a.form(path, action="save", **answers).status_code == 302
    sent = {"proof": blank_pdf(1), "record": blank_pdf(3)}
    for requirement, pdf in sent.items():
        page = node_a.get(f"/dossiers/{dossier.id}/annexes")
        response = node_a.post(
            f"/dossiers/{dossier.id}/annexes",
            data={"csrf_token": csrf_from(page.text), "requirement": requirement},
            files={"file": (f"{requirement}.pdf", pdf, "application/pdf")},
        )
        assert response.status_code == 302, response.text[:500]
    response = node_a.form(f"/dossiers/{dossier.id}/signer", declaration="y")
    assert response.status_code == 302, response.text[:500]
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.SUBMITTED

    # The worker makes the sealed receipt and stores it in the bucket.
    receipt = wait_until(
        lambda: Document.get_or_none(
            Document.dossier == dossier.id, Document.kind == Document.RECEIPT
        ),
        "no receipt from the worker",
        processes,
    )
    annexes = {a.requirement: a for a in Annex.select().where(Annex.dossier == dossier.id)}
    assert {r: hashlib.sha256(pdf).hexdigest() for r, pdf in sent.items()} == {
        r: a.sha256 for r, a in annexes.items()
    }

    # Node B: an agent logs in, receives the dossier and downloads what was sent.
    response = login_staff(node_b, agent)
    assert response.status_code == 302, response.text[:500]
    response = node_b.form(
        f"/admin/dossiers/details/?id={dossier.id}",
        f"/admin/dossiers/transition/{dossier.id}",
        to="received",
        comment="",
    )
    assert response.status_code == 302, response.text[:500]
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.RECEIVED

    store = objects_of(s3)
    for requirement, pdf in sent.items():
        annex = annexes[requirement]
        response = node_b.get(f"/admin/dossiers/annex/{dossier.id}/{annex.id}")
        assert response.status_code == 200, response.text[:500]
        assert hashlib.sha256(response.content).digest() == hashlib.sha256(pdf).digest()
        assert store[annex.storage_key] == pdf
    response = node_b.get(f"/admin/dossiers/receipt/{dossier.id}")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert hashlib.sha256(response.content).hexdigest() == receipt.sha256
    assert store[receipt.storage_key] == response.content
    assert set(store) == {a.storage_key for a in annexes.values()} | {receipt.storage_key}

    # The worker sends the Réception email to the company's address.
    def received_email():
        return [
            m
            for m in smtp.messages
            if dossier_reference(dossier) in m["Subject"] and "réceptionné" in m["Subject"]
        ]

    [email] = wait_until(received_email, "no Réception email", processes)
    assert email["To"] == marie.login_email

    # gunicorn's access log names the paths without their query strings: the FAS callback's
    # code and state are not written to it.
    requests_logged = [
        line
        for line in (processes.folder / "node-a.log").read_text().splitlines()
        if '"GET /' in line or '"POST /' in line
    ]
    assert any('"GET /auth/callback HTTP/1.1" 302' in line for line in requests_logged)
    assert not [line for line in requests_logged if "?" in line or "code=" in line]

    # Nothing was written to a node's or the worker's own disk (the stand-in FAS, a development
    # tool refused in production, keeps its signing key there).
    for name in ("node-a", "node-b", "worker"):
        written = {p.name for p in (processes.folder / name).rglob("*")}
        assert written <= {"fas_standin_jwk.json"}, (name, written)


def dossier_reference(dossier):
    return Dossier.get_by_id(dossier.id).reference


def objects_of(s3):
    """Every object of the bucket, by key, read straight from the store."""
    store = S3Storage(s3)
    return {key: store.read(key) for key, _mtime in store.listing()}
