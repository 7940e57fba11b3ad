"""ASVS 14.1 / 14.3: the development pages (`/dev/mail`, the stand-in FAS) exist only when their
flag is on, which the production config refuses; `/dev/mail`, which shows every email, answers
only a browser on this machine — its TCP peer, not an address a header claims."""

import re

import pytest

from config import ConfigError, ProductionConfig
from conftest import make_config
from models import OutboxMessage
from run import create_app

OUTSIDE = "203.0.113.7"


@pytest.fixture
def message(ctx):
    return OutboxMessage.create(
        event="dossier_received",
        message_id=OutboxMessage.new_message_id(),
        to_email="secret-person@example.test",
        subject="Votre dossier",
        body_text="Code de validation : 918273",
        body_html="<p>Code de validation : 918273</p>",
    )


def concrete(rule):
    """A URL of the rule, every argument given a value."""
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)


def development_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith(("dev.", "fas."))]


def test_with_the_flags_off_no_development_page_exists(app, tmp_path, database_url):
    rules = development_rules(app)
    assert {"dev.mail_index", "fas.discovery", "fas.token"} <= {r.endpoint for r in rules}
    off = create_app(
        make_config(tmp_path / "off", database_url, DEV_MAIL_PAGE=False, FAS_STANDIN_ENABLED=False)
    )
    assert development_rules(off) == []
    client = off.test_client()
    for rule in rules:
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
        response = client.open(concrete(rule), method=method)
        assert response.status_code == 404, (rule.rule, method, response.status_code)


def test_production_refuses_the_dev_mail_page(monkeypatch, production_env):
    assert ProductionConfig().DEV_MAIL_PAGE is False
    monkeypatch.setenv("DEV_MAIL_PAGE", "1")
    with pytest.raises(ConfigError, match="DEV_MAIL_PAGE is set: /dev/mail shows every email"):
        ProductionConfig()


def test_production_refuses_the_stand_in_fas(monkeypatch, production_env):
    monkeypatch.setenv("FAS_STANDIN_ENABLED", "1")
    with pytest.raises(ConfigError, match="FAS_STANDIN_ENABLED is set"):
        ProductionConfig()


def test_the_flag_is_read_from_the_environment(monkeypatch):
    from config import DevelopmentConfig

    monkeypatch.setenv("DEV_MAIL_PAGE", "0")
    assert DevelopmentConfig().DEV_MAIL_PAGE is False
    monkeypatch.setenv("DEV_MAIL_PAGE", "1")
    assert DevelopmentConfig().DEV_MAIL_PAGE is True


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.2", "::1"])
def test_the_dev_mail_page_answers_this_machine(client, message, peer):
    environ = {"REMOTE_ADDR": peer}
    page = client.get("/dev/mail", environ_base=environ)
    assert page.status_code == 200 and "secret-person@example.test" in page.text
    detail = client.get(f"/dev/mail/{message.id}", environ_base=environ)
    assert detail.status_code == 200 and "918273" in detail.text


@pytest.mark.parametrize("peer", [OUTSIDE, "10.0.0.5", "2001:db8::1", "::ffff:203.0.113.7", ""])
def test_the_dev_mail_page_is_a_404_for_anyone_else(client, message, peer):
    environ = {"REMOTE_ADDR": peer}
    for url in ("/dev/mail", f"/dev/mail/{message.id}"):
        response = client.get(url, environ_base=environ)
        assert response.status_code == 404, url
        assert "secret-person" not in response.text and "918273" not in response.text


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Real-IP", "Forwarded"])
def test_a_request_through_a_proxy_on_this_machine_is_a_404(client, message, header):
    """A reverse proxy on this machine connects from loopback on behalf of someone else."""
    value = f"for={OUTSIDE}" if header == "Forwarded" else OUTSIDE
    response = client.get(
        "/dev/mail", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={header: value}
    )
    assert response.status_code == 404


def test_behind_proxy_fix_a_forged_loopback_address_is_a_404(tmp_path, database_url):
    """With PROXY_FIX_HOPS, `remote_addr` is what X-Forwarded-For says; the peer is checked."""
    app = create_app(make_config(tmp_path, database_url, PROXY_FIX_HOPS=1))
    client = app.test_client()
    forged = client.get(
        "/dev/mail", environ_base={"REMOTE_ADDR": OUTSIDE}, headers={"X-Forwarded-For": "127.0.0.1"}
    )
    assert forged.status_code == 404
    assert client.get("/dev/mail", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
