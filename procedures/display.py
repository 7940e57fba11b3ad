"""Answers as people read them: one list of (label, value) rows per visible section, built from
the field types' own display, for the check-answers page, the back-office detail and the
receipt; the label of an annex kind; the one way an address is written."""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from procedures import engine

EMPTY = "—"
# The kind of the files a company sends in reply to a complement request (not in a
# definition; dossiers.messages.REPLY_REQUIREMENT).
COMPLEMENT = "complement"  # the requirement of the annexes of the company's replies
COMPLEMENT_LABEL = _l("Complément")


@dataclass(frozen=True)
class Item:
    """One row of a repeatable group: its title (« Personne responsable 2 ») and answers."""

    title: str
    rows: list


@dataclass(frozen=True)
class Row:
    """One answer: the field, its label and its value as text; a group's items as nested rows."""

    field: object
    value: str
    items: list | tuple = ()

    @property
    def label(self):
        return self.field.label

    @property
    def key(self):
        return self.field.key


@dataclass(frozen=True)
class SectionRows:
    section: object
    rows: list

    @property
    def title(self):
        return self.section.title


def answer_text(field, value, context=None):
    """One answer as text ("" when unanswered), choices by their labels."""
    return field.kind.display(value, field, engine.options_for(field, context or {}))


def answer_rows(definition, answers, context=None):
    """Per visible section, in the definition's order, a row per visible field (hidden ones left
    out); an unanswered field shows "—", an unanswered field of a group row is left out."""
    answers = answers or {}
    context = context or {}
    data = engine.logic_data(definition, answers)
    result = []
    for section in definition.sections:
        rows = [
            _group_row(definition, f, answers.get(f.key), data, context)
            if f.is_group
            else Row(f, answer_text(f, answers.get(f.key), context) or EMPTY)
            for f in engine.visible_fields(definition, section, answers)
        ]
        if rows:
            result.append(SectionRows(section, rows))
    return result


def _group_row(definition, group, value, data, context):
    items = []
    for n, item in enumerate(value or [], start=1):
        seen = {**data, **engine.logic_data(definition, item)}
        rows = [
            Row(sub, text)
            for sub in group.fields
            if engine.field_visible(sub, seen)
            for text in [answer_text(sub, item.get(sub.key), context)]
            if text
        ]
        items.append(Item(f"{group.item_label or group.label} {n}", rows))
    flat = "\n".join(
        f"{item.title} : " + " ; ".join(f"{r.label} : {r.value}" for r in item.rows)
        for item in items
    )
    return Row(group, flat or EMPTY, items)


def annex_label(definition, key):
    """The label of an annex kind (a requirement key of the definition, or a complement)."""
    if key == COMPLEMENT:
        return str(COMPLEMENT_LABEL)
    spec = next((a for a in definition.annexes if a.key == key), None)
    return spec.label if spec else (key or "")


def format_address(
    street=None, number=None, box=None, postcode=None, municipality=None, country=None
):
    """« Rue de Fer 1 bte 2, 5000 Namur, Belgique »: the parts that are given, whichever source
    they come from (an address answer, the register's record)."""
    line = " ".join(p for p in (street, number) if p)
    if box:
        # "bte" in French, "Bf." in German, "box" in English: the abbreviation of each language.
        box = _("bte %(box)s", box=box)
        line = f"{line} {box}" if line else box
    place = " ".join(p for p in (postcode, municipality) if p)
    return ", ".join(p for p in (line, place, country) if p)
