"""Expert opinions: an agent asks a staff member or an outside expert on the dossier page; the
expert gets the link by a real SMTP server, opens a page that shows only what was shared and
answers once with a text and an optional PDF; the answer is in the dossier's timeline and
emailed to the agent. A link after its deadline, used twice, withdrawn or guessed opens
nothing; a confidential opinion is never shown to the company, another one is."""

import io
import re
from datetime import timedelta

import pytest
from clamd import clamd_socket, eicar_pdf  # noqa: F401  (a fixture)
from test_backoffice_processing import with_annex
from test_pdf_check import blank_pdf

import antivirus
import backoffice.opinions
import notifications
from dossiers import DossierRefused, opinions
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
    DossierStatus,
    ExpertOpinion,
    OutboxMessage,
    StaffRole,
    brussels_day,
    utcnow,
)
from smtp import SMTPServer

QUESTION = "L'agence respecte-t-elle la convention collective du secteur ?"
ANSWER = "Oui : la convention est appliquée depuis 2024, contrôle fait sur place."


@pytest.fixture
def agent(app, client):
    staff = make_staff(StaffRole.AGENT, full_name="Agnès Agent")
    login_staff(client, staff)
    return staff


@pytest.fixture
def smtp(app):
    server = SMTPServer().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    with app.app_context():
        notifications.mail.init_app(app)
    yield server
    server.stop()


def detail_url(dossier):
    return f"/admin/dossiers/details/?id={dossier.id}"


def due(days=10):
    return (brussels_day(utcnow()) + timedelta(days=days)).isoformat()


def ask(client, dossier, **fields):
    data = {
        "csrf_token": csrf_from(client.get(detail_url(dossier)).text),
        "expert_kind": "outside",
        "expert_staff": "0",
        "expert_name": "Eva Experte",
        "expert_email": "eva@inspection.example",
        "language": "fr",
        "question": QUESTION,
        "due_on": due(),
        "confidential": "y",
        **fields,
    }
    return client.post(f"/admin/dossiers/opinion/{dossier.id}", data=data)


def link_of(message):
    """The /avis/... path of an email delivered to the sink."""
    body = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/avis/[^\s]+)", body).group(1)


def delivered_link(app, smtp, address):
    with app.app_context():
        notifications.deliver_due()
    [message] = [m for m in smtp.messages if m["To"] == address]
    return link_of(message), message


def answer(client, path, text_=ANSWER, file=None):
    page = client.get(path)
    data = {"csrf_token": csrf_from(page.text), "answer": text_}
    if file is not None:
        data["file"] = file
    return client.post(path.split("?")[0], data=data, content_type="multipart/form-data")


def received_dossier(app):
    company = make_company(name="Intérim Liège SA")
    dossier = make_dossier(DossierStatus.RECEIVED, company=company)
    shared = with_annex(app, dossier)
    hidden = with_annex(app, dossier)
    hidden.original_name = "comptes-annuels.pdf"
    hidden.save()
    return dossier, shared, hidden


def test_an_outside_expert_answers_through_the_emailed_link_and_the_answer_is_in_the_timeline(
    app, client, agent, smtp
):
    dossier, shared, hidden = received_dossier(app)
    response = ask(client, dossier, annexes=[str(shared.id)])
    assert response.status_code == 302
    opinion = ExpertOpinion.get()
    assert (opinion.expert_email, opinion.asked_by_id, opinion.shared_annexes) == (
        "eva@inspection.example",
        agent.id,
        [shared.id],
    )
    assert opinion.token_hash and opinion.link_nonce not in opinion.token_hash
    event = AuditEvent.get(AuditEvent.action == "dossier.opinion_asked")
    assert event.details["expert"] == "eva@inspection.example" and QUESTION not in str(
        event.details
    )

    path, message = delivered_link(app, smtp, "eva@inspection.example")
    assert dossier.reference in message["Subject"]
    assert QUESTION in message.get_body(("plain",)).get_content()

    expert = app.test_client()  # another browser, no login
    page = expert.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    shown = text(page)
    assert QUESTION in shown and dossier.reference in shown and "statuts.pdf" in shown
    assert "comptes-annuels.pdf" not in shown, "an annex not shared is not listed"
    assert "Intérim Liège SA" not in shown, "the answers (and the company) were not shared"
    assert "confidentiel" in shown
    token = path.split("/")[2].split("?")[0]
    pdf = expert.get(f"/avis/{token}/annexes/{shared.id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert expert.get(f"/avis/{token}/annexes/{hidden.id}").status_code == 404

    done = answer(expert, path, file=(io.BytesIO(blank_pdf(3)), "rapport.pdf"))
    assert done.status_code == 200 and "Votre avis est envoyé" in text(done)
    opinion = ExpertOpinion.get()
    assert opinion.answer == ANSWER and opinion.answered_at is not None
    assert (opinion.file_name, opinion.file_pages) == ("rapport.pdf", 3)
    with app.app_context():
        notifications.deliver_due()
    [told] = [m for m in smtp.messages if m["To"] == agent.email]
    assert "Eva Experte" in told["Subject"]
    assert ANSWER not in told.get_body(("plain",)).get_content(), "read on the dossier page"

    staff_page = text(client.get(detail_url(dossier)))
    assert ANSWER in staff_page and "avis rendu par Eva Experte" in staff_page
    assert "avis demandé à Eva Experte" in staff_page
    file = client.get(f"/admin/dossiers/opinion/{dossier.id}/{opinion.id}/file")
    assert file.status_code == 200 and file.data.startswith(b"%PDF")
    answered = AuditEvent.get(AuditEvent.action == "dossier.opinion_answered")
    assert answered.details["opinion"] == opinion.id and ANSWER not in str(answered.details)


def test_a_link_used_twice_opens_nothing_and_keeps_the_first_answer(app, client, agent, smtp):
    dossier, _shared, _hidden = received_dossier(app)
    ask(client, dossier)
    path, _message = delivered_link(app, smtp, "eva@inspection.example")
    expert = app.test_client()
    form_page = expert.get(path).text
    assert answer(expert, path).status_code == 200
    again = expert.get(path)
    assert again.status_code == 410
    assert "le lien ne sert qu'une fois" in text(again)
    for secret in (QUESTION, dossier.reference, "statuts.pdf"):
        assert secret not in text(again)
    second = expert.post(
        path.split("?")[0], data={"csrf_token": csrf_from(form_page), "answer": "Autre avis"}
    )
    assert second.status_code == 410
    assert ExpertOpinion.get().answer == ANSWER


def test_a_link_after_its_deadline_opens_nothing(app, client, agent, smtp, monkeypatch):
    dossier, _shared, _hidden = received_dossier(app)
    ask(client, dossier, due_on=due(3))
    path, _message = delivered_link(app, smtp, "eva@inspection.example")
    expert = app.test_client()
    later = utcnow() + timedelta(days=3)
    monkeypatch.setattr(opinions, "utcnow", lambda: later)
    assert expert.get(path).status_code == 200, "the deadline day itself still answers"
    after = utcnow() + timedelta(days=4, hours=1)
    monkeypatch.setattr(opinions, "utcnow", lambda: after)
    page = expert.get(path)
    assert page.status_code == 410
    assert "Le délai de cette demande d'avis est passé" in text(page)
    assert QUESTION not in text(page) and dossier.reference not in text(page)
    assert ExpertOpinion.get().answered_at is None
    monkeypatch.setattr(backoffice.opinions, "utcnow", lambda: after)
    assert "délai dépassé sans réponse" in text(client.get(detail_url(dossier)))


def test_a_guessed_link_or_another_dossiers_annex_opens_nothing(app, client, agent, smtp):
    first, shared, _hidden = received_dossier(app)
    _other, other_annex, _ = received_dossier(app)
    ask(client, first, annexes=[str(shared.id)])
    path, _message = delivered_link(app, smtp, "eva@inspection.example")
    token = path.split("/")[2].split("?")[0]
    expert = app.test_client()
    for guess in ("x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20]):
        page = expert.get(f"/avis/{guess}")
        assert page.status_code == 404
        assert "Ce lien n'est pas valable" in text(page)
        assert first.reference not in text(page) and QUESTION not in text(page)
        assert expert.get(f"/avis/{guess}/annexes/{shared.id}").status_code == 404
    assert expert.get(f"/avis/{token}/annexes/{other_annex.id}").status_code == 404
    token_of_a_page = csrf_from(expert.get(path).text)
    forged = expert.post(f"/avis/{'y' * 43}", data={"csrf_token": token_of_a_page, "answer": "X"})
    assert forged.status_code == 404
    assert ExpertOpinion.get().answered_at is None


def test_a_confidential_opinion_is_never_shown_to_the_company_another_one_is(app, client, ctx):
    company = make_company()
    person = make_member(company)
    dossier = make_dossier(DossierStatus.PROCESSING, company=company, person=person)
    agent = Actor.staff_member(make_staff())
    day = brussels_day(utcnow()) + timedelta(days=5)
    secret = opinions.ask(agent, dossier, QUESTION, day, expert_name="A", expert_email="a@x.be")
    open_ = opinions.ask(
        agent,
        dossier,
        "Avis public ?",
        day,
        expert_name="B",
        expert_email="b@x.be",
        confidential=False,
    )
    opinions.answer(
        opinions.link_token(secret), "Avis secret de l'inspection", "s.pdf", blank_pdf()
    )
    opinions.answer(opinions.link_token(open_), "Avis communiqué à l'agence", "p.pdf", blank_pdf())
    login_person(client, person, company)
    page = text(client.get(f"/dossiers/{dossier.id}"))
    assert "Avis communiqué à l'agence" in page and "Avis de B" in page
    assert "Avis secret de l'inspection" not in page and "Avis de A" not in page
    secret, open_ = ExpertOpinion.get_by_id(secret.id), ExpertOpinion.get_by_id(open_.id)
    assert client.get(f"/dossiers/{dossier.id}/avis/{open_.id}").status_code == 200
    assert client.get(f"/dossiers/{dossier.id}/avis/{secret.id}").status_code == 404
    for email in OutboxMessage.select().where(OutboxMessage.person.is_null(False)):
        assert "secret" not in f"{email.context} {email.body_text}"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"question": "  "}, "Écrivez la question posée."),
        ({"expert_email": "pas-une-adresse"}, "Donnez une adresse e-mail valable"),
        ({"expert_name": ""}, "Donnez le nom de l'expert."),
        ({"due_on": ""}, "Donnez la date limite de l'avis."),
        ({"due_on": due(0)}, "La date limite doit être postérieure à aujourd'hui."),
        ({"due_on": due(91)}, "La date limite est au plus dans 90 jours."),
        ({"question": "?" * 5001}, "il en accepte au plus 5000"),
        ({"expert_kind": "staff"}, "Choisissez le membre du personnel."),
    ],
)
def test_a_bad_request_is_refused_with_its_message_and_what_was_typed_kept(
    app, client, agent, fields, message
):
    dossier, _shared, _hidden = received_dossier(app)
    response = ask(client, dossier, **{"expert_name": "Eva Experte", **fields})
    assert response.status_code == 200
    page = text(response)
    assert message in page
    if "question" not in fields:
        assert QUESTION in page, "the question typed is in the form again"
    assert '<details class="mb-3" open>' in response.text
    assert ExpertOpinion.select().count() == 0
    assert not OutboxMessage.select().where(OutboxMessage.event == "opinion_requested").exists()


def test_an_annex_of_another_dossier_cannot_be_shared(app, client, agent):
    dossier, _shared, _hidden = received_dossier(app)
    _other, foreign, _ = received_dossier(app)
    response = ask(client, dossier, annexes=[str(foreign.id)])
    assert "Une annexe choisie n'est pas une annexe saine de ce dossier." in text(response)
    assert ExpertOpinion.select().count() == 0


def test_a_closed_dossier_asks_no_opinion_and_other_roles_ask_none(app, client, ctx):
    day = brussels_day(utcnow()) + timedelta(days=5)
    closed = make_dossier(DossierStatus.CLOSED)
    with pytest.raises(DossierRefused, match="clôturé"):
        opinions.ask(
            Actor.staff_member(make_staff()),
            closed,
            QUESTION,
            day,
            expert_name="E",
            expert_email="e@x.be",
        )
    dossier = make_dossier(DossierStatus.RECEIVED)
    for role in (StaffRole.HELPDESK, StaffRole.ADMIN):
        with pytest.raises(DossierRefused):
            opinions.ask(
                Actor.staff_member(make_staff(role)),
                dossier,
                QUESTION,
                day,
                expert_name="E",
                expert_email="e@x.be",
            )
    assert ExpertOpinion.select().count() == 0


def test_a_staff_member_is_asked_at_their_address_in_their_language(app, client, agent, smtp):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    colleague = make_staff(StaffRole.SUPERVISOR, full_name="Dieter Kollege", language="de")
    dossier, _shared, _hidden = received_dossier(app)
    response = ask(
        client,
        dossier,
        expert_kind="staff",
        expert_staff=str(colleague.id),
        expert_name="",
        expert_email="",
        share_answers="y",
    )
    assert response.status_code == 302
    opinion = ExpertOpinion.get()
    assert (opinion.expert_staff_id, opinion.expert_email, opinion.language) == (
        colleague.id,
        colleague.email,
        "de",
    )
    path, message = delivered_link(app, smtp, colleague.email)
    assert "Stellungnahme" in message["Subject"] or "Gutachten" in message["Subject"]
    assert path.endswith("?lang=de")
    page = text(app.test_client().get(path))
    assert "Intérim Liège SA" in page, "the answers were shared, with the company's name"


def test_the_reminder_goes_once_two_days_before_with_the_same_working_link(
    app, client, agent, smtp
):
    dossier, _shared, _hidden = received_dossier(app)
    ask(client, dossier, due_on=due(5))
    first, _message = delivered_link(app, smtp, "eva@inspection.example")
    with app.app_context():
        assert opinions.send_reminders() == 0, "five days before: too early"
        in_three_days = utcnow() + timedelta(days=3)
        assert opinions.send_reminders(in_three_days) == 1
        assert opinions.send_reminders(in_three_days) == 0, "once"
        notifications.deliver_due()
    reminders = [m for m in smtp.messages if m["Subject"].strip().startswith("Rappel")]
    assert len(reminders) == 1
    assert link_of(reminders[0]) == first
    assert app.test_client().get(first).status_code == 200
    assert AuditEvent.select().where(AuditEvent.action == "dossier.opinion_reminded").count() == 1


def test_a_withdrawn_request_opens_nothing_and_gets_no_reminder(app, client, agent, smtp):
    dossier, _shared, _hidden = received_dossier(app)
    ask(client, dossier, due_on=due(2))
    path, _message = delivered_link(app, smtp, "eva@inspection.example")
    opinion = ExpertOpinion.get()
    page = client.get(detail_url(dossier)).text
    cancel = client.post(
        f"/admin/dossiers/opinion/{dossier.id}/{opinion.id}/cancel",
        data={"csrf_token": csrf_from(page)},
    )
    assert cancel.status_code == 302
    refused = app.test_client().get(path)
    assert refused.status_code == 410 and "retirée" in text(refused)
    with app.app_context():
        assert opinions.send_reminders() == 0
    assert "retiré" in text(client.get(detail_url(dossier)))


def test_the_experts_bad_answers_are_refused_with_the_text_kept(app, client, agent, smtp):
    dossier, _shared, _hidden = received_dossier(app)
    ask(client, dossier)
    path, _message = delivered_link(app, smtp, "eva@inspection.example")
    expert = app.test_client()
    empty = answer(expert, path, "   ")
    assert empty.status_code == 422 and "Écrivez votre avis." in text(empty)
    not_pdf = answer(expert, path, file=(io.BytesIO(b"GIF89a not a pdf"), "photo.pdf"))
    assert not_pdf.status_code == 422
    assert "« photo.pdf » est refusé" in text(not_pdf)
    assert ANSWER in text(not_pdf), "the text typed is kept"
    assert "choisissez à nouveau le fichier" in text(not_pdf)
    too_long = answer(expert, path, "a" * 10001)
    assert too_long.status_code == 422 and "au plus 10000" in text(too_long)
    no_token = expert.post(path.split("?")[0], data={"answer": ANSWER})
    assert no_token.status_code == 400
    assert ExpertOpinion.get().answered_at is None
    assert answer(expert, path).status_code == 200


def test_an_infected_pdf_is_refused_by_the_antivirus(app, client, agent, smtp, clamd_socket):  # noqa: F811
    app.config.update(ANTIVIRUS="clamd", CLAMD_SOCKET=clamd_socket, CLAMD_TIMEOUT=10)
    antivirus.init_app(app)
    dossier, _shared, _hidden = received_dossier(app)
    ask(client, dossier)
    path, _message = delivered_link(app, smtp, "eva@inspection.example")
    expert = app.test_client()
    refused = answer(expert, path, file=(io.BytesIO(eicar_pdf()), "virus.pdf"))
    assert refused.status_code == 422
    assert "« virus.pdf » est refusé par l'antivirus" in text(refused)
    assert ExpertOpinion.get().answered_at is None
    assert answer(expert, path, file=(io.BytesIO(blank_pdf()), "sain.pdf")).status_code == 200


def test_an_answers_pdf_is_no_orphan_and_goes_with_the_dossiers_personal_data(app, ctx):
    import storage
    from dossiers import orphans, retention

    dossier = make_dossier(DossierStatus.PROCESSING)
    day = brussels_day(utcnow()) + timedelta(days=5)
    agent = Actor.staff_member(make_staff())
    asked = opinions.ask(agent, dossier, QUESTION, day, expert_name="E", expert_email="e@x.be")
    opinions.answer(opinions.link_token(asked), ANSWER, "avis.pdf", blank_pdf())
    key = ExpertOpinion.get().file_key
    assert orphans.referenced([key]) == {key}
    assert orphans.remove_orphans(grace_hours=0, now=utcnow().timestamp() + 3600).orphans == 0
    assert storage.get_storage().exists(key)

    from dossiers import processing

    processing.close(agent, dossier, "granted", "Conditions remplies.")
    assert retention.anonymise(dossier, retention.kept_until(dossier))
    assert ExpertOpinion.select().count() == 0
    assert not storage.get_storage().exists(key)
    sent = OutboxMessage.select().where(OutboxMessage.event == "opinion_requested").get()
    assert sent.to_email == "" and sent.context == {}
