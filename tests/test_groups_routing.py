"""Groups of agents and routing (issue 15, part 1): the groups page for supervisors and
administrators, the routing of a dossier at its submission by the rules of its procedure (by
procedure, answer or province of the company's registered address, else the default group),
the refusal of a rule on an unknown field with its line, moves with a reason (an agent only to
his groups), the list's "Mes groupes" and "Groupe", and the pages in English and German."""

import logging

import pytest
from peewee import SqliteDatabase

import demo
from dossiers import DossierRefused, groups, submission
from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import (
    Actor,
    AuditEvent,
    Dossier,
    DossierStatus,
    Export,
    GroupChange,
    ProcedureDefinition,
    StaffGroup,
    StaffRole,
    db,
)
from procedures.definition import DefinitionError, parse_definition
from procedures.provinces import province_of_address, province_of_postcode

ROUTED = """\
code: routage
version: 1
title: Procédure orientée
reference_prefix: ROU
sections:
  - key: main
    title: Demande
    fields:
      - key: activity
        type: choice
        label: Activité
        options:
          - {value: interim, label: Intérim}
          - {value: placement, label: Placement}
      - key: services
        type: multichoice
        label: Services
        options:
          - {value: outplacement, label: Outplacement}
          - {value: artists, label: Artistes}
          - {value: job_search, label: Recherche d'emploi}
routing:
  - group: interim
    field: activity
    equals: interim
  - group: liège
    province: Liège
  - group: Outplacement et artistes
    field: services
    in: [outplacement, artists]
  - group: nowhere
    field: activity
    equals: placement
"""

WHOLE_PROCEDURE = """\
code: toute-namur
version: 1
title: Procédure entière
reference_prefix: TOU
sections:
  - key: main
    title: Demande
    fields:
      - {key: note, type: text, label: Remarque}
routing:
  - group: namur
"""


def definition(yaml_text):
    parsed = parse_definition(yaml_text)
    return ProcedureDefinition.create(
        code=parsed.code,
        version=parsed.version,
        title=parsed.title,
        reference_prefix=parsed.reference_prefix,
        yaml_text=yaml_text,
        published=True,
    )


def group(name, code, members=(), default=False):
    return groups.save_group(Actor.system(), None, name, code, [m.id for m in members], default)


@pytest.fixture
def setting(ctx):
    """The groups of the tests and the routed procedure."""
    return {
        "default": group("Accueil", "accueil", default=True),
        "interim": group("Intérim", "interim"),
        "liege": group("Liège", "liege"),
        "outplacement": group("Outplacement et artistes", "outplacement"),
        "namur": group("Namur", "namur"),
        "definition": definition(ROUTED),
    }


def company_in(zipcode, country=""):
    return make_company(
        register_data={"address": {"zipcode": zipcode, "municipality": "X", "country": country}}
    )


def submitted(definition_row, answers=None, company=None):
    """A dossier of `definition_row` signed and submitted through the submission service."""
    company = company or company_in("5000")
    person = make_member(company)
    dossier = make_dossier(DossierStatus.COMPLETE, company=company, person=person)
    Dossier.update(definition=definition_row, answers=answers or {}).where(
        Dossier.id == dossier.id
    ).execute()
    dossier = Dossier.get_by_id(dossier.id)
    submission.submit(Actor.applicant(person, fresh_login=True), dossier, None)
    return Dossier.get_by_id(dossier.id)


# --- provinces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "province"),
    [
        ("1000", "Bruxelles"),
        ("1299", "Bruxelles"),
        ("1300", "Brabant wallon"),
        ("1499", "Brabant wallon"),
        ("1500", "Brabant flamand"),
        ("3000", "Brabant flamand"),
        ("3499", "Brabant flamand"),
        ("2000", "Anvers"),
        ("3500", "Limbourg"),
        ("4000", "Liège"),
        ("4999", "Liège"),
        ("5000", "Namur"),
        ("6000", "Hainaut"),
        ("6599", "Hainaut"),
        ("6600", "Luxembourg"),
        ("6999", "Luxembourg"),
        ("7000", "Hainaut"),
        ("8000", "Flandre occidentale"),
        ("9999", "Flandre orientale"),
        ("0999", None),
        ("400", None),
        ("B-4000", None),
        ("", None),
    ],
)
def test_the_province_of_a_belgian_postal_code(postcode, province):
    assert province_of_postcode(postcode) == province


def test_an_address_abroad_has_no_province():
    assert province_of_address({"zipcode": "4000", "country": ""}) == "Liège"
    assert province_of_address({"zipcode": "4000", "country": "Belgique"}) == "Liège"
    assert province_of_address({"zipcode": "4000", "country": "France"}) is None
    assert province_of_address(None) is None


# --- the definition check -------------------------------------------------------------------


def test_a_rule_on_an_unknown_field_is_refused_with_its_line(ctx):
    broken = ROUTED.replace("    field: services\n", "    field: servicez\n")
    with pytest.raises(DefinitionError) as refused:
        parse_definition(broken)
    [problem] = refused.value.problems
    assert problem.path == "routing[2].field"
    assert problem.line == broken.splitlines().index("    field: servicez") + 1
    assert "champ inconnu « servicez »" in str(problem.message)


def test_the_definition_check_refuses_a_half_written_rule_and_an_unknown_province(ctx):
    broken = WHOLE_PROCEDURE + "  - {group: x, field: note}\n  - {group: y, province: Atlantis}\n"
    with pytest.raises(DefinitionError) as refused:
        parse_definition(broken)
    found = {p.path: (p.line, str(p.message)) for p in refused.value.problems}
    assert found["routing[1]"][0] == 12 and "« equals » ou de « in »" in found["routing[1]"][1]
    assert found["routing[2].province"][0] == 13
    assert "province inconnue « Atlantis »" in found["routing[2].province"][1]
    assert parse_definition(ROUTED).routing[1].province == "Liège"


# --- routing at submission ------------------------------------------------------------------


def test_routing_by_answer(setting):
    dossier = submitted(setting["definition"], {"activity": "interim"}, company_in("4000"))
    assert dossier.group_id == setting["interim"].id  # the first rule that matches wins
    [change] = GroupChange.select().where(GroupChange.dossier == dossier)
    assert change.to_group_id == setting["interim"].id and change.rule == "activity = interim"
    audit = AuditEvent.get(AuditEvent.action == "dossier.routed")
    assert audit.target_id == str(dossier.id) and audit.details["group"] == "Intérim"


def test_routing_by_a_ticked_value_of_a_multiple_choice(setting):
    dossier = submitted(setting["definition"], {"services": ["job_search", "artists"]})
    assert dossier.group_id == setting["outplacement"].id


def test_a_company_in_liege_goes_to_the_liege_group(setting):
    dossier = submitted(setting["definition"], {"activity": "placement"}, company_in("4020"))
    assert dossier.group_id == setting["liege"].id


def test_routing_by_procedure(setting):
    dossier = submitted(definition(WHOLE_PROCEDURE), {"note": "x"}, company_in("4000"))
    assert dossier.group_id == setting["namur"].id


def test_a_dossier_no_rule_matches_goes_to_the_default_group(setting):
    dossier = submitted(setting["definition"], {"services": ["job_search"]}, company_in("1000"))
    assert dossier.group_id == setting["default"].id
    assert GroupChange.get(GroupChange.dossier == dossier).rule is None


def test_a_rule_naming_a_missing_group_routes_to_the_default_with_a_warning(setting, caplog):
    with caplog.at_level(logging.WARNING, logger="dossiers.groups"):
        dossier = submitted(setting["definition"], {"activity": "placement"})
    assert dossier.group_id == setting["default"].id
    assert "names no existing group" in caplog.text


def test_without_a_default_group_a_dossier_is_routed_to_none(ctx, caplog):
    with caplog.at_level(logging.WARNING, logger="dossiers.groups"):
        dossier = submitted(definition(ROUTED), {"activity": "placement"})
    assert dossier.group_id is None and "No default group" in caplog.text


def test_one_default_group_at_a_time(setting):
    groups.save_group(Actor.system(), setting["namur"], "Namur", "namur", [], True)
    defaults = StaffGroup.select().where(StaffGroup.is_default == True)  # noqa: E712
    assert [g.id for g in defaults] == [setting["namur"].id]


# --- moves ----------------------------------------------------------------------------------


def test_an_agent_moves_a_dossier_only_to_his_own_groups(setting):
    agent = make_staff(StaffRole.AGENT)
    groups.save_group(Actor.system(), setting["liege"], "Liège", "liege", [agent.id])
    dossier = submitted(setting["definition"], {"activity": "interim"})
    actor = Actor.staff_member(agent)
    with pytest.raises(DossierRefused, match="pas membre du groupe « Namur »"):
        groups.move(actor, dossier, setting["namur"], "Mauvaise province")
    assert Dossier.get_by_id(dossier.id).group_id == setting["interim"].id
    with pytest.raises(DossierRefused, match="raison"):
        groups.move(actor, dossier, setting["liege"], "  ")
    with pytest.raises(DossierRefused, match="5000 caractères au plus"):
        groups.move(actor, dossier, setting["liege"], "x" * 5001)
    groups.move(actor, dossier, setting["liege"], "Siège à Liège")
    assert Dossier.get_by_id(dossier.id).group_id == setting["liege"].id
    audit = AuditEvent.get(AuditEvent.action == "dossier.moved")
    assert audit.details == {
        "from_group": "Intérim",
        "to_group": "Liège",
        "reason": "Siège à Liège",
    }


def test_a_supervisor_moves_a_dossier_to_any_group(setting):
    supervisor = make_staff(StaffRole.SUPERVISOR)
    dossier = submitted(setting["definition"], {"activity": "interim"})
    groups.move(Actor.staff_member(supervisor), dossier, setting["namur"], "Charge de travail")
    assert Dossier.get_by_id(dossier.id).group_id == setting["namur"].id
    with pytest.raises(DossierRefused, match="déjà dans le groupe"):
        groups.move(Actor.staff_member(supervisor), dossier, setting["namur"], "Encore")


def test_groups_are_managed_by_supervisors_and_administrators_only(setting):
    for role in (StaffRole.AGENT, StaffRole.HELPDESK):
        with pytest.raises(DossierRefused, match="superviseur ou un administrateur"):
            groups.save_group(Actor.staff_member(make_staff(role)), None, "G", "g", [])
    helpdesk = make_staff(StaffRole.HELPDESK)
    with pytest.raises(DossierRefused, match="agent ou un superviseur actif"):
        groups.save_group(Actor.system(), None, "G", "g", [helpdesk.id])
    with pytest.raises(DossierRefused, match="déjà ce nom ou ce code"):
        groups.save_group(Actor.system(), None, "Autre", "liege", [])


# --- the back-office ------------------------------------------------------------------------


def detail(client, dossier):
    return client.get(f"/admin/dossiers/details/?id={dossier.id}")


def test_the_move_form_refuses_an_agent_and_the_history_shows_the_move_to_staff_only(
    setting, client
):
    agent = make_staff(StaffRole.AGENT)
    groups.save_group(Actor.system(), setting["liege"], "Liège", "liege", [agent.id])
    dossier = submitted(setting["definition"], {"activity": "interim"})
    login_staff(client, agent)
    page = detail(client, dossier)
    assert "Changer de groupe" in page.text
    refused = client.post(
        f"/admin/dossiers/group/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "group": setting["namur"].id, "reason": "Non"},
    )
    assert "pas membre du groupe « Namur »" in text(refused)
    assert Dossier.get_by_id(dossier.id).group_id == setting["interim"].id
    no_csrf = client.post(
        f"/admin/dossiers/group/{dossier.id}",
        data={"group": setting["liege"].id, "reason": "Sans jeton"},
    )
    assert no_csrf.status_code == 400
    assert Dossier.get_by_id(dossier.id).group_id == setting["interim"].id
    moved = client.post(
        f"/admin/dossiers/group/{dossier.id}",
        data={
            "csrf_token": csrf_from(page.text),
            "group": setting["liege"].id,
            "reason": "Confidentiel : siège à Liège",
        },
        follow_redirects=True,
    )
    page = text(moved)
    assert "changé de groupe : Intérim → Liège" in page
    assert "Confidentiel : siège à Liège" in page
    assert "orienté vers le groupe Intérim (règle activity = interim)" in page
    assert Dossier.get_by_id(dossier.id).group_id == setting["liege"].id

    person = dossier.submitted_by
    company_client = client.application.test_client()
    login_person(company_client, person, dossier.company)
    seen = text(company_client.get(f"/dossiers/{dossier.id}"))
    assert dossier.reference in seen
    assert "Confidentiel" not in seen and "Liège" not in seen and "Intérim" not in seen


def test_mes_groupes_lists_the_dossiers_of_my_groups_with_their_group(setting, client):
    agent = make_staff(StaffRole.AGENT)
    groups.save_group(Actor.system(), setting["liege"], "Liège", "liege", [agent.id])
    mine = submitted(setting["definition"], {"activity": "placement"}, company_in("4000"))
    other = submitted(setting["definition"], {"activity": "interim"})
    login_staff(client, agent)
    everything = text(client.get("/admin/dossiers/"))
    assert mine.reference in everything and other.reference in everything
    assert "Mes groupes" in everything and "<th" in everything and "Groupe" in everything
    assert 'href="/admin/dossiers/?flt0_7=1"' in everything  # the way to my groups first
    filtered = text(client.get("/admin/dossiers/?flt0_7=1"))
    assert mine.reference in filtered and other.reference not in filtered
    assert '<td class="col-group">Liège</td>' in filtered
    by_group = text(client.get(f"/admin/dossiers/?flt0_8={setting['interim'].id}"))
    assert other.reference in by_group and mine.reference not in by_group
    supervisor_client = client.application.test_client()
    login_staff(supervisor_client, make_staff(StaffRole.SUPERVISOR))
    nothing = text(supervisor_client.get("/admin/dossiers/?flt0_7=1"))
    assert mine.reference not in nothing  # a supervisor in no group: his filter is empty
    assert mine.reference in text(supervisor_client.get("/admin/dossiers/"))


def test_a_background_export_of_mes_groupes_holds_my_groups_dossiers(setting, client):
    agent = make_staff(StaffRole.AGENT)
    groups.save_group(Actor.system(), setting["liege"], "Liège", "liege", [agent.id])
    mine = submitted(setting["definition"], {"activity": "placement"}, company_in("4000"))
    other = submitted(setting["definition"], {"activity": "interim"})
    login_staff(client, agent)
    page = client.get("/admin/dossiers/?flt0_7=1")
    asked = client.post(
        "/admin/dossiers/export-background/csv/?flt0_7=1",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert asked.status_code == 302
    export = Export.select().order_by(Export.id.desc()).first()
    assert export.status == "ready", export.error
    assert export.query_args["filters"] == [[7, "Mes groupes", f"groups:{setting['liege'].id}"]]
    data = client.get(f"/admin/exports/download/{export.id}").data.decode("utf-8-sig")
    assert mine.reference in data and other.reference not in data
    header, row = (line.split(",") for line in data.splitlines()[:2])
    assert row[header.index("Groupe")] == "Liège"


def test_mes_groupes_reads_its_index(setting):
    query = (
        Dossier.select(Dossier.id)
        .where(Dossier.is_staff_visible(), Dossier.group == setting["liege"].id)
        .order_by(Dossier.submitted_at.desc(), Dossier.id.desc())
        .limit(50)
    )
    sql, params = query.sql()
    if isinstance(db.obj, SqliteDatabase):
        plan = " ".join(str(r) for r in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
    else:
        db.execute_sql("SET enable_seqscan = off")
        plan = " ".join(r[0] for r in db.execute_sql(f"EXPLAIN {sql}", params))
    assert "dossier_group_id_submitted_at_id" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (StaffRole.AGENT, 403),
        (StaffRole.HELPDESK, 403),
        (StaffRole.SUPERVISOR, 200),
        (StaffRole.ADMIN, 200),
    ],
)
def test_the_groups_pages_are_for_supervisors_and_administrators(setting, client, role, status):
    login_staff(client, make_staff(role))
    for path in (
        "/admin/groups/",
        "/admin/groups/new/",
        f"/admin/groups/edit/?id={setting['liege'].id}",
    ):
        assert client.get(path).status_code == status, path


def test_a_helpdesk_account_cannot_move_a_dossier(setting, client):
    dossier = submitted(setting["definition"], {"activity": "interim"})
    login_staff(client, make_staff(StaffRole.HELPDESK))
    page = client.get("/admin/")
    response = client.post(
        f"/admin/dossiers/group/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "group": setting["namur"].id, "reason": "x"},
    )
    assert response.status_code == 403
    assert Dossier.get_by_id(dossier.id).group_id == setting["interim"].id


def test_a_supervisor_creates_and_edits_a_group(setting, client):
    supervisor = make_staff(StaffRole.SUPERVISOR)
    agent = make_staff(StaffRole.AGENT, full_name="Agnès Agent")
    login_staff(client, supervisor)
    form = client.get("/admin/groups/new/")
    assert "Agnès Agent" in text(form)
    no_csrf = client.post("/admin/groups/new/", data={"name": "Hainaut", "code": "hainaut"})
    assert no_csrf.status_code == 400
    assert StaffGroup.get_or_none(StaffGroup.code == "hainaut") is None
    bad = client.post(
        "/admin/groups/new/",
        data={"csrf_token": csrf_from(form.text), "name": "Hainaut", "code": "Hainaut !"},
    )
    assert "1 à 40 minuscules" in text(bad)
    created = client.post(
        "/admin/groups/new/",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "Hainaut",
            "code": "hainaut",
            "members": [agent.id],
            "is_default": "y",
        },
        follow_redirects=True,
    )
    assert "Le groupe « Hainaut » est enregistré." in text(created)
    hainaut = StaffGroup.get(StaffGroup.code == "hainaut")
    assert hainaut.is_default and not StaffGroup.get_by_id(setting["default"].id).is_default
    assert groups.member_ids(hainaut) == [agent.id]
    assert "Agnès Agent" in text(created)
    edit = client.get(f"/admin/groups/edit/?id={hainaut.id}")
    assert 'value="hainaut"' in edit.text and "checked" in edit.text
    client.post(
        f"/admin/groups/edit/?id={hainaut.id}",
        data={"csrf_token": csrf_from(edit.text), "name": "Hainaut", "code": "hainaut"},
    )
    assert groups.member_ids(hainaut) == []
    assert not StaffGroup.get_by_id(hainaut.id).is_default
    audit = AuditEvent.select().where(AuditEvent.target_id == str(hainaut.id))
    audit = audit.where(AuditEvent.target_type == "StaffGroup").order_by(AuditEvent.id)
    assert [(a.action, a.actor_staff_id) for a in audit] == [
        ("group.created", supervisor.id),
        ("group.updated", supervisor.id),
    ]
    assert client.get("/admin/groups/edit/?id=999999").status_code == 404


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Groups", "New group", "Members", "Default group")),
        ("de", ("Gruppen", "Neue Gruppe", "Mitglieder", "Standardgruppe")),
    ],
)
def test_the_pages_in_english_and_german(setting, client, language, words):
    client.application.config["LANGUAGES_READY"] = ("fr", "de", "en")
    supervisor = make_staff(StaffRole.SUPERVISOR)
    login_staff(client, supervisor)
    client.get(f"/admin/?lang={language}")
    page = text(client.get("/admin/groups/new/")) + text(client.get("/admin/groups/"))
    assert all(w in page for w in words), [w for w in words if w not in page]
    assert "Nouveau groupe" not in page
    dossier = submitted(setting["definition"], {"activity": "interim"})
    shown = text(detail(client, dossier))
    change = {"en": "Change group", "de": "Gruppe wechseln"}[language]
    assert change in shown and "Changer de groupe" not in shown


def test_the_demo_routes_the_liege_companys_dossiers_to_the_liege_group(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["seed-demo"]).exit_code == 0  # groups made once
    liege, accueil = (
        StaffGroup.get(StaffGroup.code == "liege"),
        StaffGroup.get(StaffGroup.code == "accueil"),
    )
    assert accueil.is_default and StaffGroup.select().count() == len(demo.GROUPS)
    routed = {
        d.definition.code: d.group_id
        for d in Dossier.select().where(Dossier.submitted_at.is_null(False))
    }
    assert routed["enregistrement"] == liege.id and routed["agrement-interim"] == liege.id
    assert routed["rapport-activites"] == accueil.id  # no rule: the default group


def test_an_anonymised_dossier_loses_the_reasons_of_its_moves(setting):
    from datetime import timedelta

    from dossiers import retention

    dossier = make_dossier(DossierStatus.CLOSED)
    GroupChange.create(dossier=dossier, reason="Appel de Marie Dubois au 0470 00 00 01")
    assert retention.anonymise(dossier, retention.kept_until(dossier) + timedelta(days=1))
    [change] = GroupChange.select().where(GroupChange.dossier == dossier)
    assert change.reason is None
