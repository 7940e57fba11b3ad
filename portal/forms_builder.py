"""WTForms forms built at request time from a section of a procedure definition."""

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Form

from procedures import engine, logic
from procedures.fields import TranslatedMeta


class SectionForm(FlaskForm):
    """Base of every section form (CSRF from Flask-WTF)."""


class ItemForm(Form):
    """Base of a repeatable group's row (no CSRF of its own)."""

    Meta = TranslatedMeta


def depends_on_section(field, section):
    """True when the field's visibility may change with answers given on the same page."""
    keys = {f.key for f in section.fields}
    return any(v.split(".")[0] in keys for v in logic.variables(field.visible_if))


def rendered_fields(definition, section, answers):
    """The fields shown on the section page: visible now, or controlled by this page (the
    browser then shows and hides them live; without JavaScript they stay visible)."""
    if not engine.section_visible(section, answers):
        return []
    return [
        f
        for f in section.fields
        if engine.field_visible(f, answers) or depends_on_section(f, section)
    ]


def is_input(field):
    return field.kind.has_input and not field.readonly and not field.prefill


def build(definition, section, answers, context, formdata=None):
    """(form class instance, fields) for the section, filled from `formdata` or the answers."""
    fields = rendered_fields(definition, section, answers)
    attrs = {}
    for field in fields:
        if is_input(field) and not field.is_group:
            attrs[field.key] = field.kind.wtforms_field(field, engine.options_for(field, context))
    form_class = type("DynamicSectionForm", (SectionForm,), attrs)
    form = form_class(formdata=formdata, data=None if formdata else _initial(fields, answers))
    return form, fields


# Numbers shown in their field as the check page writes them (85.07.30-033.61, 0123.456.789,
# BE71 0961 2345 6769); their validators take them back in that form.
FORMATTED_IN_FIELD = {"enterprise_number", "national_number", "iban"}


def form_value(field, value):
    """The stored answer as its field shows it."""
    if field.type in FORMATTED_IN_FIELD and value:
        return field.kind.display(value, field, [])
    return field.kind.to_form(value)


def _initial(fields, answers):
    data = {}
    for field in fields:
        if is_input(field) and not field.is_group and field.key in answers:
            data[field.key] = form_value(field, answers[field.key])
    return data


def group_rows(group, context, answers, formdata=None):
    """One ItemForm per row of the group, named `<group>-<n>-<sub>` in the page."""
    rows = answers.get(group.key) or []
    count = len(rows)
    if formdata is not None:
        count = int(formdata.get(f"{group.key}-count", count) or 0)
    count = max(count, group.min_items, 1 if group.min_items else 0)
    forms = []
    for n in range(count):
        attrs = {
            sub.key: sub.kind.wtforms_field(sub, engine.options_for(sub, context))
            for sub in group.fields
            if is_input(sub)
        }
        row_class = type("GroupRow", (ItemForm,), attrs)
        item = rows[n] if n < len(rows) else {}
        data = {
            s.key: form_value(s, item[s.key]) for s in group.fields if s.key in item and is_input(s)
        }
        prefix = f"{group.key}-{n}-"
        forms.append(row_class(formdata=formdata, data=None if formdata else data, prefix=prefix))
    return forms


def read_values(definition, section, answers, context, form, fields, formdata):
    """(values to save, errors by field name): valid values are kept even when other fields
    of the page are wrong, so nothing typed correctly is lost."""
    values, errors = {}, {}
    form.validate()
    for field in fields:
        if field.is_group:
            rows, row_errors = _read_group(field, context, answers, formdata)
            values[field.key] = rows
            errors.update(row_errors)
        elif is_input(field):
            wt = form[field.key]
            if wt.errors:
                errors[wt.id] = list(wt.errors) if isinstance(wt.errors, list) else _flatten(wt)
            else:
                values[field.key] = field.kind.to_answer(wt.data)
    return values, errors


def _flatten(wt):
    return [e for errs in wt.errors.values() for e in errs]


def _read_group(group, context, answers, formdata):
    rows, errors = [], {}
    old = answers.get(group.key) or []
    for n, row_form in enumerate(group_rows(group, context, answers, formdata)):
        row_form.validate()
        item = dict(old[n]) if n < len(old) else {}
        for sub in group.fields:
            if not is_input(sub):
                continue
            wt = row_form[sub.key]
            if wt.errors:
                errors[wt.id] = list(wt.errors)
            else:
                item[sub.key] = sub.kind.to_answer(wt.data)
        rows.append({k: v for k, v in item.items() if v is not None})
    return rows, errors


def key_after(action, key):
    """Where the value or error named `key` (`<group>-<n>-<sub>`) stands after the group
    action `remove:<group>:<n>`: the rows below the removed one move up; None when it was in
    the removed row. Any other key or action leaves it where it is."""
    verb, _sep, rest = action.partition(":")
    group, _sep, index = rest.partition(":")
    n, _sep, sub = key.removeprefix(f"{group}-").partition("-")
    if verb != "remove" or not index.isdigit() or not key.startswith(f"{group}-"):
        return key
    if not n.isdigit() or not sub:
        return key
    if int(n) == int(index):
        return None
    return f"{group}-{int(n) - 1}-{sub}" if int(n) > int(index) else key


def formdata_after(action, formdata, answers):
    """The submitted values as the page shows them again, so that a value refused by its check
    stays where it was typed: after a group action (`add:<group>`, `remove:<group>:<n>`) the
    rows are numbered, and counted, as in the saved `answers`."""
    verb, _sep, rest = action.partition(":")
    group = rest.partition(":")[0]
    if verb not in ("add", "remove") or not group:
        return formdata
    shown = MultiDict()
    for key, value in formdata.items(multi=True):
        moved = key_after(action, key)
        if moved is not None:
            shown.add(moved, value)
    shown[f"{group}-count"] = str(len(answers.get(group) or []))
    return shown
