"""``aigc serve``: a durable job service with an HTTP API (the ``server`` extra: FastAPI, uvicorn, sse-starlette).

Jobs live in SQLite (WAL mode) under a data folder, each job's files under its own folder;
one Studio per process is shared by every job. See ``docs/serving.md``.

Example:
    >>> import tempfile
    >>> from aigc_sdk.server import create_app
    >>> create_app(tempfile.mkdtemp(), concurrency=0).version != ""
    True
"""

from aigc_sdk.server.app import AuthError, create_app
from aigc_sdk.server.models import ClipRequest, ClipView, ErrorBody, ErrorDetail, RejectRequest
from aigc_sdk.server.store import (
    Job,
    JobError,
    JobEvent,
    JobNotFoundError,
    JobStateError,
    JobStatus,
    JobStore,
    QueueFullError,
    StageProgress,
)
from aigc_sdk.server.worker import JobRunner

__all__ = [
    "AuthError",
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
    "QueueFullError",
    "RejectRequest",
    "StageProgress",
    "create_app",
]
