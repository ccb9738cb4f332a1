"""Lazy optional imports that fail with the extra to install."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from aigc_sdk.errors import MissingDependencyError


def require(module: str, *, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``extra``.

    Only a missing top-level package is turned into ``MissingDependencyError``;
    an installed package that fails while importing raises its own error.

    Example:
        >>> require("json", extra="core").__name__
        'json'
    """
    top = module.split(".")[0]
    if importlib.util.find_spec(top) is None:
        raise MissingDependencyError(package=top, extra=extra, feature=feature)
    return importlib.import_module(module)


def is_available(module: str) -> bool:
    """Whether ``module``'s top-level package is installed, without importing it.

    Example:
        >>> is_available("json"), is_available("surely_not_a_module_xyz")
        (True, False)
    """
    return importlib.util.find_spec(module.split(".")[0]) is not None
