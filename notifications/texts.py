"""The email texts administrators edit (/admin/email-templates/): per event and language, a
subject and a body written as plain text with placeholders, checked before they are saved,
versioned (EmailTemplate), and used by `notifications.render` instead of the shipped template.

What a text may hold is deliberately small: placeholders of its event, a few filters and
`{% if %}` on placeholders; `notifications.text_check` refuses anything else before it is saved.

The body is rendered as plain text, then put inside the house layout (`emails/_layout.*`, which
adds the greeting, the link to the dossier and the footer); its HTML is that text escaped as a
whole (the literal text too, not only the values: a body is never HTML), cut into paragraphs,
its web addresses made links.

The emails that carry a one-time code or validation link (login_code, email_verification) are
not editable: a text without its code would lock people out.
"""

import re

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

import notifications  # the package, partly loaded when it imports this module: read at call time
from models import (
    ActorKind,
    AuditEvent,
    Decision,
    Dossier,
    EmailTemplate,
    Message,
    ProcedureDefinition,
    StaffRole,
    StatusChange,
    utcnow,
    write_transaction,
)
from notifications.text_check import ENV, template_problems

SUBJECT_MAX = 300
BODY_MAX = 10_000

# What each placeholder holds, as the edit page documents it.
PLACEHOLDER_LABELS = {
    "reference": _l("la référence du dossier"),
    "procedure": _l("le titre de la procédure"),
    "company": _l("le nom de l'entreprise"),
    "recipient": _l("le nom du destinataire"),
    "decision": _l("la décision (accordé, refusé, sans suite), dans la langue du destinataire"),
    "decision_label": _l("la même chose que decision"),
    "comment": _l("la motivation de la décision, ou le commentaire du changement de statut"),
    "body": _l("le texte du message écrit par l'agent ou l'entreprise"),
    "requested_annexes": _l("les documents demandés, séparés par des virgules"),
    "annex_count": _l("le nombre d'annexes jointes à la réponse"),
    "name": _l("le nom du fichier refusé"),
    "found": _l("ce que l'antivirus a trouvé"),
    "year": _l("l'année du rapport"),
    "due": _l("la date limite"),
    "days": _l("le nombre de jours"),
    "actor": _l("la personne qui a fait le changement"),
    "change": _l("le changement d'accès ou les rôles"),
    "webhook": _l("le nom du webhook"),
    "url": _l("l'adresse du webhook"),
    "failures": _l("le nombre d'échecs"),
    "last_answer": _l("la dernière réponse reçue"),
    "webhook_id": _l("le numéro du webhook dans le back-office"),
    "base_url": _l("l'adresse du Guichet (par exemple pour un lien)"),
}

DOSSIER = ("reference", "procedure", "company", "recipient")
# The editable events, each with the placeholders its messages carry (their context, as
# `notifications.events` and `OutboxMessage.queue_for_dossier` write it).
PLACEHOLDERS = {
    "submitted": (*DOSSIER, "comment"),
    "received": (*DOSSIER, "comment"),
    "processing": (*DOSSIER, "comment"),
    "closed": (*DOSSIER, "decision", "decision_label", "comment"),
    "message": (*DOSSIER, "body"),
    "complement": (*DOSSIER, "body", "requested_annexes"),
    "complement_answered": (*DOSSIER, "body", "annex_count"),
    "deadline_reminder": (*DOSSIER, "due", "days"),
    "annex_infected": (*DOSSIER, "name", "found"),
    "invitation": ("company", "recipient", "actor", "change", "base_url"),
    "access_changed": ("company", "recipient", "actor", "change"),
    "report_reminder": ("company", "recipient", "year", "due", "days"),
    "draft_expiring": ("procedure", "company", "recipient", "due", "days"),
    "webhook_paused": (
        "recipient",
        "webhook",
        "url",
        "failures",
        "last_answer",
        "webhook_id",
        "base_url",
    ),
}


class TextRefused(Exception):
    """A text that cannot be saved: `errors` is {field: [messages]}, in the admin's language."""

    def __init__(self, errors):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def editable_events():
    return list(PLACEHOLDERS)


def languages():
    return list(current_app.config["LANGUAGES_READY"])


def require_administrator(actor):
    if actor.kind != ActorKind.STAFF or actor.staff.staff_role != StaffRole.ADMIN:
        raise TextRefused({"body": [_("Seul un administrateur modifie les textes des e-mails.")]})


def check_event(event, language):
    if event not in PLACEHOLDERS or language not in languages():
        raise LookupError(f"{event}/{language} is not an editable email")


# --- the check ------------------------------------------------------------------------------


def check(event, subject, body):
    """The text as it will be saved ({"subject": …, "body": …}); TextRefused says what is wrong
    with each field."""
    allowed = PLACEHOLDERS[event]
    subject, body = (subject or "").strip(), (body or "").replace("\r\n", "\n").strip("\n")
    errors = {"subject": [], "body": []}
    if not subject:
        errors["subject"].append(_("Écrivez l'objet de l'e-mail."))
    elif "\n" in subject or "\r" in subject:
        errors["subject"].append(_("L'objet tient sur une seule ligne."))
    elif len(subject) > SUBJECT_MAX:
        errors["subject"].append(
            _(
                "L'objet fait %(length)s caractères : %(max)s au plus.",
                length=len(subject),
                max=SUBJECT_MAX,
            )
        )
    else:
        errors["subject"] += template_problems(subject, allowed)
    if not body.strip():
        errors["body"].append(_("Écrivez le texte de l'e-mail."))
    elif len(body) > BODY_MAX:
        errors["body"].append(
            _(
                "Le texte fait %(length)s caractères : %(max)s au plus.",
                length=len(body),
                max=BODY_MAX,
            )
        )
    else:
        errors["body"] += template_problems(body, allowed)
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise TextRefused(errors)
    return {"subject": subject, "body": body}


# --- versions -------------------------------------------------------------------------------


def save_version(actor, event, language, subject, body):
    """A new version of the email's text, in force at once; audited."""
    require_administrator(actor)
    check_event(event, language)
    text = check(event, subject, body)
    with write_transaction():
        version = EmailTemplate.create(
            event=event, language=language, author=actor.staff, created_at=utcnow(), **text
        )
        AuditEvent.record(
            "email_template.save", actor, version, event=event, language=language, **text
        )
    return version


def revert(actor, event, language):
    """Back to the shipped text: a version that says so (the history keeps the edited ones);
    None when the shipped text is already in force. Audited."""
    require_administrator(actor)
    check_event(event, language)
    with write_transaction():
        if EmailTemplate.in_force(event, language) is None:
            return None
        version = EmailTemplate.create(
            event=event, language=language, is_default=True, author=actor.staff, created_at=utcnow()
        )
        AuditEvent.record("email_template.revert", actor, version, event=event, language=language)
    return version


def overview():
    """{(event, language): the version in force, or None for the shipped text}."""
    latest = {}
    for row in EmailTemplate.select().order_by(EmailTemplate.id):
        latest[(row.event, row.language)] = None if row.is_default else row
    return latest


# --- rendering ------------------------------------------------------------------------------


def values(event, context):
    """The placeholders of `event` from a message's context (already `localized`): each one
    present (empty when the message has none), a list written out, the decision in words."""
    result = {}
    for name in PLACEHOLDERS[event]:
        value = context.get(name)
        if name in ("decision", "decision_label"):
            value = context.get("decision_label")
        elif isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        result[name] = "" if value is None else value
    return result


def rendered(version, context):
    """(subject, body) of an edited text for one message, as plain text."""
    params = values(version.event, context)
    subject = ENV.from_string(version.subject).render(params)
    body = ENV.from_string(version.body).render(params)
    return subject, body.strip("\n")


URL = re.compile(r"https?://[^\s<>\"']+")


def linked(line):
    """One line of plain text as HTML: escaped, its web addresses made links."""
    parts, last = [], 0
    for match in URL.finditer(line):
        url = match.group().rstrip(".,;:!?)")
        parts += [escape(line[last : match.start()]), Markup('<a href="{0}">{0}</a>').format(url)]
        last = match.start() + len(url)
    return Markup("").join([*parts, escape(line[last:])])


def paragraphs(text):
    """The plain text as HTML paragraphs: every character escaped, blank lines between
    paragraphs, line breaks kept, web addresses made links."""
    blocks = [b.strip("\n") for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(linked(line) for line in b.split("\n")))
        for b in blocks
    )


# The values a shipped text shows only when the message has them: a line of the starting text
# that holds one of them is put inside its `{% if %}`.
OPTIONAL = ("comment", "decision_label", "body", "requested_annexes")


def conditional(line):
    for name in OPTIONAL:
        if "{{ " + name + " }}" in line:
            return "{% if " + name + " %}" + line + "{% endif %}"
    return line


def shipped_text(event, language):
    """The shipped text of the email with its placeholders, the start of a first edit: the
    subject and body block of `emails/<event>.txt` rendered with `{{ name }}` for each value."""
    placeholders = {name: "{{ " + name + " }}" for name in PLACEHOLDERS[event]}
    context = dict(
        placeholders,
        base_url="{{ base_url }}",
        decision="{{ decision }}",
        requested_annexes=["{{ requested_annexes }}"],
    )
    with force_locale(language):
        subject = str(notifications.SUBJECTS[event]) % placeholders
        template = current_app.jinja_env.get_template(f"emails/{event}.txt")
        body = "".join(template.blocks["body"](template.new_context(context))).strip("\n")
    return subject, "\n".join(conditional(line) for line in body.split("\n"))


# --- preview --------------------------------------------------------------------------------


class NoDossier(Exception):
    """No dossier for a preview: the reference is unknown, or the procedure has none."""


def preview_dossier(reference=None, procedure=None):
    """The dossier of `reference`, else the latest submitted one of `procedure` (else of any),
    read newest first on the index of (submitted_at, id) of the submitted dossiers."""
    if reference:
        dossier = Dossier.get_or_none(Dossier.reference == reference.strip())
    else:
        query = Dossier.select().where(Dossier.submitted_at.is_null(False))
        if procedure:
            versions = ProcedureDefinition.select(ProcedureDefinition.id).where(
                ProcedureDefinition.code == procedure
            )
            query = query.where(Dossier.definition.in_(versions))
        dossier = query.order_by(Dossier.submitted_at.desc(), Dossier.id.desc()).first()
    if dossier is None:
        raise NoDossier
    return dossier


def preview_context(event, dossier):
    """What a message of `event` about `dossier` would carry: the dossier's own values, its
    submitter as the recipient, its latest comment and message; example values for the rest."""
    recipient = dossier.submitted_by or dossier.created_by
    change = (
        StatusChange.select()
        .where(StatusChange.dossier == dossier, StatusChange.comment.is_null(False))
        .order_by(StatusChange.id.desc())
        .first()
    )
    message = Message.select().where(Message.dossier == dossier).order_by(Message.id.desc()).first()
    return {
        "dossier_id": dossier.id,
        "reference": dossier.reference,
        "procedure": dossier.definition.title,
        "company": dossier.company.name,
        "status": dossier.status,
        "decision": dossier.decision or (Decision.GRANTED.value if event == "closed" else None),
        "comment": change.comment if change else None,
        "recipient": recipient.full_name,
        "body": message.body if message else str(_l("(le texte du message)")),
        "requested_annexes": list(message.requested_annexes) if message else [],
        "annex_count": 1,
        "name": "document.pdf",
        "found": "Eicar-Test-Signature",
        "year": utcnow().year,
        "due": utcnow().date().isoformat(),
        "days": 30,
        "actor": recipient.full_name,
        "roles": 7,
        "webhook": "archives",
        "webhook_id": 1,
        "url": "https://archives.example/hook",
        "failures": 10,
        "last_answer": "HTTP 503",
        "staff": event in ("complement_answered", "deadline_reminder", "webhook_paused"),
    }
