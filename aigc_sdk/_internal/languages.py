"""Language tags: the one normaliser for requests, the registry and every backend.

A tag is ``primary[-subtag...]`` with ``-`` or ``_`` between parts. Normalised, the
primary subtag is lowercase, two-letter region subtags uppercase and four-letter script
subtags title case (``en-US``, ``zh-Hans-CN``), and ``cmn`` (Mandarin) is folded into
``zh``, the code every Chinese model and Whisper use. Models compare languages by their
primary subtag after the same folding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from aigc_sdk.errors import InvalidRequestError

__all__ = ["LANGUAGES", "TAG_PATTERN", "normalize_language", "primary_language", "speaks"]

#: ISO 639-1 codes plus the ISO 639-3 codes speech models commonly use.
LANGUAGES = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz
    ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io
    is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr
    ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si
    sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu cmn yue wuu nan hak fil haw ast ceb""".split()
)
_ALIASES = {"cmn": "zh"}
#: A language tag ("en", "zh-Hans", "pt_BR"), as request fields validate it.
TAG_PATTERN = r"^([a-zA-Z]{2,3})((?:[-_][a-zA-Z0-9]{2,8})*)$"
_TAG = re.compile(TAG_PATTERN)


def _parts(tag: str) -> tuple[str, list[str]] | None:
    """The folded primary subtag and the other subtags, or None when ``tag`` is not tag-shaped."""
    match = _TAG.match(tag.strip())
    if match is None:
        return None
    primary = match.group(1).lower()
    return _ALIASES.get(primary, primary), re.split(r"[-_]", match.group(2))[1:]


def normalize_language(tag: str) -> str:
    """Validate a BCP-47-style tag and return it normalised (``en-US``, ``zh-Hans``, ``cmn`` → ``zh``).

    Raises:
        InvalidRequestError: The tag is malformed or its primary language is not a known ISO 639 code.

    Example:
        >>> normalize_language("en_us"), normalize_language("ZH-hans"), normalize_language("cmn-CN")
        ('en-US', 'zh-Hans', 'zh-CN')
    """
    parts = _parts(tag)
    if parts is None or parts[0] not in LANGUAGES:
        raise InvalidRequestError(
            f"unknown language {tag!r}; use an ISO 639 code such as 'en', 'zh', 'en-US' or 'zh-Hans'"
        )
    primary, rest = parts
    subtags = [s.upper() if len(s) == 2 else s.title() if len(s) == 4 else s.lower() for s in rest]
    return "-".join([primary, *subtags])


def primary_language(tag: str) -> str:
    """The primary subtag of ``tag``, lowercased, with ``cmn`` read as ``zh`` (lenient: no validation).

    Example:
        >>> primary_language("zh-Hans"), primary_language("EN_us"), primary_language("cmn"), primary_language("de")
        ('zh', 'en', 'zh', 'de')
    """
    parts = _parts(tag)
    if parts is not None:
        return parts[0]
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
