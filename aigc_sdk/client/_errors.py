"""The client's errors: what the server answered (``{"error": {code, message, hint}}``) or why it could not answer.

The family, under the SDK's :class:`~aigc_sdk.errors.AigcError`::

    AigcError
    ├── ServerError                                   the server answered an error (status, code, hint)
    │   ├── BadRequestError (+ InvalidRequestError)   400, 413, 422: the request is wrong; fix it
    │   │   ├── NotFoundError (+ LookupError)         404: no such job or file
    │   │   └── ConflictError                         409: the job's state does not allow it
    │   ├── UnauthorizedError                         401, 403: no API key, or a wrong one
    │   └── ServerBusyError                           429: the queue is full; retry after ``retry_after`` s
    ├── ServerConnectionError (+ ConnectionError)     no answer: refused, dropped, timed out (retryable)
    └── WaitTimeoutError (+ TimeoutError)             the job did not finish within ``wait``'s timeout

Example:
    >>> error = error_from_response(429, {"error": {"code": "QueueFullError", "message": "full"}}, retry_after=7.0)
    >>> type(error).__name__, error.code, error.retry_after, error.retryable
    ('ServerBusyError', 'QueueFullError', 7.0, True)
"""

from __future__ import annotations

from typing import Any

from aigc_sdk.errors import AigcError, InvalidRequestError

__all__ = [
    "BadRequestError",
    "ConflictError",
    "NotFoundError",
    "ServerBusyError",
    "ServerConnectionError",
    "ServerError",
    "UnauthorizedError",
    "WaitTimeoutError",
    "error_from_response",
]


class ServerError(AigcError):
    """The server answered with an error: its HTTP status, the error's typed code, message and hint.

    A 5xx is retryable (the server may recover); a 4xx is not, except 429.

    Args:
        message: The server's message.
        status: The HTTP status.
        code: The server's error code (the SDK error's type name, e.g. ``JobStateError``).
        hint: The server's hint.
        retry_after: Seconds the server asked to wait (``Retry-After``), if it said.

    Example:
        >>> error = ServerError("internal server error", status=500, code="InternalError")
        >>> error.status, error.retryable, str(error)
        (500, True, 'internal server error (HTTP 500 InternalError)')
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "",
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.retry_after = retry_after
        retryable = True if status >= 500 else None
        super().__init__(message, hint=hint, retryable=retryable)

    def __str__(self) -> str:
        where = f"HTTP {self.status} {self.code}".strip()
        text = f"{self.message} ({where})"
        return f"{text} (hint: {self.hint})" if self.hint else text


class BadRequestError(ServerError, InvalidRequestError):
    """The server refused the request as invalid (HTTP 400, 413 or 422): a bad option, a too-large upload.

    Example:
        >>> issubclass(BadRequestError, ValueError)
        True
    """

    default_hint = "fix the request as the message says (the API's schema is at /docs)"


class NotFoundError(BadRequestError, LookupError):
    """No such job, or the job has no such file (HTTP 404).

    Example:
        >>> NotFoundError("no job 'x'", status=404, code="JobNotFoundError").code
        'JobNotFoundError'
    """

    default_hint = "list the jobs with client.clips.list(), a job's files with client.clips.get(id).files"


class ConflictError(BadRequestError):
    """The job's state does not allow this: approve a queued job, cancel a finished one (HTTP 409).

    Example:
        >>> ConflictError("job is queued", status=409).status
        409
    """

    default_hint = "read the job's status with client.clips.get(id) first"


class UnauthorizedError(ServerError):
    """The server needs an API key, or refused the one sent (HTTP 401 or 403).

    Example:
        >>> UnauthorizedError("wrong API key", status=401).hint
        'pass api_key=… (the CLI: --api-key or AIGC_API_KEY), a key the server lists in AIGC_API_KEYS'
    """

    default_hint = "pass api_key=… (the CLI: --api-key or AIGC_API_KEY), a key the server lists in AIGC_API_KEYS"


class ServerBusyError(ServerError):
    """The server's queue is full (HTTP 429): retry after :attr:`retry_after` seconds.

    Example:
        >>> ServerBusyError("10 jobs queued", status=429, retry_after=30).retryable
        True
    """

    default_hint = "retry after the Retry-After seconds"
    default_retryable = True


class ServerConnectionError(AigcError, ConnectionError):
    """No answer from the server: the connection was refused, dropped or timed out.

    Example:
        >>> ServerConnectionError("cannot reach http://127.0.0.1:9").retryable
        True
    """

    default_hint = "check that `aigc serve` runs at that address (and the port), then retry"
    default_retryable = True


class WaitTimeoutError(AigcError, TimeoutError):
    """The job did not reach a final state within the time given to ``wait`` (it goes on running).

    Example:
        >>> isinstance(WaitTimeoutError("job a is still running"), TimeoutError)
        True
    """

    default_hint = "wait longer, or watch it with client.clips.events(id)"
    default_retryable = True


def _kind(status: int) -> type[ServerError]:
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status in (401, 403):
        return UnauthorizedError
    if status == 429:
        return ServerBusyError
    if 400 <= status < 500:
        return BadRequestError
    return ServerError


def error_from_response(status: int, body: Any, *, retry_after: float | None = None) -> ServerError:
    """The typed error for an error response: its class from the HTTP status, its code, message and hint from the body.

    A body that is not the server's ``{"error": {...}}`` (a proxy's HTML page) still gives a typed error.

    Args:
        status: The HTTP status (4xx or 5xx).
        body: The decoded JSON body, or anything else (then the message names the status).
        retry_after: The ``Retry-After`` seconds, if the response had them.

    Example:
        >>> error = error_from_response(404, {"error": {"code": "JobNotFoundError", "message": "no job 'x'"}})
        >>> isinstance(error, NotFoundError), error.message
        (True, "no job 'x'")
        >>> error_from_response(502, "<html>Bad gateway</html>").message
        'the server answered HTTP 502'
    """
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        detail = {}
    message = str(detail.get("message") or f"the server answered HTTP {status}")
    hint = detail.get("hint")
    kind = _kind(status)
    return kind(
        message,
        status=status,
        code=str(detail.get("code") or ""),
        hint=str(hint) if hint else None,
        retry_after=retry_after,
    )
