"""Docstrings filled from a template, for families of statistics that share their parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def fill_docstring(template: str, **fields: str) -> Callable[[F], F]:
    """Decorator: the function's docstring is ``template.format(**fields)``.

    The family's numpydoc sections (parameters, return type) are written once in the template;
    each function gives its summary, return value and formula.
    """

    def document(func: F) -> F:
        func.__doc__ = template.format(**fields)
        return func

    return document
