"""Company space: picking, activation by a legal representative, the email gate, access
management by the GAP, and isolation between companies."""

import pytest

import notifications
import sources
from helpers import (
    csrf_from,
    login_person,
    make_company,
    make_dossier,
    make_member,
    make_person,
    text,
)
from models import (
    AuditEvent,
    Company,
    DossierStatus,
    Membership,
    OutboxMessage,
    Person,
    Role,
    VerificationCode,
    utcnow,
)

AGENCE = "0566988259"  # sample register: legal representative Marie Dubois
MARIE = "93051822361"
JEAN = "42012205181"  # a test identity, not a legal representative of AGENCE


@pytest.fixture
def register(app, ctx):
    sources.load_sample_if_empty()


def person(nrn, **kw):
    return Person.get_or_none(Person.national_number == nrn) or make_person(
        national_number=nrn, **kw
    )


def post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).text)
    return client.post(url, data={**data, "csrf_token": token})


def test_picker_lists_companies_and_sets_the_company(client):
    a, b = make_company(name="Alpha SA"), make_company(name="Beta ASBL")
    p = make_member(a, Role.CONSULT)
    make_member(b, Role.SIGN, person=p)
    login_person(client, p)
    page = client.get("/entreprises/")
    assert "Alpha SA" in text(page) and "Beta ASBL" in text(page)
    response = post(client, "/entreprises/choisir", {"company_id": b.id}, page="/entreprises/")
    assert response.status_code == 302
    assert "Beta ASBL" in text(client.get("/dossiers/"))  # the header shows the company


def test_cannot_choose_a_company_without_membership(client):
    mine, other = make_company(), make_company()
    p = make_member(mine)
    login_person(client, p)
    response = post(client, "/entreprises/choisir", {"company_id": other.id}, page="/entreprises/")
    assert response.status_code == 404


def test_company_b_pages_are_closed_to_company_a_users(client):
    a, b = make_company(), make_company()
    p = make_member(a, Role.SIGN, manager=True)
    foreign = make_dossier(DossierStatus.SUBMITTED, company=b)
    b_member = Membership.get(Membership.company == b)
    login_person(client, p, a)
    assert client.get(f"/dossiers/{foreign.id}").status_code == 404
    assert foreign.reference not in text(client.get("/dossiers/"))
    with client.session_transaction() as session:
        session["company_id"] = b.id  # a forged company choice
    assert client.get("/dossiers/").status_code == 302
    assert client.get("/entreprise/acces/").status_code == 302
    login_person(client, p, a)
    page = client.get("/entreprise/acces/")
    token = csrf_from(page.text)
    for url in (
        f"/entreprise/acces/{b_member.id}/roles",
        f"/entreprise/acces/{b_member.id}/revoquer",
    ):
        assert client.post(url, data={"csrf_token": token, "sign": "y"}).status_code == 404
    assert Membership.get_by_id(b_member.id).roles == int(Role.SIGN)


def test_activation_by_legal_representative_naming_self(client, register):
    marie = person(MARIE, surname="Dubois", given_name="Marie")
    login_person(client, marie)
    response = post(
        client, "/entreprises/activer", {"enterprise_number": "0566.988.259", "gap": "self"}
    )
    assert response.status_code == 302
    company = Company.get(Company.enterprise_number == AGENCE)
    assert company.name == "Agence Intérim Liège"
    assert company.register_data["functions"]
    m = Membership.get(Membership.company == company, Membership.person == marie)
    assert m.is_main_access_manager and m.is_access_manager and m.roles == 0
    assert AuditEvent.get(AuditEvent.action == "access.gap_named").target_id == str(m.id)


def test_activation_naming_another_gap(client, register):
    marie = person(MARIE, surname="Dubois", given_name="Marie")
    login_person(client, marie)
    response = post(
        client,
        "/entreprises/activer",
        {
            "enterprise_number": "0566988259",
            "gap": "other",
            "gap_national_number": "78.02.15-123.12",
            "gap_surname": "Martin",
            "gap_given_name": "Luc",
            "gap_email": "luc@agence.test",
        },
    )
    assert response.status_code == 302
    luc = Person.get(Person.national_number == "78021512312")
    m = Membership.get(Membership.person == luc)
    assert m.is_main_access_manager and m.invited_email == "luc@agence.test"
    mail = OutboxMessage.get(OutboxMessage.to_email == "luc@agence.test")
    assert mail.event == "access_changed"


@pytest.mark.parametrize(
    "number, message",
    [
        ("0566.988.258", "pas un numéro d'entreprise valide"),
        ("0999.999.999", "pas un numéro d'entreprise valide"),
        ("0000.000.097", "n'existe pas"),
        ("0314.595.348", "représentant légal"),
    ],
)
def test_activation_refusals(client, register, number, message):
    marie = person(MARIE, surname="Dubois", given_name="Marie")
    login_person(client, marie)
    page = post(client, "/entreprises/activer", {"enterprise_number": number, "gap": "self"})
    assert page.status_code == 200
    assert message in text(page)
    assert not Company.select().exists()


def test_activation_refused_for_non_representative(client, register):
    jean = person(JEAN, surname="Lambert", given_name="Jean")
    login_person(client, jean)
    page = post(client, "/entreprises/activer", {"enterprise_number": AGENCE, "gap": "self"})
    assert "représentant légal" in text(page)
    assert not Company.select().exists()


def test_activation_gap_fields_required_and_checked(client, register):
    login_person(client, person(MARIE, surname="Dubois", given_name="Marie"))
    page = post(
        client,
        "/entreprises/activer",
        {
            "enterprise_number": AGENCE,
            "gap": "other",
            "gap_national_number": "12345678901",
        },
    )
    assert "Il y a un problème" in text(page)
    assert "n'est pas valable" in text(page)
    assert "obligatoire" in text(page)
    assert not Company.select().exists()


def test_activation_needs_a_fresh_login(client, register):
    login_person(client, person(MARIE, surname="Dubois", given_name="Marie"), auth_minutes_ago=20)
    response = client.get("/entreprises/activer")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_only_a_legal_representative_replaces_the_gap(client, register):
    marie = person(MARIE, surname="Dubois", given_name="Marie")
    login_person(client, marie)
    post(client, "/entreprises/activer", {"enterprise_number": AGENCE, "gap": "self"})
    company = Company.get(Company.enterprise_number == AGENCE)
    jean = person(JEAN, surname="Lambert", given_name="Jean")
    make_member(company, Role.SIGN, person=jean)
    login_person(client, jean, company)
    page = post(client, "/entreprises/activer", {"enterprise_number": AGENCE, "gap": "self"})
    assert "représentant légal" in text(page)
    assert Membership.get(Membership.person == marie).is_main_access_manager


def test_email_gate_blocks_until_validated_by_code(client):
    company = make_company(name="Gate SA")
    p = make_member(company, Role.ENCODE, verified=False)
    login_person(client, p, company)
    response = client.get("/dossiers/")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/entreprise/email/"
    )
    page = post(client, "/entreprise/email/", {"email": "pas-une-adresse"})
    assert "pas valable" in text(page)
    response = post(client, "/entreprise/email/", {"email": "Pro@Gate.test"})
    assert response.status_code == 302
    mail = OutboxMessage.get(OutboxMessage.event == "email_verification")
    assert mail.to_email == "pro@gate.test"
    assert client.get("/dossiers/").status_code == 302, "not validated yet"
    wrong = "000000" if mail.context["code"] != "000000" else "111111"
    assert "incorrect" in text(post(client, "/entreprise/email/code", {"code": wrong}))
    response = post(client, "/entreprise/email/code", {"code": mail.context["code"]})
    assert response.status_code == 302
    assert client.get("/dossiers/").status_code == 200
    m = Membership.get(Membership.person == p)
    assert m.notification_email == "pro@gate.test"


def test_email_gate_by_link_once(client):
    company = make_company()
    p = make_member(company, Role.ENCODE, verified=False)
    login_person(client, p, company)
    post(client, "/entreprise/email/", {"email": "pro@link.test"})
    link = OutboxMessage.get(OutboxMessage.event == "email_verification").context["link_path"]
    assert client.get(link).status_code == 302
    assert client.get("/dossiers/").status_code == 200
    Membership.update(professional_email_verified_at=None).execute()
    page = client.get(link, follow_redirects=True)
    assert "déjà été utilisé" in text(page)
    assert client.get("/dossiers/").status_code == 302


def test_email_link_expired(client):
    company = make_company()
    p = make_member(company, Role.ENCODE, verified=False)
    login_person(client, p, company)
    post(client, "/entreprise/email/", {"email": "pro@late.test"})
    link = OutboxMessage.get(OutboxMessage.event == "email_verification").context["link_path"]
    VerificationCode.update(expires_at=utcnow()).execute()
    page = client.get(link, follow_redirects=True)
    assert "expiré" in text(page)
    assert client.get("/dossiers/").status_code == 302


def test_email_link_of_someone_else_is_refused(client, app):
    company = make_company()
    p = make_member(company, Role.ENCODE, verified=False)
    intruder = make_member(company, Role.ENCODE)
    login_person(client, p, company)
    post(client, "/entreprise/email/", {"email": "pro@mine.test"})
    link = OutboxMessage.get(OutboxMessage.event == "email_verification").context["link_path"]
    other = app.test_client()
    login_person(other, intruder, company)
    assert other.get(link).status_code == 404
    assert Membership.get(Membership.person == p).notification_email is None


def gap_client(client):
    company = make_company(name="Équipe SA")
    gap = make_member(company, Role(0), manager=True)
    login_person(client, gap, company)
    return company, gap


def test_gap_invites_and_changes_roles_with_audit_and_email(app, client):
    company, gap = gap_client(client)  # noqa: RUF059
    response = post(
        client,
        "/entreprise/acces/inviter",
        {
            "national_number": "85.06.30-245.03",
            "surname": "Renard",
            "given_name": "Nathalie",
            "email": "nathalie@equipe.test",
            "encode": "y",
        },
        page="/entreprise/acces/",
    )
    assert response.status_code == 302
    nathalie = Person.get(Person.national_number == "85063024503")
    m = Membership.get(Membership.person == nathalie)
    assert m.roles == int(Role.ENCODE) and m.invited_email == "nathalie@equipe.test"
    assert OutboxMessage.get(OutboxMessage.to_email == "nathalie@equipe.test").event == "invitation"

    post(
        client,
        f"/entreprise/acces/{m.id}/roles",
        {"consult": "y", "sign": "y"},
        page="/entreprise/acces/",
    )
    assert Membership.get_by_id(m.id).roles == int(Role.CONSULT | Role.SIGN)
    actions = [a.action for a in AuditEvent.select().order_by(AuditEvent.id)]
    assert actions == ["access.invite", "access.roles"]
    changed = OutboxMessage.select().where(OutboxMessage.event == "access_changed").get()
    with app.app_context():
        assert "Vos rôles : Consultation, Signature." in notifications.render(changed)[1]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"national_number": "12345678901"}, "pas valable"),
        ({"email": "nope"}, "pas valable"),
        ({"surname": ""}, "Il y a un problème"),
    ],
)
def test_invite_bad_input(client, data, message):
    gap_client(client)
    base = {
        "national_number": "85063024503",
        "surname": "R",
        "given_name": "N",
        "email": "n@e.test",
        "consult": "y",
    }
    page = post(client, "/entreprise/acces/inviter", {**base, **data}, page="/entreprise/acces/")
    assert page.status_code == 400 and message in text(page)
    assert Membership.select().count() == 1


def test_invite_existing_member_is_refused(client):
    company, gap = gap_client(client)  # noqa: RUF059
    existing = make_member(company, Role.CONSULT)
    page = post(
        client,
        "/entreprise/acces/inviter",
        {
            "national_number": existing.national_number,
            "surname": "X",
            "given_name": "Y",
            "email": "x@y.test",
            "sign": "y",
        },
        page="/entreprise/acces/",
    )
    assert page.status_code == 302
    assert "déjà accès" in text(client.get("/entreprise/acces/"))
    assert Membership.get(Membership.person == existing).roles == int(Role.CONSULT)


def test_last_gap_cannot_be_removed(client):
    company, gap = gap_client(client)  # noqa: RUF059
    mine = Membership.get(Membership.person == gap)
    post(client, f"/entreprise/acces/{mine.id}/revoquer", {}, page="/entreprise/acces/")
    assert Membership.get_by_id(mine.id).is_main_access_manager
    assert "toujours en avoir un" in text(client.get("/entreprise/acces/"))


def test_co_gap_named_and_removed_by_main_gap_only(client, app):
    company, gap = gap_client(client)
    co = make_member(company, Role.CONSULT)
    m = Membership.get(Membership.person == co)
    post(client, f"/entreprise/acces/{m.id}/co-gestionnaire", {}, page="/entreprise/acces/")
    assert Membership.get_by_id(m.id).is_access_manager
    co_client = app.test_client()
    login_person(co_client, co, company)
    gap_m = Membership.get(Membership.person == gap)
    response = post(
        co_client, f"/entreprise/acces/{gap_m.id}/co-gestionnaire", {}, page="/entreprise/acces/"
    )
    assert response.status_code == 403


def test_revoked_user_loses_access_at_once(client, app):
    company, gap = gap_client(client)  # noqa: RUF059
    user = make_member(company, Role.ENCODE)
    user_client = app.test_client()
    login_person(user_client, user, company)
    assert user_client.get("/dossiers/").status_code == 200
    m = Membership.get(Membership.person == user)
    post(client, f"/entreprise/acces/{m.id}/roles", {}, page="/entreprise/acces/")
    assert user_client.get("/dossiers/").status_code == 403
    post(client, f"/entreprise/acces/{m.id}/revoquer", {}, page="/entreprise/acces/")
    assert user_client.get("/dossiers/").status_code == 302
    assert AuditEvent.select().where(AuditEvent.action == "access.revoke").exists()


def test_access_changes_need_a_fresh_login(client):
    company = make_company()
    gap = make_member(company, Role(0), manager=True)
    other = make_member(company, Role.CONSULT)
    login_person(client, gap, company, auth_minutes_ago=16)
    m = Membership.get(Membership.person == other)
    response = post(
        client, f"/entreprise/acces/{m.id}/roles", {"sign": "y"}, page="/entreprise/acces/"
    )
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert Membership.get_by_id(m.id).roles == int(Role.CONSULT)


def test_non_manager_cannot_manage_access(client):
    company = make_company()
    p = make_member(company, Role.SIGN)
    login_person(client, p, company)
    assert client.get("/entreprise/acces/").status_code == 403
