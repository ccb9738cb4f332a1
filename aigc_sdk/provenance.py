"""How a result was made: the record every result and saved file carries."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import platform
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Provenance", "library_versions"]

#: Key under which provenance is stored in file metadata (PNG text chunk, tags).
METADATA_KEY = "aigc:provenance"


def library_versions(*distributions: str) -> dict[str, str]:
    """Installed versions of ``aigc-sdk``, Python and the given distributions.

    Distributions that are not installed are left out.

    Example:
        >>> v = library_versions("pydantic")
        >>> sorted(v)[:3]
        ['aigc-sdk', 'pydantic', 'python']
    """
    names = ("aigc-sdk", *distributions)
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return dict(sorted(versions.items()))


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

    @classmethod
    def from_json(cls, text: str | bytes) -> Provenance:
        """Parse JSON written by :meth:`to_json`.

        Example:
            >>> Provenance.from_json('{"model_id": "m", "task": "t", "backend": "b"}').model_id
            'm'
        """
        return cls.model_validate_json(text)
