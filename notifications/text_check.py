"""The check of an email text administrators write (notifications.texts): what it may hold is
deliberately small — `{{ name }}` for a placeholder of its event, an optional filter of FILTERS,
and `{% if name %}…{% elif name %}…{% else %}…{% endif %}` on placeholders (with `not`, `and`,
`or`). Anything else is refused here, by walking the tree Jinja parses; the sandbox (ENV:
ImmutableSandboxedEnvironment, StrictUndefined, no globals) is the second wall, not the first."""

import re

from flask_babel import gettext as _
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

FILTERS = ("upper", "lower", "capitalize", "title", "trim")
VARIABLE, CONDITION = "{{ variable }}", "{% if variable %}…{% endif %}"

# The tags a text may not hold, named as the administrator wrote them.
TAG_NAMES = {
    nodes.For: "{% for %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Call: "( )",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.With: "{% with %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.Scope: "{% with %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.Test: "is",
    nodes.Compare: "==",
}


def _none_to_empty(value):
    return "" if value is None else value


ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, finalize=_none_to_empty, keep_trailing_newline=True
)
ENV.globals.clear()  # no range(), lipsum(), dict() …: a text calls nothing
ENV.filters = {name: ENV.filters[name] for name in FILTERS}
ENV.tests.clear()


def expression(node):
    """The expression as the administrator wrote it, near enough to recognise it."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{expression(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{expression(node.node)}[…]"
    if isinstance(node, nodes.Filter):
        return f"{expression(node.node)} | {node.name}"
    if isinstance(node, nodes.Call):
        return f"{expression(node.node)}(…)"
    return "…"


class Checker:
    """Walks a parsed text and keeps one message per thing that is not allowed."""

    def __init__(self, allowed):
        self.allowed = allowed
        self.problems = []

    def refuse(self, node, message, **params):
        self.problems.append(_("Ligne %(line)s : ", line=node.lineno) + message % params)

    def statements(self, body):
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if not isinstance(child, nodes.TemplateData):
                        self.value(child)
            elif isinstance(node, nodes.If):
                self.condition(node.test)
                self.statements(node.body)
                for branch in node.elif_:
                    self.condition(branch.test)
                    self.statements(branch.body)
                self.statements(node.else_)
            else:
                self.not_allowed(node)

    def value(self, node):
        if isinstance(node, nodes.Filter):
            if node.name not in FILTERS:
                self.refuse(
                    node,
                    _("le filtre « %(name)s » n'est pas permis (filtres permis : %(allowed)s)."),
                    name=node.name,
                    allowed=", ".join(FILTERS),
                )
            elif node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
                self.refuse(
                    node, _("le filtre « %(name)s » s'écrit sans argument."), name=node.name
                )
            if node.node is not None:
                self.value(node.node)
        elif isinstance(node, nodes.Name):
            self.name(node)
        else:
            self.not_allowed(node)

    def condition(self, node):
        if isinstance(node, nodes.Not):
            self.condition(node.node)
        elif isinstance(node, nodes.And | nodes.Or):
            self.condition(node.left)
            self.condition(node.right)
        elif isinstance(node, nodes.Name):
            self.name(node)
        else:
            self.not_allowed(node)

    def name(self, node):
        if node.name not in self.allowed:
            self.refuse(
                node,
                _(
                    "« %(name)s » n'est pas une variable de cet e-mail (variables permises : "
                    "%(allowed)s)."
                ),
                name=node.name,
                allowed=", ".join(self.allowed),
            )

    def not_allowed(self, node):
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            self.refuse(
                node,
                _(
                    "« %(expression)s » : l'accès aux attributs ou aux éléments d'une variable "
                    "n'est pas permis ; écrivez la variable seule, par exemple %(example)s."
                ),
                expression=expression(node),
                example="{{ reference }}",
            )
        elif isinstance(node, nodes.For):
            self.refuse(
                node,
                _(
                    "les boucles (%(tag)s) ne sont pas permises ; seuls %(variable)s et "
                    "%(condition)s le sont."
                ),
                tag="{% for %}",
                variable=VARIABLE,
                condition=CONDITION,
            )
        elif isinstance(node, nodes.Literal):
            self.refuse(
                node,
                _("entre {{ et }} ne vient qu'un nom de variable ; écrivez le texte tel quel."),
            )
        else:
            tag = next((t for k, t in TAG_NAMES.items() if isinstance(node, k)), None)
            self.refuse(
                node,
                _("« %(tag)s » n'est pas permis : seuls %(variable)s et %(condition)s le sont."),
                tag=tag or type(node).__name__,
                variable=VARIABLE,
                condition=CONDITION,
            )


UNKNOWN_TAG = re.compile(r"unknown tag '([^']+)'")


def template_problems(source, allowed):
    """What is not allowed in `source` (a subject or a body), as messages; [] when it is fine."""
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as exc:
        unknown = UNKNOWN_TAG.search(exc.message or "")
        if unknown:
            problem = _(
                "« %(tag)s » n'est pas permis : seuls %(variable)s et %(condition)s le sont.",
                tag="{% " + unknown[1] + " %}",
                variable=VARIABLE,
                condition=CONDITION,
            )
        else:
            problem = _(
                "le texte est mal formé : une balise %(output)s ou %(block)s n'est pas fermée, "
                "ou un %(end)s manque (%(detail)s).",
                output="{{ … }}",
                block="{% … %}",
                end="{% endif %}",
                detail=exc.message,
            )
        return [_("Ligne %(line)s : ", line=exc.lineno) + problem]
    checker = Checker(allowed)
    checker.statements(tree.body)
    return checker.problems
