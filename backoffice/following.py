"""Following a dossier on its page ("Suivre" / "Ne plus suivre"), with the staff member's
choice of emails for the dossiers they follow shown beside it (chosen on "Mes préférences",
backoffice/preferences.py). The operations are `dossiers.following`'s; `DossierFollowing` is
the part of DossierView that answers their forms."""

from flask import abort
from flask_admin import expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from auth import current_staff
from backoffice.processing import attempt
from dossiers import following as operations


def following_context(dossier):
    """Whether the staff member follows the dossier, and their choice of emails."""
    staff = current_staff()
    return {
        "following": operations.follows(staff, dossier),
        "follow_emails": operations.EMAIL_CHOICES.get(staff.follow_emails),
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
