"""Lazy optional imports that fail with the extra to install."""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from types import FrameType, ModuleType

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


class _Hidden(importlib.abc.MetaPathFinder):
    """Answers "not installed" for ``package`` when the import comes from a module under ``importer``."""

    def __init__(self, package: str, importer: str) -> None:
        self.package, self.importer = package, importer

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] != self.package:
            return None
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            name = str(frame.f_globals.get("__name__", ""))
            if name == self.importer or name.startswith(self.importer + "."):
                raise ModuleNotFoundError(f"{fullname} is hidden from {self.importer}", name=fullname)
            frame = frame.f_back
        return None


@contextlib.contextmanager
def hidden_from(importer: str, package: str) -> Iterator[None]:
    """While the block runs, ``package`` looks absent to imports made by ``importer``'s modules (only theirs).

    For libraries that pick an optional accelerator at import when they find it, where the SDK measured
    their plain path as the better one. Another thread's import of ``package`` is not affected, and an
    already imported ``package`` stays visible to everyone.

    Example:
        >>> with hidden_from("json", "re"):
        ...     import json.decoder  # already imported: its own ``import re`` is not repeated
        >>> "re" in sys.modules
        True
    """
    finder = _Hidden(package, importer)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
