"""The form-definitions editor (administrators): a new version starts from the latest YAML, is
checked at the line before anything is saved, previewed as applicants see it, then published."""

import pytest
from test_backoffice_views import V2, as_staff, token

from helpers import (
    csrf_from,
    login_person,
    make_company,
    make_definition,
    make_dossier,
    make_member,
    text,
)
from models import AuditEvent, Dossier, DossierStatus, ProcedureDefinition, StaffRole

ADMIN = StaffRole.ADMIN


def line_of(source, fragment):
    return next(n for n, line in enumerate(source.splitlines(), start=1) if fragment in line)


def test_new_version_page_starts_from_the_latest_yaml_with_the_next_number(app, client):
    make_definition()
    as_staff(client, ADMIN)
    page = client.get("/admin/definitions/new-version/enregistrement")
    assert page.status_code == 200
    assert "version: 2" in page.text and "reference_prefix: ENR" in page.text
    assert client.get("/admin/definitions/new-version/inconnue").status_code == 404


def test_invalid_yaml_is_not_saved_and_shown_at_its_line(app, client):
    make_definition()
    as_staff(client, ADMIN)
    url = "/admin/definitions/new-version/enregistrement"
    cases = [
        (V2.replace("type: text, label: Remarque", "type: texte, label: Remarque"), "type: texte"),
        (V2.replace("required: true\n", "required: true\n        colour: blue\n", 1), "- key: est"),
        (V2.replace("    title: Demande", "   title: Demande"), "   title: Demande"),
    ]
    messages = []
    for bad, fragment in cases:
        page = client.post(url, data={"csrf_token": token(client), "yaml_text": bad})
        assert page.status_code == 200
        shown = text(page)
        assert "Rien n'a été enregistré" in shown
        assert f"ligne {line_of(bad, fragment)} : " in shown
        assert bad in shown  # the text typed stays in the textarea
        messages.append(shown)
    assert "type de champ inconnu « texte »" in messages[0]
    assert "clé inconnue : colour" in messages[1]
    assert "YAML invalide" in messages[2]
    assert ProcedureDefinition.select().count() == 1
    assert not AuditEvent.select().where(AuditEvent.action == "definition.save").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("code: enregistrement", "code: autre-procedure"), "le code ne change pas"),
        (("reference_prefix: ENR", "reference_prefix: ENX"), "le préfixe des références"),
        (("version: 2", "version: 7"), "la nouvelle version porte le numéro 2"),
    ],
)
def test_code_prefix_and_version_must_follow(app, client, change, message):
    make_definition()
    as_staff(client, ADMIN)
    changed = V2.replace(*change)
    page = client.post(
        "/admin/definitions/new-version/enregistrement",
        data={"csrf_token": token(client), "yaml_text": changed},
    )
    shown = text(page)
    assert message in shown
    assert f"ligne {line_of(changed, change[1])} : " in shown
    assert ProcedureDefinition.select().count() == 1


def test_a_copy_of_the_latest_version_is_not_saved_again(app, client):
    as_staff(client, ADMIN)
    url = "/admin/definitions/new-version/enregistrement"
    make_definition()
    client.post(url, data={"csrf_token": token(client), "yaml_text": V2})
    assert ProcedureDefinition.select().count() == 2
    again = client.post(  # the editor page, back in the history, sent once more
        url, data={"csrf_token": token(client), "yaml_text": V2.replace("version: 2", "version: 3")}
    )
    assert "identique à la version 2" in text(again)
    assert ProcedureDefinition.select().count() == 2


def test_new_version_saved_unpublished_previewed_then_published(app, client):
    v1 = make_definition()
    company = make_company()
    person = make_member(company)
    existing = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    admin = as_staff(client, ADMIN)

    response = client.post(
        "/admin/definitions/new-version/enregistrement",
        data={"csrf_token": token(client), "yaml_text": V2.replace("\n", "\r\n")},
    )
    v2 = ProcedureDefinition.get(code="enregistrement", version=2)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/definitions/preview/{v2.id}")
    assert not v2.published and v2.published_at is None and "\r" not in v2.yaml_text
    assert ProcedureDefinition.latest_published("enregistrement").id == v1.id
    saved = AuditEvent.get(AuditEvent.action == "definition.save")
    assert saved.actor_staff_id == admin.id and saved.target_id == str(v2.id)

    preview = text(client.get(f"/admin/definitions/preview/{v2.id}"))
    for shown in (
        "Où l'agence est-elle établie ?",
        "Le siège d'exploitation.",
        "En Belgique",
        "Type : Choix unique",
        "Affiché si",
        "« Où l'agence est-elle établie ? » vaut « À l'étranger »",
        "Preuve d'autorisation",
        "Obligatoire car l'agence est établie à l'étranger.",
        "non publiée",
    ):
        assert shown in preview
    listing = client.get("/admin/definitions/").text
    assert f"/admin/definitions/preview/{v2.id}" in listing

    confirm = client.get(f"/admin/definitions/publish/{v2.id}")
    assert "nouveaux dossiers" in text(confirm)
    assert not ProcedureDefinition.get_by_id(v2.id).published
    client.post(f"/admin/definitions/publish/{v2.id}", data={"csrf_token": csrf_from(confirm.text)})
    v2 = ProcedureDefinition.get_by_id(v2.id)
    assert v2.published and v2.published_at is not None
    assert ProcedureDefinition.latest_published("enregistrement").id == v2.id
    assert Dossier.get_by_id(existing.id).definition_id == v1.id
    assert AuditEvent.get(AuditEvent.action == "definition.publish").target_id == str(v2.id)

    login_person(client, person, company)
    page = client.get("/dossiers/nouveau")
    client.post("/dossiers/nouveau/enregistrement", data={"csrf_token": csrf_from(page.text)})
    started = Dossier.select().order_by(Dossier.id.desc()).first()
    assert started.id != existing.id and started.definition_id == v2.id


def test_older_version_cannot_be_published_over_a_newer_one(app, client):
    make_definition()
    as_staff(client, ADMIN)
    url = "/admin/definitions/new-version/enregistrement"
    client.post(url, data={"csrf_token": token(client), "yaml_text": V2})
    v3_text = V2.replace("version: 2", "version: 3").replace("Remarque", "Remarque libre")
    client.post(url, data={"csrf_token": token(client), "yaml_text": v3_text})
    v2 = ProcedureDefinition.get(version=2)
    v3 = ProcedureDefinition.get(version=3)
    client.post(f"/admin/definitions/publish/{v3.id}", data={"csrf_token": token(client)})
    response = client.post(
        f"/admin/definitions/publish/{v2.id}",
        data={"csrf_token": token(client)},
        follow_redirects=True,
    )
    assert "plus récente est déjà publiée" in text(response)
    assert not ProcedureDefinition.get_by_id(v2.id).published
    listing = text(client.get("/admin/definitions/"))
    assert listing.count("oui — en vigueur") == 1 and listing.count("oui — remplacée") == 1


def test_shipped_definitions_preview(app, client):
    from procedures import sync_builtin

    rows = sync_builtin()
    assert rows
    as_staff(client, ADMIN)
    for row in rows:
        page = client.get(f"/admin/definitions/preview/{row.id}")
        assert page.status_code == 200
        assert row.title in text(page)
    approval = next(r for r in rows if r.code == "agrement-interim")
    shown = text(client.get(f"/admin/definitions/preview/{approval.id}"))
    assert "au moins 3 ans d'expérience" in shown, "the constant in the section's text"
    [condition] = [line for line in shown.splitlines() if "Doit être vrai" in line and "≥" in line]
    assert "≥ 3" in condition and "≥ 10" in condition and "_min" not in condition


# --- a new procedure, without a deploy --------------------------------------------------------

NEW = """\
code: declaration-sous-traitance
version: 1
title: Déclaration de sous-traitance
reference_prefix: DST
sections:
  - key: main
    title: Déclaration
    fields:
      - {key: partner, type: text, label: Sous-traitant, required: true}
"""


def test_a_new_procedure_is_written_checked_published_and_started(app, client):
    make_definition()
    company = make_company()
    person = make_member(company)
    admin = as_staff(client, ADMIN)
    listing = client.get("/admin/definitions/")
    assert 'href="/admin/definitions/new/' in listing.text
    starter = client.get("/admin/definitions/new/")
    assert starter.status_code == 200 and "Nouvelle procédure" in text(starter)
    assert "version: 1" in starter.text and "reference_prefix: NOUV" in starter.text

    response = client.post(
        "/admin/definitions/new/", data={"csrf_token": token(client), "yaml_text": NEW}
    )
    row = ProcedureDefinition.get(code="declaration-sous-traitance")
    assert response.headers["Location"].endswith(f"/admin/definitions/preview/{row.id}")
    assert row.version == 1 and not row.published and row.reference_prefix == "DST"
    created = AuditEvent.get(AuditEvent.action == "definition.create")
    assert created.actor_staff_id == admin.id and created.target_id == str(row.id)
    assert "Sous-traitant" in text(client.get(f"/admin/definitions/preview/{row.id}"))

    confirm = client.get(f"/admin/definitions/publish/{row.id}")
    client.post(
        f"/admin/definitions/publish/{row.id}", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert ProcedureDefinition.get_by_id(row.id).published

    login_person(client, person, company)
    page = client.get("/dossiers/nouveau")
    assert "Déclaration de sous-traitance" in text(page)
    client.post(
        "/dossiers/nouveau/declaration-sous-traitance", data={"csrf_token": csrf_from(page.text)}
    )
    started = Dossier.select().order_by(Dossier.id.desc()).first()
    assert started.definition_id == row.id


@pytest.mark.parametrize(
    ("change", "fragment", "message"),
    [
        (
            ("code: declaration-sous-traitance", "code: enregistrement"),
            "code: enregistrement",
            "la procédure « enregistrement » existe déjà",
        ),
        (
            ("reference_prefix: DST", "reference_prefix: ENR"),
            "reference_prefix: ENR",
            "le préfixe « ENR » est celui de la procédure « enregistrement »",
        ),
        (("version: 1", "version: 3"), "version: 3", "commence à la version 1"),
        (("type: text", "type: texte"), "type: texte", "type de champ inconnu « texte »"),
    ],
)
def test_a_new_procedure_is_refused_at_its_line(app, client, change, fragment, message):
    make_definition()
    as_staff(client, ADMIN)
    bad = NEW.replace(*change)
    page = client.post(
        "/admin/definitions/new/", data={"csrf_token": token(client), "yaml_text": bad}
    )
    assert page.status_code == 200
    shown = text(page)
    assert "Rien n'a été enregistré" in shown and message in shown
    assert f"ligne {line_of(bad, fragment)} : " in shown
    assert bad in shown, "the text typed stays"
    assert ProcedureDefinition.select().count() == 1
    assert not AuditEvent.select().where(AuditEvent.action == "definition.create").exists()


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.HELPDESK])
def test_only_administrators_create_procedures(app, client, role):
    as_staff(client, role)
    assert client.get("/admin/definitions/new/").status_code == 403
    response = client.post(
        "/admin/definitions/new/", data={"csrf_token": token(client), "yaml_text": NEW}
    )
    assert response.status_code == 403
    assert not ProcedureDefinition.select().exists()


def test_a_shipped_definition_changed_in_place_is_reported_and_not_applied(app, caplog):
    """Versions never change once saved: a shipped file whose version the database holds with
    another text leaves the database's, and says a change ships as a new version."""
    from procedures import builtin_files, parse_definition, sync_builtin

    path = next(p for p in builtin_files() if p.name == "enregistrement.yaml")
    shipped = parse_definition(path.read_text(encoding="utf-8"))
    held = ProcedureDefinition.create(
        code="enregistrement",
        version=shipped.version,
        title="Ancienne rédaction",
        reference_prefix="ENR",
        yaml_text="code: enregistrement\nversion: 9\n",
        published=True,
    )
    created = sync_builtin()
    assert "enregistrement" not in {row.code for row in created}
    assert ProcedureDefinition.get_by_id(held.id).title == "Ancienne rédaction"
    assert f"the shipped definition enregistrement version {shipped.version} differs" in caplog.text
