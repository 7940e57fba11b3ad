"""The `s3` backend against a real S3-compatible server (moto's server mode, tests/s3server.py):
the behaviour tests of the local backend, the object layout and its SHA-256, and the app's own
flows with STORAGE_BACKEND=s3 — annexes, the receipt, a backup restored into another bucket."""

import base64
import hashlib
import json

import pytest
from s3server import s3_server, s3_settings  # noqa: F401  (fixtures)
from test_annexes import dossier, upload  # noqa: F401  (a fixture)
from test_backup import instance, smtp, snapshot, stored_keys  # noqa: F401  (fixtures)
from test_pdf_check import blank_pdf
from test_storage import (  # noqa: F401  (the backend-independent tests, run here on S3)
    CONTENT,
    test_an_open_file_is_stored_whole_in_chunks,
    test_keys_are_random_and_unrelated_to_content,
    test_malformed_keys_are_refused,
    test_round_trip,
)
from test_submission import sign

import models
import storage
from backups import MANIFEST
from config import ConfigError
from conftest import make_config
from models import Annex, Document
from run import create_app
from storage import Altered, get_storage, sha256_of
from storage.s3 import S3Storage


@pytest.fixture
def store(s3_settings):  # noqa: F811
    return S3Storage(s3_settings)


@pytest.fixture
def app(app, s3_settings):  # noqa: F811
    """The test app, storing into a bucket of its own."""
    app.config.update(s3_settings)
    storage.init_app(app)
    return app


def objects(store):
    listed = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(entry["Key"] for entry in listed.get("Contents", ()))


def test_layout_and_recorded_sha256(store):
    key = store.put(CONTENT)
    assert objects(store) == [f"{key[:2]}/{key[2:4]}/{key}"]
    head = store.client.head_object(Bucket=store.bucket, Key=store.object_name(key))
    assert head["Metadata"] == {"sha256": sha256_of(CONTENT)}


def test_each_put_carries_the_sha256_the_store_checks(store):
    """The SHA-256 goes with the PUT (`x-amz-checksum-sha256`), so that AWS S3, MinIO or Ceph
    refuse bytes changed on the way. (moto keeps the header without checking it: what is
    verified here is what we send; reading back is checked by `read_verified`.)"""
    sent = []

    def capture(request, **_kwargs):
        body = request.body if isinstance(request.body, bytes) else request.body.getvalue()
        headers = {k.lower(): v for k, v in request.headers.items()}
        sent.append((request.method, headers, body))

    store.client.meta.events.register("before-send.s3.PutObject", capture)
    store.put(CONTENT)
    [(method, headers, body)] = sent
    assert method == "PUT" and body == CONTENT
    digest = base64.b64encode(hashlib.sha256(CONTENT).digest())
    assert headers["x-amz-checksum-sha256"] in (digest, digest.decode())
    assert headers["x-amz-meta-sha256"] in (sha256_of(CONTENT), sha256_of(CONTENT).encode())


def test_put_as_replaces_and_listing_names_only_our_keys(store):
    key = store.put(b"first")
    store.put_as(key, CONTENT)
    assert store.read(key) == CONTENT
    other = store.put(CONTENT)
    # What else a bucket may hold is not listed (nor removed by the orphan cleanup).
    store.client.put_object(Bucket=store.bucket, Key="notes.txt", Body=b"x")
    store.client.put_object(Bucket=store.bucket, Key=f"zz/zz/{key}", Body=b"x")
    store.client.put_object(Bucket=store.bucket, Key=key, Body=b"x")
    listed = dict(store.listing())
    assert set(listed) == {key, other}
    assert all(isinstance(mtime, float) for mtime in listed.values())
    assert store.sweep_temporaries(before=1e12) == 0, "a PUT leaves no temporary object"


def test_a_prefix_keeps_the_instance_apart(s3_settings):  # noqa: F811
    plain = S3Storage(s3_settings)
    prefixed = S3Storage({**s3_settings, "S3_PREFIX": "guichet/"})
    key = prefixed.put(CONTENT)
    assert objects(plain) == [f"guichet/{key[:2]}/{key[2:4]}/{key}"]
    assert dict(prefixed.listing()).keys() == {key}
    assert list(plain.listing()) == []
    assert not plain.exists(key) and prefixed.exists(key)


def test_a_missing_bucket_is_an_error_not_an_empty_store(s3_settings):  # noqa: F811
    store = S3Storage({**s3_settings, "S3_BUCKET": "no-such-bucket"})
    with pytest.raises(Exception, match="NoSuchBucket"):
        list(store.listing())
    with pytest.raises(Exception, match="NoSuchBucket"):
        store.put(CONTENT)


def test_s3_needs_a_bucket():
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        S3Storage({"STORAGE_BACKEND": "s3"})


def test_altered_object_is_never_served(app, ctx):
    stored = storage.store(CONTENT)
    backend = get_storage()
    assert isinstance(backend, S3Storage)
    assert storage.read_verified(stored.key, stored.sha256) == CONTENT
    backend.client.put_object(
        Bucket=backend.bucket, Key=backend.object_name(stored.key), Body=CONTENT + b"x"
    )
    with pytest.raises(Altered):
        storage.read_verified(stored.key, stored.sha256)


def test_annexes_and_receipt_live_in_the_bucket(app, client, dossier):  # noqa: F811
    pdfs = {"proof": blank_pdf(1), "record": blank_pdf(2)}
    for requirement, pdf in pdfs.items():
        assert upload(client, dossier, requirement, pdf).status_code == 302
    assert sign(client, dossier).status_code == 302
    backend = S3Storage(app.config)
    with app.app_context():
        annexes = {a.requirement: a for a in Annex.select().where(Annex.dossier == dossier.id)}
        [receipt] = Document.select().where(Document.dossier == dossier.id)
    assert {a.storage_key for a in annexes.values()} | {receipt.storage_key} == {
        key for key, _ in backend.listing()
    }
    for requirement, pdf in pdfs.items():
        annex = annexes[requirement]
        assert backend.read(annex.storage_key) == pdf
        response = client.get(f"/dossiers/{dossier.id}/annexes/{annex.id}")
        assert response.status_code == 200 and response.data == pdf
    response = client.get(f"/dossiers/{dossier.id}/documents/accuse-de-reception")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert hashlib.sha256(response.data).hexdigest() == receipt.sha256
    assert backend.read(receipt.storage_key) == response.data


def test_backup_and_restore_between_buckets(app, instance, s3_server, database_url, tmp_path):  # noqa: F811
    from test_backup import other_database

    backup_dir = tmp_path / "backup"
    result = app.test_cli_runner().invoke(args=["backup", str(backup_dir)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((backup_dir / MANIFEST).read_text())
    assert {f["key"] for f in manifest["files"]} == stored_keys(app)

    url = other_database(database_url, tmp_path)
    models.db.close()
    target = s3_server.settings(s3_server.new_bucket())
    restored = create_app(make_config(tmp_path / "restored", url, **target))
    result = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert result.exit_code == 0, result.output
    assert snapshot(restored) == instance
    assert stored_keys(restored) == {f["key"] for f in manifest["files"]}
    assert objects(S3Storage(restored.config)), "the files are in the new bucket"
    models.db.close()
