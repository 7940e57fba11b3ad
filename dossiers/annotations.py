"""Private annotations: the fields a procedure declares under `annotations:` (for instance
"avis de l'inspection", "date de visite"), filled by staff who process its dossiers on the
back-office dossier page, shown in their list and its export. The company never sees them, and
no receipt, letter, email, API answer or event carries them.

Each value is one row of models.DossierAnnotation, as text (the stored JSON answer of its
field type: an ISO date, a choice's value, "true"/"false"), so that the list filters on one
annotation through an index. The audit log names the keys changed, never their values: a free
text about a company may hold personal data."""

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms import Form

from dossiers import DossierRefused
from dossiers.access import require_staff
from models import AuditEvent, DossierAnnotation, ProcedureDefinition, write_transaction
from procedures import definition_of
from procedures.fields import TranslatedMeta

PREFIX = "annotation-"  # the names of the page's inputs: annotation-<key>


class AnnotationsRefused(DossierRefused):
    """Values the field types refuse; `form` holds what was typed and each field's message."""

    def __init__(self, form):
        super().__init__(
            _("une annotation n'est pas valable ; corrigez-la."), DossierRefused.INVALID
        )
        self.form = form


class AnnotationForm(Form):
    """The annotations of one procedure (no CSRF of its own: the page's form checks it)."""

    Meta = TranslatedMeta


def declared(dossier, lang=None):
    """The annotation fields of the dossier's procedure version, texts in `lang`."""
    return definition_of(dossier.definition, lang).annotations


def to_text(field, answer):
    if field.type == "yesno":
        return "true" if answer else "false"
    return str(answer)


def from_text(field, text):
    """The stored answer (as the field type's `to_answer` gives it) of a value kept as text."""
    if field.type == "yesno":
        return text == "true"
    if field.type == "integer":
        return int(text)
    return text


def values_of(dossier):
    """{key: answer} of the dossier's annotations (those its procedure still declares)."""
    fields = {f.key: f for f in declared(dossier)}
    rows = DossierAnnotation.select().where(DossierAnnotation.dossier == dossier)
    return {r.key: from_text(fields[r.key], r.value_text) for r in rows if r.key in fields}


def form_for(dossier, formdata=None):
    """The form of the dossier's annotations, from `formdata` (the posted form, or a mapping
    `annotation-<key>` → text from the CLI or a test) or from the stored values."""
    fields = declared(dossier)
    attrs = {f.key: f.kind.wtforms_field(f, f.options) for f in fields}
    form_class = type("DossierAnnotationForm", (AnnotationForm,), attrs)
    if formdata is not None:
        if not hasattr(formdata, "getlist"):
            formdata = MultiDict(formdata)
        return form_class(formdata=formdata, prefix=PREFIX)
    values = values_of(dossier)
    data = {f.key: f.kind.to_form(values[f.key]) for f in fields if f.key in values}
    return form_class(data=data, prefix=PREFIX)


def annotations_of(actor, dossier):
    """[(field, answer or None)] of the dossier's annotations, in their declared order."""
    require_staff(actor, dossier)
    values = values_of(dossier)
    return [(f, values.get(f.key)) for f in declared(dossier)]


def save_annotations(actor, dossier, formdata):
    """Check each posted value with its field type and write those that changed; refused as a
    whole (AnnotationsRefused, with what was typed) when one is not valid. Returns the keys
    changed."""
    require_staff(actor, dossier)
    form = form_for(dossier, formdata)
    if not form.validate():
        raise AnnotationsRefused(form)
    old = values_of(dossier)
    new = {}
    for field in declared(dossier):
        answer = field.kind.to_answer(form[field.key].data)
        if answer is not None:
            new[field.key] = answer
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if not changed:
        return []
    fields = {f.key: f for f in declared(dossier)}
    with write_transaction():
        DossierAnnotation.delete().where(
            DossierAnnotation.dossier == dossier, DossierAnnotation.key.in_(changed)
        ).execute()
        rows = [
            {"dossier": dossier.id, "key": k, "value_text": to_text(fields[k], new[k])}
            for k in changed
            if k in new
        ]
        if rows:
            DossierAnnotation.insert_many(rows).execute()
        AuditEvent.record("dossier.annotations_changed", actor, dossier, keys=changed)
    return changed


def shown_of_dossiers(pairs):
    """{dossier id: [(key, label, value as people read it)]} for (dossier id, definition id)
    pairs (a page of the list, a batch of the export): one query on (dossier, key) for them
    all, each in the declared order of its own procedure version."""
    pairs = list(pairs)
    if not pairs:
        return {}
    of = dict(pairs)
    rows = DossierAnnotation.select().where(DossierAnnotation.dossier.in_(list(of)))
    found = {}
    for row in rows:
        found.setdefault(row.dossier_id, {})[row.key] = row.value_text
    fields_of = {}
    shown = {}
    for dossier_id, values in found.items():
        definition_id = of[dossier_id]
        if definition_id not in fields_of:
            fields_of[definition_id] = definition_of(
                ProcedureDefinition.get_by_id(definition_id)
            ).annotations
        shown[dossier_id] = [
            (f.key, f.label, f.kind.display(from_text(f, values[f.key]), f, f.options))
            for f in fields_of[definition_id]
            if f.key in values
        ]
    return shown


def shown_text(shown):
    """One cell's text: « Avis de l'inspection : Favorable ; Date de visite : 30/11/2026 »."""
    return " ; ".join(
        _("%(label)s : %(value)s", label=label, value=value) for _key, label, value in shown
    )


def shown_value(shown, key):
    """The value of one annotation among a dossier's `shown`, "" when it has none."""
    return next((value for k, _label, value in shown if k == key), "")


def fields_of_procedure(code):
    """[(key, label)] of the annotations the published versions of a procedure declare: the
    latest version's, in its order, then those only older versions still hold (their dossiers
    keep their values)."""
    published = ProcedureDefinition.published == True  # noqa: E712
    versions = (
        ProcedureDefinition.select(ProcedureDefinition.id, ProcedureDefinition.yaml_text)
        .where(ProcedureDefinition.code == code, published)
        .order_by(ProcedureDefinition.version.desc())
    )
    fields = {}
    for row in versions:
        for f in definition_of(row).annotations:
            fields.setdefault(f.key, f.label)
    return list(fields.items())


def filter_options():
    """("key=value", "procedure — annotation : option") of each choice and yes/no annotation
    of the procedures' latest published versions, for the list's filter."""
    latest = {}
    published = ProcedureDefinition.published == True  # noqa: E712
    for row in ProcedureDefinition.select().where(published).order_by(ProcedureDefinition.version):
        latest[row.code] = row
    options = []
    for row in latest.values():
        definition = definition_of(row)
        for f in definition.annotations:
            values = (
                [(o["value"], o["label"]) for o in f.options]
                if f.type == "choice"
                else [("true", _("Oui")), ("false", _("Non"))]
                if f.type == "yesno"
                else []
            )
            options += [
                (f"{f.key}={value}", f"{definition.title} — {f.label} : {label}")
                for value, label in values
            ]
    return sorted(options, key=lambda o: o[1])


def bearing(value):
    """The ids of the dossiers whose annotation is `value` ("key=value", as the filter's
    options and a typed date give it): read on the (key, value_text, dossier) index."""
    key, _sep, text = str(value).partition("=")
    return DossierAnnotation.select(DossierAnnotation.dossier).where(
        DossierAnnotation.key == key.strip(), DossierAnnotation.value_text == text.strip()
    )
