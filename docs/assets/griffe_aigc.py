"""Griffe extension used by the API reference (loaded from mkdocs.yml; not part of the package).

It adapts the package's docstring conventions to the Google-style parser of mkdocstrings:

* ``Example:`` sections are read as ``Examples:``, so their doctests render as code.
* pydantic's ``model_config`` is hidden.
* Sphinx roles (``:class:`~a.b.C```, ``:meth:`to_json```) become cross-reference links.
* ``#:`` comments above an attribute become its docstring.
* A pydantic field ``name: T = Field(..., description="...")`` gets the description as
  its docstring and its default (or ``default_factory()``) as its shown value, instead
  of the whole ``Field(...)`` call.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data|obj):`(~?)([\w.]+)`")


def _role_to_link(match: re.Match[str]) -> str:
    short, target = match.groups()
    label = target.rsplit(".", 1)[-1] if short else target
    return f"[`{label}`][{target}]"


def _field_call(node: ast.AST | griffe.ObjectNode) -> ast.Call | None:
    if not isinstance(node, ast.AnnAssign) or not isinstance(node.value, ast.Call):
        return None
    func = node.value.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return node.value if name == "Field" else None


def _shown_default(call: ast.Call) -> str | None:
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    if "default" in keywords:
        return ast.unparse(keywords["default"])
    if "default_factory" in keywords:
        return f"{ast.unparse(keywords['default_factory'])}()"
    if call.args and not (isinstance(call.args[0], ast.Constant) and call.args[0].value is Ellipsis):
        return ast.unparse(call.args[0])
    return None  # a required field


def _comment_above(code: str, lineno: int | None) -> str | None:
    if not lineno:
        return None
    lines = code.splitlines()
    found: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        found.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return " ".join(found) or None


class AigcDocstrings(griffe.Extension):
    """Adapt the package's docstring conventions for mkdocstrings."""

    def on_instance(self, *, node: ast.AST | griffe.ObjectNode, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``Example:`` headings and Sphinx roles in every docstring."""
        if obj.docstring is not None:
            text = _EXAMPLE_HEADING.sub(r"\1Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_role_to_link, text)

    def on_attribute_instance(
        self, *, node: ast.AST | griffe.ObjectNode, attr: griffe.Attribute, agent: Any = None, **kwargs: Any
    ) -> None:
        """Document attributes from ``#:`` comments and pydantic ``Field(description=...)``."""
        if attr.name == "model_config":  # pydantic configuration, not a field
            attr.public = False
            return
        call = _field_call(node)
        if call is not None:
            described = [kw.value for kw in call.keywords if kw.arg == "description"]
            description = described[0].value if described and isinstance(described[0], ast.Constant) else None
            if isinstance(description, str) and attr.docstring is None:
                attr.docstring = griffe.Docstring(description, parent=attr)
            attr.value = _shown_default(call)
        if attr.docstring is None and isinstance(getattr(agent, "code", None), str):
            comment = _comment_above(agent.code, attr.lineno)
            if comment:
                attr.docstring = griffe.Docstring(comment, parent=attr)
