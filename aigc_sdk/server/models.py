"""The API's request and response bodies (pydantic, so the OpenAPI schema at ``/docs`` is typed).

Example:
    >>> ClipRequest(article="A park opened.", aspect="1:1", duration=10).duration
    10.0
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aigc_sdk.server.store import Job, JobError, JobStatus, StageProgress

__all__ = ["ClipRequest", "ClipView", "ErrorBody", "ErrorDetail", "RejectRequest"]

#: Longest article accepted, in characters.
MAX_ARTICLE_CHARS = 200_000


class ClipRequest(BaseModel):
    """A news clip to make from an article: the text and a subset of :class:`~aigc_sdk.pipelines.NewsClipConfig`.

    Example:
        >>> ClipRequest(article="Text.").model_dump(exclude={"article"})["aspect"]
        '16:9'
    """

    model_config = ConfigDict(extra="forbid")

    article: str = Field(min_length=1, max_length=MAX_ARTICLE_CHARS, description="Markdown or plain text.")
    language: str | None = Field(default=None, max_length=16, description="Script language; None: detected.")
    voice: str | None = Field(default=None, max_length=100, description="Speech model id; None: the default voice.")
    aspect: Literal["16:9", "9:16", "1:1"] = "16:9"
    duration: float = Field(default=60.0, ge=5.0, le=600.0, description="Narration length in seconds.")
    music: bool = Field(default=True, description="Lay a music bed under the narration.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed for every stage.")
    subtitles: bool = Field(default=True, description="Burn subtitles into the frames.")


class RejectRequest(BaseModel):
    """Why an editor rejects a clip.

    Example:
        >>> RejectRequest(reason="wrong figures").reason
        'wrong figures'
    """

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class ClipView(BaseModel):
    """A job as the API shows it (the article text is left out).

    Example:
        >>> from aigc_sdk.server.store import Job
        >>> job = Job(id="a", status="queued", options={"article": "x", "seed": 1}, created=0.0, updated=0.0)
        >>> ClipView.of(job, position=1).options
        {'seed': 1}
    """

    id: str
    status: JobStatus
    position: int = Field(description="Place in the queue (1: runs next); 0 when not queued.")
    options: dict[str, Any]
    created: float
    updated: float
    progress: dict[str, StageProgress]
    error: JobError | None
    files: list[str]
    reason: str | None

    @classmethod
    def of(cls, job: Job, *, position: int = 0) -> ClipView:
        """The view of a stored job.

        Example:
            >>> from aigc_sdk.server.store import Job
            >>> ClipView.of(Job(id="a", status="review", options={}, created=0.0, updated=0.0)).position
            0
        """
        options = {key: value for key, value in job.options.items() if key != "article"}
        return cls(
            id=job.id,
            status=job.status,
            position=position,
            options=options,
            created=job.created,
            updated=job.updated,
            progress=job.progress,
            error=job.error,
            files=job.files,
            reason=job.reason,
        )


class ErrorDetail(BaseModel):
    """A typed error: the SDK error's type name, what went wrong and what to do.

    Example:
        >>> ErrorDetail(code="JobNotFoundError", message="no job 'x'").hint is None
        True
    """

    code: str
    message: str
    hint: str | None = None


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code", "message", "hint"}}``.

    Example:
        >>> ErrorBody(error=ErrorDetail(code="c", message="m")).model_dump()["error"]["code"]
        'c'
    """

    error: ErrorDetail
