"""Reading a procedure definition: YAML → checked against the JSON Schema → a `Definition`.

Every error names the path in the document and its line, so that an administrator editing the
YAML in the back-office sees where to look.
"""

import json
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import yaml
from flask_babel import gettext as _
from jsonschema import Draft202012Validator

from procedures import checks, provinces, texts
from procedures import fields as field_types
from procedures.problems import (
    DefinitionError,
    Problem,
    path_text,
    schema_problem_text,
    yaml_problem_text,
)

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"


@dataclass
class Field:
    key: str
    type: str
    label: str
    help: str = ""
    placeholder: str = ""
    reason: str = ""  # why it is required, shown only while required_if holds
    required: bool = False
    required_if: object = None
    visible_if: object = None
    prefill: str | None = None
    readonly: bool = False
    options: list = field(default_factory=list)
    options_from: str | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    unit: str = ""
    min_items: int = 0
    max_items: int | None = None
    item_label: str = ""
    fields: list = field(default_factory=list)
    section: str = ""
    group: str | None = None

    @property
    def kind(self):
        return field_types.get(self.type)

    @property
    def is_group(self):
        return self.type == "group"


@dataclass
class Section:
    key: str
    title: str
    fields: list
    description: str = ""
    visible_if: object = None


@dataclass
class Rule:
    key: str
    assert_: object
    message: str
    section: str | None = None
    when: object = None
    for_each: str | None = None


@dataclass
class AnnexSpec:
    key: str
    label: str
    help: str = ""
    required: bool = False
    required_if: object = None
    reason: str = ""
    multiple: bool = False
    per_item: str | None = None


@dataclass(frozen=True)
class Route:
    """A routing rule (`routing:`): the group a submitted dossier goes to (a group's name or
    code) when its condition holds — an answer equal to `equals` or among `in`, or the
    province of the company's registered address; none: every dossier of the procedure."""

    group: str
    field: str | None = None
    equals: object = None
    in_: tuple = ()
    province: str | None = None

    def __str__(self):
        """The rule as written, for the dossier's history."""
        if self.province:
            return f"province: {self.province}"
        if self.field and self.in_:
            return f"{self.field} in {list(self.in_)}"
        if self.field:
            return f"{self.field} = {self.equals}"
        return f"group: {self.group}"


@dataclass(frozen=True)
class Retention:
    """How long the procedure's dossiers are kept (dossiers/retention.py)."""

    drafts_days: int = 90  # a draft untouched this long is deleted, warned 7 days before
    closed_years: int = 10  # a closed dossier is anonymised this long after its closing


@dataclass(frozen=True)
class Deadline:
    """The legal processing time of the procedure's dossiers (dossiers/deadlines.py)."""

    days: int
    start: str = "received"  # `from:` in the YAML; the clock starts at Réceptionné
    when_passed: str = "flag"  # "nothing", or "flag": the dossier is shown and counted late


@dataclass
class Definition:
    code: str
    version: int
    title: str
    reference_prefix: str
    sections: list
    rules: list
    annexes: list
    description: str = ""
    start_role: str = "encode"
    one_per: str | None = None
    decision_letter: str = ""
    retention: Retention = Retention()
    routing: tuple = ()  # Route, in order: the first that matches
    deadline: Deadline | None = None
    text: str = ""
    languages: tuple = texts.DEFAULT_LANGUAGES  # the first is the source language
    language: str = texts.DEFAULT_LANGUAGES[0]  # the language of the texts of this object
    annotations: list = field(default_factory=list)  # staff-only fields (dossiers.annotations)
    constants: dict = field(default_factory=dict)  # numbers the rules' asserts read

    def __post_init__(self):
        self.fields_by_key = {}
        for section in self.sections:
            for f in section.fields:
                self.fields_by_key[f.key] = f
                for sub in f.fields:
                    self.fields_by_key[sub.key] = sub
        # Decimal answers are stored as text (exact); conditions compare them as numbers.
        self.decimal_keys = {
            k for k, f in self.fields_by_key.items() if f.type in ("number", "amount")
        }

    @property
    def deadline_days(self):
        """The days of the clock kept on the dossiers (ProcedureDefinition.deadline_days): only
        a deadline that flags late dossiers is counted; `nothing` keeps no clock."""
        if self.deadline is None or self.deadline.when_passed != "flag":
            return None
        return self.deadline.days

    def section(self, key):
        return next((s for s in self.sections if s.key == key), None)


@cache
def schema_validator():
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe YAML that refuses duplicate keys (plain YAML silently keeps the last one); libyaml's
    parser when PyYAML has it (several times faster), the same safe constructor either way."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise DefinitionError(
                    [
                        Problem(
                            str(key),
                            key_node.start_mark.line + 1,
                            _(
                                "clé « %(key)s » répétée (déjà à la ligne %(line)s)",
                                key=key,
                                line=seen[key],
                            ),
                        )
                    ]
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _lines(node, path=(), out=None):
    """Map each path of the document (tuple of keys and indexes) to its line number."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            _lines(value, (*path, key_node.value), out)
            out[(*path, key_node.value)] = key_node.start_mark.line + 1  # where its key is
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out)
    return out


def same_text(a, b):
    """Equal but for line endings and trailing blanks."""

    def norm(text):
        return [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]

    return norm(a) == norm(b)


def load_document(text):
    """(data, line map) of a YAML text, or DefinitionError for syntax errors and duplicates."""
    loader = _LineLoader(text)
    try:  # one parse: the node tree gives the lines, the same tree gives the data
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise DefinitionError(
            [Problem("", mark.line + 1 if mark else None, yaml_problem_text(exc))]
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise DefinitionError(
            [Problem("", 1, _("le document doit être un objet YAML (clé: valeur)"))]
        )
    return data, _lines(node)


def _field(raw, section, group=None):
    return Field(
        key=raw["key"],
        type=raw["type"],
        label=raw["label"],
        help=raw.get("help", ""),
        placeholder=raw.get("placeholder", ""),
        reason=raw.get("reason", ""),
        required=raw.get("required", False),
        required_if=raw.get("required_if"),
        visible_if=raw.get("visible_if"),
        prefill=raw.get("prefill"),
        readonly=raw.get("readonly", bool(raw.get("prefill"))),
        options=raw.get("options", []),
        options_from=raw.get("options_from"),
        min=raw.get("min"),
        max=raw.get("max"),
        max_length=raw.get("max_length"),
        unit=raw.get("unit", ""),
        min_items=raw.get("min_items", 0),
        max_items=raw.get("max_items"),
        item_label=raw.get("item_label", ""),
        fields=[_field(sub, section, raw["key"]) for sub in raw.get("fields", [])],
        section=section,
        group=group,
    )


def _deadline(raw):
    if raw is None:
        return None
    return Deadline(raw["days"], raw.get("from", "received"), raw.get("when_passed", "flag"))


def _build(data, text, language):
    sections = [
        Section(
            key=s["key"],
            title=s["title"],
            description=s.get("description", ""),
            visible_if=s.get("visible_if"),
            fields=[_field(f, s["key"]) for f in s["fields"]],
        )
        for s in data["sections"]
    ]
    rules = [
        Rule(
            key=r["key"],
            assert_=r["assert"],
            message=r["message"],
            section=r.get("section"),
            when=r.get("when"),
            for_each=r.get("for_each"),
        )
        for r in data.get("rules", [])
    ]
    annexes = [
        AnnexSpec(
            key=a["key"],
            label=a["label"],
            help=a.get("help", ""),
            required=a.get("required", False),
            required_if=a.get("required_if"),
            reason=a.get("reason", ""),
            multiple=a.get("multiple", False),
            per_item=a.get("per_item"),
        )
        for a in data.get("annexes", [])
    ]
    return Definition(
        code=data["code"],
        version=data["version"],
        title=data["title"],
        reference_prefix=data["reference_prefix"],
        description=data.get("description", ""),
        start_role=data.get("start_role", "encode"),
        one_per=data.get("one_per"),
        decision_letter=data.get("decision_letter", ""),
        retention=Retention(**data.get("retention", {})),
        routing=tuple(
            Route(
                group=r["group"],
                field=r.get("field"),
                equals=r.get("equals"),
                in_=tuple(r.get("in", ())),
                province=provinces.known_province(r.get("province")),
            )
            for r in data.get("routing", [])
        ),
        deadline=_deadline(data.get("deadline")),
        sections=sections,
        rules=rules,
        annexes=annexes,
        annotations=[_field(a, "") for a in data.get("annotations", [])],
        constants=dict(data.get("constants") or {}),
        text=text,
        languages=texts.declared_languages(data),
        language=language,
    )


@lru_cache(maxsize=256)
def checked_document(text):
    """The data of a YAML text that passes every check (cached: a text never changes);
    DefinitionError lists every problem with its path and line."""
    data, lines = load_document(text)
    problems = [
        Problem(
            path_text(tuple(error.absolute_path)),
            lines.get(tuple(error.absolute_path)),
            schema_problem_text(error),
        )
        for error in sorted(schema_validator().iter_errors(data), key=lambda e: list(e.path))
    ]
    # jsonschema reports a missing key once per key; its words name them all at once.
    problems = list({(p.path, p.line, str(p.message)): p for p in problems}.values())
    if problems:
        raise DefinitionError(problems)
    problems = checks.semantic_problems(data, lines)
    if problems:
        raise DefinitionError(problems)
    return data


def parse_definition(text, language=None):
    """The Definition of a YAML text with its texts in `language` (the source language when
    None or not declared); DefinitionError lists every problem with path and line."""
    data, used = texts.localized(checked_document(text), language)
    return _build(data, text, used)
