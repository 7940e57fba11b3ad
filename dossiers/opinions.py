"""Expert opinions ("avis"): an agent asks another staff member or an outside expert a
question on a dossier, with a deadline. The expert gets an email with a link that opens a page
showing only what the agent shared (the answers, some annexes) and an answer form (text and an
optional PDF); the link answers once, until the end of its deadline day in Brussels, and a
reminder goes out two days before. The answer lands in the dossier's timeline and is emailed to
the agent who asked. A confidential opinion is never shown to the company; the others are shown
on its dossier page once answered.

The link's secret is the HMAC-SHA256, under SECRET_KEY, of a random nonce kept on the row (so
that the reminder sends the same link, and a copy of the database alone opens nothing); a link
is found by the secret's SHA-256 alone, never by a dossier's number, so that one link opens
nothing of another dossier. Changing SECRET_KEY closes the links not answered yet."""

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

import antivirus
import notifications
import storage
from dossiers import DossierNotFound, DossierRefused
from dossiers.access import member_for, require_staff
from dossiers.annexes import checked_pdf, display_name
from models import (
    Actor,
    Annex,
    AuditEvent,
    ExpertOpinion,
    Role,
    StaffUser,
    brussels_day,
    utcnow,
    write_transaction,
)

log = logging.getLogger(__name__)
QUESTION_MAX = 5000  # characters
ANSWER_MAX = 10000
NAME_MAX = 200
LONGEST_DELAY = 90  # days: the latest deadline an agent may give
REMINDER_DAYS = 2  # the reminder goes out this many days before the deadline day


class OpinionLinkRefused(DossierRefused):
    """The link opens nothing: unknown, already answered, cancelled or past its deadline. The
    message says which, never anything of the dossier."""

    def __init__(self, message, unknown=False):
        super().__init__(message, DossierRefused.NOT_ALLOWED)
        self.unknown = unknown


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def link_token(opinion):
    """The secret of the opinion's link (the part of its URL after /avis/)."""
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, b"guichet expert opinion:" + opinion.link_nonce.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def invalid(message, field):
    return DossierRefused(message, DossierRefused.INVALID, field)


def checked_text(text, most, field, empty_message):
    text = (text or "").strip()
    if not text:
        raise invalid(empty_message, field)
    if len(text) > most:
        raise invalid(
            _(
                "Le texte compte %(count)d caractères ; il en accepte au plus %(max)d. "
                "Raccourcissez-le.",
                count=len(text),
                max=most,
            ),
            field,
        )
    return text


def checked_expert(expert_staff, name, email):
    """(staff or None, name, address) of the expert: a staff member (their own name and
    address) or an outside expert (a name and a valid address)."""
    if expert_staff is not None:
        if not expert_staff.active:
            raise invalid(_("Ce membre du personnel n'a plus d'accès actif."), "expert_staff")
        return expert_staff, expert_staff.full_name, expert_staff.email
    name = checked_text(name, NAME_MAX, "expert_name", _("Donnez le nom de l'expert."))
    try:
        email = validate_email((email or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise invalid(
            _("Donnez une adresse e-mail valable, par exemple nom@exemple.be."), "expert_email"
        ) from None
    return None, name, email


def checked_deadline(due_on, now):
    today = brussels_day(now)
    if due_on is None:
        raise invalid(_("Donnez la date limite de l'avis."), "due_on")
    if due_on <= today:
        raise invalid(_("La date limite doit être postérieure à aujourd'hui."), "due_on")
    if due_on > today + timedelta(days=LONGEST_DELAY):
        raise invalid(
            _("La date limite est au plus dans %(days)d jours.", days=LONGEST_DELAY), "due_on"
        )
    return due_on


def shareable_annexes(dossier):
    """The dossier's annexes an agent may share: those scanned clean."""
    return [
        annex
        for annex in Annex.select().where(Annex.dossier == dossier).order_by(Annex.uploaded_at)
        if annex.is_clean
    ]


def ask(
    actor,
    dossier,
    question,
    due_on,
    *,
    expert_staff=None,
    expert_name=None,
    expert_email=None,
    language="fr",
    confidential=True,
    share_answers=False,
    annex_ids=(),
):
    """Ask an opinion; returns the ExpertOpinion. Its link is emailed to the expert, once."""
    require_staff(actor, dossier)
    if dossier.state.is_closed:
        raise DossierRefused(
            _("Ce dossier est clôturé : on n'y demande plus d'avis."), DossierRefused.NOT_ALLOWED
        )
    question = checked_text(question, QUESTION_MAX, "question", _("Écrivez la question posée."))
    expert_staff, name, email = checked_expert(expert_staff, expert_name, expert_email)
    now = utcnow()
    due_on = checked_deadline(due_on, now)
    offered = {annex.id for annex in shareable_annexes(dossier)}
    wanted = {int(annex_id) for annex_id in annex_ids}
    if not wanted <= offered:
        raise invalid(_("Une annexe choisie n'est pas une annexe saine de ce dossier."), "annexes")
    if expert_staff is not None:
        language = expert_staff.language
    opinion = ExpertOpinion(link_nonce=secrets.token_urlsafe(32))
    token = link_token(opinion)
    with write_transaction():
        opinion = ExpertOpinion.create(
            dossier=dossier,
            asked_by=actor.staff,
            expert_staff=expert_staff,
            expert_name=name,
            expert_email=email,
            language=language,
            question=question,
            due_on=due_on,
            confidential=bool(confidential),
            share_answers=bool(share_answers),
            shared_annexes=sorted(wanted),
            link_nonce=opinion.link_nonce,
            token_hash=digest(token),
            created_at=now,
        )
        notifications.opinion_requested(opinion, token)
        AuditEvent.record(
            "dossier.opinion_asked",
            actor,
            dossier,
            opinion=opinion.id,
            expert=email,
            due_on=due_on.isoformat(),
            confidential=opinion.confidential,
        )
    return opinion


def cancel(actor, opinion):
    """Withdraw an opinion not answered yet: its link opens nothing from now on."""
    dossier = opinion.dossier
    require_staff(actor, dossier)
    with write_transaction():
        changed = (
            ExpertOpinion.update(cancelled_at=utcnow())
            .where(
                ExpertOpinion.id == opinion.id,
                ExpertOpinion.answered_at.is_null(),
                ExpertOpinion.cancelled_at.is_null(),
            )
            .execute()
        )
        if not changed:
            raise DossierRefused(
                _("Cet avis a déjà été rendu ou retiré."), DossierRefused.CONCURRENT
            )
        AuditEvent.record("dossier.opinion_cancelled", actor, dossier, opinion=opinion.id)
    return ExpertOpinion.get_by_id(opinion.id)


def opinion_of_link(token, now=None):
    """The opinion a link opens, or OpinionLinkRefused saying why it opens nothing."""
    found = ExpertOpinion.get_or_none(ExpertOpinion.token_hash == digest(token or ""))
    if found is None:
        raise OpinionLinkRefused(
            _("Ce lien n'est pas valable. Vérifiez qu'il est complet."), unknown=True
        )
    if found.answered_at is not None:
        raise OpinionLinkRefused(
            _("Cet avis a déjà été rendu : le lien ne sert qu'une fois. Merci de votre réponse.")
        )
    if found.cancelled_at is not None:
        raise OpinionLinkRefused(_("Cette demande d'avis a été retirée par l'administration."))
    if brussels_day(now or utcnow()) > found.due_on:
        raise OpinionLinkRefused(
            _(
                "Le délai de cette demande d'avis est passé ; le lien ne sert plus. "
                "Contactez l'agent qui vous l'a demandé."
            )
        )
    return found


def shared_view(opinion):
    """What the link shows: the question, the deadline, and only what the agent shared."""
    annexes = (
        list(
            Annex.select().where(
                Annex.id.in_(opinion.shared_annexes), Annex.dossier == opinion.dossier
            )
        )
        if opinion.shared_annexes
        else []
    )
    return {
        "opinion": opinion,
        "dossier": opinion.dossier,
        "annexes": [annex for annex in annexes if annex.is_clean],
    }


def shared_annex(token, annex_id):
    """(annex, bytes) of an annex the link shares, or DossierNotFound."""
    opinion = opinion_of_link(token)
    if annex_id not in opinion.shared_annexes:
        raise DossierNotFound(opinion.dossier_id)
    annex = Annex.get_or_none(Annex.id == annex_id, Annex.dossier == opinion.dossier_id)
    if annex is None or not annex.is_clean:
        raise DossierNotFound(opinion.dossier_id)
    return annex, storage.read_verified(annex.storage_key, annex.sha256)


def checked_file(filename, data):
    """The PdfInfo of the answer's PDF, scanned clean; DossierRefused otherwise."""
    info = checked_pdf(filename, data)
    try:
        verdict = antivirus.scanner().scan(data)
    except antivirus.ScannerUnavailable as exc:
        log.warning("An expert's PDF is refused, the scanner did not answer: %s", exc)
        raise invalid(
            _(
                "L'antivirus ne répond pas pour l'instant : le fichier n'est pas reçu. "
                "Réessayez dans quelques minutes ; votre texte est gardé dans le formulaire."
            ),
            "file",
        ) from exc
    if verdict.outcome != antivirus.CLEAN:
        raise invalid(
            _(
                "« %(name)s » est refusé par l'antivirus (%(found)s).",
                name=display_name(filename),
                found=verdict.detail or "?",
            ),
            "file",
        )
    return info


def answer(token, text, filename=None, data=None, ip_address=None):
    """The expert's answer, once: the text and an optional PDF. The link opens nothing after."""
    opinion = opinion_of_link(token)
    text = checked_text(text, ANSWER_MAX, "answer", _("Écrivez votre avis."))
    stored = info = None
    if data:
        info = checked_file(filename, data)
        stored = storage.store(data)
    now = utcnow()
    try:
        with write_transaction():
            changed = (
                ExpertOpinion.update(
                    answered_at=now,
                    answer=text,
                    file_name=display_name(filename) if stored else None,
                    file_key=stored.key if stored else None,
                    file_sha256=stored.sha256 if stored else None,
                    file_size=stored.size if stored else None,
                    file_pages=info.pages if info else None,
                )
                .where(
                    ExpertOpinion.id == opinion.id,
                    ExpertOpinion.answered_at.is_null(),
                    ExpertOpinion.cancelled_at.is_null(),
                )
                .execute()
            )
            if not changed:  # answered (or withdrawn) meanwhile, by another tab
                raise OpinionLinkRefused(
                    _("Cet avis a déjà été rendu : le lien ne sert qu'une fois.")
                )
            fresh = ExpertOpinion.get_by_id(opinion.id)
            notifications.opinion_answered(fresh)
            AuditEvent.record(
                "dossier.opinion_answered",
                Actor.system(),
                fresh.dossier,
                ip_address=ip_address,
                opinion=fresh.id,
                expert=fresh.expert_email,
                length=len(text),
                file=bool(stored),
            )
    except Exception:
        if stored:
            storage.get_storage().delete(stored.key)
        raise
    return fresh


def opinions_of(actor, dossier):
    """Every opinion asked on the dossier, for its staff page (newest last)."""
    require_staff(actor, dossier)
    return list(
        ExpertOpinion.select(ExpertOpinion, StaffUser)
        .join(StaffUser, on=ExpertOpinion.asked_by == StaffUser.id)
        .where(ExpertOpinion.dossier == dossier)
        .order_by(ExpertOpinion.created_at, ExpertOpinion.id)
    )


def opinion_of(dossier, opinion_id):
    """The opinion `opinion_id` of the dossier, or None (one of another dossier is not found)."""
    return ExpertOpinion.get_or_none(
        ExpertOpinion.id == opinion_id, ExpertOpinion.dossier == dossier
    )


def shown_to_company(dossier):
    """The answered opinions that are not confidential: what the company reads of them."""
    return list(
        ExpertOpinion.select()
        .where(
            ExpertOpinion.dossier == dossier,
            ExpertOpinion.confidential == False,  # noqa: E712 -- peewee builds SQL from it
            ExpertOpinion.answered_at.is_null(False),
        )
        .order_by(ExpertOpinion.answered_at, ExpertOpinion.id)
    )


def answer_file(actor, opinion):
    """The bytes of the answer's PDF (checked against its SHA-256) for staff, or None."""
    require_staff(actor, opinion.dossier)
    return stored_answer(opinion)


def company_answer_file(actor, dossier, opinion_id):
    """The answer's PDF of an opinion shown to the company (not confidential), for its member;
    DossierNotFound for any other."""
    member_for(actor, dossier, Role.CONSULT)
    opinion = opinion_of(dossier, opinion_id)
    if opinion is None or opinion.confidential or opinion.answered_at is None:
        raise DossierNotFound(dossier.id)
    data = stored_answer(opinion)
    if data is None:
        raise DossierNotFound(dossier.id)
    return opinion, data


def stored_answer(opinion):
    if not opinion.file_key or opinion.answered_at is None:
        return None
    return storage.read_verified(opinion.file_key, opinion.file_sha256)


def reminders_due(now):
    """The open opinions whose deadline day is within REMINDER_DAYS, not reminded yet."""
    today = brussels_day(now)
    return (
        ExpertOpinion.select()
        .where(
            ExpertOpinion.due_on >= today,
            ExpertOpinion.due_on <= today + timedelta(days=REMINDER_DAYS),
            ExpertOpinion.answered_at.is_null(),
            ExpertOpinion.cancelled_at.is_null(),
            ExpertOpinion.reminded_at.is_null(),
        )
        .order_by(ExpertOpinion.due_on, ExpertOpinion.id)
    )


def send_reminders(now=None):
    """One reminder per open opinion before its deadline (the worker's daily task; the mark is
    set only if still unset, so two workers never send it twice); returns how many."""
    now = now or utcnow()
    sent = 0
    for opinion in list(reminders_due(now)):
        with write_transaction():
            marked = (
                ExpertOpinion.update(reminded_at=now)
                .where(ExpertOpinion.id == opinion.id, ExpertOpinion.reminded_at.is_null())
                .execute()
            )
            if not marked:
                continue
            notifications.opinion_reminder(opinion, link_token(opinion))
            AuditEvent.record(
                "dossier.opinion_reminded", Actor.system(), opinion.dossier, opinion=opinion.id
            )
            sent += 1
    return sent
