"""JsonLogic conditions: the server's evaluation (the authority) and the variables they read.

The browser evaluates the same expressions with json-logic-js to show and hide fields live.
"""

from json_logic import jsonLogic


def evaluate(expression, data):
    """The truth of `expression` over `data`; None (no condition) is true."""
    if expression is None:
        return True
    return bool(jsonLogic(expression, data))


# Operators whose later arguments run over each element of the first one (their own scope).
SCOPED = {"all", "some", "none", "map", "filter", "reduce"}


def variables(expression):
    """Every variable name an expression reads from the answers (`{"var": "a.b"}` gives "a.b");
    variables inside all/some/none/map/filter/reduce bodies refer to the elements and are
    left out."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for op, args in node.items():
                if op in SCOPED and isinstance(args, list) and args:
                    walk(args[0])
                elif op == "var":
                    name = args[0] if isinstance(args, list) and args else args
                    if isinstance(name, str) and name:
                        found.append(name)
                else:
                    walk(args)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(expression)
    return found
