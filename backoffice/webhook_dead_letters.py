"""The webhooks' dead letters in the back-office (administrators only), at
/admin/webhooks/dead-letters/: every delivery whose attempts were all spent, across the
subscriptions (a filter by subscription), with its last answer; "Rejouer" on a row and for the
selected rows, through `webhooks.subscriptions.replay`, which audits each."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from peewee import fn

from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.webhooks import event_type_label
from models import (
    DeliveryStatus,
    Event,
    StaffRole,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from webhooks import subscriptions


def subscription_options():
    return [
        (str(s.id), s.name)
        for s in WebhookSubscription.select(
            WebhookSubscription.id, WebhookSubscription.name
        ).order_by(WebhookSubscription.name)
    ]


def with_last_attempt(deliveries):
    """Each delivery's last attempt time, read in one grouped query (None once the log of it
    is purged after WEBHOOK_LOG_DAYS)."""
    rows = list(deliveries)
    last = {}
    if rows:
        last = dict(
            WebhookAttempt.select(WebhookAttempt.delivery, fn.MAX(WebhookAttempt.attempted_at))
            .where(WebhookAttempt.delivery.in_([r.id for r in rows]))
            .group_by(WebhookAttempt.delivery)
            .tuples()
        )
    for row in rows:
        row.last_attempt_at = last.get(row.id)
    return rows


def last_answer_column(view, context, model, name):
    if model.last_status_code is not None:
        return f"HTTP {model.last_status_code}"
    return model.last_error or ""


def replay_column(view, context, model, name):
    return Markup(
        '<form method="post" action="{}" class="m-0">'
        '<input type="hidden" name="csrf_token" value="{}">'
        '<button type="submit" class="btn btn-sm btn-primary">{}</button></form>'
    ).format(
        url_for(".replay_view", delivery_id=model.id, url=request.full_path),
        generate_csrf(),
        _("Rejouer"),
    )


class DeadLetterView(StaffModelView):
    allowed_roles = frozenset({StaffRole.ADMIN})
    prejoined = frozenset({"WebhookSubscription", "Event"})
    list_template = "backoffice/webhook_dead_letters.html"
    column_display_actions = False  # no page of its own: "Rejouer" is a column
    column_list = (
        "subscription",
        "event_type",
        "reference",
        "attempts",
        "last_answer",
        "last_attempt_at",
        "replay",
    )
    column_labels = {
        "subscription": _l("Webhook"),
        "event_type": _l("Événement"),
        "reference": _l("Dossier"),
        "attempts": _l("Essais"),
        "last_answer": _l("Dernière réponse ou erreur"),
        "last_attempt_at": _l("Dernier essai"),
        "replay": _l("Action"),
    }
    column_default_sort = [("position", False)]
    column_sortable_list = ()
    column_filters = (
        FilterEqual(WebhookDelivery.subscription, _l("Webhook"), options=subscription_options),
    )
    column_formatters = {
        "subscription": lambda v, c, m, n: m.subscription.name,
        "event_type": lambda v, c, m, n: event_type_label(m.event.type),
        "reference": lambda v, c, m, n: m.event.data.get("reference") or "",
        "last_answer": last_answer_column,
        "last_attempt_at": lambda v, c, m, n: (
            format_datetime(m.last_attempt_at, "short") if m.last_attempt_at else "—"
        ),
        "replay": replay_column,
    }

    def is_visible(self):
        return False  # reached from the webhooks' pages, not the menu

    def get_query(self):
        return (
            WebhookDelivery.select(WebhookDelivery, WebhookSubscription, Event)
            .join(WebhookSubscription)
            .switch(WebhookDelivery)
            .join(Event)
            .where(WebhookDelivery.status == DeliveryStatus.DEAD.value)
        )

    def get_count_query(self):
        return self.get_query().select(fn.COUNT(WebhookDelivery.id))

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        count, rows = super().get_list(
            page, sort_column, sort_desc, search, filters, execute, page_size
        )
        return count, with_last_attempt(rows) if execute else rows

    def replay(self, deliveries):
        done = subscriptions.replay(current_actor(), deliveries)
        if done:
            flash(_("%(count)s livraison(s) rejouée(s).", count=done), "success")
        else:
            flash(_("Aucune livraison rejouée : elles ne sont plus en lettres mortes."), "info")

    @expose("/replay/<int:delivery_id>", methods=("POST",))
    def replay_view(self, delivery_id):
        found = self.get_query().where(WebhookDelivery.id == delivery_id).first()
        if found is None and not WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id):
            abort(404)
        self.replay([found] if found is not None else [])
        back = request.args.get("url") or ""
        return redirect(back if back.startswith("/admin/") else url_for(".index_view"))

    @action("replay", _l("Rejouer"), _l("Rejouer les livraisons sélectionnées ?"))
    def action_replay(self, ids):
        self.replay(list(self.get_query().where(WebhookDelivery.id.in_([int(i) for i in ids]))))
        return redirect(request.referrer or url_for(".index_view"))
