"""What staff mark on a dossier for themselves, on its page: its labels (set, removed; in bulk
from the list too) and the private notes ("Notes internes"). The operations are
`dossiers.labels`'s and `dossiers.notes`'s; `DossierMarks` is the part of DossierView that
answers their forms."""

from flask import abort
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields import SelectChoice

from auth import current_actor, current_staff
from backoffice.dossier_filters import label_options, label_tags
from backoffice.processing import attempt
from dossiers import DossierRefused
from dossiers import labels as label_operations
from dossiers import notes as note_operations
from models import Label

NEW_NOTE = "new"  # the prefix of the form of a new note; an edited one's is `note<id>`


class NoteForm(FlaskForm):
    # No validator here: `dossiers.notes` refuses an empty or too long note with its message.
    note = TextAreaField(_l("Note interne"))


class LabelChoiceForm(FlaskForm):
    label = SelectField(_l("Étiquette"), coerce=int, validate_choice=False)

    def fill_choices(self, labels):
        self.label.choices = [SelectChoice(label.id, label.name) for label in labels]
        return self


class BulkLabelForm(FlaskForm):
    """A label of any procedure: a selected dossier of another procedure is refused, and
    listed so on the result page."""

    label = SelectField(_l("Étiquette"), coerce=int, validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.label.choices = [SelectChoice(value, text) for value, text in label_options()]


def marks_context(dossier):
    """The dossier page's labels and notes, with their forms (the forms the view hands in
    instead, after a refusal, keep what was typed)."""
    actor = current_actor()
    on = list(label_operations.labels_on(dossier))
    offered = [label for label in label_operations.labels_for(dossier) if label not in on]
    notes = note_operations.notes_of(actor, dossier)
    me = current_staff().id
    return {
        "labels_on": on,
        "label_form": LabelChoiceForm(formdata=None).fill_choices(offered),
        "label_tags": label_tags,
        "notes": notes,
        "note_form": NoteForm(formdata=None, prefix=NEW_NOTE),
        "note_edit_forms": {
            note.id: NoteForm(formdata=None, prefix=f"note{note.id}", note=note.body)
            for note in notes
            if note.author_id == me
        },
        "note_edited": None,  # the note whose edit was refused, and its form as posted
        "note_edited_form": None,
    }


def label_of(label_id):
    return Label.get_or_none(Label.id == label_id) or abort(404)


class DossierMarks:
    """Mixed into the dossier view, which provides `dossier_or_404`, `detail_again`, `back`,
    `report` and the bulk actions' `bulk` and `bulk_form`."""

    @expose("/note/<int:dossier_id>", methods=("POST",))
    def note_add_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = NoteForm(prefix=NEW_NOTE)
        if not form.validate_on_submit():
            abort(400)
        try:
            note_operations.add_note(current_actor(), dossier, form.note.data)
        except DossierRefused as refused:
            form.note.errors = [str(refused)]
            return self.detail_again(dossier, refused, note_form=form)
        self.report(None, _("Note interne ajoutée."))
        return self.back(dossier)

    @expose("/note/<int:dossier_id>/<int:note_id>", methods=("POST",))
    def note_edit_view(self, dossier_id, note_id):
        dossier = self.dossier_or_404(dossier_id)
        note = note_operations.note_of(dossier, note_id) or abort(404)
        form = NoteForm(prefix=f"note{note.id}")
        if not form.validate_on_submit():
            abort(400)
        try:
            note_operations.edit_note(current_actor(), note, form.note.data)
        except DossierRefused as refused:
            form.note.errors = [str(refused)]
            return self.detail_again(dossier, refused, note_edited=note.id, note_edited_form=form)
        self.report(None, _("Note interne modifiée."))
        return self.back(dossier)

    @expose("/label/<int:dossier_id>", methods=("POST",))
    def label_set_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = LabelChoiceForm()
        if not form.validate_on_submit():
            abort(400)
        label = label_of(form.label.data)
        self.report(
            attempt(label_operations.set_label, dossier, label),
            _("Étiquette « %(name)s » posée.", name=label.name),
        )
        return self.back(dossier)

    @expose("/label/<int:dossier_id>/remove/<int:label_id>", methods=("POST",))
    def label_remove_view(self, dossier_id, label_id):
        dossier = self.dossier_or_404(dossier_id)
        if not FlaskForm().validate_on_submit():
            abort(400)
        label = label_of(label_id)
        self.report(
            attempt(label_operations.remove_label, dossier, label),
            _("Étiquette « %(name)s » retirée.", name=label.name),
        )
        return self.back(dossier)

    def bulk_kinds(self):
        def each(operation):
            def apply(form):
                label = label_of(form.label.data)
                return lambda dossier: attempt(operation, dossier, label)

            return apply

        return {
            **super().bulk_kinds(),
            "label_set": (
                BulkLabelForm,
                _("Poser une étiquette"),
                each(label_operations.set_label),
            ),
            "label_remove": (
                BulkLabelForm,
                _("Retirer une étiquette"),
                each(label_operations.remove_label),
            ),
        }

    @action("label_set", _l("Poser une étiquette…"))
    def action_label_set(self, ids):
        return self.bulk_form("label_set", ids)

    @action("label_remove", _l("Retirer une étiquette…"))
    def action_label_remove(self, ids):
        return self.bulk_form("label_remove", ids)
