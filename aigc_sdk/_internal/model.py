"""The pydantic base of every request, result and spec: frozen, strict, typed errors."""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from aigc_sdk.errors import AigcError, InvalidRequestError


def _hint(error: ValidationError) -> str | None:
    """The hints of the typed errors validators raised (a brand file's, say), in order; None when none gave one."""
    hints: dict[str, None] = {}
    for item in error.errors(include_url=False):
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, AigcError) and cause.hint and cause.hint != InvalidRequestError.default_hint:
            hints[cause.hint] = None
    return "; ".join(hints) or None


def _describe(error: ValidationError, title: str) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"])
        cause = item.get("ctx", {}).get("error")
        message = cause.message if isinstance(cause, InvalidRequestError) else item["msg"]
        problems.append(f"{where}: {message}" if where else message)
    return f"invalid {title}: " + "; ".join(problems)


def _unreadable_path(error: OSError, title: str) -> InvalidRequestError:
    name = str(error.filename or "")
    shown = name if len(name) <= 80 else f"{name[:60]}…({len(name)} characters)"
    return InvalidRequestError(f"invalid {title}: the path {shown!r} cannot be looked up: {error.strerror or error}")


class FrozenModel(BaseModel):
    """Frozen, strict pydantic base whose validation errors are InvalidRequestError."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        arbitrary_types_allowed=True,
        protected_namespaces=(),
        str_strip_whitespace=True,
        defer_build=True,  # build validators on first use: keeps `import` fast
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidRequestError(_describe(exc, type(self).__name__), hint=_hint(exc)) from exc
        except OSError as exc:  # a path field the system cannot even look up (a name too long, a loop of links)
            raise _unreadable_path(exc, type(self).__name__) from exc

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate a dict (or model) into this type; errors are :class:`InvalidRequestError`.

        Example:
            >>> from aigc_sdk.types import TextRequest
            >>> TextRequest.model_validate({"prompt": "hi"}).prompt
            'hi'
        """
        if isinstance(obj, dict) and not args and not kwargs:
            return cls(**obj)  # __init__ maps errors once
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise InvalidRequestError(_describe(exc, cls.__name__), hint=_hint(exc)) from exc
        except OSError as exc:
            raise _unreadable_path(exc, cls.__name__) from exc

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Self:
        """Validate JSON text into this type; errors are :class:`InvalidRequestError`.

        Example:
            >>> from aigc_sdk.types import TextRequest
            >>> TextRequest.model_validate_json('{"prompt": "hi"}').prompt
            'hi'
        """
        try:
            data = json.loads(json_data)
        except ValueError as exc:
            raise InvalidRequestError(f"invalid {cls.__name__}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise InvalidRequestError(f"invalid {cls.__name__}: expected a JSON object")
        return cls(**data)
