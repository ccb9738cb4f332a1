"""Single generations over HTTP: speech, transcriptions, news cards and text, each saved with its provenance.

``POST /v1/speech``, ``/v1/transcriptions`` (a multipart audio upload), ``/v1/images/cards`` and ``/v1/text``
take the SDK's own request models (minus anything that would let a client name a server path), run them on
the server's shared :class:`~aigc_sdk.Studio` in a worker thread (so requests from many clients are batched
by the scheduler), and publish the result under ``DATA/generations/<id>/`` in one rename, through the
result's own ``save`` (provenance tag, sidecar, content credentials). The answer (``201``) is a
:class:`GenerationView`: the result's fields, its provenance, and a link to each file at
``GET /v1/generations/{id}/files/{name}``.

Example:
    >>> import tempfile
    >>> from aigc_sdk.server import create_app
    >>> paths = create_app(tempfile.mkdtemp(), concurrency=0).openapi()["paths"]
    >>> "/v1/speech" in paths and "/v1/generations/{generation_id}/files/{name}" in paths
    True
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Body, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from aigc_sdk._internal.files import atomic_dir, atomic_write_bytes
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk.errors import AigcError, InvalidRequestError, MediaError, ModelNotAvailableError
from aigc_sdk.generators.image.cards import THEMES, CardRenderer, CardSpec
from aigc_sdk.generators.text.template import builtin_templates
from aigc_sdk.media import Audio, write_sidecar
from aigc_sdk.registry import fetch_command, is_available_offline
from aigc_sdk.server.models import ErrorBody
from aigc_sdk.server.uploads import is_served_name
from aigc_sdk.server.worker import JobRunner
from aigc_sdk.types import (
    AudioResult,
    ImageResult,
    Result,
    ScriptRequest,
    SpeechRequest,
    StoryResult,
    TemplateRequest,
    TextRequest,
    TextResult,
    TranscribeRequest,
    TranscriptResult,
)
from aigc_sdk.types import (
    Request as SdkRequest,
)

__all__ = [
    "CardBody",
    "CompletionBody",
    "GenerationNotFoundError",
    "GenerationView",
    "ScriptBody",
    "SpeechBody",
    "TemplateBody",
    "TextBody",
    "TranscriptionOptions",
    "generations_router",
]

#: A model id a client may name: no folder, no leading dot.
_MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
_GENERATION_ID = re.compile(r"^[0-9a-f]{32}$")
_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
#: Fields of the API bodies that are not fields of the SDK request they map onto.
_API_ONLY = {"kind", "model", "format", "speaker_wav"}


def _model_field() -> Any:
    return Field(default=None, pattern=_MODEL_ID, description="Model id; None: the server's default for the task.")


_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 404, 413, 422)}


#: The bodies are built when the app is (FastAPI validates them through its own adapters).
_BODY = ConfigDict(defer_build=False)


class GenerationNotFoundError(InvalidRequestError):
    """No generation has this id, or it has no file by that name (HTTP 404).

    Example:
        >>> GenerationNotFoundError("no generation 'x'").hint
        'use the id and the file names a POST /v1/speech, /v1/transcriptions, /v1/images/cards or /v1/text answered'
    """

    default_hint = (
        "use the id and the file names a POST /v1/speech, /v1/transcriptions, /v1/images/cards or /v1/text answered"
    )


class SpeechBody(SpeechRequest):
    """``POST /v1/speech``: a :class:`~aigc_sdk.types.SpeechRequest` (no reference recording) and a file format.

    Example:
        >>> SpeechBody(prompt="Good evening.", format="flac").request().prompt
        'Good evening.'
    """

    model_config = _BODY
    prompt: str = Field(min_length=1, max_length=5_000, description="The text to speak.")
    speaker_wav: SkipJsonSchema[None] = Field(default=None, exclude=True)  # not over HTTP: a client names no path
    model: str | None = _model_field()
    format: Literal["wav", "flac", "ogg", "mp3"] = Field(default="wav", description="The audio file's format.")

    def request(self) -> SpeechRequest:
        """The SDK request this body asks for.

        Example:
            >>> SpeechBody(prompt="Hi.", speed=1.5).request().speed
            1.5
        """
        return SpeechRequest.model_validate(self.model_dump(exclude=_API_ONLY, exclude_unset=True))


class TranscriptionOptions(FrozenModel):
    """The form fields of ``POST /v1/transcriptions`` besides the ``file`` (a :class:`TranscribeRequest`'s).

    Example:
        >>> TranscriptionOptions.model_validate({"language": "en", "word_timestamps": "false"}).word_timestamps
        False
    """

    language: str | None = Field(default=None, max_length=16, description="Spoken language; None: detect.")
    prompt: str | None = Field(default=None, max_length=2_000, description="Initial prompt (names, spellings).")
    word_timestamps: bool = Field(default=True, description="Return a time span per word.")
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1, description="Random seed.")
    model: str | None = _model_field()

    def request(self, audio: Audio) -> TranscribeRequest:
        """The SDK request for the uploaded ``audio``.

        Example:
            >>> TranscriptionOptions(language="en").request(Audio([0.0] * 800, 8000)).language
            'en'
        """
        return TranscribeRequest(audio=audio, **self.model_dump(exclude=_API_ONLY, exclude_unset=True))


class CardBody(CardSpec):
    """``POST /v1/images/cards``: a :class:`~aigc_sdk.generators.image.cards.CardSpec` with a built-in theme.

    Example:
        >>> CardBody(layout="title", title="Storm warning", theme="paper", width=640, height=360).spec().theme.name
        'paper'
    """

    model_config = _BODY
    width: int = Field(default=1920, ge=160, le=3840, description="Pixels.")
    height: int = Field(default=1080, ge=160, le=3840, description="Pixels.")
    theme: Literal["newsroom", "paper", "night"] = Field(  # type: ignore[assignment]
        default="newsroom", description="A built-in theme (a client names no logo file)."
    )
    brand: str | None = Field(default=None, max_length=60, description="Brand text shown top right.")
    format: Literal["png", "jpg"] = Field(default="png", description="The image file's format.")

    def spec(self) -> CardSpec:
        """The card spec this body asks for.

        Example:
            >>> CardBody(layout="number", value="6.4", label="Magnitude").spec().value
            '6.4'
        """
        theme = THEMES[self.theme].model_copy(update={"brand": self.brand})
        return CardSpec(**self.model_dump(exclude={"theme", "brand", "format"}), theme=theme)


class CompletionBody(TextRequest):
    """``POST /v1/text`` with ``"kind": "completion"``: a prompt for a language model (a :class:`TextRequest`).

    Example:
        >>> CompletionBody(kind="completion", prompt="Once", max_new_tokens=8).request().max_new_tokens
        8
    """

    model_config = _BODY
    kind: Literal["completion"]
    prompt: str = Field(min_length=1, max_length=20_000, description="The prompt.")
    max_new_tokens: int = Field(default=256, ge=1, le=2_048, description="Most tokens to generate.")
    model: str | None = _model_field()

    def request(self) -> TextRequest:
        """The SDK request this body asks for.

        Example:
            >>> CompletionBody(kind="completion", prompt="Once").request().prompt
            'Once'
        """
        return TextRequest.model_validate(self.model_dump(exclude=_API_ONLY, exclude_unset=True))


class TemplateBody(TemplateRequest):
    """``POST /v1/text`` with ``"kind": "template"``: a story from inline JSON data with a built-in template.

    Example:
        >>> TemplateBody(kind="template", template="sports-result", data={"x": 1}).request().template
        'sports-result'
    """

    model_config = _BODY
    kind: Literal["template"]
    template: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$", description="A built-in template's name."
    )
    data: dict[str, Any] | list[Any] = Field(description="The data, inline JSON (a GeoJSON feed is JSON too).")
    data_format: Literal["json", "geojson"] | None = Field(default=None, description="None: JSON.")
    model: str | None = _model_field()

    def request(self) -> TemplateRequest:
        """The SDK request this body asks for.

        Raises:
            InvalidRequestError: No built-in template has this name.

        Example:
            >>> try:
            ...     TemplateBody(kind="template", template="docs", data={}).request()
            ... except InvalidRequestError as e:
            ...     e.message
            "no built-in template 'docs'"
        """
        known = builtin_templates()
        if self.template not in known:  # never a path: the name is not looked up on disk
            raise InvalidRequestError(f"no built-in template {self.template!r}", hint=f"use one of {', '.join(known)}")
        return TemplateRequest.model_validate(self.model_dump(exclude=_API_ONLY, exclude_unset=True))


class ScriptBody(ScriptRequest):
    """``POST /v1/text`` with ``"kind": "script"``: an article cut into a narration script (a :class:`ScriptRequest`).

    Example:
        >>> ScriptBody(kind="script", prompt="A park opened. It is big.", target_seconds=10).request().target_seconds
        10.0
    """

    model_config = _BODY
    kind: Literal["script"]
    prompt: str = Field(min_length=1, max_length=200_000, description="The article: Markdown, plain text or HTML.")
    rewrite: Literal[False] = Field(default=False, description="Not over HTTP (it would call a language model).")
    model: str | None = _model_field()

    def request(self) -> ScriptRequest:
        """The SDK request this body asks for.

        Example:
            >>> ScriptBody(kind="script", prompt="A park opened.").request().rewrite
            False
        """
        return ScriptRequest.model_validate(self.model_dump(exclude=_API_ONLY, exclude_unset=True))


#: ``POST /v1/text``'s body: one of three kinds, told apart by ``kind``.
TextBody = Annotated[CompletionBody | TemplateBody | ScriptBody, Field(discriminator="kind")]


class GenerationView(BaseModel):
    """What a single generation answers: its id, the result's fields, its provenance and its files.

    Example:
        >>> view = GenerationView(id="0" * 32, task="text-to-speech", model_id="en-joe", files=["speech.wav"],
        ...                       url="/v1/generations/" + "0" * 32 + "/files/speech.wav", result={}, provenance={})
        >>> view.files
        ['speech.wav']
    """

    id: str = Field(description="The generation's id (its folder under DATA/generations/).")
    task: str = Field(description="What was made, e.g. 'text-to-speech', 'render-card'.")
    model_id: str = Field(description="The model that made it.")
    files: list[str] = Field(description="Its files, each at GET /v1/generations/{id}/files/{name}.")
    url: str = Field(description="The link to its main file (the audio, the image, the text).")
    result: dict[str, Any] = Field(description="The result's fields (text, segments, duration, size …).")
    provenance: dict[str, Any] = Field(description="How it was made: model, revision, seed, request, timings.")


# ------------------------------------------------------------------------------------------ the work


def _fields(result: Result) -> dict[str, Any]:
    """The result's fields for the answer: media values summed up, text kept."""
    fields = result.model_dump(mode="json", exclude={"provenance", "audio", "images", "video"})
    if isinstance(result, AudioResult):
        fields |= {"duration": result.audio.duration, "sample_rate": result.audio.sample_rate}
    elif isinstance(result, ImageResult):
        fields |= {"width": result.image.size[0], "height": result.image.size[1]}
    elif isinstance(result, TextResult | StoryResult):
        fields["text"] = result.text
    return fields


def _save_text(result: TextResult | StoryResult | TranscriptResult, path: Path) -> Path:
    """A text result as UTF-8 text with its provenance sidecar (text results have no ``save`` of their own)."""
    atomic_write_bytes(path, (result.text + "\n").encode("utf-8"))
    write_sidecar(path, result.provenance)
    return path


class _Generations:
    """The work behind the routes: check the model, run on the shared Studio, publish in one rename."""

    def __init__(self, runner: JobRunner, data_dir: Path) -> None:
        self.runner = runner
        self.root = data_dir / "generations"

    def run(self, request: SdkRequest, model: str | None) -> Any:
        """Run ``request`` on the Studio once its model is known to be on this machine (nothing is downloaded)."""
        studio = self.runner.studio
        spec = studio.model_for(request.task, model, language=getattr(request, "language", None))
        if not is_available_offline(spec):
            raise ModelNotAvailableError(
                f"model {spec.id!r} is not installed on this server",
                hint=f"on the server: {fetch_command(spec)}; or name another model",
            )
        return studio.run(request, model=model)

    def publish(self, make: Callable[[Path], tuple[Result, Path]]) -> GenerationView:
        """Make the files in a fresh folder (``make`` returns the result and its main file); rename it in place."""
        generation = uuid.uuid4().hex
        with atomic_dir(self.root / generation) as staging:
            result, main = make(staging)
            files = sorted(p.name for p in staging.iterdir() if p.is_file() and not p.name.startswith("."))
        base = f"/v1/generations/{generation}/files"
        return GenerationView(
            id=generation,
            task=result.provenance.task,
            model_id=result.provenance.model_id,
            files=files,
            url=f"{base}/{main.name}",
            result=_fields(result),
            provenance=result.provenance.to_dict(),
        )

    def speech(self, body: SpeechBody) -> GenerationView:
        def make(folder: Path) -> tuple[Result, Path]:
            result: AudioResult = self.run(body.request(), body.model)
            return result, result.save(folder / f"speech.{body.format}")

        return self.publish(make)

    def card(self, body: CardBody) -> GenerationView:
        spec = body.spec()

        def make(folder: Path) -> tuple[Result, Path]:
            image = CardRenderer().render(spec)
            assert image.provenance is not None  # the renderer always records how it drew
            result = ImageResult(images=(image,), provenance=image.provenance)
            return result, result.save(folder / f"card.{body.format}")[0]

        return self.publish(make)

    def text(self, body: CompletionBody | TemplateBody | ScriptBody) -> GenerationView:
        request = body.request()  # a template name is checked here, before any work

        def make(folder: Path) -> tuple[Result, Path]:
            result: TextResult | StoryResult = self.run(request, body.model)
            return result, _save_text(result, folder / "text.txt")

        return self.publish(make)

    def transcribe(self, upload: UploadFile, suffix: str, options: TranscriptionOptions) -> GenerationView:
        def make(folder: Path) -> tuple[Result, Path]:
            stored = folder / f"input{suffix}"  # a name of ours, never the client's
            with stored.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            try:
                audio = Audio.load(stored)
            except MediaError as error:
                raise InvalidRequestError(
                    f"the upload is not readable audio: {error.message}", hint="send a WAV, FLAC, OGG or MP3 file"
                ) from error
            result: TranscriptResult = self.run(options.request(audio), options.model)
            return result, _save_text(result, folder / "transcript.txt")

        return self.publish(make)

    def file(self, generation: str, name: str) -> Path:
        """A file of a finished generation; anything else is :class:`GenerationNotFoundError`."""
        if not _GENERATION_ID.match(generation) or not (self.root / generation).is_dir():
            raise GenerationNotFoundError(f"no generation {generation!r}")
        path = self.root / generation / name
        if not is_served_name(name) or path.is_symlink() or not path.is_file():
            raise GenerationNotFoundError(f"generation {generation} has no file {name!r}")
        return path


# ------------------------------------------------------------------------------------------ HTTP


async def _read_upload(request: Request) -> tuple[UploadFile, str, TranscriptionOptions]:
    """Parse the multipart body (the app's body limit caps it as it streams in): the audio, its suffix, the fields."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequestError("send the audio as multipart/form-data", hint="curl -F file=@speech.wav ...")
    try:
        form = await request.form(max_files=1, max_fields=8)
    except MultiPartException as error:
        raise InvalidRequestError(f"not a readable multipart form: {error.message}") from error
    try:
        return _upload_of(form.multi_items())
    except AigcError:
        await form.close()
        raise


def _upload_of(items: list[tuple[str, UploadFile | str]]) -> tuple[UploadFile, str, TranscriptionOptions]:
    upload, fields = None, {}
    for key, value in items:
        if key in fields or (key == "file" and upload is not None):
            raise InvalidRequestError(f"the form field {key!r} is given twice")
        if key == "file" and isinstance(value, UploadFile):
            upload = value
        elif isinstance(value, str) and value != "":
            fields[key] = value
        elif key == "file" or not isinstance(value, str):
            raise InvalidRequestError(f"the form field {key!r} must be {'a file' if key == 'file' else 'text'}")
    if upload is None:
        raise InvalidRequestError("the form has no 'file'", hint="curl -F file=@speech.wav ...")
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in _AUDIO_SUFFIXES:
        raise InvalidRequestError(f"cannot read audio from {suffix or 'a file without suffix'!r}",
                                  hint=f"send one of {', '.join(_AUDIO_SUFFIXES)}")  # fmt: skip
    return upload, suffix, TranscriptionOptions.model_validate(fields)


_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "WAV, FLAC, OGG or MP3."},
                        **TranscriptionOptions.model_json_schema()["properties"],
                    },
                }
            }
        },
    }
}


def generations_router(runner: JobRunner, data_dir: str | Path) -> APIRouter:
    """The single-generation routes over ``runner``'s shared Studio, saving under ``data_dir/generations``.

    Args:
        runner: The app's job runner (its :attr:`~aigc_sdk.server.JobRunner.studio` serves every request).
        data_dir: The server's data folder.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.server import JobRunner, JobStore
        >>> data = pathlib.Path(tempfile.mkdtemp())
        >>> router = generations_router(JobRunner(data, JobStore(data / "j.sqlite"), concurrency=0), data)
        >>> sorted(route.path for route in router.routes)[:2]
        ['/v1/generations/{generation_id}/files/{name}', '/v1/images/cards']
    """
    work = _Generations(runner, Path(data_dir))
    router = APIRouter(prefix="/v1", tags=["generations"], responses=_ERRORS)
    created: dict[str, Any] = {"status_code": 201, "response_model": GenerationView}

    @router.post("/speech", **created)
    def speech(body: SpeechBody) -> GenerationView:
        """Speak a text; the audio is saved with its provenance."""
        return work.speech(body)

    @router.post("/transcriptions", **created, openapi_extra=_UPLOAD_SCHEMA)
    async def transcriptions(request: Request) -> GenerationView:
        """Transcribe an uploaded audio file (multipart ``file``, size-capped), with segments and word times."""
        upload, suffix, options = await _read_upload(request)
        try:
            return await anyio.to_thread.run_sync(work.transcribe, upload, suffix, options)
        finally:
            await upload.close()

    @router.post("/images/cards", **created)
    def cards(body: CardBody) -> GenerationView:
        """Draw a news card (title, body, bullets, quote, number, lower third, location)."""
        return work.card(body)

    @router.post("/text", **created)
    def text(body: Annotated[CompletionBody | TemplateBody | ScriptBody, Body(discriminator="kind")]) -> GenerationView:
        """Write text: a completion (``kind: completion``), a story from data (``template``) or a script."""
        return work.text(body)

    @router.get("/generations/{generation_id}/files/{name}", response_class=FileResponse)
    def file(generation_id: str, name: str) -> FileResponse:
        """One file of a generation (only from its own folder)."""
        return FileResponse(work.file(generation_id, name), filename=name)

    return router
