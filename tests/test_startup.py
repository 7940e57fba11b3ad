"""Configuration, start-up faults and the health endpoint."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import config
from config import ConfigError, DevelopmentConfig, ProductionConfig
from conftest import PRODUCTION_ENV, UNREACHABLE_DATABASE, make_config
from run import create_app

ROOT = Path(__file__).resolve().parent.parent


def run_py(tmp_path, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SECRET_"))}
    full_env.update(GUICHET_INSTANCE_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "run.py"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key(monkeypatch, production_env):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        ProductionConfig()


def test_production_start_message_names_secret_key(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_py(tmp_path, GUICHET_ENV="production", **env)
    assert result.returncode == 1
    assert "SECRET_KEY is not set" in result.stderr


def test_unreachable_database_at_start_names_database_url(tmp_path):
    result = run_py(tmp_path, GUICHET_ENV="development", DATABASE_URL=UNREACHABLE_DATABASE)
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stderr
    assert "secret" not in result.stderr, "the password is redacted"


def checkout_files():
    """Every file of the checkout, outside .git and the caches."""
    skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
    found = set()
    for root, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skip]
        found.update(os.path.join(root, name) for name in names)
    return found


def test_building_a_config_writes_nothing(tmp_path, monkeypatch, production_env):
    """Every Config class only reads the environment: no instance folder, no secret, no seal,
    neither where GUICHET_INSTANCE_DIR points nor in the checkout."""
    before = checkout_files()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GUICHET_INSTANCE_DIR", str(tmp_path / "instance"))
    ProductionConfig()
    for name in ("SECRET_KEY", "SEAL_CERT_FILE", "SEAL_KEY_FILE", "OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    for instance in (str(tmp_path / "instance"), ""):  # "": the checkout's instance/
        monkeypatch.setenv("GUICHET_INSTANCE_DIR", instance)
        settings = DevelopmentConfig()
        assert settings.SECRET_KEY is None and settings.SEAL_CERT_FILE is None
        assert config.TestingConfig().SECRET_KEY
    assert list(tmp_path.iterdir()) == []
    assert checkout_files() == before


def test_create_app_makes_the_development_secrets_in_the_instance_folder(tmp_path, monkeypatch):
    """The secret key and the seal are made by create_app in its instance folder, once."""
    for name in ("SECRET_KEY", "SEAL_CERT_FILE", "SEAL_KEY_FILE", "OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GUICHET_INSTANCE_DIR", str(tmp_path))
    before = checkout_files()
    app = create_app(DevelopmentConfig())
    secret = app.config["SECRET_KEY"]
    assert len(secret) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert app.config["SEAL_CERT_FILE"] == str(tmp_path / "seal" / "cert.pem")
    assert app.config["OIDC_CLIENT_SECRET"], "the stand-in FAS and the portal share one"
    again = create_app(DevelopmentConfig())
    assert again.config["SECRET_KEY"] == secret
    assert again.config["SEAL_KEY_FILE"] == app.config["SEAL_KEY_FILE"]
    assert checkout_files() == before


def test_secure_cookies_in_production(monkeypatch, production_env):
    config = ProductionConfig()
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_NAME.startswith("__Host-")
    assert config.DEV_MAIL_PAGE is False
    assert config.FAS_STANDIN_ENABLED is False


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("FAS_STANDIN_ENABLED", "1", "stand-in identity provider"),
        ("OIDC_ISSUER", "", "OIDC_ISSUER is not set"),
    ],
)
def test_production_refuses_stand_ins(monkeypatch, production_env, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        ProductionConfig()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("REDIS_URL", "", "REDIS_URL is not set"),
        ("RATELIMIT_STORAGE_URI", "memory://", "RATELIMIT_STORAGE_URI=memory:// counts each"),
    ],
)
def test_production_keeps_queue_and_rate_limits_in_redis(
    monkeypatch, production_env, name, value, message
):
    """Several processes or nodes must share the queue and the counts: nothing in-process."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        ProductionConfig()


def test_production_with_s3_storage_needs_a_bucket(tmp_path, monkeypatch, production_env):
    monkeypatch.setenv("GUICHET_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.delenv("S3_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="STORAGE_BACKEND=s3 needs S3_BUCKET"):
        create_app(ProductionConfig())
    monkeypatch.setenv("S3_BUCKET", "guichet-annexes")
    monkeypatch.setenv("S3_ENDPOINT_URL", "https://s3.example:9000")
    app = create_app(ProductionConfig())
    backend = app.extensions["storage"]
    assert (backend.id, backend.bucket) == ("s3", "guichet-annexes")
    assert backend.client.meta.endpoint_url == "https://s3.example:9000"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"


def test_production_refuses_a_stand_in_backend_at_start(tmp_path, monkeypatch, production_env):
    """The `log` SMS gateway is registered as a stand-in: create_app refuses it in production."""
    monkeypatch.setenv("GUICHET_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("SMS_GATEWAY", "log")
    with pytest.raises(ConfigError, match=r"SMS_GATEWAY=log is a stand-in.*one of http"):
        create_app(ProductionConfig())


def test_production_start_message_names_the_stand_in_setting(tmp_path, production_env):
    """run.py reports the refusal in one line (the seal files come from `production_env`)."""
    env = {**PRODUCTION_ENV, "SMS_GATEWAY": "log"}
    result = run_py(tmp_path, GUICHET_ENV="production", **env)
    assert result.returncode == 1
    assert "SMS_GATEWAY=log is a stand-in" in result.stderr


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(tmp_path):
    app = create_app(make_config(tmp_path, UNREACHABLE_DATABASE))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert response.json["database"].startswith("unreachable")


def test_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_client_address_behind_the_reverse_proxy(tmp_path, database_url, hops, seen):
    """Rate limits and the audit log key on the client's address: with PROXY_FIX_HOPS the
    proxy's X-Forwarded-For is trusted, without it a forged header changes nothing."""
    from helpers import csrf_from
    from models import AuditEvent

    app = create_app(make_config(tmp_path, database_url, PROXY_FIX_HOPS=hops))
    client = app.test_client()
    page = client.get("/admin/login/")
    token = csrf_from(page.get_data(as_text=True))
    client.post(
        "/admin/login/",
        data={"email": "nobody@guichet.test", "password": "x", "csrf_token": token},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    with app.app_context():
        event = AuditEvent.get(AuditEvent.action == "staff.login_failed")
    assert event.ip_address == seen


def test_make_run_steps_on_an_empty_instance(tmp_path):
    """What `make run` does on a fresh machine: migrate then seed-demo, on a SQLite file that
    does not exist yet. Building the app must not read tables that are not there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SECRET_"))}
    env.update(GUICHET_INSTANCE_DIR=str(tmp_path), GUICHET_ENV="development")
    flask = [sys.executable, "-m", "flask", "--app", "run"]
    for command in (["migrate"], ["seed-demo"]):
        result = subprocess.run(
            flask + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "guichet.sqlite3").exists()
    assert "admin@guichet.test" in (tmp_path / "demo-logins.json").read_text()
