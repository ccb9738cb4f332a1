"""The API's request and response bodies (pydantic, so the OpenAPI schema at ``/docs`` is typed).

Example:
    >>> ClipRequest(article="A park opened.", aspect="1:1", duration=10).duration
    10.0
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aigc_sdk.server.store import Job, JobError, JobStatus, Publication, StageProgress

__all__ = ["ClipOptions", "ClipRequest", "ClipView", "ErrorBody", "ErrorDetail", "RejectRequest", "TemplateInfo"]

#: The frame aspects a clip is made in (NewsClipConfig's ``Aspect``).
ASPECTS = ("16:9", "9:16", "1:1", "4:5")

#: Longest article accepted, in characters.
MAX_ARTICLE_CHARS = 200_000


class ClipOptions(BaseModel):
    """The options of a clip: a subset of :class:`~aigc_sdk.pipelines.NewsClipConfig`.

    They are a multipart upload's form fields; with ``article`` they are the JSON body (:class:`ClipRequest`).

    Example:
        >>> ClipOptions(template="usgs-earthquakes", music=False).template
        'usgs-earthquakes'
        >>> ClipOptions(template="no-such")
        Traceback (most recent call last):
        pydantic_core._pydantic_core.ValidationError: 1 validation error for ClipOptions
        ...
    """

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(
        default=None, max_length=100, description="Story template of a data feed (.geojson/.json/.csv); None: by suffix"
    )
    language: str | None = Field(default=None, max_length=16, description="Script language; None: detected.")
    voice: str | None = Field(default=None, max_length=100, description="Speech model id; None: the default voice.")
    aspect: str = Field(
        default="16:9",
        max_length=40,
        description="Frame aspect, or several comma-separated (one clip each from one job): 16:9, 9:16, 1:1, 4:5.",
    )
    captions: Literal["sentence", "words", "off"] | None = Field(
        default=None, description="Burned-in captions: a sentence at a time, the spoken word highlighted, or none."
    )
    duration: float = Field(default=60.0, ge=5.0, le=600.0, description="Narration length in seconds.")
    music: bool = Field(default=True, description="Lay a music bed under the narration.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed for every stage.")
    subtitles: bool = Field(default=True, description="Burn subtitles into the frames.")
    roundup: int | None = Field(
        default=None, ge=1, le=20, description="RSS/Atom upload: one round-up clip of the newest N items (default 5)."
    )

    @field_validator("aspect")
    @classmethod
    def _known_aspects(cls, value: str) -> str:
        aspects = [part.strip() for part in value.split(",")]
        unknown = [a for a in aspects if a not in ASPECTS]
        if unknown:
            raise ValueError(f"unknown aspect {unknown[0]!r} (known: {', '.join(ASPECTS)})")
        if len(set(aspects)) != len(aspects):
            raise ValueError(f"an aspect is given twice in {value!r}")
        return ",".join(aspects)

    @field_validator("template")
    @classmethod
    def _known_template(cls, name: str | None) -> str | None:
        if name is None:
            return None
        from aigc_sdk.generators.text.template import builtin_templates

        known = builtin_templates()
        if name not in known:
            raise ValueError(f"no story template {name!r} (installed: {', '.join(known)})")
        return name


class ClipRequest(ClipOptions):
    """A news clip to make from an article (the JSON body of ``POST /v1/clips``): the text and the clip's options.

    Example:
        >>> ClipRequest(article="Text.").model_dump(exclude={"article"})["aspect"]
        '16:9'
    """

    article: str = Field(min_length=1, max_length=MAX_ARTICLE_CHARS, description="Markdown or plain text.")


class TemplateInfo(BaseModel):
    """An installed story template: its name, the languages it writes, the feed suffixes it is the default for.

    Example:
        >>> [t.name for t in TemplateInfo.installed()][:1]
        ['market-close']
    """

    name: str
    languages: list[str]
    feeds: list[str] = Field(description="Feed suffixes that pick this template when a request names none.")

    @classmethod
    def installed(cls) -> list[TemplateInfo]:
        """Every installed story template, by name.

        Example:
            >>> next(t for t in TemplateInfo.installed() if t.name == "usgs-earthquakes").feeds
            ['.geojson']
        """
        from aigc_sdk.generators.text.template import builtin_templates, feed_templates

        defaults = feed_templates()
        return [
            cls(name=name, languages=list(languages), feeds=[s for s, t in defaults.items() if t == name])
            for name, languages in builtin_templates().items()
        ]


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
    publication: Publication | None = Field(
        default=None, description="Once approved on a publishing server: the outbox copy and webhook deliveries."
    )

    @classmethod
    def of(cls, job: Job, *, position: int = 0, publication: Publication | None = None) -> ClipView:
        """The view of a stored job (and its publication, if any).

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
            publication=publication,
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
