"""Secrets kept sealed in the database (`sealed`): a staff member's TOTP secret is never in
clear in its column, a copy of the database with another key opens nothing, SECRET_KEY rotates
with SECRET_KEY_FALLBACKS and `flask staff reseal-secrets`, and migration 032 seals the
secrets of a database that kept them in clear."""

import pyotp
import pytest

import config
import database
import models
import sealed
from access import staff as access_staff
from helpers import (
    STAFF_PASSWORD,
    csrf_from,
    login_staff,
    make_dossier,
    make_staff,
    text,
    totp_code,
    totp_of,
)
from models import (
    Actor,
    AuditEvent,
    Dossier,
    DossierStatus,
    StaffGroup,
    StaffGroupMember,
    StaffRole,
    StaffUser,
    WebhookSubscription,
)
from webhooks import keys, subscriptions

OLD_KEY, NEW_KEY = "old-key-" + "o" * 40, "new-key-" + "n" * 40


def subscribe(name):
    """A webhook subscription made by an administrator: (subscription, its secret)."""
    admin = make_staff(StaffRole.ADMIN)
    return subscriptions.create(
        Actor.staff_member(admin), name, "https://archive.example.be/hooks", [], [], admin
    )


def column(staff):
    """The TOTP column of `staff` as the database holds it (what a dump shows)."""
    return StaffUser.select(StaffUser.totp_secret).where(StaffUser.id == staff.id).scalar()


def test_an_enrolment_keeps_the_secret_sealed(app, client):
    staff = make_staff()
    login_staff(client, staff)  # enrols through the pages
    secret = totp_of(staff)
    assert len(secret) == 32 and secret.isalnum()
    stored = column(staff)
    assert stored.startswith(sealed.SEALED_PREFIX) and secret not in stored
    app.config["SECRET_KEY"] = "a copy of the database with another key"
    with pytest.raises(sealed.SealBroken, match="SECRET_KEY_FALLBACKS"):
        totp_of(staff)


def test_a_rotated_key_opens_the_old_secrets_then_reseals_them(app, ctx, client, runner):
    app.config["SECRET_KEY"] = OLD_KEY
    staff = make_staff(totp_secret=pyotp.random_base32())
    secret = totp_of(staff)
    subscription, hook_secret = subscribe("archives")
    app.config.update(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])
    assert totp_of(staff) == secret, "the fallback opens what the old key sealed"
    before = column(staff)

    result = runner.invoke(args=["staff", "reseal-secrets"])
    assert result.exit_code == 0, result.output
    assert "1 TOTP secret(s), 1 webhook secret(s)" in result.output
    assert column(staff) != before
    app.config["SECRET_KEY_FALLBACKS"] = []  # the old key gone: all opens under the new one
    assert totp_of(staff) == secret
    row = WebhookSubscription.get_by_id(subscription.id)
    assert keys.unseal(row.secret_sealed) == hook_secret
    [event] = AuditEvent.select().where(AuditEvent.action == "staff.totp_resealed")
    assert event.details == {"resealed": 1, "unopened": 0, "via": "cli"}
    assert AuditEvent.select().where(AuditEvent.action == "webhook.secrets_resealed").exists()
    # and the staff member logs in with the same authenticator
    page = client.get("/admin/login/")
    client.post(
        "/admin/login/",
        data={"email": staff.email, "password": STAFF_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    page = client.get("/admin/login/code/")
    done = client.post(
        "/admin/login/code/",
        data={"code": totp_code(staff, secret), "csrf_token": csrf_from(page.text)},
    )
    assert done.headers["Location"].endswith("/admin/")


def test_reseal_names_the_secrets_no_key_opens(app, ctx, runner):
    app.config["SECRET_KEY"] = OLD_KEY
    lost = make_staff(email="lost@guichet.test", totp_secret=pyotp.random_base32())
    hook, _secret = subscribe("archives")
    app.config["SECRET_KEY"] = NEW_KEY  # the old key not kept
    kept = make_staff(totp_secret=pyotp.random_base32())
    unchanged = column(lost)

    result = runner.invoke(args=["staff", "reseal-secrets"])
    assert result.exit_code == 1
    assert "1 TOTP secret(s), 0 webhook secret(s)" in result.output
    assert "flask staff reset-totp lost@guichet.test" in result.output
    assert f"webhook {hook.name}: rotate it" in result.output
    assert column(lost) == unchanged, "what no key opens is left as it was"
    assert totp_of(kept)


def test_fallback_keys_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f" {OLD_KEY}, second-old-key ,")
    assert config.TestingConfig().SECRET_KEY_FALLBACKS == [OLD_KEY, "second-old-key"]
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert config.TestingConfig().SECRET_KEY_FALLBACKS == []


def test_upgrade_seals_the_secrets_kept_in_clear(ctx, tmp_path):
    """A database at 031 with an enrolled staff member, upgraded within the app: 032 seals the
    secret; its rollback writes it in clear again."""
    secret = pyotp.random_base32()
    previous = models.db.obj
    models.db.initialize(database.open_database(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        with models.db.connection_context():
            router = database.router()
            router.run("031_running_deadlines")
            staff = make_staff(email="a@guichet.test")
            StaffUser.update(totp_secret=secret).where(StaffUser.id == staff.id).execute()
            # rows that follow the staff row: a change of its table must leave them be
            dossier = make_dossier(DossierStatus.SUBMITTED)
            Dossier.update(assigned_to=staff).where(Dossier.id == dossier.id).execute()
            group = StaffGroup.create(name="Liège", code="liege")
            StaffGroupMember.create(group=group, staff=staff)
            AuditEvent.record("staff.login", Actor.staff_member(staff), target=staff)
            database.apply_migrations()
            staff = StaffUser.get_by_id(staff.id)
            assert Dossier.get_by_id(dossier.id).assigned_to_id == staff.id
            assert StaffGroupMember.select().where(StaffGroupMember.staff == staff).count() == 1
            assert AuditEvent.get(AuditEvent.action == "staff.login").actor_staff_id == staff.id
            assert column(staff).startswith(sealed.SEALED_PREFIX)
            assert access_staff.totp_secret_of(staff) == secret
            while router.done[-1] != "032_sealed_totp_secrets":
                router.rollback()  # the later migrations first
            router.rollback()
            assert router.done[-1] == "031_running_deadlines"
            assert column(staff) == secret
    finally:
        models.db.initialize(previous)


def test_a_secret_no_key_opens_refuses_the_login_with_a_message(app, client, caplog):
    app.config["SECRET_KEY"] = OLD_KEY
    staff = make_staff(totp_secret=pyotp.random_base32())
    app.config["SECRET_KEY"] = NEW_KEY  # the old key lost: no fallback
    page = client.get("/admin/login/")
    sent = client.post(
        "/admin/login/",
        data={"email": staff.email, "password": STAFF_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    code_page = client.get(sent.headers["Location"])
    assert code_page.status_code == 302 and code_page.headers["Location"].endswith("/admin/login/")
    shown = text(client.get("/admin/login/"))
    assert "demandez à un administrateur de la réinitialiser" in shown
    assert f"the TOTP secret of staff {staff.id} opens under no key" in caplog.text
