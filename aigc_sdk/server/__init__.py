"""``aigc serve``: a durable job service with an HTTP API (the ``server`` extra: FastAPI, uvicorn, sse-starlette).

Jobs live in SQLite (WAL mode) under a data folder, each job's files under its own folder;
one Studio per process is shared by every job. See ``docs/serving.md``.

Example:
    >>> import tempfile
    >>> from aigc_sdk.server import create_app
    >>> create_app(tempfile.mkdtemp(), concurrency=0).version != ""
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigc_sdk._internal.lazy import lazy_exports

if TYPE_CHECKING:
    from aigc_sdk.server.app import AuthError, create_app
    from aigc_sdk.server.models import (
        ClipOptions,
        ClipRequest,
        ClipView,
        ErrorBody,
        ErrorDetail,
        RejectRequest,
        TemplateInfo,
    )
    from aigc_sdk.server.publish import Publisher
    from aigc_sdk.server.store import (
        Job,
        JobError,
        JobEvent,
        JobNotFoundError,
        JobStateError,
        JobStatus,
        JobStore,
        Publication,
        QueueFullError,
        StageProgress,
        WebhookDelivery,
    )
    from aigc_sdk.server.uploads import RequestTooLargeError, UnsupportedMediaTypeError
    from aigc_sdk.server.worker import JobRunner

#: Where each public name lives: imported on first use, so ``aigc_sdk.server.models`` (the API's pydantic
#: bodies, which the HTTP client shares) imports without FastAPI.
_HOMES = {
    "AuthError": ".app",
    "create_app": ".app",
    "ClipOptions": ".models",
    "ClipRequest": ".models",
    "ClipView": ".models",
    "ErrorBody": ".models",
    "ErrorDetail": ".models",
    "RejectRequest": ".models",
    "TemplateInfo": ".models",
    "Job": ".store",
    "JobError": ".store",
    "JobEvent": ".store",
    "JobNotFoundError": ".store",
    "JobStateError": ".store",
    "JobStatus": ".store",
    "JobStore": ".store",
    "Publication": ".store",
    "QueueFullError": ".store",
    "StageProgress": ".store",
    "WebhookDelivery": ".store",
    "Publisher": ".publish",
    "RequestTooLargeError": ".uploads",
    "UnsupportedMediaTypeError": ".uploads",
    "JobRunner": ".worker",
}


__getattr__ = lazy_exports(globals(), _HOMES)


__all__ = [
    "AuthError",
    "ClipOptions",
    "ClipRequest",
    "ClipView",
    "ErrorBody",
    "ErrorDetail",
    "Job",
    "JobError",
    "JobEvent",
    "JobNotFoundError",
    "JobRunner",
    "JobStateError",
    "JobStatus",
    "JobStore",
    "Publication",
    "Publisher",
    "QueueFullError",
    "RejectRequest",
    "RequestTooLargeError",
    "StageProgress",
    "TemplateInfo",
    "UnsupportedMediaTypeError",
    "WebhookDelivery",
    "create_app",
]
