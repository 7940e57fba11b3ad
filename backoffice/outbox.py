"""The outbox in the back-office (administrators and supervisors): every email's delivery
status, and "Réessayer" for a failed one. Bodies are never shown: some carry one-time codes."""

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

import notifications
from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column
from models import OutboxMessage, OutboxStatus, StaffRole

STATUS_LABELS = {
    OutboxStatus.PENDING: _l("En attente"),
    OutboxStatus.SENT: _l("Envoyé"),
    OutboxStatus.FAILED: _l("Échec"),
}
STATUS_BADGES = {OutboxStatus.PENDING: "info", OutboxStatus.SENT: "success"}
EVENT_LABELS = {
    "login_code": _l("Code de connexion"),
    "email_verification": _l("Validation d'adresse professionnelle"),
    "invitation": _l("Invitation"),
    "access_changed": _l("Accès modifiés"),
    "submitted": _l("Soumission"),
    "message": _l("Message sur un dossier"),
    "complement": _l("Demande de compléments"),
    "complement_answered": _l("Réponse aux compléments"),
    "following_digest": _l("Résumé des dossiers suivis"),
    "deadline_reminder": _l("Rappel de délai légal (à l'agent)"),
    "annex_infected": _l("Annexe refusée par l'antivirus"),
    "report_reminder": _l("Rappel de rapport d'activités"),
    "received": _l("Réception"),
    "processing": _l("Traitement"),
    "closed": _l("Clôture"),
}
ERROR_PREVIEW = 120


def event_label(event):
    return EVENT_LABELS.get(event, event)


def status_column(view, context, model, name):
    status = OutboxStatus(model.status)
    return Markup('<span class="badge badge-{}">{}</span>').format(
        STATUS_BADGES.get(status, "danger"), STATUS_LABELS[status]
    )


def error_column(view, context, model, name):
    error = model.last_error or ""
    if len(error) <= ERROR_PREVIEW:
        return error
    return Markup('<span title="{}">{}…</span>').format(error, error[:ERROR_PREVIEW])


def retry_messages(messages):
    """Put the failed ones back in the queue, each with its audit row; (retried, skipped)."""
    actor = current_actor()
    retried = [m for m in messages if notifications.retry(actor, m)]
    return retried, [m for m in messages if m not in retried]


class OutboxView(StaffModelView):
    allowed_roles = frozenset({StaffRole.ADMIN, StaffRole.SUPERVISOR})
    can_view_details = True
    details_template = "backoffice/outbox_details.html"
    column_list = (
        "event",
        "to_email",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    )
    column_details_list = (
        "event",
        "to_email",
        "language",
        "subject",
        "dossier",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "message_id",
    )
    column_labels = {
        "event": _l("Événement"),
        "to_email": _l("Destinataire"),
        "status": _l("Statut"),
        "attempts": _l("Essais"),
        "next_attempt_at": _l("Prochain essai"),
        "last_error": _l("Dernière erreur"),
        "created_at": _l("Créé le"),
        "sent_at": _l("Envoyé le"),
        "language": _l("Langue"),
        "subject": _l("Objet"),
        "dossier": _l("Dossier"),
        "message_id": _l("Message-ID"),
    }
    column_default_sort = [("created_at", True), ("id", True)]
    column_sortable_list = ("created_at", "next_attempt_at", "status", "attempts", "sent_at")
    column_searchable_list = (OutboxMessage.to_email,)
    column_filters = (
        FilterEqual(
            OutboxMessage.status,
            _l("Statut"),
            options=[(s.value, label) for s, label in STATUS_LABELS.items()],
        ),
        FilterEqual(
            OutboxMessage.event,
            _l("Événement"),
            options=[(e, label) for e, label in EVENT_LABELS.items()],
        ),
    )
    column_formatters = {
        "event": lambda v, c, m, n: event_label(m.event),
        "status": status_column,
        "last_error": error_column,
        "dossier": lambda v, c, m, n: str(m.dossier) if m.dossier_id else "",
        **{n: datetime_column for n in ("next_attempt_at", "created_at", "sent_at")},
    }

    def search_placeholder(self):
        return _("Adresse du destinataire")

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["can_retry"] = kwargs["model"].status == OutboxStatus.FAILED.value
        return super().render(template, **kwargs)

    @expose("/retry/<int:message_id>", methods=("POST",))
    def retry_view(self, message_id):
        message = OutboxMessage.get_or_none(OutboxMessage.id == message_id) or abort(404)
        retried, _skipped = retry_messages([message])
        if retried:
            flash(_("L'e-mail à %(to)s est remis en file d'envoi.", to=message.to_email), "success")
        else:
            flash(_("Seul un e-mail en échec peut être réessayé."), "error")
        return redirect(url_for(".details_view", id=message_id))

    @action("retry", _l("Réessayer"), _l("Remettre en file d'envoi les e-mails sélectionnés ?"))
    def action_retry(self, ids):
        messages = OutboxMessage.select().where(OutboxMessage.id.in_([int(i) for i in ids]))
        retried, skipped = retry_messages(list(messages))
        if retried:
            flash(_("%(count)s e-mail(s) remis en file d'envoi.", count=len(retried)), "success")
        if skipped:
            flash(
                _(
                    "%(count)s e-mail(s) ignoré(s) : seul un e-mail en échec peut être réessayé.",
                    count=len(skipped),
                ),
                "warning",
            )
