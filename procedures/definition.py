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

from procedures import fields as field_types
from procedures import logic, provinces, texts
from procedures.problems import DefinitionError, Problem, schema_problem_text, yaml_problem_text

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"
PREFILL_PATHS = {
    "company.enterprise_number",
    "company.name",
    "company.legal_form_label",
    "company.legal_situation_label",
    "company.start_date",
    "company.address",
    "company.establishments",
    "company.nace",
    "company.person_type",
    "company.is_commercial_form",
    "company.registrations",
    "company.registered_services",
    "company.has_approval",
    "person.full_name",
    "person.national_number",
    "person.email",
    "procedure.reference_year",
    "procedure.due_date",
}


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


def _path_text(path):
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path)
    )


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
        text=text,
        languages=texts.declared_languages(data),
        language=language,
    )


def _semantic_problems(data, lines):
    """What the schema cannot say: unique keys, known types and paths, conditions on known
    fields."""
    problems = []
    top_keys, all_keys = set(), {}

    def report(path, message):
        problems.append(Problem(_path_text(path), lines.get(path), message))

    def not_group(key):
        return _("« %(key)s » n'est pas un groupe", key=key)

    for path, message in texts.language_problems(data):
        report(path, message)

    def walk_fields(raw_fields, path, group_keys=None):
        for i, raw in enumerate(raw_fields):
            fpath = (*path, i)
            key = raw["key"]
            if key in all_keys:
                report(
                    (*fpath, "key"),
                    _("champ « %(key)s » déjà défini (%(where)s)", key=key, where=all_keys[key]),
                )
            all_keys[key] = _path_text(fpath)
            if group_keys is None:
                top_keys.add(key)
            else:
                group_keys.add(key)
            if not field_types.exists(raw["type"]):
                report(
                    (*fpath, "type"),
                    _(
                        "type de champ inconnu « %(type)s » (connus : %(known)s)",
                        type=raw["type"],
                        known=", ".join(field_types.ids()),
                    ),
                )
            for path_key in ("prefill", "options_from"):
                if raw.get(path_key) and raw[path_key] not in PREFILL_PATHS:
                    report(
                        (*fpath, path_key), _("source inconnue « %(path)s »", path=raw[path_key])
                    )
            if raw["type"] in ("choice", "multichoice") and not (
                raw.get("options") or raw.get("options_from")
            ):
                report(fpath, _("un choix a besoin de « options » ou de « options_from »"))
            if raw.get("unit") and raw["type"] not in ("integer", "number"):
                report(
                    (*fpath, "unit"), _("« unit » ne s'emploie qu'avec un nombre (integer, number)")
                )
            if raw["type"] == "group":
                if not raw.get("fields"):
                    report(fpath, _("un groupe a besoin de « fields »"))
                walk_fields(raw.get("fields", []), (*fpath, "fields"), set())

    for si, section in enumerate(data["sections"]):
        walk_fields(section["fields"], ("sections", si, "fields"))

    groups = {
        k: {sub["key"] for sub in f.get("fields", [])}
        for s in data["sections"]
        for f in s["fields"]
        if f["type"] == "group"
        for k in [f["key"]]
    }
    known = set(all_keys)

    def check_logic(expr, path, extra=frozenset()):
        if expr is None:
            return
        for name in logic.variables(expr):
            root = name.split(".")[0]
            if root not in known and root not in extra:
                report(path, _("la condition porte sur un champ inconnu « %(name)s »", name=name))

    for si, section in enumerate(data["sections"]):
        check_logic(section.get("visible_if"), ("sections", si, "visible_if"))
        for fi, raw in enumerate(section["fields"]):
            base = ("sections", si, "fields", fi)
            for cond in ("visible_if", "required_if"):
                check_logic(raw.get(cond), (*base, cond))
            for gi, sub in enumerate(raw.get("fields", [])):
                for cond in ("visible_if", "required_if"):
                    check_logic(
                        sub.get(cond), (*base, "fields", gi, cond), groups.get(raw["key"], set())
                    )
    section_keys = {s["key"] for s in data["sections"]}
    for ri, rule in enumerate(data.get("rules", [])):
        extra = set()
        if rule.get("for_each"):
            if rule["for_each"] not in groups:
                report(("rules", ri, "for_each"), not_group(rule["for_each"]))
            extra = groups.get(rule["for_each"], set()) | {"n"}
        for cond in ("assert", "when"):
            check_logic(rule.get(cond), ("rules", ri, cond), extra)
        if rule.get("section") and rule["section"] not in section_keys:
            report(
                ("rules", ri, "section"),
                _("section inconnue « %(section)s »", section=rule["section"]),
            )
    for ai, annex in enumerate(data.get("annexes", [])):
        check_logic(annex.get("required_if"), ("annexes", ai, "required_if"))
        if annex.get("per_item") and annex["per_item"] not in groups:
            report(("annexes", ai, "per_item"), not_group(annex["per_item"]))
    for ri, route in enumerate(data.get("routing", [])):
        report_route(route, ("routing", ri), top_keys, report)
    problems.extend(
        Problem(_path_text(path), lines.get(path), message)
        for path, message in _annotation_problems(data.get("annotations", []))
    )
    if data.get("one_per") and data["one_per"] not in top_keys:
        report(("one_per",), _("« %(key)s » n'est pas un champ", key=data["one_per"]))
    return problems


def report_route(route, path, top_keys, report):
    """What a routing rule can get wrong beyond the schema: a field that is not a question of
    the form (a group's line has none to route on), a condition half written or two at once, a
    province that does not exist."""
    field, compared = route.get("field"), [k for k in ("equals", "in") if k in route]
    if field is not None and field not in top_keys:
        report(
            (*path, "field"),
            _("la règle d'orientation porte sur un champ inconnu « %(name)s »", name=field),
        )
    if field is not None and len(compared) != 1:
        report(path, _("une règle sur un champ a besoin de « equals » ou de « in » (un des deux)"))
    if field is None and compared:
        report((*path, compared[0]), _("« %(key)s » s'emploie avec « field »", key=compared[0]))
    if "province" in route:
        if field is not None:
            report(path, _("une règle porte sur un champ ou sur la province, pas sur les deux"))
        if provinces.known_province(route["province"]) is None:
            report(
                (*path, "province"),
                _(
                    "province inconnue « %(name)s » (connues : %(known)s)",
                    name=route["province"],
                    known=", ".join(provinces.PROVINCES),
                ),
            )


# What staff fill in an annotation: one value each, kept as text in an indexed column
# (models.DossierAnnotation), so no long texts, groups, addresses or several choices.
ANNOTATION_TYPES = ("text", "integer", "number", "amount", "date", "choice", "yesno")
ANNOTATION_KEYS = frozenset(
    ("key", "type", "label", "help", "options", "min", "max", "max_length", "unit")
)
ANNOTATION_TEXT_MAX = 500  # characters: the longest text the index holds comfortably


def _annotation_problems(raw_annotations):
    """(path, message) for each annotation the back-office could not fill: a type outside
    ANNOTATION_TYPES, a key used twice, a choice without options, a key of the form's only."""
    seen = {}
    for i, raw in enumerate(raw_annotations):
        path = ("annotations", i)
        if raw["key"] in seen:
            yield (
                (*path, "key"),
                _(
                    "annotation « %(key)s » déjà définie (%(where)s)",
                    key=raw["key"],
                    where=seen[raw["key"]],
                ),
            )
        seen.setdefault(raw["key"], _path_text(path))
        if raw["type"] not in ANNOTATION_TYPES:
            yield (
                (*path, "type"),
                _(
                    "type d'annotation impossible « %(type)s » (possibles : %(known)s)",
                    type=raw["type"],
                    known=", ".join(ANNOTATION_TYPES),
                ),
            )
        if (raw.get("max_length") or 0) > ANNOTATION_TEXT_MAX:
            yield (
                (*path, "max_length"),
                _("une annotation compte au plus %(max)d caractères", max=ANNOTATION_TEXT_MAX),
            )
        if raw["type"] == "choice" and not raw.get("options"):
            yield path, _("une annotation à choix a besoin de « options »")
        for extra in sorted(set(raw) - ANNOTATION_KEYS):
            yield (
                (*path, extra),
                _("« %(key)s » ne s'emploie pas dans une annotation", key=extra),
            )


@lru_cache(maxsize=256)
def checked_document(text):
    """The data of a YAML text that passes every check (cached: a text never changes);
    DefinitionError lists every problem with its path and line."""
    data, lines = load_document(text)
    problems = [
        Problem(
            _path_text(tuple(error.absolute_path)),
            lines.get(tuple(error.absolute_path)),
            schema_problem_text(error),
        )
        for error in sorted(schema_validator().iter_errors(data), key=lambda e: list(e.path))
    ]
    # jsonschema reports a missing key once per key; its words name them all at once.
    problems = list({(p.path, p.line, str(p.message)): p for p in problems}.values())
    if problems:
        raise DefinitionError(problems)
    problems = _semantic_problems(data, lines)
    if problems:
        raise DefinitionError(problems)
    return data


def parse_definition(text, language=None):
    """The Definition of a YAML text with its texts in `language` (the source language when
    None or not declared); DefinitionError lists every problem with path and line."""
    data, used = texts.localized(checked_document(text), language)
    return _build(data, text, used)
