"""Following a dossier on its page ("Suivre" / "Ne plus suivre") and the staff member's choice
of emails for the dossiers they follow (each message, a daily digest, none). The operations
are `dossiers.following`'s; `DossierFollowing` is the part of DossierView that answers their
forms."""

from flask import abort
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields import SelectChoice

from auth import current_actor, current_staff
from backoffice.processing import attempt
from dossiers import DossierRefused
from dossiers import following as operations


class FollowEmailsForm(FlaskForm):
    emails = RadioField(
        _l("E-mails des dossiers que je suis"),
        choices=[
            SelectChoice(choice.value, label) for choice, label in operations.EMAIL_CHOICES.items()
        ],
    )


def following_context(dossier):
    """Whether the staff member follows the dossier, and their choice of emails as a form."""
    return {
        "following": operations.follows(current_staff(), dossier),
        "follow_emails_form": FollowEmailsForm(formdata=None, emails=current_staff().follow_emails),
    }


class DossierFollowing:
    """Mixed into the dossier view, which provides `dossier_or_404`, `back` and `report`."""

    @expose("/follow/<int:dossier_id>", methods=("POST",))
    def follow_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        if not FlaskForm().validate_on_submit():
            abort(400)
        self.report(
            attempt(operations.follow, dossier),
            _("Vous suivez le dossier %(ref)s.", ref=dossier),
        )
        return self.back(dossier)

    @expose("/unfollow/<int:dossier_id>", methods=("POST",))
    def unfollow_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        if not FlaskForm().validate_on_submit():
            abort(400)
        self.report(
            attempt(operations.unfollow, dossier),
            _("Vous ne suivez plus le dossier %(ref)s.", ref=dossier),
        )
        return self.back(dossier)

    @expose("/follow-emails/<int:dossier_id>", methods=("POST",))
    def follow_emails_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = FollowEmailsForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            operations.set_emails(current_actor(), form.emails.data)
        except DossierRefused as refused:
            self.report(str(refused), None)
        else:
            self.report(None, _("Votre choix d'e-mails est enregistré."))
        return self.back(dossier)
