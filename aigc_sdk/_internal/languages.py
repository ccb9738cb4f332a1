"""Language tags: one normalisation for the registry and every backend.

Tags are compared by their primary subtag, lowercased (``zh-Hans``, ``ZH_cn`` and ``zh``
are one language), with ``cmn`` (Mandarin) folded into ``zh``, the code every Chinese
model and Whisper use.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["primary_language", "speaks"]

_ALIASES = {"cmn": "zh"}


def primary_language(tag: str) -> str:
    """The primary subtag of ``tag``, lowercased, with ``cmn`` read as ``zh``.

    Example:
        >>> primary_language("zh-Hans"), primary_language("EN_us"), primary_language("cmn"), primary_language("de")
        ('zh', 'en', 'zh', 'de')
    """
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return _ALIASES.get(primary, primary)


def speaks(languages: Iterable[str], tag: str) -> bool:
    """Whether a model that lists ``languages`` speaks ``tag``; a model that lists none speaks any.

    Example:
        >>> speaks(["zh-CN"], "cmn"), speaks(["en-US"], "EN"), speaks(["en-US"], "de"), speaks([], "fr")
        (True, True, False, True)
    """
    listed = {primary_language(language) for language in languages}
    return not listed or primary_language(tag) in listed
