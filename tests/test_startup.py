"""Configuration, start-up faults and the health endpoint."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, DevelopmentConfig, ProductionConfig
from conftest import make_config
from run import create_app

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = "postgresql://guichet:secret@127.0.0.1:1/guichet"


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


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        ProductionConfig()


def test_production_start_message_names_secret_key(tmp_path):
    result = run_py(tmp_path, GUICHET_ENV="production", DATABASE_URL=UNREACHABLE)
    assert result.returncode == 1
    assert "SECRET_KEY is not set" in result.stderr


def test_unreachable_database_at_start_names_database_url(tmp_path):
    result = run_py(tmp_path, GUICHET_ENV="development", DATABASE_URL=UNREACHABLE)
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stderr
    assert "secret" not in result.stderr, "the password is redacted"


def test_development_generates_and_keeps_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("GUICHET_INSTANCE_DIR", str(tmp_path))
    first = DevelopmentConfig().SECRET_KEY
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first == DevelopmentConfig().SECRET_KEY


def test_secure_cookies_in_production(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    config = ProductionConfig()
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_NAME.startswith("__Host-")
    assert config.DEV_LOGIN is False and config.DEV_MAIL_PAGE is False


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(tmp_path):
    app = create_app(make_config(tmp_path, UNREACHABLE))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert response.json["database"].startswith("unreachable")


def test_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
