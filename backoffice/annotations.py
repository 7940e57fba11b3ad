"""The private annotations on the back-office dossier page ("Annotations privées"): the form
built from the procedure's `annotations:`, answered by `dossiers.annotations`;
`DossierAnnotations` is the part of DossierView that takes it."""

from flask import abort, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from auth import current_actor
from dossiers import annotations as annotation_operations


def annotations_context(dossier):
    """The page's annotations and their form (after a refusal the view hands in the posted
    one instead, which keeps what was typed)."""
    return {
        "annotations": annotation_operations.annotations_of(current_actor(), dossier),
        "annotation_form": annotation_operations.form_for(dossier),
        "annotation_csrf": FlaskForm(formdata=None),
    }


class DossierAnnotations:
    """Mixed into the dossier view, which provides `dossier_or_404`, `detail_again`, `back`
    and `report`."""

    @expose("/annotations/<int:dossier_id>", methods=("POST",))
    def annotations_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            changed = annotation_operations.save_annotations(current_actor(), dossier, request.form)
        except annotation_operations.AnnotationsRefused as refused:
            return self.detail_again(dossier, refused, annotation_form=refused.form)
        self.report(
            None,
            _("Annotations privées enregistrées.") if changed else _("Aucune annotation changée."),
        )
        return self.back(dossier)
