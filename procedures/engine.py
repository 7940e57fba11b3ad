"""What a definition says about a set of answers: which sections and fields are visible, what is
missing, which rules fail, which annexes are needed and why. Pure functions over JSON answers:
the server is the authority, and the same conditions run in the browser for comfort only."""

from dataclasses import dataclass

from flask_babel import gettext as _

from procedures import logic

NOT_STARTED, IN_PROGRESS, COMPLETED = "not_started", "in_progress", "completed"


@dataclass(frozen=True)
class Issue:
    section: str | None
    field: str | None
    message: str


@dataclass(frozen=True)
class AnnexNeed:
    key: str
    label: str
    help: str
    required: bool
    reason: str
    multiple: bool
    count: int  # how many files the answers call for (per_item: one per item)
    have: int

    @property
    def missing(self):
        return max(self.count - self.have, 0) if self.required else 0


class _Blank(dict):
    def __missing__(self, key):
        return "?"


def logic_data(definition, answers):
    """The answers as conditions see them: decimal answers (stored as exact text) as numbers."""

    def convert(item):
        out = dict(item)
        for key in definition.decimal_keys & out.keys():
            try:
                out[key] = float(out[key]) if out[key] is not None else None
            except (TypeError, ValueError):
                out[key] = None
        return out

    data = convert(answers)
    for key, value in answers.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            data[key] = [convert(v) for v in value]
    return data


def options_for(field, context):
    """The options of a choice: declared, or taken from an authentic source."""
    if field.options:
        return field.options
    if field.options_from:
        return list(context.get(field.options_from) or [])
    return []


def section_visible(section, answers):
    return logic.evaluate(section.visible_if, answers)


def field_visible(field, data):
    return logic.evaluate(field.visible_if, data)


def field_required(field, data):
    """Whether the field must be answered, as its rules say for these answers (`data`: the
    answers as conditions see them, with a group's row)."""
    if field.required_if is not None:
        return logic.evaluate(field.required_if, data)
    return field.required


@dataclass(frozen=True)
class Requirement:
    required: bool
    reason: str  # the field's `reason`, only while it is required


def requirement(field, data):
    required = field_required(field, data)
    return Requirement(required, field.reason if required else "")


def requirements(definition, answers):
    """`need(field, row=None)`: the Requirement of a field for the saved answers (a group's
    sub-field: with the answers of its row `row`), for the labels of a section page."""
    data = logic_data(definition, answers)

    def need(field, row=None):
        seen = data
        items = answers.get(field.group) if field.group else None
        if isinstance(items, list) and row is not None and row < len(items):
            seen = {**data, **logic_data(definition, items[row])}
        return requirement(field, seen)

    return need


def visible_fields(definition, section, answers):
    data = logic_data(definition, answers)
    if not section_visible(section, data):
        return []
    return [f for f in section.fields if field_visible(f, data)]


def prune(definition, answers):
    """The answers without those to hidden sections and fields (dropped on save), and without
    keys the definition does not know; `_`-prefixed bookkeeping keys are kept. Repeated until
    stable, since hiding one field can hide another that depends on it."""
    current = dict(answers)
    while True:
        kept = {k: v for k, v in current.items() if k.startswith("_")}
        for section in definition.sections:
            for field in visible_fields(definition, section, current):
                if field.key in current:
                    value = current[field.key]
                    if field.is_group and isinstance(value, list):
                        value = [_prune_item(field, item, current) for item in value]
                    kept[field.key] = value
        if kept == current:
            return kept
        current = kept


def _prune_item(group, item, answers):
    data = {**answers, **item}  # conditions inside a group see the item and the answers
    return {f.key: item[f.key] for f in group.fields if f.key in item and field_visible(f, data)}


def _missing(field, value, data, options):
    kind = field.kind
    if not kind.has_input or not field_required(field, data):
        return False
    return kind.is_empty(value)


def field_issues(definition, answers, context=None):
    """Required visible fields left empty, and groups with too few rows."""
    issues = []
    context = context or {}
    data_all = logic_data(definition, answers)
    for section in definition.sections:
        for field in visible_fields(definition, section, answers):
            value = answers.get(field.key)
            if field.is_group:
                rows = value or []
                if len(rows) < field.min_items:
                    issues.append(
                        Issue(
                            section.key,
                            field.key,
                            _(
                                "%(label)s : au moins %(count)s à encoder.",
                                label=field.label,
                                count=field.min_items,
                            ),
                        )
                    )
                for n, item in enumerate(rows, start=1):
                    data = {**data_all, **logic_data(definition, item)}
                    for sub in field.fields:
                        if field_visible(sub, data) and _missing(
                            sub, item.get(sub.key), data, options_for(sub, context)
                        ):
                            issues.append(
                                Issue(
                                    section.key,
                                    f"{field.key}-{n - 1}-{sub.key}",
                                    _(
                                        "%(item)s %(n)s : « %(label)s » est à compléter.",
                                        item=field.item_label or field.label,
                                        n=n,
                                        label=sub.label,
                                    ),
                                )
                            )
            elif _missing(field, value, data_all, options_for(field, context)):
                message = (
                    _("« %(label)s » doit être coché.", label=field.label)
                    if field.type == "declaration"
                    else _("« %(label)s » est à compléter.", label=field.label)
                )
                issues.append(Issue(section.key, field.key, message))
    return issues


def rule_issues(definition, raw_answers):
    """Consistency rules that fail, with their messages filled with the numbers concerned."""
    issues = []
    answers = logic_data(definition, raw_answers)
    constants = definition.constants
    for rule in definition.rules:
        if not logic.evaluate(rule.when, answers):
            continue
        if rule.for_each:
            group = definition.fields_by_key.get(rule.for_each)
            if group is None or not _shown(definition, group, answers):
                continue
            for n, item in enumerate(answers.get(rule.for_each) or [], start=1):
                data = {**constants, **answers, **item, "n": n}
                if not logic.evaluate(rule.assert_, data):
                    issues.append(
                        Issue(rule.section, None, rule.message.format_map(_Blank(_printable(data))))
                    )
        elif not logic.evaluate(rule.assert_, {**constants, **answers}):
            issues.append(
                Issue(rule.section, None, rule.message.format_map(_Blank(_printable(answers))))
            )
    return issues


def _shown(definition, field, answers):
    section = definition.section(field.section)
    return (
        section is not None and section_visible(section, answers) and field_visible(field, answers)
    )


def _printable(data):
    words = {True: _("oui"), False: _("non"), None: "?"}
    return {
        k: words[v]
        if v is None or isinstance(v, bool)
        else (f"{v:g}" if isinstance(v, float) else v)
        for k, v in data.items()
        if not isinstance(v, list | dict)
    }


def annex_needs(definition, answers, have=None):
    """For each annex of the definition: whether the answers make it mandatory, why, and how
    many files are needed and present."""
    have = have or {}
    needs = []
    answers = logic_data(definition, answers)
    for spec in definition.annexes:
        if spec.required_if is not None:
            required = logic.evaluate(spec.required_if, answers)
        else:
            required = spec.required
        count = 1
        if spec.per_item:
            count = max(len(answers.get(spec.per_item) or []), 1)
        reason = _annex_reason(spec, required)
        needs.append(
            AnnexNeed(
                spec.key,
                spec.label,
                spec.help,
                required,
                reason,
                spec.multiple or bool(spec.per_item),
                count,
                have.get(spec.key, 0),
            )
        )
    return needs


def _annex_reason(spec, required):
    """Why the annex is asked for: its `reason` only while it is required."""
    if not required:
        return _("Facultative.")
    if spec.reason:
        return spec.reason
    if spec.required_if is None:
        return _("Toujours obligatoire.")
    return _("Obligatoire pour les réponses données.")


def annex_issues(definition, answers, have):
    return [
        Issue(
            "annexes",
            need.key,
            _(
                "Annexe « %(label)s » : %(count)s fichier(s) manquant(s). %(reason)s",
                label=need.label,
                count=need.missing,
                reason=need.reason,
            ).strip(),
        )
        for need in annex_needs(definition, answers, have)
        if need.missing
    ]


def all_issues(definition, answers, have=None, context=None):
    """Everything that keeps the dossier from being complete (empty: Complet)."""
    return (
        field_issues(definition, answers, context)
        + rule_issues(definition, answers)
        + annex_issues(definition, answers, have or {})
    )


def section_status(definition, section, answers, saved, issues):
    """GOV.UK task-list status of a section: not started, in progress or completed."""
    if section.key not in saved:
        return NOT_STARTED
    if any(i.section == section.key for i in issues):
        return IN_PROGRESS
    return COMPLETED


def reached_issues(definition, answers, saved, issues):
    """The issues as a person should read them: those of the sections they have saved and of
    the annexes; a visible section not saved yet is one line (« not filled in yet »), not its
    warnings."""
    shown, told = [], set()
    for issue in issues:
        section = definition.section(issue.section) if issue.section else None
        if section is None or section.key in saved:
            shown.append(issue)
        elif section.key not in told:
            told.add(section.key)
            shown.append(
                Issue(
                    section.key,
                    None,
                    _("« %(section)s » : pas encore rempli.", section=section.title),
                )
            )
    return shown
