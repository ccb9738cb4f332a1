"""Licence records and commercial-use warnings for what made a file."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["data_licences", "font_licences", "licence_warnings", "restricts_commercial_use"]

#: Licence names that restrict commercial use or add use terms worth a warning.
_RESTRICTIVE = re.compile(
    r"non[- ]?commercial|\bnc\b|-nc\b|cc-by-nc|research[- ]only|gemma|llama[- ]?\d*[- ]community|openrail\+\+-m-nc",
    re.IGNORECASE,
)


def restricts_commercial_use(licence: str | None, commercial_use: bool | None = None) -> bool:
    """Whether a model's terms restrict commercial use: its registry flag, else its licence's name.

    ``commercial_use=False`` (the registry's flag, recorded in the provenance of what the model made)
    wins; otherwise licence names such as ``CC-BY-NC-4.0``, "non-commercial", "research only" or the
    Gemma terms count.

    Example:
        >>> restricts_commercial_use("CC-BY-NC-4.0"), restricts_commercial_use("gemma"), restricts_commercial_use("MIT")
        (True, True, False)
        >>> restricts_commercial_use("MIT", commercial_use=False)
        True
    """
    if commercial_use is False:
        return True
    return bool(licence and _RESTRICTIVE.search(licence))


def licence_warnings(licenses: Iterable[Mapping[str, Any]]) -> list[str]:
    """One warning per licence record (``{"what", "id", "license"[, "commercial_use"]}``) that restricts commercial use.

    Example:
        >>> licence_warnings([{"what": "text-generation", "id": "gemma-2b", "license": "gemma"},
        ...                   {"what": "font", "id": "Noto Sans", "license": "OFL-1.1"}])
        ["gemma-2b (text-generation) is licensed under 'gemma', which restricts commercial use"]
    """
    warnings = []
    for item in licenses:
        ident, licence = item.get("id"), item.get("license")
        if restricts_commercial_use(None if licence is None else str(licence), item.get("commercial_use")):
            what = f" ({item['what']})" if item.get("what") else ""
            warnings.append(f"{ident}{what} is licensed under {licence!r}, which restricts commercial use")
    return warnings


def font_licences(provenance: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Licence records (``{"what": "font", "id", "license"}``) of the fonts a result's provenance lists.

    Example:
        >>> font_licences({"extra": {"fonts": [{"family": "Noto Sans CJK SC", "license": "OFL-1.1"}]}})
        [{'what': 'font', 'id': 'Noto Sans CJK SC', 'license': 'OFL-1.1'}]
    """
    fonts = ((provenance or {}).get("extra") or {}).get("fonts") or []
    return [{"what": "font", "id": font.get("family"), "license": font.get("license")} for font in fonts]


def data_licences(provenance: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Licence records of the data a result was drawn from (a locator map's outlines and place names).

    A renderer lists them in its provenance's ``extra["data"]`` as ``{"what", "id", "license"[, "attribution"]}``.

    Example:
        >>> data_licences({"extra": {"data": [{"what": "map data", "id": "GSHHG 2.3.6", "license": "LGPL-3.0-or-later",
        ...                                     "attribution": "GSHHG"}]}})
        [{'what': 'map data', 'id': 'GSHHG 2.3.6', 'license': 'LGPL-3.0-or-later', 'attribution': 'GSHHG'}]
        >>> data_licences({"extra": {}})
        []
    """
    data = ((provenance or {}).get("extra") or {}).get("data") or []
    return [
        {key: item[key] for key in ("what", "id", "license", "attribution") if key in item}
        for item in data
        if isinstance(item, Mapping) and item.get("id")
    ]
