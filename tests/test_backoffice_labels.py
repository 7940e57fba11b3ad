"""Labels: made per procedure by supervisors and administrators at /admin/labels/ (a colour of
a palette whose pairs pass WCAG AA), set and removed by staff on a dossier of their procedure
(never of another), one by one or in bulk; a column and an indexed filter of the dossier list;
never shown to the company nor in the API."""

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from access import api_tokens
from backoffice.dossier_filters import LabelFilter
from dossiers import DossierRefused, documents, labels, processing
from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_definition,
    make_dossier,
    make_member,
    make_signed_dossier,
    make_staff,
    text,
)
from models import (
    Actor,
    AuditEvent,
    Dossier,
    DossierLabel,
    DossierStatus,
    Event,
    Label,
    OutboxMessage,
    StaffRole,
)

CSS = Path(__file__).resolve().parent.parent / "backoffice/static/backoffice/backoffice.css"


def as_staff(role):
    return Actor.staff_member(make_staff(role))


def make_label(name="Urgent", code="enregistrement", colour="red"):
    make_definition(code, prefix=code[:3].upper())
    return labels.create_label(as_staff(StaffRole.SUPERVISOR), code, name, colour)


def staff_in(client, role=StaffRole.AGENT):
    staff = make_staff(role)
    login_staff(client, staff)
    return staff


def detail_url(dossier):
    return f"/admin/dossiers/details/?id={dossier.id}"


def token_of(client, url="/admin/dossiers/"):
    return csrf_from(client.get(url).text)


def label_filter_arg(app):
    """The list's argument of the label filter (its place among the list's filters)."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_dossiers")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, LabelFilter))
    return f"flt0_{index}"


# --- the palette ------------------------------------------------------------------------------


def test_the_contrast_ratio_is_computed_as_wcag_says():
    assert labels.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert labels.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    assert labels.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("key", list(labels.COLOURS))
def test_every_colour_of_the_palette_passes_aa_and_the_css_uses_it(key):
    _name, background, colour = labels.COLOURS[key]
    assert labels.contrast_ratio(background, colour) >= labels.AA_CONTRAST
    rule = re.search(rf"\.label-{key} \{{([^}}]*)\}}", CSS.read_text())
    assert rule, f"backoffice.css has no .label-{key}"
    assert f"background: {background};" in rule[1] and f"color: {colour};" in rule[1]


# --- managing labels --------------------------------------------------------------------------


def create_page(client):
    return client.get("/admin/labels/new/?url=/admin/labels/")


def post_label(client, with_token=True, **fields):
    data = dict(fields)
    if with_token:
        data["csrf_token"] = csrf_from(create_page(client).text)
    return client.post("/admin/labels/new/?url=/admin/labels/", data=data)


@pytest.mark.parametrize("role", [StaffRole.SUPERVISOR, StaffRole.ADMIN])
def test_a_supervisor_or_an_administrator_makes_a_label(app, client, role):
    make_definition("enregistrement")
    staff_in(client, role)
    page = text(create_page(client))
    assert "Nouvelle étiquette" in page and "Turquoise" in page
    response = post_label(
        client, procedure_code="enregistrement", name=" À vérifier ", colour="teal"
    )
    assert response.status_code == 302
    label = Label.get()
    assert (label.procedure_code, label.name, label.colour) == (
        "enregistrement",
        "À vérifier",
        "teal",
    )
    event = AuditEvent.get(AuditEvent.action == "label.create")
    assert event.details["name"] == "À vérifier"
    listing = client.get("/admin/labels/").text
    assert "À vérifier" in listing and 'class="bo-label label-teal"' in listing


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.HELPDESK])
def test_an_agent_or_the_helpdesk_cannot_manage_labels(app, client, role):
    label = make_label()
    staff_in(client, role)
    assert client.get("/admin/labels/").status_code == 403
    assert create_page(client).status_code == 403
    assert client.get(f"/admin/labels/edit/?id={label.id}").status_code == 403
    with pytest.raises(DossierRefused, match="Seul un superviseur ou un administrateur"):
        labels.create_label(as_staff(role), "enregistrement", "Autre", "blue")
    with pytest.raises(DossierRefused):
        labels.delete_label(as_staff(role), label)
    assert Label.select().count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "  ", "colour": "blue"}, "Donnez un nom à l'étiquette."),
        ({"name": "x" * 51, "colour": "blue"}, "50 caractères au plus."),
        ({"name": "Bleu", "colour": "fuchsia"}, "Choisissez une couleur de la liste."),
        ({"name": "Urgent", "colour": "blue"}, "Cette procédure a déjà une étiquette « Urgent »."),
        (
            {"name": "Neuf", "colour": "blue", "procedure_code": "inconnue"},
            "Choisissez une procédure de la liste.",
        ),
    ],
)
def test_a_wrong_label_is_refused_on_its_field_with_what_was_typed(app, client, fields, message):
    make_label("Urgent")
    staff_in(client, StaffRole.SUPERVISOR)
    response = post_label(client, **{"procedure_code": "enregistrement", **fields})
    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert 'aria-invalid="true"' in response.text or 'id="colour-error"' in response.text
    if fields["name"].strip():
        assert f'value="{fields["name"]}"' in page
    assert Label.select().count() == 1


def test_the_same_name_in_another_procedure_is_another_label(ctx):
    make_label("Urgent", "enregistrement")
    make_label("Urgent", "rapport-activites")
    assert Label.select().count() == 2


def test_a_label_is_renamed_recoloured_and_deleted_from_its_dossiers(app, client):
    label = make_label("Urgent")
    dossier = make_dossier(DossierStatus.RECEIVED, definition=make_definition())
    labels.set_label(as_staff(StaffRole.AGENT), dossier, label)
    staff_in(client, StaffRole.SUPERVISOR)
    url = f"/admin/labels/edit/?id={label.id}&url=/admin/labels/"
    page = client.get(url)
    assert 'name="procedure_code"' not in page.text, "a label stays with its procedure"
    response = client.post(
        url, data={"name": "Prioritaire", "colour": "orange", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 302
    label = Label.get_by_id(label.id)
    assert (label.name, label.colour, label.procedure_code) == (
        "Prioritaire",
        "orange",
        "enregistrement",
    )
    assert AuditEvent.get(AuditEvent.action == "label.update").details["before"] == [
        "Urgent",
        "red",
    ]
    deleted = client.post(
        "/admin/labels/delete/",
        data={
            "id": label.id,
            "url": "/admin/labels/",
            "csrf_token": csrf_from(client.get(url).text),
        },
    )
    assert deleted.status_code == 302
    assert Label.select().count() == 0 and DossierLabel.select().count() == 0
    assert AuditEvent.get(AuditEvent.action == "label.delete").details["dossiers"] == 1


def test_every_label_form_needs_its_csrf_token(app, client):
    label = make_label("Urgent")
    staff_in(client, StaffRole.SUPERVISOR)
    post_label(
        client, with_token=False, procedure_code="enregistrement", name="Neuf", colour="blue"
    )
    url = f"/admin/labels/edit/?id={label.id}&url=/admin/labels/"
    client.post(url, data={"name": "Changé", "colour": "blue"})
    client.post("/admin/labels/delete/", data={"id": label.id, "url": "/admin/labels/"})
    assert [(lb.name, lb.colour) for lb in Label.select()] == [("Urgent", "red")]


# --- on dossiers ------------------------------------------------------------------------------


def test_an_agent_sets_and_removes_a_label_on_the_dossier_page(app, client):
    label = make_label("Urgent")
    make_label("Incomplet", colour="yellow")
    dossier = make_dossier(DossierStatus.RECEIVED, definition=make_definition())
    staff_in(client)
    page = text(client.get(detail_url(dossier)))
    assert "Aucune étiquette." in page and "Poser l'étiquette" in page
    response = client.post(
        f"/admin/dossiers/label/{dossier.id}",
        data={"label": label.id, "csrf_token": token_of(client, detail_url(dossier))},
    )
    assert response.status_code == 302
    page = text(client.get(detail_url(dossier)))
    assert "Retirer « Urgent »" in page and '<span class="bo-label label-red">Urgent</span>' in page
    assert AuditEvent.get(AuditEvent.action == "dossier.label_set").target_id == str(dossier.id)
    removed = client.post(
        f"/admin/dossiers/label/{dossier.id}/remove/{label.id}",
        data={"csrf_token": token_of(client, detail_url(dossier))},
    )
    assert removed.status_code == 302
    assert DossierLabel.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.action == "dossier.label_removed").exists()


def test_a_label_of_another_procedure_is_refused(app, client):
    other = make_label("Rapport en retard", code="rapport-activites")
    dossier = make_dossier(DossierStatus.RECEIVED, definition=make_definition())
    with pytest.raises(DossierRefused, match="celle d'une autre procédure"):
        labels.set_label(as_staff(StaffRole.AGENT), dossier, other)
    staff_in(client)
    page = client.get(detail_url(dossier)).text
    assert "Rapport en retard" not in page, "only its procedure's labels are offered"
    response = client.post(
        f"/admin/dossiers/label/{dossier.id}",
        data={"label": other.id, "csrf_token": csrf_from(page)},
        follow_redirects=True,
    )
    assert "L'étiquette « Rapport en retard » est celle d'une autre procédure" in text(response)
    assert DossierLabel.select().count() == 0


def test_the_dossier_label_forms_need_their_csrf_token(app, client):
    label = make_label()
    dossier = make_dossier(DossierStatus.RECEIVED, definition=make_definition())
    staff_in(client)
    assert (
        client.post(f"/admin/dossiers/label/{dossier.id}", data={"label": label.id}).status_code
        == 400
    )
    labels.set_label(as_staff(StaffRole.AGENT), dossier, label)
    assert client.post(f"/admin/dossiers/label/{dossier.id}/remove/{label.id}").status_code == 400
    assert DossierLabel.select().count() == 1


def test_labels_in_bulk_each_dossier_by_itself_with_its_result(app, client):
    label = make_label("Urgent")
    mine = [make_dossier(DossierStatus.SUBMITTED, definition=make_definition()) for _ in range(2)]
    other = make_dossier(
        DossierStatus.RECEIVED, definition=make_definition("rapport-activites", "RAP")
    )
    staff_in(client)
    token = token_of(client)
    form = client.post(
        "/admin/dossiers/action/",
        data={"action": "label_set", "rowid": [d.id for d in [*mine, other]], "csrf_token": token},
    )
    assert form.status_code == 200 and "Poser une étiquette" in text(form)
    assert "Procédure enregistrement — Urgent" in text(form)
    done = client.post(
        "/admin/dossiers/bulk/label_set",
        data={"rowid": [d.id for d in [*mine, other]], "label": label.id, "csrf_token": token},
        follow_redirects=True,
    )
    page = text(done)
    assert "est celle d'une autre procédure" in page
    on = {row.dossier_id for row in DossierLabel.select()}
    assert on == {d.id for d in mine}
    bulk = AuditEvent.get(AuditEvent.action == "dossier.bulk")
    assert sorted(error is None for _id, error in bulk.details["results"]) == [False, True, True]

    removed = client.post(
        "/admin/dossiers/bulk/label_remove",
        data={"rowid": [mine[0].id], "label": label.id, "csrf_token": token},
        follow_redirects=True,
    )
    assert removed.status_code == 200
    assert {row.dossier_id for row in DossierLabel.select()} == {mine[1].id}
    no_token = client.post(
        "/admin/dossiers/bulk/label_remove", data={"rowid": [mine[1].id], "label": label.id}
    )
    assert no_token.status_code == 400 and DossierLabel.select().count() == 1


def test_the_list_shows_the_labels_and_filters_by_one(app, client):
    urgent, late = make_label("Urgent"), make_label("En retard", colour="orange")
    tagged, plain = (
        make_dossier(DossierStatus.SUBMITTED, definition=make_definition()) for _ in range(2)
    )
    agent = as_staff(StaffRole.AGENT)
    labels.set_label(agent, tagged, urgent)
    labels.set_label(agent, tagged, late)
    staff_in(client)
    listing = client.get("/admin/dossiers/").text
    assert "Étiquettes" in listing
    tags = '<span class="bo-label label-orange">En retard</span> <span class="bo-label label-red">'
    assert tags + "Urgent</span>" in listing, "the row's labels, by name, in their colours"
    arg = label_filter_arg(app)
    filtered = client.get(f"/admin/dossiers/?{arg}={urgent.id}").text
    assert tagged.reference in filtered and plain.reference not in filtered
    assert "Proc\\u00e9dure enregistrement \\u2014 Urgent" in filtered, "the filter's options"
    assert plain.reference not in client.get(f"/admin/dossiers/?{arg}=abc").text


def test_the_label_filter_is_an_in_on_the_label_dossier_index(ctx):
    query = LabelFilter(Dossier.id, "Étiquette").apply(Dossier.select(Dossier.id), 7)
    sql, params = query.sql()
    assert 'IN (SELECT "t1"."dossier_id" FROM "dossier_label"' in sql.replace("t2", "t1")
    assert "JOIN" not in sql and params == [7]
    assert (("label", "dossier"), True) in DossierLabel._meta.indexes


def test_the_company_never_sees_a_label_nor_gets_it_in_its_documents_emails_or_the_api(
    app, client, ctx
):
    label = make_label("Entreprise douteuse")
    company = make_company()
    person = make_member(company)
    dossier = make_signed_dossier(DossierStatus.PROCESSING, company=company, person=person)
    agent = as_staff(StaffRole.AGENT)
    labels.set_label(agent, dossier, label)
    processing.close(agent, dossier, "granted", "Conditions remplies.")
    for document in (documents.produce_receipt(dossier.id), documents.produce_letter(dossier.id)):
        data = documents.read(document)
        pdf = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert dossier.reference in pdf and "douteuse" not in pdf
    for email in OutboxMessage.select():
        assert "douteuse" not in f"{email.context} {email.subject} {email.body_text}"
    assert all("douteuse" not in str(event.data) for event in Event.select())

    login_person(client, person, company)
    page = text(client.get(f"/dossiers/{dossier.id}"))
    assert dossier.reference in page and label.name not in page
    assert label.name not in text(client.get("/dossiers/"))
    _token, secret = api_tokens.create(Actor.system(), "archives", "read", [])
    headers = {"Authorization": f"Bearer {secret}"}
    answer = client.get(f"/api/v1/dossiers/{dossier.id}", headers=headers)
    assert answer.status_code == 200 and label.name not in answer.text
    assert label.name not in client.get("/api/v1/dossiers", headers=headers).text


def test_a_label_name_is_text_on_every_page(app, client):
    label = make_label("<b>Gras</b>")
    dossier = make_dossier(DossierStatus.RECEIVED, definition=make_definition())
    labels.set_label(as_staff(StaffRole.AGENT), dossier, label)
    staff_in(client, StaffRole.SUPERVISOR)
    for url in ("/admin/labels/", "/admin/dossiers/", detail_url(dossier)):
        page = client.get(url).text
        assert "&lt;b&gt;Gras&lt;/b&gt;" in page and "<b>Gras</b>" not in page, url


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Labels", "New label", "Colour", "Teal"]),
        ("de", ["Etiketten", "Neues Etikett", "Farbe", "Türkis"]),
    ],
)
def test_the_label_pages_are_translated(app, client, language, words):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    make_definition()
    staff_in(client, StaffRole.SUPERVISOR)
    page = text(client.get(f"/admin/labels/new/?url=/admin/labels/&lang={language}"))
    for word in words:
        assert word in page, word
    dossier = make_dossier(DossierStatus.RECEIVED, definition=make_definition())
    detail = text(client.get(f"{detail_url(dossier)}&lang={language}"))
    assert {"en": "No labels.", "de": "Keine Etiketten."}[language] in detail
