"""The applicant side of the spine: home, Mes dossiers, the dossier page, the dev login."""

from helpers import csrf_from, login_person, make_company, make_dossier, make_member
from helpers import text as page_text
from models import Dossier, DossierStatus, Role


def test_home_for_anonymous_offers_login(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "Se connecter" in page.text


def test_mes_dossiers_needs_login(client):
    response = client.get("/dossiers/")
    assert response.status_code == 302
    assert "/auth/login?next=/dossiers/" in response.headers["Location"]


def test_mes_dossiers_lists_only_companies_where_the_user_holds_a_role(app, client):
    mine = make_company(name="Ma Société")
    other = make_company(name="Autre Société")
    person = make_member(mine, Role.CONSULT)
    own = make_dossier(DossierStatus.SUBMITTED, company=mine)
    foreign = make_dossier(DossierStatus.SUBMITTED, company=other)
    login_person(client, person, mine)

    page = client.get("/dossiers/")
    assert page.status_code == 200
    assert own.reference in page.text
    assert foreign.reference not in page.text
    assert "Visible par l'administration" in page.text.replace("&#39;", "'")


def test_status_remark_and_action_per_status(app, client):
    company = make_company()
    person = make_member(company, Role.SIGN)
    make_dossier(DossierStatus.DRAFT, company=company, person=person)
    make_dossier(DossierStatus.COMPLETE, company=company, person=person)
    make_dossier(DossierStatus.PROCESSING, company=company, person=person)
    login_person(client, person, company)
    page = client.get("/dossiers/").text
    for text in (
        "En cours",
        "Complet",
        "En traitement",
        "NON ENVOYÉ",
        "Terminer le remplissage",
        "Soumettre",
        "Archiver si nécessaire",
    ):
        assert text in page


def test_no_role_means_no_dossiers(app, client):
    company = make_company()
    person = make_member(company, Role(0))
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company)
    login_person(client, person, company)
    listing = client.get("/dossiers/")
    assert listing.status_code == 403 and dossier.reference not in listing.text
    detail = client.get(f"/dossiers/{dossier.id}")
    assert detail.status_code == 403 and dossier.reference not in detail.text


def test_archived_dossiers_have_their_own_view(app, client):
    company = make_company()
    person = make_member(company)
    dossier = make_dossier(DossierStatus.PROCESSING, company=company, person=person)
    Dossier.update(archived=True).where(Dossier.id == dossier.id).execute()
    login_person(client, person, company)
    assert dossier.reference not in client.get("/dossiers/").text
    assert dossier.reference in client.get("/dossiers/?vue=archives").text


def test_paging_by_cursor_shows_every_dossier_once(app, client, monkeypatch):
    from portal import dossiers as view

    monkeypatch.setattr(view, "PAGE_SIZE", 2)
    company = make_company()
    person = make_member(company)
    refs = {
        make_dossier(DossierStatus.SUBMITTED, company=company, person=person).reference
        for _ in range(5)
    }
    login_person(client, person, company)
    seen, url = [], "/dossiers/"
    while url:
        page = client.get(url).text
        seen += [r for r in refs if r in page]
        marker = 'class="button button-secondary" href="/dossiers/?apres='
        url = None
        if marker in page:  # the "Dossiers suivants" link (the language links carry it too)
            url = "/dossiers/?apres=" + page.split(marker)[1].split('"')[0].replace("&amp;", "&")
    assert sorted(seen) == sorted(refs)


def test_malformed_cursor_shows_first_page(app, client):
    company = make_company()
    person = make_member(company)
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    login_person(client, person, company)
    page = client.get("/dossiers/?apres=n'importe-quoi")
    assert page.status_code == 200 and dossier.reference in page.text


def test_dossier_page_shows_history(app, client):
    company = make_company()
    person = make_member(company)
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person)
    login_person(client, person, company)
    page = client.get(f"/dossiers/{dossier.id}")
    assert page.status_code == 200
    for label in ("Complet", "Soumis", "Réceptionné"):
        assert label in page.text


def test_other_company_dossier_is_404(app, client):
    mine, other = make_company(), make_company()
    person = make_member(mine)
    foreign = make_dossier(DossierStatus.SUBMITTED, company=other)
    login_person(client, person, mine)
    assert client.get(f"/dossiers/{foreign.id}").status_code == 404
    assert client.get("/dossiers/999999").status_code == 404


def test_logout(app, client):
    company = make_company()
    person = make_member(company)
    login_person(client, person, company)
    home = client.get("/").text
    response = client.post("/auth/logout", data={"csrf_token": csrf_from(home)})
    assert response.status_code == 302
    assert client.get("/dossiers/").status_code == 302


def test_dev_pages_do_not_exist_in_production_config(tmp_path, database_url):
    from conftest import make_config
    from run import create_app

    app = create_app(
        make_config(tmp_path, database_url, DEV_MAIL_PAGE=False, FAS_STANDIN_ENABLED=False)
    )
    client = app.test_client()
    assert client.get("/dev/mail").status_code == 404
    assert client.get("/fas/.well-known/openid-configuration").status_code == 404


def test_unknown_page_is_a_french_404(client):
    page = client.get("/nulle-part")
    assert page.status_code == 404
    assert "Page introuvable" in page.text


def test_a_post_without_the_csrf_token_gets_the_french_page_of_the_portal(client):
    response = client.post("/auth/logout")
    assert response.status_code == 400
    assert "Formulaire expiré" in response.text and "Rechargez la page" in response.text
    assert "CSRF" not in response.text and "Guichet — back-office" not in response.text


def test_home_lists_the_companies_and_names_the_one_chosen(app, client):
    first, chosen = make_company(name="Alpha Intérim"), make_company(name="Bêta Services")
    person = make_member(first, Role.CONSULT)
    make_member(chosen, Role.SIGN, person=person)
    login_person(client, person, chosen)
    header, content = client.get("/").text.split('id="contenu"')
    assert 'title="Bêta Services"' in header and "Alpha Intérim" not in header
    assert content.index("Alpha Intérim") < content.index("Bêta Services")  # by name


def test_home_names_no_company_the_person_does_not_belong_to(app, client):
    mine, other = make_company(name="Alpha Intérim"), make_company(name="Gamma Conseil")
    person = make_member(mine)
    login_person(client, person, other)  # a company chosen, then the membership withdrawn
    page = client.get("/").text
    assert "Gamma Conseil" not in page
    assert 'title="Alpha Intérim"' not in page and "Alpha Intérim" in page


def test_mes_dossiers_offers_the_procedures_by_their_title_in_the_page_language(app, client):
    import procedures

    with app.app_context():
        procedures.sync_builtin()
    company = make_company()
    person = make_member(company)
    login_person(client, person, company)
    french = page_text(client.get("/dossiers/"))
    assert "Demande d'enregistrement d'une agence de placement</option>" in french
    german = page_text(client.get("/dossiers/?lang=de"))
    assert "Antrag auf Registrierung einer Arbeitsvermittlungsagentur</option>" in german


def test_mes_dossiers_names_the_version_of_each_dossier_even_unpublished(app, client):
    from helpers import make_definition
    from models import ProcedureDefinition

    old = make_definition(code="ancienne", prefix="ANC")
    ProcedureDefinition.update(published=False).where(ProcedureDefinition.id == old.id).execute()
    company = make_company()
    person = make_member(company)
    make_dossier(company=company, person=person, definition=old)
    login_person(client, person, company)
    page = client.get("/dossiers/").text
    assert ">Procédure ancienne</a>" in page  # the row's version, read with its text
    assert ">Procédure ancienne</option>" not in page  # not offered in the filter


def test_mes_dossiers_says_status_remark_and_action_in_the_page_language(app, client):
    company = make_company()
    person = make_member(company)
    make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    make_dossier(DossierStatus.COMPLETE, company=company, person=person)
    login_person(client, person, company)
    page = page_text(client.get("/dossiers/?lang=de"))
    for words in ("Eingereicht</span>", "<td>Für die Verwaltung sichtbar</td>", ">Einreichen</a>"):
        assert words in page
