"""The staff member's own preferences (`/admin/preferences/`, "Mes préférences", for every
staff role): for now, the emails of the dossiers they follow (each message, a daily digest,
none). The change is `dossiers.following.set_emails`'s."""

from flask import abort, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields import SelectChoice

from auth import current_actor, current_staff
from backoffice.base import StaffModelView
from dossiers import DossierRefused, following
from models import StaffRole


class FollowEmailsForm(FlaskForm):
    emails = RadioField(
        _l("E-mails des dossiers que je suis"),
        choices=[
            SelectChoice(choice.value, label) for choice, label in following.EMAIL_CHOICES.items()
        ],
    )


class PreferencesView(BaseView):
    """Every staff member's own page: nobody else's preferences are shown or changed here."""

    allowed_roles = frozenset(StaffRole)
    is_accessible = StaffModelView.is_accessible
    inaccessible_callback = StaffModelView.inaccessible_callback

    @expose("/", methods=("GET", "POST"))
    def index(self):
        staff = current_staff()
        form = FollowEmailsForm(emails=staff.follow_emails)
        if form.is_submitted():
            valid = form.validate()
            if form.csrf_token.errors:
                abort(400)
            if valid:
                try:
                    following.set_emails(current_actor(), form.emails.data)
                except DossierRefused as refused:
                    form.emails.errors = [str(refused)]
                else:
                    flash(_("Votre choix d'e-mails est enregistré."), "success")
                    return redirect(url_for(".index"))
        return self.render("backoffice/preferences.html", form=form)
