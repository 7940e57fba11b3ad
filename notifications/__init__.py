"""Emails: the outbox written by the models is rendered and sent here, with retries.

A message is claimed before it is sent, so that several workers never send the same row at the
same time; a crash between sending and marking sends it again with the same Message-ID, which
mail systems recognise as a duplicate; a crash before sending loses nothing. The claims of a
worker that died are released as soon as another worker sees it dead (`notifications.claims`),
else when their lease ends.
"""

import logging
import smtplib
from collections import defaultdict
from datetime import timedelta

from flask import Blueprint, current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_mail import Connection, Mail, Message

import languages
import procedures
import storage
from models import (
    AuditEvent,
    Decision,
    Document,
    Dossier,
    EmailTemplate,
    OutboxMessage,
    OutboxStatus,
    ProcedureDefinition,
    Role,
    outbox_queued,
    utcnow,
    write_transaction,
)
from notifications import claims, texts
from notifications.events import (  # the one function per event that writes its emails
    ACCESS_CHANGES,
    HELPDESK,
    HELPDESK_NAME,
    access_changed,
    annex_infected,
    complement_answered,
    complement_requested,
    deadline_reminder,
    draft_expiring,
    email_validation,
    following_digest,
    login_code,
    member_invited,
    message_to_company,
    opinion_answered,
    opinion_reminder,
    opinion_requested,
    report_reminder,
    staff_password_link,
    webhook_paused,
)

__all__ = [
    "HELPDESK",
    "access_changed",
    "annex_infected",
    "complement_answered",
    "complement_requested",
    "deadline_reminder",
    "draft_expiring",
    "email_validation",
    "following_digest",
    "login_code",
    "member_invited",
    "message_to_company",
    "opinion_answered",
    "opinion_reminder",
    "opinion_requested",
    "report_reminder",
    "staff_password_link",
    "webhook_paused",
]

log = logging.getLogger(__name__)
mail = Mail()
bp = Blueprint("notifications", __name__, template_folder="templates")
CLAIM_SECONDS = 300
WAIT_FOR_DOCUMENT_SECONDS = 10

SUBJECTS = {
    "login_code": _l("Votre code de sécurité"),
    "staff_password": _l("Votre compte du back-office de Guichet : choisissez votre mot de passe"),
    "email_verification": _l("Validez votre adresse e-mail professionnelle pour %(company)s"),
    "invitation": _l("Vous avez accès à l'espace « %(company)s » sur Guichet"),
    "access_changed": _l("Vos accès à l'espace « %(company)s » ont changé"),
    "submitted": _l("Votre dossier %(reference)s a été soumis"),
    "message": _l("Nouveau message sur votre dossier %(reference)s"),
    "complement": _l("Compléments demandés pour votre dossier %(reference)s"),
    "complement_answered": _l("Réponse de l'entreprise au dossier %(reference)s"),
    "annex_infected": _l("Fichier refusé par l'antivirus : « %(name)s »"),
    "report_reminder": _l("Rappel : rapport d'activités %(year)s à introduire avant le %(due)s"),
    "received": _l("Votre dossier %(reference)s a été réceptionné"),
    "processing": _l("Votre dossier %(reference)s est en traitement"),
    "closed": _l("Votre dossier %(reference)s est clôturé"),
    "draft_expiring": _l("Votre brouillon « %(procedure)s » sera supprimé le %(due)s"),
    "following_digest": _l("Dossiers suivis : l'activité des entreprises"),
    "webhook_paused": _l("Webhook « %(webhook)s » mis en pause après des échecs répétés"),
    "deadline_reminder": _l("Délai légal du dossier %(reference)s : échéance le %(due)s"),
    "opinion_requested": _l("Demande d'avis sur le dossier %(reference)s, avant le %(due)s"),
    "opinion_reminder": _l("Rappel : avis attendu sur le dossier %(reference)s avant le %(due)s"),
    "opinion_answered": _l("Avis reçu de %(expert)s sur le dossier %(reference)s"),
}


def init_app(app):
    mail.init_app(app)
    app.register_blueprint(bp)


def message_id_header(message):
    return f"<{message.message_id}@{current_app.config['MAIL_MESSAGE_ID_DOMAIN']}>"


def email_language(language):
    """The recipient's language when it is offered (as on the pages), else French: a partial
    translation would mix languages in one email."""
    config = current_app.config
    return language if language in config["LANGUAGES_READY"] else config["BABEL_DEFAULT_LOCALE"]


def localized(context):
    """The message's values that are written in the recipient's language, made in the current
    one: the procedure's title, dates, roles, the change of access, the helpdesk's name."""
    if context.get("dossier_id"):
        dossier = Dossier.get_or_none(Dossier.id == context["dossier_id"])
        if dossier is not None:
            context["procedure"] = procedures.title_of(dossier.definition)
    elif context.get("definition_id"):
        definition = ProcedureDefinition.get_or_none(
            ProcedureDefinition.id == context["definition_id"]
        )
        if definition is not None:
            context["procedure"] = procedures.title_of(definition)
    if context.get("decision"):
        context["decision_label"] = str(Decision(context["decision"]).label)
    if context.get("due"):
        context["due"] = languages.short_date(context["due"])
    if context.get("roles") is not None:
        context["change"] = Role.describe(context["roles"])
    if context.get("change_kind") in ACCESS_CHANGES:
        params = dict(context.get("change_params") or {})
        if "roles" in params:
            params["roles"] = Role.describe(params["roles"])
        context["change"] = str(ACCESS_CHANGES[context["change_kind"]]) % params
    if context.get("actor") == HELPDESK:
        context["actor"] = str(HELPDESK_NAME)
    return context


def render(message, edited=None):
    """Subject, text and HTML of `message` in its recipient's language: the text an
    administrator edited for its event and language (`edited`, else the one in force), or the
    shipped template."""
    context = dict(message.context, base_url=current_app.config["PUBLIC_BASE_URL"])
    language = email_language(message.language)
    with force_locale(language):
        context = localized(context)
        if edited is None and message.event in texts.PLACEHOLDERS:
            edited = EmailTemplate.in_force(message.event, language)
        if edited is not None:
            subject, body = texts.rendered(edited, context)
            subject = one_line(subject)[: texts.SUBJECT_MAX]  # as long as the outbox keeps
            text = render_template("emails/_edited.txt", edited_body=body, **context)
            html = render_template(
                "emails/_edited.html",
                subject=subject,
                edited_body=texts.paragraphs(body),
                **context,
            )
            return subject, text, html
        subject = one_line(str(SUBJECTS[message.event]) % defaultdict(str, context))
        text = render_template(f"emails/{message.event}.txt", **context)
        html = render_template(f"emails/{message.event}.html", subject=subject, **context)
    return subject, text, html


def one_line(header):
    """A header value on one line: a line break in a value (a company name, say) can neither
    add a header nor split the subject."""
    return " ".join(header.split())


def ensure_rendered(message):
    """Render once and keep the result, so every attempt sends the same bytes."""
    if message.subject is None:
        message.subject, message.body_text, message.body_html = render(message)
        OutboxMessage.update(
            subject=message.subject, body_text=message.body_text, body_html=message.body_html
        ).where(OutboxMessage.id == message.id).execute()


def claim(message, now):
    """Take the message for this worker; False if another worker has it."""
    return (
        OutboxMessage.update(
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=claims.worker_id()
        )
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status == OutboxStatus.PENDING.value,
            (OutboxMessage.claimed_until.is_null()) | (OutboxMessage.claimed_until < now),
        )
        .execute()
        == 1
    )


# Events whose email carries a document of the dossier, and which document.
ATTACHMENTS = {"submitted": Document.RECEIPT, "closed": Document.DECISION_LETTER}


class AttachmentNotReady(Exception):
    """The document to attach is not produced yet: the message waits, no attempt counted."""


def attachment_for(message):
    """(file name, bytes) of the document the message carries, or None."""
    kind = ATTACHMENTS.get(message.event)
    if kind is None or message.dossier_id is None:
        return None
    # Made for this message: after a reopening, the previous closing's letter is not this one.
    document = Document.latest(message.dossier_id, kind, since=message.created_at)
    if document is None:
        raise AttachmentNotReady(kind)
    reference = message.context.get("reference") or str(message.dossier_id)
    prefix = "accuse-de-reception" if kind == Document.RECEIPT else "courrier-de-decision"
    return f"{prefix}-{reference}.pdf", storage.read_verified(document.storage_key, document.sha256)


def send(message):
    msg = Message(
        subject=message.subject,
        recipients=[message.to_email],
        body=message.body_text,
        html=message.body_html,
    )
    msg.msgId = message_id_header(message)
    attachment = attachment_for(message)
    if attachment:
        msg.attach(attachment[0], "application/pdf", attachment[1])
    with TimedConnection(current_app.extensions["mail"]) as connection:
        msg.send(connection)


class TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout (it has none: a server that accepts and
    then stays silent would block the worker for ever)."""

    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT_SECONDS"]
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def next_attempt(message, now):
    """When to try again after a failure, or None once the give-up window has passed."""
    cfg = current_app.config
    delay = timedelta(seconds=cfg["OUTBOX_FIRST_RETRY_SECONDS"] * 2 ** (message.attempts - 1))
    give_up_at = message.created_at + timedelta(hours=cfg["OUTBOX_GIVE_UP_HOURS"])
    when = now + delay
    return when if when <= give_up_at else None


def record_failure(message, now, error):
    message.attempts += 1
    retry_at = next_attempt(message, now)
    status = OutboxStatus.PENDING if retry_at else OutboxStatus.FAILED
    OutboxMessage.update(
        attempts=message.attempts,
        last_error=error[:2000],
        status=status.value,
        next_attempt_at=retry_at or now,
        claimed_until=None,
    ).where(OutboxMessage.id == message.id).execute()
    log.warning(
        "Email %s to %s failed (attempt %s, %s): %s",
        message.id,
        message.to_email,
        message.attempts,
        f"retry at {retry_at}" if retry_at else "given up",
        error,
    )


def deliver(message, now):
    if not claim(message, now):
        return False
    try:
        ensure_rendered(message)
        send(message)
    except AttachmentNotReady as exc:
        if now - message.created_at < timedelta(hours=current_app.config["OUTBOX_GIVE_UP_HOURS"]):
            OutboxMessage.update(
                next_attempt_at=now + timedelta(seconds=WAIT_FOR_DOCUMENT_SECONDS),
                claimed_until=None,
            ).where(OutboxMessage.id == message.id).execute()
        else:
            record_failure(message, now, f"document {exc} never produced")
        return False
    except Exception as exc:  # any failure of rendering or SMTP is retried later
        record_failure(message, now, f"{type(exc).__name__}: {exc}")
        return False
    OutboxMessage.update(
        status=OutboxStatus.SENT.value,
        sent_at=utcnow(),
        attempts=OutboxMessage.attempts + 1,
        claimed_until=None,
        last_error=None,
        **forgotten_secrets(message),
    ).where(OutboxMessage.id == message.id).execute()
    return True


# Context keys that hold a one-time code or a validation token.
SECRET_CONTEXT_KEYS = ("code", "link_path")


def forgotten_secrets(message):
    """Once sent, a message that carried a one-time code or link keeps its subject and
    recipient for the record, but not the code: context scrubbed, bodies dropped."""
    if not any(key in (message.context or {}) for key in SECRET_CONTEXT_KEYS):
        return {}
    context = {
        key: ("(effacé après envoi)" if key in SECRET_CONTEXT_KEYS else value)
        for key, value in message.context.items()
    }
    return {"context": context, "body_text": None, "body_html": None}


def mail_enabled():
    return bool(current_app.config.get("MAIL_SERVER"))


def release_abandoned_claims(now):
    """Free at once the messages claimed by a worker that has died (kill -9, a crash), which
    would otherwise wait for the end of their lease; returns how many were freed."""
    held = OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.claimed_until > now
    claimers = OutboxMessage.select(OutboxMessage.claimed_by).where(*held).distinct()
    released = 0
    for claimer in {row.claimed_by for row in claimers}:
        if claims.is_dead(claimer):
            count = (
                OutboxMessage.update(claimed_until=None)
                .where(*held, OutboxMessage.claimed_by == claimer)
                .execute()
            )
            log.warning("Outbox: %s claim(s) of ended worker %s released", count, claimer)
            released += count
    return released


def deliver_due(now=None):
    """Send what is due; returns the number sent. Without MAIL_SERVER, mail stays in the outbox."""
    if not mail_enabled():
        return 0
    now = now or utcnow()
    release_abandoned_claims(now)
    sent = 0
    batch = current_app.config["OUTBOX_BATCH_SIZE"]
    for message in list(OutboxMessage.due(now, batch)):
        sent += deliver(message, now)
    return sent


def retry(actor, message):
    """Staff action: put a failed message back in the queue now, audited; False when it is
    not failed (any more). The worker is woken at the end of the request."""
    with write_transaction():
        done = (
            OutboxMessage.update(
                status=OutboxStatus.PENDING.value, next_attempt_at=utcnow(), claimed_until=None
            )
            .where(
                OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.FAILED.value
            )
            .execute()
            == 1
        )
        if done:
            AuditEvent.record(
                "outbox.retry", actor, message, event=message.event, to=message.to_email
            )
            outbox_queued.send(OutboxMessage, message=message)
    return done
