"""The problems of a definition, each with its path and line, told in the reader's language:
YAML syntax (PyYAML's messages) and JSON Schema errors (jsonschema's) put into words."""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str

    def __str__(self):
        where = self.path or _("document")
        if self.line:
            return _(
                "ligne %(line)s, %(path)s : %(message)s",
                line=self.line,
                path=where,
                message=self.message,
            )
        return _("%(path)s : %(message)s", path=where, message=self.message)


class DefinitionError(ValueError):
    """The definition cannot be used; `problems` lists each error with its path and line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# PyYAML's (libyaml's) problems in words; anything else is quoted as it comes.
YAML_PROBLEMS = (
    ("tab character", _l("tabulation interdite : indentez avec des espaces")),
    (
        "cannot start any token",
        _l("caractère interdit à cet endroit (une tabulation ? indentez avec des espaces)"),
    ),
    (
        "did not find expected key",
        _l("indentation incohérente : une clé est attendue ici, alignée sur celles du même niveau"),
    ),
    (
        "did not find expected '-' indicator",
        _l("indentation incohérente : un élément de liste (« - ») est attendu ici"),
    ),
    (
        "mapping values are not allowed",
        _l("« : » inattendu (une valeur contenant « : » doit être entre guillemets)"),
    ),
    ("found unexpected end of stream", _l("fin du texte atteinte avant la fin d'un élément")),
    ("did not find expected ',' or ']'", _l("liste entre [ ] non refermée")),
    ("did not find expected ',' or '}'", _l("objet entre { } non refermé")),
    ("found undefined alias", _l("alias (*nom) inconnu")),
)
OPENED = {
    "while scanning a quoted scalar": _l("guillemet ouvert"),
    "while parsing a flow sequence": _l("« [ » ouvert"),
    "while parsing a flow mapping": _l("« { » ouvert"),
}


def yaml_problem_text(exc):
    problem = exc.problem or ""
    text = next((str(words) for en, words in YAML_PROBLEMS if en in problem), problem)
    opened = OPENED.get(exc.context or "")
    if opened and exc.context_mark is not None:
        text += " " + _(
            "(%(what)s à la ligne %(line)s)", what=opened, line=exc.context_mark.line + 1
        )
    return _("YAML invalide : %(problem)s", problem=text)


TYPE_WORDS = {
    "string": _l("un texte"),
    "integer": _l("un nombre entier"),
    "number": _l("un nombre"),
    "boolean": _l("true ou false"),
    "array": _l("une liste"),
    "object": _l("un objet (clé: valeur)"),
}


def _types(expected):
    expected = expected if isinstance(expected, list) else [expected]
    return _(" ou ").join(str(TYPE_WORDS.get(t, t)) for t in expected)


def schema_problem_text(error):
    """A jsonschema error in words, for the kinds of error a definition can have."""
    kind, value, limit = error.validator, error.instance, error.validator_value
    if "propertyNames" in error.schema_path:
        return _(
            "code de langue « %(code)s » : deux lettres minuscules (fr, de, en, nl)", code=value
        )
    if kind == "required":
        missing = [k for k in limit if isinstance(value, dict) and k not in value]
        return _("clé obligatoire manquante : %(keys)s", keys=", ".join(missing))
    if kind == "additionalProperties":
        allowed = error.schema.get("properties", {})
        extra = [str(k) for k in value if k not in allowed]
        return _(
            "clé inconnue : %(keys)s (clés possibles : %(allowed)s)",
            keys=", ".join(extra),
            allowed=", ".join(allowed),
        )
    if kind == "type":
        return _("%(types)s est attendu ici", types=_types(limit))
    if kind == "enum":
        return _(
            "« %(value)s » n'est pas permis (valeurs possibles : %(values)s)",
            value=value,
            values=", ".join(str(v) for v in limit),
        )
    if kind == "pattern":
        return _(
            "« %(value)s » n'a pas la forme attendue (expression régulière %(pattern)s)",
            value=value,
            pattern=limit,
        )
    if kind == "minimum":
        return _("%(value)s est trop petit (au moins %(limit)s)", value=value, limit=limit)
    if kind in ("minItems", "minProperties"):
        return _("ne peut pas être vide")
    if kind == "uniqueItems":
        return _("la liste contient deux fois la même valeur")
    if kind == "minLength":
        return _("texte trop court (au moins %(limit)s caractères)", limit=limit)
    if kind == "maxLength":
        return _("texte trop long (au plus %(limit)s caractères)", limit=limit)
    return error.message


def path_text(path):
    """A path of the document (keys and indexes) as the problems name it: a.b[0].c."""
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path)
    )
