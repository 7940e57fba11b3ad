"""The webhooks in the back-office (administrators only): the subscriptions with their state
and what waits or died for each, "Nouveau webhook" and "Nouveau secret", whose secret is shown
once on the page that answers (never in a flash, which would keep it in the session cookie),
pause, resume and delete, and each subscription's delivery log. The dead letters are
`backoffice.webhook_dead_letters`. Every change goes through `webhooks.subscriptions`, which
audits it."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from peewee import fn
from wtforms import SelectField, SelectMultipleField, StringField, URLField
from wtforms.fields import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from auth import current_actor, current_staff
from backoffice.api_tokens import procedure_choices
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column
from models import (
    DeliveryStatus,
    Event,
    EventType,
    StaffRole,
    StaffUser,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from webhooks import WebhookRefused, subscriptions

EVENT_TYPE_LABELS = {
    EventType.SUBMITTED: _l("Dossier soumis"),
    EventType.RECEIVED: _l("Dossier réceptionné"),
    EventType.PROCESSING: _l("Dossier mis en traitement"),
    EventType.CLOSED: _l("Dossier clôturé"),
    EventType.REOPENED: _l("Dossier rouvert"),
    EventType.MESSAGE: _l("Message de l'administration à l'entreprise"),
    EventType.COMPLEMENT_REQUESTED: _l("Compléments demandés"),
    EventType.COMPLEMENT_ANSWERED: _l("Réponse aux compléments"),
    EventType.ACCESS_CHANGED: _l("Accès d'une entreprise modifiés"),
}
DELIVERY_LABELS = {
    DeliveryStatus.PENDING: _l("en attente"),
    DeliveryStatus.DELIVERED: _l("livrée"),
    DeliveryStatus.DEAD: _l("morte"),
}
DELIVERY_BADGES = {
    DeliveryStatus.PENDING: "info",
    DeliveryStatus.DELIVERED: "success",
    DeliveryStatus.DEAD: "danger",
}
LOG_PAGE = 50


def event_type_label(value):
    try:
        return EVENT_TYPE_LABELS[EventType(value)]
    except ValueError:
        return value


def delivery_badge(status):
    state = DeliveryStatus(status)
    return Markup('<span class="badge badge-{}">{}</span>').format(
        DELIVERY_BADGES[state], DELIVERY_LABELS[state]
    )


class CheckboxesField(SelectMultipleField):
    """A choice of several, each a checkbox (the template lays them out in a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WebhookForm(FlaskForm):
    """What an administrator types; every check is the service's (`subscriptions.checked`),
    so that its message is shown on the field it is about."""

    name = StringField(_l("Nom"))
    url = URLField(_l("Adresse du récepteur"))
    procedures = SelectMultipleField(
        _l("Limité aux procédures (aucune : toutes)"), choices=[], validate_choice=False
    )
    event_types = CheckboxesField(
        _l("Types d'événements (aucun : tous)"),
        choices=[SelectChoice(t.value, label) for t, label in EVENT_TYPE_LABELS.items()],
        validate_choice=False,
    )
    owner = SelectField(
        _l("Responsable, averti par e-mail quand le webhook échoue"),
        choices=[],
        validate_choice=False,
    )

    def fill_choices(self):
        self.procedures.choices = procedure_choices()
        staff = StaffUser.select().where(StaffUser.active).order_by(StaffUser.full_name)
        self.owner.choices = [SelectChoice(str(s.id), f"{s.full_name} ({s.email})") for s in staff]
        return self

    def values(self):
        """(name, url, procedures, event_types, owner) as the service takes them."""
        owner_id = self.owner.data or ""
        owner = StaffUser.get_or_none(StaffUser.id == int(owner_id)) if owner_id.isdigit() else None
        return (
            self.name.data,
            self.url.data,
            self.procedures.data or [],
            self.event_types.data or [],
            owner,
        )

    def refuse(self, refused):
        field = getattr(self, refused.field or "name", self.name)
        field.errors = [*field.errors, str(refused)]


def initial_data(subscription):
    return {
        "name": subscription.name,
        "url": subscription.url,
        "procedures": subscription.procedures,
        "event_types": subscription.event_types,
        "owner": str(subscription.owner_id),
    }


def state_text(subscription):
    if not subscription.is_paused:
        return _("actif")
    since = format_datetime(subscription.paused_at, "short")
    if subscription.pause_reason == WebhookSubscription.PAUSED_BY_FAILURES:
        return _("en pause après des échecs répétés, depuis le %(date)s", date=since)
    return _("en pause à la main, depuis le %(date)s", date=since)


def state_column(view, context, model, name):
    badge = "warning" if model.is_paused else "success"
    return Markup('<span class="badge badge-{}">{}</span>').format(badge, state_text(model))


def waiting_column(view, context, model, name):
    pending, dead = getattr(model, "waiting", (0, 0))
    text = _("%(pending)s en attente, %(dead)s morte(s)", pending=pending, dead=dead)
    if not dead:
        return text
    link = url_for("admin_webhook_dead_letters.index_view", flt0_0=model.id)
    return Markup('{} — <a class="bo-underlined" href="{}">{}</a>').format(
        text, link, _("lettres mortes")
    )


def with_waiting(subscriptions_shown):
    """Each subscription's (pending, dead) deliveries, read in one grouped query."""
    rows = list(subscriptions_shown)
    counts = {}
    if rows:
        query = (
            WebhookDelivery.select(
                WebhookDelivery.subscription, WebhookDelivery.status, fn.COUNT(WebhookDelivery.id)
            )
            .where(
                WebhookDelivery.subscription.in_([r.id for r in rows]),
                WebhookDelivery.status.in_(
                    [DeliveryStatus.PENDING.value, DeliveryStatus.DEAD.value]
                ),
            )
            .group_by(WebhookDelivery.subscription, WebhookDelivery.status)
            .tuples()
        )
        counts = {(sid, status): n for sid, status, n in query}
    for row in rows:
        row.waiting = (
            counts.get((row.id, DeliveryStatus.PENDING.value), 0),
            counts.get((row.id, DeliveryStatus.DEAD.value), 0),
        )
    return rows


class WebhookView(StaffModelView):
    allowed_roles = frozenset({StaffRole.ADMIN})
    can_view_details = True
    details_template = "backoffice/webhook_details.html"
    can_create = True  # through `create_view` below, which shows the secret once
    can_edit = True  # through `edit_view` below, which calls the service
    prejoined = frozenset({"StaffUser"})
    column_list = (
        "name",
        "url",
        "procedures",
        "event_types",
        "owner",
        "state",
        "last_success_at",
        "consecutive_failures",
        "waiting",
    )
    column_details_list = (*column_list, "created_by", "created_at")
    column_labels = {
        "name": _l("Nom"),
        "url": _l("Adresse"),
        "procedures": _l("Procédures"),
        "event_types": _l("Types d'événements"),
        "owner": _l("Responsable"),
        "state": _l("État"),
        "last_success_at": _l("Dernier succès"),
        "consecutive_failures": _l("Échecs d'affilée"),
        "waiting": _l("Livraisons en attente et mortes"),
        "created_by": _l("Créé par"),
        "created_at": _l("Créé le"),
    }
    column_default_sort = [("name", False)]
    column_sortable_list = ("name", "last_success_at", "consecutive_failures")
    column_formatters = {
        "procedures": lambda v, c, m, n: ", ".join(m.procedures) or _("toutes"),
        "event_types": lambda v, c, m, n: (
            ", ".join(str(event_type_label(t)) for t in m.event_types) or _("tous")
        ),
        "owner": lambda v, c, m, n: m.owner.full_name,
        "created_by": lambda v, c, m, n: m.created_by.full_name if m.created_by_id else _("CLI"),
        "last_success_at": lambda v, c, m, n: (
            datetime_column(v, c, m, n) if m.last_success_at else _("jamais")
        ),
        "state": state_column,
        "waiting": waiting_column,
        "created_at": datetime_column,
    }

    def get_query(self):
        return WebhookSubscription.select(WebhookSubscription, StaffUser).join(
            StaffUser, on=WebhookSubscription.owner
        )

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        count, rows = super().get_list(
            page, sort_column, sort_desc, search, filters, execute, page_size
        )
        return count, with_waiting(rows) if execute else rows

    def get_one(self, id):
        found = self.get_query().where(WebhookSubscription.id == id).first()
        return with_waiting([found])[0] if found is not None else None

    def subscription(self, subscription_id):
        return self.get_one(subscription_id) or abort(404)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = WebhookForm(data={"owner": str(current_staff().id)}).fill_choices()
        if form.validate_on_submit():
            try:
                subscription, secret = subscriptions.create(current_actor(), *form.values())
            except WebhookRefused as refused:
                form.refuse(refused)
            else:
                return self.render(
                    "backoffice/webhook_secret.html",
                    subscription=subscription,
                    secret=secret,
                    title=_("Webhook « %(name)s » créé", name=subscription.name),
                )
        return self.render("backoffice/webhook_form.html", form=form, subscription=None)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        subscription = self.subscription(request.args.get("id", type=int))
        form = WebhookForm(data=initial_data(subscription)).fill_choices()
        if form.validate_on_submit():
            try:
                subscriptions.update(current_actor(), subscription, *form.values())
            except WebhookRefused as refused:
                form.refuse(refused)
            else:
                flash(_("Le webhook « %(name)s » est modifié.", name=subscription.name), "success")
                return redirect(url_for(".details_view", id=subscription.id))
        return self.render("backoffice/webhook_form.html", form=form, subscription=subscription)

    @expose("/pause/<int:subscription_id>", methods=("POST",))
    def pause_view(self, subscription_id):
        subscription = self.subscription(subscription_id)
        if subscriptions.pause(current_actor(), subscription):
            flash(
                _(
                    "Le webhook « %(name)s » est en pause : ses événements attendent.",
                    name=subscription.name,
                ),
                "success",
            )
        else:
            flash(_("Le webhook « %(name)s » était déjà en pause.", name=subscription.name), "info")
        return redirect(url_for(".details_view", id=subscription_id))

    @expose("/resume/<int:subscription_id>", methods=("POST",))
    def resume_view(self, subscription_id):
        subscription = self.subscription(subscription_id)
        if subscriptions.resume(current_actor(), subscription):
            flash(
                _(
                    "Le webhook « %(name)s » reprend : les événements en attente partent.",
                    name=subscription.name,
                ),
                "success",
            )
        else:
            flash(
                _("Le webhook « %(name)s » n'était pas en pause.", name=subscription.name), "info"
            )
        return redirect(url_for(".details_view", id=subscription_id))

    @expose("/rotate/<int:subscription_id>", methods=("POST",))
    def rotate_view(self, subscription_id):
        subscription = self.subscription(subscription_id)
        secret = subscriptions.rotate_secret(current_actor(), subscription)
        return self.render(
            "backoffice/webhook_secret.html",
            subscription=subscription,
            secret=secret,
            title=_("Nouveau secret du webhook « %(name)s »", name=subscription.name),
        )

    @expose("/delete/<int:subscription_id>", methods=("GET", "POST"))
    def delete_subscription_view(self, subscription_id):
        subscription = self.subscription(subscription_id)
        if request.method == "POST":  # the token is checked app-wide
            subscriptions.delete(current_actor(), subscription)
            flash(_("Le webhook « %(name)s » est supprimé.", name=subscription.name), "success")
            return redirect(url_for(".index_view"))
        pending, dead = subscription.waiting
        return self.render(
            "backoffice/confirm.html",
            title=_("Supprimer le webhook « %(name)s » ?", name=subscription.name),
            explanations=[
                _("Le récepteur ne reçoit plus aucun événement."),
                _(
                    "Ses livraisons (%(pending)s en attente, %(dead)s morte(s)) et son journal "
                    "sont effacés ; le journal d'audit garde son nom.",
                    pending=pending,
                    dead=dead,
                ),
                _("Le flux GET /api/v1/events garde tous les événements."),
            ],
            action_url=request.path,
            button=_("Supprimer le webhook"),
            cancel_url=url_for(".details_view", id=subscription.id),
        )

    @expose("/<int:subscription_id>/log")
    def log_view(self, subscription_id):
        """The attempts, newest first, a page at a time by keyset on (attempted_at, id): the
        index (subscription, attempted_at) serves every page, however far."""
        subscription = self.subscription(subscription_id)
        query = (
            WebhookAttempt.select(WebhookAttempt, WebhookDelivery, Event)
            .join(WebhookDelivery)
            .join(Event)
            .where(WebhookAttempt.subscription == subscription.id)
        )
        before = request.args.get("before", type=int)
        mark = before and WebhookAttempt.get_or_none(
            WebhookAttempt.id == before, WebhookAttempt.subscription == subscription.id
        )
        if mark:
            query = query.where(
                (WebhookAttempt.attempted_at < mark.attempted_at)
                | (
                    (WebhookAttempt.attempted_at == mark.attempted_at)
                    & (WebhookAttempt.id < mark.id)
                )
            )
        rows = list(
            query.order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.id.desc()).limit(
                LOG_PAGE + 1
            )
        )
        more = len(rows) > LOG_PAGE
        rows = rows[:LOG_PAGE]
        return self.render(
            "backoffice/webhook_log.html",
            subscription=subscription,
            attempts=rows,
            next_url=url_for(".log_view", subscription_id=subscription.id, before=rows[-1].id)
            if more
            else None,
            first_url=url_for(".log_view", subscription_id=subscription.id) if mark else None,
            event_type_label=event_type_label,
            delivery_badge=delivery_badge,
        )
