"""A typed Python client of ``aigc serve`` on httpx: :class:`Client` (blocking) and :class:`AsyncClient` (asyncio).

Both return the server's own pydantic models (:class:`ClipView`, :class:`JobEvent`) and turn its
``{"error": {code, message, hint}}`` answers into typed errors (:class:`ServerError` and its family),
a connection that fails into :class:`ServerConnectionError`. ``import aigc_sdk.client`` needs httpx
(the ``client`` extra) and never imports FastAPI or torch.

Example:
    >>> from aigc_sdk.client import Client
    >>> with Client("http://127.0.0.1:8000", api_key="k1") as client:  # doctest: +SKIP
    ...     job = client.clips.create("A new park opened on Monday.", aspect="1:1", duration=8, music=False)
    ...     done = client.clips.wait(job.id, on_event=lambda e: print(e.step or "status", e.status))
    ...     client.clips.download(done.id, to="out/")
    PosixPath('out/clip.mp4')
"""

from __future__ import annotations

from aigc_sdk._internal.optional import require

require("httpx", extra="client", feature="the aigc serve client")

from aigc_sdk.client._async import AsyncClient, AsyncClips  # noqa: E402
from aigc_sdk.client._base import ClipKwargs  # noqa: E402
from aigc_sdk.client._errors import (  # noqa: E402
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServerBusyError,
    ServerConnectionError,
    ServerError,
    UnauthorizedError,
    WaitTimeoutError,
)
from aigc_sdk.client._sync import Client, Clips  # noqa: E402
from aigc_sdk.server.models import ClipView  # noqa: E402
from aigc_sdk.server.store import JobEvent  # noqa: E402

__all__ = [
    "AsyncClient",
    "AsyncClips",
    "BadRequestError",
    "Client",
    "ClipKwargs",
    "ClipView",
    "Clips",
    "ConflictError",
    "JobEvent",
    "NotFoundError",
    "ServerBusyError",
    "ServerConnectionError",
    "ServerError",
    "UnauthorizedError",
    "WaitTimeoutError",
]
