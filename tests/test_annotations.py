"""Private annotations: declared under `annotations:` in the procedure YAML (checked with their
line like the form's fields), filled by staff who process dossiers on the back-office dossier
page (CSRF, each type's own check with its message in the staff's language, what was typed
kept), audited with the keys changed and never a value; never shown to the company (its pages,
receipt, letter, emails), nor in the API's answer or the events."""

import io

import pytest
from pypdf import PdfReader

from access import api_tokens
from dossiers import DossierRefused, annotations, documents
from helpers import (
    MINIMAL_DEFINITION,
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
    DossierAnnotation,
    DossierStatus,
    Event,
    OutboxMessage,
    ProcedureDefinition,
    StaffRole,
)
from procedures.definition import DefinitionError, parse_definition

ANNOTATIONS = """\
annotations:
  - key: opinion
    type: choice
    label: Avis de l'inspection
    options:
      - {value: favourable, label: Favorable}
      - {value: unfavourable, label: Défavorable}
  - {key: visit_date, type: date, label: Date de visite}
  - {key: visits, type: integer, label: Nombre de visites, min: 0, max: 10}
  - {key: inspector, type: text, label: Inspecteur, max_length: 20}
"""
SECRET = "Inspecteur Zorglub"


def annotated_definition(code="enregistrement"):
    text = MINIMAL_DEFINITION.format(code=code, version=1, prefix="ENR") + ANNOTATIONS
    return ProcedureDefinition.create(
        code=code, version=1, title=code, reference_prefix="ENR", yaml_text=text, published=True
    )


@pytest.fixture
def dossier(app):
    return make_dossier(DossierStatus.RECEIVED, definition=annotated_definition())


@pytest.fixture
def agent(app, client):
    staff = make_staff(StaffRole.AGENT)
    login_staff(client, staff)
    return staff


def detail_url(dossier):
    return f"/admin/dossiers/details/?id={dossier.id}"


def post(client, dossier, values, with_token=True, lang=None):
    data = {f"annotation-{k}": v for k, v in values.items()}
    if with_token:
        data["csrf_token"] = csrf_from(client.get(detail_url(dossier)).text)
    query = f"?lang={lang}" if lang else ""
    return client.post(f"/admin/dossiers/annotations/{dossier.id}{query}", data=data)


def stored(dossier):
    return {
        r.key: r.value_text
        for r in DossierAnnotation.select().where(DossierAnnotation.dossier == dossier)
    }


# --- the definition check --------------------------------------------------------------------


def problems_of(text):
    with pytest.raises(DefinitionError) as info:
        parse_definition(text)
    return info.value.problems


BASE = MINIMAL_DEFINITION.format(code="essai", version=1, prefix="ESS") + ANNOTATIONS


def test_annotations_are_read_from_the_definition():
    d = parse_definition(BASE)
    assert [(a.key, a.type) for a in d.annotations] == [
        ("opinion", "choice"),
        ("visit_date", "date"),
        ("visits", "integer"),
        ("inspector", "text"),
    ]
    assert "opinion" not in d.fields_by_key  # not a field of the company's form


@pytest.mark.parametrize(
    ("old", "new", "message", "path"),
    [
        ("type: date", "type: address", "type d'annotation impossible « address »", "type"),
        ("type: date", "type: datum", "type d'annotation impossible « datum »", "type"),
        ("key: visits", "key: visit_date", "annotation « visit_date » déjà définie", "key"),
        ("max_length: 20", "max_length: 2000", "au plus 500 caractères", "max_length"),
        ("max: 10", "visible_if: true", "« visible_if » ne s'emploie pas", "visible_if"),
    ],
)
def test_a_bad_annotation_is_refused_with_its_path_and_line(old, new, message, path):
    text = BASE.replace(old, new, 1)
    [problem] = problems_of(text)
    assert message in problem.message
    assert problem.path.startswith("annotations[") and problem.path.endswith(path)
    line = max(n for n, t in enumerate(text.splitlines(), 1) if new in t)  # the one changed
    assert problem.line == line


def test_a_choice_annotation_needs_options():
    text = BASE.replace(
        "    options:\n      - {value: favourable, label: Favorable}\n"
        "      - {value: unfavourable, label: Défavorable}\n",
        "",
    )
    [problem] = problems_of(text)
    assert "besoin de « options »" in problem.message and problem.path == "annotations[0]"


def test_the_shipped_approval_procedure_declares_its_annotations():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "procedures/definitions/agrement-interim.yaml"
    d = parse_definition(path.read_text(encoding="utf-8"), "de")
    keys = {a.key: a for a in d.annotations}
    assert keys["inspection_opinion"].type == "choice"
    assert keys["visit_date"].type == "date"
    assert keys["inspection_opinion"].label == "Stellungnahme der Inspektion"


# --- filled on the dossier page ---------------------------------------------------------------


def test_the_shipped_approval_dossier_page_offers_its_annotations(agent, client):
    from procedures import sync_builtin

    shipped = next(d for d in sync_builtin() if d.code == "agrement-interim")
    dossier = make_dossier(DossierStatus.RECEIVED, definition=shipped)
    page = text(client.get(detail_url(dossier)))
    assert "Avis de l'inspection" in page and "Favorable avec réserves" in page
    post(client, dossier, {"inspection_opinion": "reserved", "visit_date": "2026-12-01"})
    assert stored(dossier) == {"inspection_opinion": "reserved", "visit_date": "2026-12-01"}


def test_an_agent_fills_the_annotations_and_the_audit_names_only_the_keys(agent, client, dossier):
    page = text(client.get(detail_url(dossier)))
    assert "Annotations privées" in page and "Date de visite" in page
    response = post(
        client,
        dossier,
        {"opinion": "favourable", "visit_date": "2026-11-30", "visits": "2", "inspector": SECRET},
    )
    assert response.status_code == 302
    assert stored(dossier) == {
        "opinion": "favourable",
        "visit_date": "2026-11-30",
        "visits": "2",
        "inspector": SECRET,
    }
    page = text(client.get(detail_url(dossier)))
    assert "Annotations privées enregistrées." in page and f'value="{SECRET}"' in page
    assert 'value="2026-11-30"' in page
    audit = AuditEvent.get(AuditEvent.action == "dossier.annotations_changed")
    assert audit.details["keys"] == ["inspector", "opinion", "visit_date", "visits"]
    assert SECRET not in str(audit.details) and "favourable" not in str(audit.details)

    post(client, dossier, {"opinion": "unfavourable", "visit_date": "2026-11-30", "visits": "2"})
    assert stored(dossier) == {"opinion": "unfavourable", "visit_date": "2026-11-30", "visits": "2"}
    last = AuditEvent.select().order_by(AuditEvent.id.desc()).get()
    assert last.details["keys"] == ["inspector", "opinion"]


@pytest.mark.parametrize(
    ("values", "wrong", "message"),
    [
        ({"visit_date": "30/02/2026"}, "visit_date", "Not a valid date value."),
        ({"visits": "deux"}, "visits", "Not a valid integer value."),
        ({"visits": "11"}, "visits", "Number must be between 0 and 10."),
        ({"opinion": "excellent"}, "opinion", "Not a valid choice."),
        ({"inspector": "x" * 21}, "inspector", "Field cannot be longer than 20 characters."),
    ],
)
def test_a_bad_value_is_refused_with_its_message_and_what_was_typed_kept(
    agent, client, dossier, values, wrong, message
):
    typed = {"inspector": "Dupont", **values}
    response = post(client, dossier, typed, lang="en")
    page = text(response)
    assert response.status_code == 200 and message in page
    assert stored(dossier) == {}  # refused as a whole: nothing written
    if wrong != "opinion":
        assert f'value="{typed[wrong]}"' in page
    if wrong != "inspector":
        assert 'value="Dupont"' in page


def test_a_bad_value_is_told_in_german(app, agent, client, dossier):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    client.get(f"{detail_url(dossier)}&lang=de")
    page = text(post(client, dossier, {"visit_date": "demain"}))
    assert "Kein gültiges Datum." in page and 'value="demain"' in page


def test_the_annotation_form_needs_its_csrf_token(agent, client, dossier):
    assert post(client, dossier, {"inspector": "X"}, with_token=False).status_code == 400
    assert stored(dossier) == {}


@pytest.mark.parametrize("role", [StaffRole.HELPDESK, StaffRole.ADMIN])
def test_staff_of_other_roles_neither_read_nor_write_annotations(app, client, dossier, role):
    annotations.save_annotations(
        Actor.staff_member(make_staff(StaffRole.AGENT)), dossier, {"annotation-inspector": SECRET}
    )
    login_staff(client, make_staff(role))
    assert client.get(detail_url(dossier)).status_code == 403
    with pytest.raises(DossierRefused):
        annotations.annotations_of(Actor.staff_member(make_staff(role)), dossier)
    with pytest.raises(DossierRefused):
        annotations.save_annotations(
            Actor.staff_member(make_staff(role)), dossier, {"annotation-inspector": "Non"}
        )
    assert stored(dossier) == {"inspector": SECRET}


def test_a_procedure_without_annotations_shows_no_annotation_form(agent, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    assert "Annotations privées" not in text(client.get(detail_url(dossier)))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Private annotations", "Save the annotations"]),
        ("de", ["Private Anmerkungen", "Anmerkungen speichern"]),
    ],
)
def test_the_annotations_section_is_translated(app, client, dossier, language, words):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    login_staff(client, make_staff(StaffRole.AGENT))
    page = text(client.get(f"{detail_url(dossier)}&lang={language}"))
    for word in words:
        assert word in page, word


# --- never on the company's side ---------------------------------------------------------------


def test_the_company_never_sees_an_annotation_nor_gets_it_in_documents_emails_or_the_api(
    app, client, ctx
):
    company = make_company()
    person = make_member(company)
    dossier = make_signed_dossier(DossierStatus.PROCESSING, company=company, person=person)
    row = dossier.definition
    row.yaml_text = row.yaml_text + ANNOTATIONS
    row.save()
    agent = make_staff(StaffRole.AGENT)
    annotations.save_annotations(
        Actor.staff_member(agent),
        dossier,
        {"annotation-inspector": SECRET, "annotation-opinion": "unfavourable"},
    )
    assert stored(dossier)["inspector"] == SECRET
    from dossiers import processing

    processing.close(Actor.staff_member(agent), dossier, "granted", "Conditions remplies.")
    for document in (documents.produce_receipt(dossier.id), documents.produce_letter(dossier.id)):
        data = documents.read(document)
        pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert dossier.reference in pdf_text
        assert "Zorglub" not in pdf_text and "Défavorable" not in pdf_text
    for email in OutboxMessage.select():
        content = f"{email.context} {email.subject} {email.body_text} {email.body_html}"
        assert "Zorglub" not in content and "unfavourable" not in content
    for event in Event.select():
        assert "Zorglub" not in str(event.data) and "annotation" not in str(event.data)

    login_person(client, person, company)
    page = text(client.get(f"/dossiers/{dossier.id}"))
    assert dossier.reference in page
    assert "Zorglub" not in page and "Annotations privées" not in page

    _token, secret = api_tokens.create(Actor.system(), "archives", "read", [])
    answer = client.get(
        f"/api/v1/dossiers/{dossier.id}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200 and dossier.reference in answer.text
    assert "Zorglub" not in answer.text and "annotation" not in answer.text


def test_the_annotations_go_when_a_dossier_is_anonymised(ctx):
    from dossiers import retention

    dossier = make_dossier(DossierStatus.CLOSED, definition=annotated_definition())
    annotations.save_annotations(
        Actor.staff_member(make_staff(StaffRole.AGENT)), dossier, {"annotation-inspector": SECRET}
    )
    assert retention.anonymise(dossier, retention.kept_until(dossier))
    assert DossierAnnotation.select().count() == 0


# --- the list's column and filter, the export ------------------------------------------------


def annotation_filter_arg(app):
    from backoffice.dossier_filters import AnnotationFilter

    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_dossiers")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, AnnotationFilter))
    return f"flt0_{index}"


@pytest.fixture
def annotated(app):
    """Three dossiers of a procedure with annotations: favourable (visited on 30 November),
    unfavourable, and one not annotated yet."""
    definition = annotated_definition()
    agent = Actor.staff_member(make_staff(StaffRole.AGENT))
    good, bad, plain = (make_dossier(DossierStatus.RECEIVED, definition=definition) for _ in "abc")
    annotations.save_annotations(
        agent,
        good,
        {"annotation-opinion": "favourable", "annotation-visit_date": "2026-11-30"},
    )
    annotations.save_annotations(agent, bad, {"annotation-opinion": "unfavourable"})
    return good, bad, plain


def test_the_list_shows_the_annotations_and_filters_on_one(app, client, agent, annotated):
    good, bad, plain = annotated
    page = text(client.get("/admin/dossiers/"))
    assert "Annotations privées" in page
    assert "Avis de l'inspection : Favorable ; Date de visite : 30/11/2026" in page
    assert "Avis de l'inspection : Défavorable" in page
    arg = annotation_filter_arg(app)
    filtered = text(client.get(f"/admin/dossiers/?{arg}=opinion=favourable"))
    assert good.reference in filtered
    assert bad.reference not in filtered and plain.reference not in filtered
    assert "opinion=favourable" in filtered and "opinion=unfavourable" in filtered, "options"
    by_date = text(client.get(f"/admin/dossiers/?{arg}=visit_date=2026-11-30"))
    assert good.reference in by_date and bad.reference not in by_date


def test_the_filter_reads_the_key_value_index(app, annotated):
    """The filter's subquery is answered from the (key, value_text, dossier) index alone: the
    planner of either database, with sequential scans discouraged as at a million rows."""
    from models import db

    sql, params = annotations.bearing("opinion=favourable").sql()
    if "sqlite" in type(db.obj).__name__.lower():
        rows = db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        plan = " ".join(str(row[-1]) for row in rows)
        assert "COVERING INDEX dossier_annotation_key_value_text_dossier_id" in plan, plan
    else:
        with db.atomic():
            db.execute_sql("SET LOCAL enable_seqscan = off")
            rows = db.execute_sql(f"EXPLAIN {sql}", params).fetchall()
        plan = " ".join(row[0] for row in rows)
        assert "dossier_annotation_key_value_text_dossier_id" in plan, plan


def test_the_export_holds_the_annotations(app, client, agent, annotated):
    import csv

    good, bad, plain = annotated
    app.config["EXPORT_BATCH_SIZE"] = 2  # two batches: each reads its own annotations
    page = client.get("/admin/dossiers/")
    response = client.post(
        "/admin/dossiers/export-background/csv/", data={"csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 302
    from models import Export

    export = Export.select().order_by(Export.id.desc()).get()
    assert export.status == "ready", export.error
    data = client.get(f"/admin/exports/download/{export.id}").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0][-1] == "Annotations privées"
    cells = {row[0]: row[-1] for row in rows[1:]}
    assert cells[good.reference] == (
        "Avis de l'inspection : Favorable ; Date de visite : 30/11/2026"
    )
    assert cells[bad.reference] == "Avis de l'inspection : Défavorable"
    assert cells[plain.reference] == ""


# --- one column per annotation, on the list filtered on one procedure ---------------------------


def procedure_filter_arg(app):
    from backoffice.dossier_filters import BY_PROCEDURE

    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_dossiers")
    return f"flt0_{view._filters.index(BY_PROCEDURE)}"


def header_cells(html):
    import re

    head = html[html.index("<thead") : html.index("</thead>")]
    return [text_of(cell) for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


def row_cells(html, reference):
    import re

    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S) if reference in r)
    return [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def text_of(fragment):
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


COLUMNS = ["Avis de l'inspection", "Date de visite", "Nombre de visites", "Inspecteur"]


def test_the_list_filtered_on_one_procedure_has_a_column_per_annotation(
    app, client, agent, annotated, monkeypatch
):
    from models import db

    good, bad, plain = annotated
    other = make_dossier(DossierStatus.RECEIVED, definition=make_definition("autre", "AUT"))
    unfiltered = client.get("/admin/dossiers/").text
    assert "Annotations privées" in header_cells(unfiltered)
    assert not set(COLUMNS) & set(header_cells(unfiltered))

    read = []
    execute_sql = db.obj.execute_sql
    monkeypatch.setattr(
        db.obj,
        "execute_sql",
        lambda sql, *a, **k: (
            (read.append(sql) if "dossier_annotation" in sql else None) or execute_sql(sql, *a, **k)
        ),
    )
    page = client.get(f"/admin/dossiers/?{procedure_filter_arg(app)}=enregistrement").text
    monkeypatch.undo()
    assert len(read) == 1, read  # the page's annotations in one query, as unfiltered
    header = header_cells(page)
    assert header[-4:] == COLUMNS and "Annotations privées" not in header
    assert row_cells(page, good.reference)[-4:] == ["Favorable", "30/11/2026", "", ""]
    assert row_cells(page, bad.reference)[-4:] == ["Défavorable", "", "", ""]
    assert row_cells(page, plain.reference)[-4:] == ["", "", "", ""]
    assert other.reference not in page

    arg = procedure_filter_arg(app)
    # two different procedures (nothing shown) or another one: no annotation column of these
    for query in (f"{arg}=enregistrement&flt1_{arg[5:]}=autre", f"{arg}=autre"):
        assert not set(COLUMNS) & set(header_cells(client.get(f"/admin/dossiers/?{query}").text))


def test_the_columns_are_those_of_every_published_version(app, annotated):
    text = MINIMAL_DEFINITION.format(code="enregistrement", version=2, prefix="ENR") + (
        "annotations:\n  - {key: inspector, type: text, label: Inspecteur principal}\n"
        "  - {key: urgent, type: yesno, label: Urgent}\n"
    )
    ProcedureDefinition.create(
        code="enregistrement",
        version=2,
        title="enregistrement",
        reference_prefix="ENR",
        yaml_text=text,
        published=True,
    )
    with app.test_request_context():
        fields = annotations.fields_of_procedure("enregistrement")
    assert fields == [
        ("inspector", "Inspecteur principal"),
        ("urgent", "Urgent"),
        ("opinion", "Avis de l'inspection"),
        ("visit_date", "Date de visite"),
        ("visits", "Nombre de visites"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_of_the_filtered_list_has_a_column_per_annotation(
    app, client, agent, annotated, fmt
):
    import csv

    import openpyxl

    from models import Export

    good, bad, plain = annotated
    make_dossier(DossierStatus.RECEIVED, definition=make_definition("autre", "AUT"))
    app.config["EXPORT_BATCH_SIZE"] = 2
    listed = f"/admin/dossiers/?{procedure_filter_arg(app)}=enregistrement"
    page = client.get(listed)
    response = client.post(
        f"/admin/dossiers/export-background/{fmt}/?{listed.split('?')[1]}",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302
    export = Export.select().order_by(Export.id.desc()).get()
    assert export.status == "ready", export.error
    data = client.get(f"/admin/exports/download/{export.id}").data
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        rows = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
    assert rows[0][-4:] == COLUMNS and "Annotations privées" not in rows[0]
    cells = {row[0]: row[-4:] for row in rows[1:]}
    assert cells == {
        good.reference: ["Favorable", "30/11/2026", "", ""],
        bad.reference: ["Défavorable", "", "", ""],
        plain.reference: ["", "", "", ""],
    }
