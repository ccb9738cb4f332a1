"""Names a package exports but imports on first use (a module ``__getattr__``, PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(namespace: dict[str, Any], homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name of ``homes`` from its module when it is first asked for.

    ``homes`` maps a name to its module, absolute or relative to the package (``".app"``); ``namespace`` is the
    package's ``globals()``, where each imported value is kept so that later lookups skip ``__getattr__``.

    Example:
        >>> namespace = {"__name__": "aigc_sdk"}
        >>> getattr_ = lazy_exports(namespace, {"MediaError": ".errors"})
        >>> getattr_("MediaError").__name__, "MediaError" in namespace
        ('MediaError', True)
        >>> getattr_("Nothing")
        Traceback (most recent call last):
        ...
        AttributeError: module 'aigc_sdk' has no attribute 'Nothing'
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        namespace[name] = value
        return value

    return __getattr__
