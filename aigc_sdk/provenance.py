"""How a result was made: the record every result and saved file carries."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.metadata
import json
import platform
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Provenance", "library_versions", "redact"]

#: Key under which provenance is stored in file metadata (PNG text chunk, tags).
METADATA_KEY = "aigc:provenance"


def library_versions(*distributions: str) -> dict[str, str]:
    """Installed versions of ``aigc-studio``, Python and the given distributions.

    Distributions that are not installed are left out. Looked up once per set of names per
    process (reading package metadata takes milliseconds, and renderers record it on every call).

    Example:
        >>> v = library_versions("pydantic")
        >>> sorted(v)[:3]
        ['aigc-studio', 'pydantic', 'python']
    """
    return dict(_versions(distributions))


@functools.lru_cache(maxsize=64)
def _versions(distributions: tuple[str, ...]) -> dict[str, str]:
    names = ("aigc-studio", *distributions)
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return dict(sorted(versions.items()))


_HASHED = re.compile(r"sha256:[0-9a-f]{64}")


def _hashed(value: Any) -> Any:
    if isinstance(value, str) and _HASHED.fullmatch(value):
        return value  # already redacted: redacting twice gives the same record
    if isinstance(value, str):
        return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()
    if isinstance(value, Mapping):
        return {k: _hashed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hashed(v) for v in value]
    return value


def redact(record: Any) -> Any:
    """A copy of a JSON-able record with every ``request`` hashed (sha256) and ``path`` values cut to file names.

    Used for privacy: what was asked for stays verifiable (same text, same hash) without being readable.
    Redacting a redacted record changes nothing, so every copy of a record carries the same hashes.

    Example:
        >>> r = redact({"request": {"prompt": "secret"}, "visuals": [{"path": "/home/me/a.png"}]})
        >>> r["request"]["prompt"][:7], r["visuals"][0]["path"], redact(r) == r
        ('sha256:', 'a.png', True)
    """
    if isinstance(record, Mapping):
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key == "request":
                out[key] = _hashed(value)
            elif key == "path" and isinstance(value, str):
                out[key] = PurePath(value).name
            else:
                out[key] = redact(value)
        return out
    if isinstance(record, list | tuple):
        return [redact(v) for v in record]
    return record


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


class Provenance(BaseModel):
    """What made a result: model, revision/hash, backend, seed, request, versions, licence, timings.

    Saved into file metadata where the format allows and always into a JSON
    sidecar (``<file>.provenance.json``).

    Example:
        >>> p = Provenance(model_id="en-joe", backend="aigc_sdk.generators.audio.piper.PiperSpeechGenerator",
        ...                task="text-to-speech", seed=7, license="MIT")
        >>> Provenance.from_json(p.to_json()) == p
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=(), defer_build=True)

    model_id: str = Field(description="Registry id (or path) of the model that generated the result.")
    task: str = Field(description="The task, e.g. 'text-to-speech'.")
    backend: str = Field(description="Dotted path of the generator class.")
    revision: str | None = Field(default=None, description="Pinned hub revision, package version or None.")
    model_hash: str | None = Field(default=None, description="sha256 of the weights file(s) when known.")
    seed: int | None = Field(default=None, description="The seed actually used (drawn when the request had none).")
    request: dict[str, Any] = Field(default_factory=dict, description="The request, as JSON.")
    versions: dict[str, str] = Field(default_factory=dict, description="Library versions.")
    license: str | None = Field(default=None, description="Licence of the model/voice (SPDX id or name).")
    commercial_use: bool | None = Field(
        default=None, description="False when the model's terms forbid commercial use (the registry's flag)."
    )
    device: str | None = Field(default=None, description="Device the model ran on.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage (preprocess, forward, ...).")
    created_at: _dt.datetime = Field(default_factory=_utcnow, description="UTC time the result was made.")
    extra: dict[str, Any] = Field(default_factory=dict, description="Backend-specific facts.")

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise to JSON text.

        Example:
            >>> '"model_id":"m"' in Provenance(model_id="m", task="t", backend="b").to_json()
            True
        """
        return self.model_dump_json(indent=indent)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict.

        Example:
            >>> Provenance(model_id="m", task="t", backend="b").to_dict()["model_id"]
            'm'
        """
        data: dict[str, Any] = json.loads(self.model_dump_json())
        return data

    def redacted(self) -> Provenance:
        """A copy whose request text is replaced by sha256 hashes (see :func:`redact`).

        Example:
            >>> p = Provenance(model_id="m", task="t", backend="b", request={"prompt": "secret plans"})
            >>> p.redacted().request["prompt"].startswith("sha256:")
            True
        """
        return Provenance.model_validate(redact(self.to_dict()))

    @classmethod
    def from_json(cls, text: str | bytes) -> Provenance:
        """Parse JSON written by :meth:`to_json`.

        Example:
            >>> Provenance.from_json('{"model_id": "m", "task": "t", "backend": "b"}').model_id
            'm'
        """
        return cls.model_validate_json(text)
