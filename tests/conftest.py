"""Fixtures: the app on a real SQLite file and, when TEST_DATABASE_URL is set, on PostgreSQL.

Every test that takes `app` (directly or through `client`) runs once per database backend.
The schema is built by the real migrations once per session and backend; each test then starts
from empty tables (a fresh copy of the SQLite file, or TRUNCATE on PostgreSQL); under
pytest-xdist each worker has a PostgreSQL database of its own. The app serves no port: `live_app`
and the browser tests' `live_server` do, for what must cross real HTTP.
"""

import contextvars
import os
import shutil
from urllib.parse import urlsplit

import jinja2
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from live import LiveServer, serve_in_process
from werkzeug.routing import Rule

import auth
import database
import helpers
import models
from config import TestingConfig
from run import create_app


class SharedBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the whole session: each test builds its own app,
    and would otherwise compile every template again (Jinja checks each source's checksum)."""

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": SharedBytecodeCache()}

_compile_builder = Rule._compile_builder
_builders = {}


def shared_url_builder(rule, append_unknown=True):
    """Werkzeug generates and compiles Python code to build each route's URLs: ~1,300 routes,
    most of each test's app set-up. The code depends only on the rule's parsed form, so each
    is compiled once for the session and shared by the apps of every test."""
    defaults = tuple(
        (name, rule._converters[name].to_url(value) if name in rule._converters else repr(value))
        for name, value in sorted((rule.defaults or {}).items())
    )
    key = (rule.rule, tuple(rule._trace), defaults, append_unknown)
    if key not in _builders:
        _builders[key] = _compile_builder(rule, append_unknown)
    return _builders[key]


Rule._compile_builder = shared_url_builder

# Argon2 at its production cost takes a quarter of a second of CPU per staff login, most of the
# back-office tests' time; what they check is that the password is verified, not its cost.
auth.password_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


SEAL_FILES = []  # (cert, key) of the session's development seal


# A complete production environment whose outside services are unreachable: each test of the
# production checks removes or changes the one setting it is about.
UNREACHABLE_DATABASE = "postgresql://guichet:secret@127.0.0.1:1/guichet"
PRODUCTION_ENV = {
    "OIDC_ISSUER": "https://idp.example/fas",
    "OIDC_CLIENT_ID": "guichet",
    "OIDC_CLIENT_SECRET": "s3cret-from-the-vault",
    "SMS_GATEWAY": "http",
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": UNREACHABLE_DATABASE,
    "REDIS_URL": "redis://127.0.0.1:1/0",
}


@pytest.fixture
def production_env(monkeypatch):
    """The environment of PRODUCTION_ENV with the session's seal files, and no development
    switch (stand-in FAS, mail page); the monkeypatch, to change it further."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SEAL_CERT_FILE", SEAL_FILES[0])
    monkeypatch.setenv("SEAL_KEY_FILE", SEAL_FILES[1])
    for name in ("FAS_STANDIN_ENABLED", "DEV_MAIL_PAGE", "SEAL_KEY_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="session", autouse=True)
def session_seal(tmp_path_factory):
    """One self-signed seal for every test app: an RSA-3072 key takes a moment to make."""
    from documents.seal import development_seal_files

    SEAL_FILES[:] = development_seal_files(tmp_path_factory.mktemp("seal"))


def make_config(tmp_path, database_url, **overrides):
    config = TestingConfig()
    config.INSTANCE_DIR = str(tmp_path / "instance")
    config.SEAL_CERT_FILE, config.SEAL_KEY_FILE = SEAL_FILES
    config.DATABASE_URL = database_url
    config.HUEY_IMMEDIATE = True
    config.STORAGE_DIR = str(tmp_path / "storage")
    config.HUEY_SQLITE_PATH = str(tmp_path / "huey.sqlite3")
    for key, value in overrides.items():
        setattr(config, key, value)
    if "PUBLIC_BASE_URL" in overrides and "OIDC_ISSUER" not in overrides:
        config.OIDC_ISSUER = overrides["PUBLIC_BASE_URL"] + "/fas"
    return config


def migrate(url):
    models.db.initialize(database.open_database(url))
    with models.db.connection_context():
        database.apply_migrations()
    models.db.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "guichet.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


def worker_database(url):
    """Under pytest-xdist, the worker's own database beside TEST_DATABASE_URL's on the same
    server (guichet_test_gw0, ...), created on first use; otherwise `url` itself."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parts = urlsplit(url)
    own = parts._replace(path=f"{parts.path}_{worker}").geturl()
    database.create_if_missing(own)
    return own


@pytest.fixture(scope="session")
def postgres_schema():
    """Drop and rebuild the test database's schema with the migrations, once."""
    url = worker_database(POSTGRES_URL)
    db = database.open_database(url)
    db.connect()
    db.execute_sql("DROP SCHEMA public CASCADE")
    db.execute_sql("CREATE SCHEMA public")
    db.close()
    migrate(url)
    return url


def truncate_all(url):
    db = database.open_database(url)
    tables = ", ".join(f'"{m._meta.table_name}"' for m in models.ALL_MODELS)
    with db.connection_context():
        db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "guichet.sqlite3"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema")
    truncate_all(url)
    return url


# The Flask test client's own host, so that the URLs the app builds from its config and from
# the request agree.
BASE_URL = "http://localhost"


@pytest.fixture
def app(tmp_path, database_url, monkeypatch):
    """The app on no port: its own HTTP calls to the stand-in FAS (the OIDC token, userinfo and
    keys) are handed to it in-process (see `live.serve_in_process`)."""
    app = create_app(make_config(tmp_path, database_url, PUBLIC_BASE_URL=BASE_URL))
    app.test_client_class = FreshContextClient
    serve_in_process(monkeypatch, app)
    helpers.TEST_APPS.append(app)
    yield app
    helpers.TEST_APPS.remove(app)
    database.close_all()


@pytest.fixture
def live_app(tmp_path, database_url):
    """The app also served on a free loopback port, for a test whose calls must cross real
    HTTP; the port is at `app.config["PUBLIC_BASE_URL"]`."""
    server = LiveServer()
    app = create_app(make_config(tmp_path, database_url, PUBLIC_BASE_URL=server.url))
    app.test_client_class = FreshContextClient
    server.attach(app).start()
    helpers.TEST_APPS.append(app)
    yield app
    helpers.TEST_APPS.remove(app)
    server.stop()
    database.close_all()


@pytest.fixture
def ctx(app):
    """An application context for tests that call app-level code directly. Requests made
    meanwhile by the test client get a fresh context of their own (see `client`)."""
    with app.app_context() as context:
        yield context


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (and `g`), as in production, even when the test
    itself holds one (the `ctx` fixture): Flask would otherwise reuse the test's context."""

    def open(self, *args, **kwargs):
        def run():
            _cv_app.set(None)
            response = FlaskClient.open(self, *args, **kwargs)
            response.make_sequence()  # a streamed body is read while its context exists
            return response

        return contextvars.copy_context().run(run)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
