"""Bulk actions on the dossier list: each selected dossier goes through the same function as
alone (backoffice.processing), and a page shows one result per dossier. Actions that need more
than a click (Clôturer, Demander des compléments, Rouvrir, Assigner à…) first ask for it on a
form page."""

import secrets

from flask import abort, flash, redirect, request, session
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from auth import current_actor, current_staff
from backoffice import processing
from backoffice.processing import attempt
from dossiers import messages
from dossiers import processing as operations
from models import AuditEvent, Dossier, StaffRole

SUPERVISOR_ACTIONS = frozenset({"reopen", "assign_me", "assign"})
# The last bulk forms applied in this session (nonce → audit event), so that posting one again
# shows its result instead of applying it twice (a complement request would go out twice).
DONE_KEY = "bulk_done"
KEEP_NONCES = 10


class BulkActions:
    """Mixed into the dossier view, which provides `full_query()`."""

    def is_action_allowed(self, name):
        if name in SUPERVISOR_ACTIONS and current_staff().staff_role != StaffRole.SUPERVISOR:
            return False
        return super().is_action_allowed(name)

    def selected(self, ids):
        """The staff-visible dossiers among `ids`, in reference order; None past the limit."""
        try:
            wanted = sorted({int(i) for i in ids})
        except ValueError:
            abort(400)
        if len(wanted) > processing.BULK_LIMIT:
            return None
        return list(self.full_query().where(Dossier.id.in_(wanted)).order_by(Dossier.reference))

    def bulk(self, ids, apply, title, nonce=None):
        """Apply `apply` to each selected dossier, record each one's result in the audit log,
        then show them on a page of their own (a reload shows them again, applies nothing)."""
        dossiers = self.selected(ids)
        if dossiers is None:
            flash(_("Au plus %(n)s dossiers à la fois.", n=processing.BULK_LIMIT), "error")
            return redirect(self.get_url(".index_view"))
        results = [[dossier.id, apply(dossier)] for dossier in dossiers]
        event = operations.record_bulk(
            current_actor(),
            str(title),
            results,
            missing=len({str(i) for i in ids}) - len(dossiers),
        )
        if nonce:
            done = session.get(DONE_KEY, {})
            done = dict(list(done.items())[-(KEEP_NONCES - 1) :])
            session[DONE_KEY] = {**done, nonce: event.id}
        return redirect(self.get_url(".bulk_result_view", event=event.id))

    @expose("/bulk/result/<int:event>")
    def bulk_result_view(self, event):
        record = AuditEvent.get_or_none(
            AuditEvent.id == event,
            AuditEvent.action == "dossier.bulk",
            AuditEvent.actor_staff == current_staff(),
        )
        if record is None:
            abort(404)
        outcome = dict(map(tuple, record.details["results"]))
        dossiers = self.get_query().where(Dossier.id.in_(list(outcome))).order_by(Dossier.reference)
        results = [(d, outcome[d.id]) for d in dossiers]
        return self.render(
            "backoffice/bulk_result.html",
            title=record.details["operation"],
            results=results,
            done=sum(1 for _d, error in results if error is None),
            refused=sum(1 for _d, error in results if error is not None),
            missing=record.details.get("missing", 0),
        )

    def bulk_form(self, kind, ids, form=None):
        """The page that asks what a bulk action needs (decision, motivation, message…)."""
        form_class, title, _apply = self.bulk_kinds()[kind]
        dossiers = self.selected(ids)
        if dossiers is None:
            flash(_("Au plus %(n)s dossiers à la fois.", n=processing.BULK_LIMIT), "error")
            return redirect(self.get_url(".index_view"))
        if not dossiers:
            flash(_("Sélectionnez au moins un dossier."), "error")
            return redirect(self.get_url(".index_view"))
        return self.render(
            "backoffice/bulk_form.html",
            kind=kind,
            title=title,
            form=form or form_class(formdata=None),
            dossiers=dossiers,
            nonce=request.form.get("nonce") or secrets.token_urlsafe(16),
        )

    def bulk_kinds(self):
        return {
            "close": (
                processing.BulkCloseForm,
                _("Clôturer"),
                lambda form: (
                    lambda d: attempt(operations.close, d, form.decision.data, form.comment.data)
                ),
            ),
            "reopen": (
                processing.BulkReopenForm,
                _("Rouvrir"),
                lambda form: lambda d: attempt(operations.reopen, d, form.comment.data),
            ),
            "assign": (
                processing.BulkAssignForm,
                _("Assigner"),
                lambda form: lambda d: attempt(operations.assign, d, form.chosen()),
            ),
            "complement": (
                processing.ComplementForm,
                _("Demander des compléments"),
                lambda form: (
                    lambda d: attempt(
                        messages.request_complement, d, form.body.data, form.requested_list()
                    )
                ),
            ),
        }

    @expose("/bulk/<kind>", methods=("POST",))
    def bulk_view(self, kind):
        kinds = self.bulk_kinds()
        if kind not in kinds:
            abort(404)
        if not self.is_action_allowed(kind):
            abort(403)
        form_class, title, apply = kinds[kind]
        form = form_class()
        ids = request.form.getlist("rowid")
        if not form.validate_on_submit():  # the token is checked app-wide: the fields are wrong
            return self.bulk_form(kind, ids, form)
        nonce = request.form.get("nonce", "")[:64]
        if nonce and nonce in session.get(DONE_KEY, {}):  # the form posted again (back, resend)
            flash(_("Cette action a déjà été faite : voici son résultat."), "info")
            return redirect(self.get_url(".bulk_result_view", event=session[DONE_KEY][nonce]))
        return self.bulk(ids, apply(form), title, nonce=nonce)

    @action("receive", _l("Réceptionner"), _l("Réceptionner les dossiers sélectionnés ?"))
    def action_receive(self, ids):
        return self.bulk(
            ids,
            lambda d: attempt(operations.receive, d),
            _("Réceptionner"),
        )

    @action(
        "process",
        _l("Mettre en traitement"),
        _l("Mettre en traitement les dossiers sélectionnés ?"),
    )
    def action_process(self, ids):
        return self.bulk(
            ids,
            lambda d: attempt(operations.start_processing, d),
            _("Mettre en traitement"),
        )

    @action("close", _l("Clôturer…"))
    def action_close(self, ids):
        return self.bulk_form("close", ids)

    @action("complement", _l("Demander des compléments…"))
    def action_complement(self, ids):
        return self.bulk_form("complement", ids)

    @action("reopen", _l("Rouvrir…"))
    def action_reopen(self, ids):
        return self.bulk_form("reopen", ids)

    @action("assign", _l("Assigner à…"))
    def action_assign(self, ids):
        return self.bulk_form("assign", ids)

    @action("assign_me", _l("M'assigner"), _l("Vous assigner les dossiers sélectionnés ?"))
    def action_assign_me(self, ids):
        me = current_staff()
        return self.bulk(ids, lambda d: attempt(operations.assign, d, me), _("M'assigner"))
