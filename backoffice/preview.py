"""A procedure definition put into words for the preview page: sources and JsonLogic
conditions as an administrator checks them before publishing."""

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models import Role

SOURCES = {
    "company": _l("Banque-Carrefour des Entreprises"),
    "person": _l("demandeur connecté"),
    "procedure": _l("procédure"),
}
START_ROLES = {"consult": Role.CONSULT, "encode": Role.ENCODE, "sign": Role.SIGN}
COMPARISONS = {
    "==": "=",
    "===": "=",
    "!=": "≠",
    "!==": "≠",
    "<": "<",
    "<=": "≤",
    ">": ">",
    ">=": "≥",
}
ARITHMETIC = {"+", "-", "*", "/", "%"}
LISTS = {"multichoice", "group"}


def source_label(path):
    """`company.name` → "Banque-Carrefour des Entreprises (company.name)"."""
    root = path.split(".", 1)[0]
    return f"{SOURCES.get(root, root)} ({path})"


def start_role_label(value):
    role = START_ROLES.get(value)
    return role.label if role else value


class ConditionText:
    """JsonLogic conditions of one definition as French sentences, fields named by their labels.

    What has no wording here (rare operators) is shown as its JSON, so nothing is hidden."""

    def __init__(self, definition):
        self.fields = definition.fields_by_key
        self.constants = definition.constants

    def __call__(self, expression):
        return "" if expression is None else self.test(expression)

    # --- conditions -----------------------------------------------------------------------

    def test(self, expr):
        if isinstance(expr, bool):
            return _("toujours") if expr else _("jamais")
        op, args = self.split(expr)
        if op == "var":
            return self.answered(self.var_name(args))
        if op == "!":
            return self.negation(args[0] if args else None)
        if op == "!!":
            return self.test(args[0]) if args else _("jamais")
        if op in ("and", "or"):
            joiner = _(" et ") if op == "and" else _(" ou ")
            return joiner.join(self.grouped(a) for a in args)
        if op in COMPARISONS and len(args) == 2:
            return self.comparison(op, *args)
        if op in ("<", "<=") and len(args) == 3:
            low, value, high = (self.value(a) for a in args)
            return f"{low} {COMPARISONS[op]} {value} {COMPARISONS[op]} {high}"
        if op == "in" and len(args) == 2:
            return self.membership(*args)
        if op == "missing":
            return _("réponse manquante à l'un de : %(fields)s", fields=self.names(args))
        if op in ("some", "all", "none") and len(args) == 2:
            return self.quantified(op, *args)
        return self.raw(expr)

    def negation(self, expr):
        op, args = self.split(expr)
        if op == "var":
            return self.answered(self.var_name(args), negated=True)
        if op == "!!" and args:
            return self.negation(args[0])
        if op == "!" and args:
            return self.test(args[0])
        if op == "missing":
            return _("réponses données à : %(fields)s", fields=self.names(args))
        if op in ("==", "===", "!=", "!==") and len(args) == 2:
            flipped = {"==": "!=", "===": "!==", "!=": "==", "!==": "==="}[op]
            return self.comparison(flipped, *args)
        return _("il est faux que %(condition)s", condition=self.grouped(expr))

    def answered(self, name, negated=False):
        field = self.fields.get(name)
        label = self.quote(name)
        kind = field.type if field else None
        if kind == "yesno":
            return (
                _("réponse « Non » (ou pas de réponse) à %(field)s", field=label)
                if negated
                else _("réponse « Oui » à %(field)s", field=label)
            )
        if kind == "declaration":
            return (
                _("%(field)s n'est pas cochée", field=label)
                if negated
                else _("%(field)s est cochée", field=label)
            )
        if kind == "display":
            return (
                _("%(field)s : non (ou vide)", field=label)
                if negated
                else _("%(field)s : oui", field=label)
            )
        if kind in LISTS:
            return (
                _("rien d'encodé dans %(field)s", field=label)
                if negated
                else _("au moins un élément dans %(field)s", field=label)
            )
        return (
            _("pas de réponse à %(field)s", field=label)
            if negated
            else _("réponse donnée à %(field)s", field=label)
        )

    def comparison(self, op, left, right):
        field = self.field_of(left) or self.field_of(right)
        literal = right if self.field_of(left) else left
        sign = COMPARISONS[op]
        if (
            field is not None
            and field.type == "yesno"
            and isinstance(literal, bool)
            and sign in ("=", "≠")
        ):
            answer, label = self.value(literal), self.quote(field.key)
            if sign == "=":
                return _("réponse « %(answer)s » à %(field)s", answer=answer, field=label)
            return _("pas de réponse « %(answer)s » à %(field)s", answer=answer, field=label)
        a, b = self.value(left, field), self.value(right, field)
        if sign == "=":
            return _("%(a)s vaut %(b)s", a=a, b=b)
        if sign == "≠":
            return _("%(a)s ne vaut pas %(b)s", a=a, b=b)
        return f"{a} {sign} {b}"

    def membership(self, needle, haystack):
        field = self.field_of(haystack)
        if field is not None:
            return _(
                "%(option)s est coché dans %(field)s",
                option=self.value(needle, field),
                field=self.quote(field.key),
            )
        if isinstance(haystack, list):
            subject = self.field_of(needle)
            options = _(" ou ").join(self.value(v, subject) for v in haystack)
            return _("%(a)s vaut %(options)s", a=self.value(needle), options=options)
        return _("%(a)s figure dans %(b)s", a=self.value(needle), b=self.value(haystack))

    def quantified(self, op, collection, condition):
        name = self.quote(self.var_name(self.split(collection)[1]) or "?")
        inner = self.test(condition)
        if op == "some":
            return _(
                "au moins une ligne de %(group)s où %(condition)s", group=name, condition=inner
            )
        if op == "all":
            return _("chaque ligne de %(group)s : %(condition)s", group=name, condition=inner)
        return _("aucune ligne de %(group)s où %(condition)s", group=name, condition=inner)

    def grouped(self, expr):
        op, _args = self.split(expr)
        text = self.test(expr)
        return f"({text})" if op in ("and", "or") else text

    # --- values ---------------------------------------------------------------------------

    def value(self, expr, field=None):
        """An operand: a field by its label, a literal (an option by its label), arithmetic."""
        if isinstance(expr, bool):
            return _("Oui") if expr else _("Non")
        if expr is None:
            return _("vide")
        if isinstance(expr, int | float):
            return f"{expr:g}" if isinstance(expr, float) else str(expr)
        if isinstance(expr, str):
            return f"« {self.option_label(expr, field)} »"
        if isinstance(expr, list):
            return ", ".join(self.value(v, field) for v in expr)
        op, args = self.split(expr)
        if op == "var" and self.var_name(args) in self.constants:  # a number of the definition
            return self.value(self.constants[self.var_name(args)])
        if op == "var":
            return self.quote(self.var_name(args))
        if op in ARITHMETIC:
            if len(args) == 1:
                return self.value(args[0], field)
            return "(" + f" {op} ".join(self.value(a, field) for a in args) + ")"
        return self.test(expr)

    def option_label(self, value, field):
        for option in (field.options if field else None) or []:
            if option.get("value") == value:
                return option.get("label", value)
        return value

    def quote(self, name):
        if not name:
            return _("l'élément")
        field = self.fields.get(name)
        return f"« {field.label if field else name} »"

    def names(self, args):
        keys = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        return ", ".join(self.quote(k) for k in keys if isinstance(k, str))

    def field_of(self, expr):
        op, args = self.split(expr)
        return self.fields.get(self.var_name(args)) if op == "var" else None

    @staticmethod
    def var_name(args):
        name = args[0] if isinstance(args, list) and args else args
        return name if isinstance(name, str) else ""

    @staticmethod
    def split(expr):
        """(operator, list of arguments) of a one-key JsonLogic object, else (None, [])."""
        if isinstance(expr, dict) and len(expr) == 1:
            op, args = next(iter(expr.items()))
            return op, args if isinstance(args, list) else [args]
        return None, []

    @staticmethod
    def raw(expr):
        return json.dumps(expr, ensure_ascii=False)
