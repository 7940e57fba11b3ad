"""The email texts in the back-office (administrators only), at /admin/email-templates/: each
event's email in each language, with its text in force (the shipped one or an edited version);
the edit page (the placeholders its event allows, the check before saving, the versions, the way
back to the shipped text); the preview with a real dossier, exactly as the email would be sent.
Every change goes through `notifications.texts`, which checks and audits it."""

import base64
import hashlib
import html
import re

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice

import notifications
import security_headers
from auth import current_actor
from backoffice.base import StaffModelView
from backoffice.outbox import EVENT_LABELS
from languages import LANGUAGE_NAMES
from models import EmailTemplate, OutboxMessage, ProcedureDefinition, StaffRole
from notifications import text_check, texts
from procedures import title_of

LABELS = {
    **EVENT_LABELS,
    "draft_expiring": _l("Brouillon bientôt supprimé"),
    "webhook_paused": _l("Webhook mis en pause (à son propriétaire)"),
}


def event_label(event):
    return LABELS.get(event, event)


class TextForm(FlaskForm):
    subject = StringField(_l("Objet"))
    body = TextAreaField(_l("Texte"), render_kw={"rows": 14})
    reference = StringField(_l("Référence du dossier"))
    procedure = SelectField(
        _l("ou le dernier dossier de la procédure"), choices=[], validate_choice=False
    )

    def fill_choices(self):
        titles = {}
        for row in ProcedureDefinition.select().order_by(ProcedureDefinition.version):
            titles[row.code] = title_of(row)
        self.procedure.choices = [SelectChoice("", _("— aucune —"))] + [
            SelectChoice(code, title) for code, title in sorted(titles.items(), key=lambda i: i[1])
        ]
        return self


def with_style_hashes(response, email_html):
    """Let the preview's frame (srcdoc: it inherits this page's policy) apply the email's own
    inline styles, and only those: each `style` attribute's value allowed by its hash."""
    response = make_response(response)
    values = {html.unescape(v) for v in re.findall(r'style="([^"]*)"', email_html)}
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(v.encode()).digest()).decode()}'"
        for v in sorted(values)
    )
    if hashes:
        response.headers["Content-Security-Policy"] = "; ".join(
            f"{directive} 'unsafe-hashes' {hashes}"
            if directive.startswith("style-src")
            else directive
            for directive in security_headers.CSP.split("; ")
        )
    return response


class EmailTemplateView(BaseView):
    allowed_roles = frozenset({StaffRole.ADMIN})
    is_accessible = StaffModelView.is_accessible
    inaccessible_callback = StaffModelView.inaccessible_callback

    def checked(self, event, language):
        if event not in texts.PLACEHOLDERS or language not in texts.languages():
            abort(404)

    @expose("/")
    def index(self):
        return self.render(
            "backoffice/email_templates.html",
            events=texts.editable_events(),
            languages=texts.languages(),
            in_force=texts.overview(),
            event_label=event_label,
            language_names=LANGUAGE_NAMES,
        )

    @expose("/edit/<event>/<language>", methods=("GET", "POST"))
    def edit_view(self, event, language):
        self.checked(event, language)
        form = TextForm().fill_choices()
        in_force = EmailTemplate.in_force(event, language)
        preview = None
        if request.method == "GET":
            if in_force is not None:
                form.subject.data, form.body.data = in_force.subject, in_force.body
            else:
                form.subject.data, form.body.data = texts.shipped_text(event, language)
        elif form.validate_on_submit():
            try:
                if request.form.get("action") == "preview":
                    preview = self.preview_of(event, language, form, edited=True)
                else:
                    texts.save_version(
                        current_actor(), event, language, form.subject.data, form.body.data
                    )
                    flash(
                        _(
                            "Le texte de l'e-mail « %(event)s » en %(language)s est enregistré : "
                            "les prochains envois l'utilisent.",
                            event=event_label(event),
                            language=LANGUAGE_NAMES[language],
                        ),
                        "success",
                    )
                    return redirect(url_for(".edit_view", event=event, language=language))
            except texts.TextRefused as refused:
                for field, messages in refused.errors.items():
                    getattr(form, field).errors = [*getattr(form, field).errors, *messages]
        response = self.page(event, language, form, in_force, preview)
        return with_style_hashes(response, preview["html"]) if preview else response

    @expose("/preview/<event>/<language>")
    def preview_view(self, event, language):
        """The text in force, with the dossier asked for in the query (as the edit form asks)."""
        self.checked(event, language)
        form = TextForm(request.args, meta={"csrf": False}).fill_choices()
        in_force = EmailTemplate.in_force(event, language)
        if in_force is not None:
            form.subject.data, form.body.data = in_force.subject, in_force.body
        else:
            form.subject.data, form.body.data = texts.shipped_text(event, language)
        preview = self.preview_of(event, language, form, edited=False)
        response = self.render(
            "backoffice/email_template_preview.html",
            event=event,
            language=language,
            event_label=event_label(event),
            language_name=LANGUAGE_NAMES[language],
            form=form,
            in_force=in_force,
            preview=preview,
        )
        return with_style_hashes(response, preview["html"]) if preview else response

    def preview_of(self, event, language, form, edited):
        """{subject, text, html, dossier} of the email about the dossier the form names, or
        None with the reason on the form's field."""
        try:
            dossier = texts.preview_dossier(form.reference.data, form.procedure.data)
        except texts.NoDossier:
            form.reference.errors = [
                *form.reference.errors,
                _(
                    "Aucun dossier soumis ne correspond : indiquez une autre référence ou "
                    "procédure."
                ),
            ]
            return None
        version = None
        if edited:
            checked = texts.check(event, form.subject.data, form.body.data)
            version = EmailTemplate(event=event, language=language, **checked)
        message = OutboxMessage(
            event=event, language=language, context=texts.preview_context(event, dossier)
        )
        subject, text, email_html = notifications.render(message, version)
        return {"subject": subject, "text": text, "html": email_html, "dossier": dossier}

    def page(self, event, language, form, in_force, preview):
        return self.render(
            "backoffice/email_template_edit.html",
            event=event,
            language=language,
            event_label=event_label(event),
            language_name=LANGUAGE_NAMES[language],
            form=form,
            in_force=in_force,
            preview=preview,
            placeholders=[(n, texts.PLACEHOLDER_LABELS[n]) for n in texts.PLACEHOLDERS[event]],
            filters=text_check.FILTERS,
            versions=list(EmailTemplate.history(event, language).limit(50)),
            subject_max=texts.SUBJECT_MAX,
            body_max=texts.BODY_MAX,
        )

    @expose("/revert/<event>/<language>", methods=("POST",))
    def revert_view(self, event, language):
        self.checked(event, language)
        if not FlaskForm().validate_on_submit():
            abort(400)
        if texts.revert(current_actor(), event, language):
            flash(_("Le texte d'origine est de nouveau utilisé pour cet e-mail."), "success")
        else:
            flash(_("Cet e-mail utilise déjà le texte d'origine."), "info")
        return redirect(url_for(".edit_view", event=event, language=language))
