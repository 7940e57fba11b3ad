"""What the JSON Schema cannot say of a procedure definition (procedures.definition): unique
keys, known field types and prefill paths, conditions and routing rules on known fields, and
the annotations the back-office can fill. Each problem names its path and line."""

from flask_babel import gettext as _

from procedures import fields as field_types
from procedures import logic, provinces, texts
from procedures.problems import Problem, path_text

# What a field may be prefilled from (procedures.prefill).
PREFILL_PATHS = {
    "company.enterprise_number",
    "company.name",
    "company.legal_form_label",
    "company.legal_situation_label",
    "company.start_date",
    "company.address",
    "company.establishments",
    "company.walloon_establishments",
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


def semantic_problems(data, lines):
    """What the schema cannot say: unique keys, known types and paths, conditions on known
    fields."""
    problems = []
    top_keys, all_keys = set(), {}

    def report(path, message):
        problems.append(Problem(path_text(path), lines.get(path), message))

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
            all_keys[key] = path_text(fpath)
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
    constants = set(data.get("constants") or {})  # read by the rules' asserts only
    for name in sorted(constants & known):
        report(
            ("constants", name),
            _("« %(name)s » est déjà un champ : donnez un autre nom à la constante", name=name),
        )

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
        check_logic(rule.get("assert"), ("rules", ri, "assert"), extra | constants)
        check_logic(rule.get("when"), ("rules", ri, "when"), extra)
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
        Problem(path_text(path), lines.get(path), message)
        for path, message in annotation_problems(data.get("annotations", []))
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


def annotation_problems(raw_annotations):
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
        seen.setdefault(raw["key"], path_text(path))
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
