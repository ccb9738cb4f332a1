"""Typed requests and results: one frozen pydantic pair per task.

The same argument means the same thing everywhere: ``prompt`` (the text the
model works from), ``negative_prompt``, ``seed``, ``num_outputs``,
``sample_rate``, ``fps``, ``language``. Validation happens here, at the edge:
a bad value raises :class:`~aigc_sdk.errors.InvalidRequestError` before any
model is touched.

Example:
    >>> from aigc_sdk.types import ImageRequest
    >>> ImageRequest(prompt="a lighthouse at dusk", width=768, height=512, seed=1).width
    768
    >>> try:
    ...     ImageRequest(prompt="x", width=500)
    ... except ValueError as e:
    ...     print(type(e).__name__)
    InvalidRequestError
"""

from __future__ import annotations

import datetime as _dt
import enum
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    FilePath,
    PlainSerializer,
    field_validator,
    model_validator,
)

from aigc_sdk._internal.languages import normalize_language, primary_language
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.media import Audio, Image, Video
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust.publishing import publish

__all__ = [
    "AudioResult",
    "Chapter",
    "ChartPlan",
    "Cue",
    "DataPlan",
    "EmbedRequest",
    "EmbeddingResult",
    "FieldMap",
    "ImageRequest",
    "ImageResult",
    "LocationPlan",
    "Motion",
    "MusicRequest",
    "ParagraphSubject",
    "RankingPlan",
    "RecordsPlan",
    "Request",
    "Result",
    "ScriptRequest",
    "Segment",
    "SpeechRequest",
    "StoryPlan",
    "StoryResult",
    "SubtitleStyle",
    "Task",
    "TemplateRequest",
    "TextRequest",
    "TextResult",
    "TimeSpan",
    "TimedOverlay",
    "TranscribeRequest",
    "TranscriptResult",
    "VideoEncoding",
    "VideoGenerationRequest",
    "VideoRequest",
    "VideoResult",
    "Word",
    "normalize_language",
]

MAX_SEED = 2**63 - 1


class Task(enum.StrEnum):
    """The tasks a generator can perform.

    Example:
        >>> Task("text-to-speech") is Task.TEXT_TO_SPEECH
        True
    """

    TEXT_GENERATION = "text-generation"
    #: Data to a news story through a story template (:class:`TemplateRequest`).
    STORY_TEMPLATE = "story-template"
    #: An article cut into a narration script (:class:`ScriptRequest`).
    SCRIPT_WRITING = "script-writing"
    TEXT_TO_IMAGE = "text-to-image"
    TEXT_TO_SPEECH = "text-to-speech"
    TEXT_TO_MUSIC = "text-to-music"
    SPEECH_TO_TEXT = "speech-to-text"
    IMAGES_TO_VIDEO = "images-to-video"
    #: A short clip from a prompt, or from a still and a prompt (:class:`VideoGenerationRequest`).
    TEXT_TO_VIDEO = "text-to-video"
    TEXT_EMBEDDING = "text-embedding"


def _media_summary(value: Any) -> Any:
    """JSON form of a media input inside a request (for provenance and cache keys)."""
    if isinstance(value, Image):
        w, h = value.size
        return {"image": f"{w}x{h}", "sha256": _sha_bytes(value.to_array().tobytes())}
    if isinstance(value, Audio):
        return {"audio": f"{value.duration:.3f}s@{value.sample_rate}", "sha256": _sha_bytes(value.samples.tobytes())}
    return str(value)


def _sha_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


ImageInput = Annotated[Image | FilePath, PlainSerializer(_media_summary, return_type=Any)]
AudioInput = Annotated[Audio | FilePath, PlainSerializer(_media_summary, return_type=Any)]
Prompt = Annotated[str, Field(min_length=1, max_length=100_000)]
Seed = Annotated[int | None, Field(default=None, ge=0, le=MAX_SEED)]


class Request(FrozenModel):
    """Base of every request: a frozen, validated pydantic model with a ``seed``.

    Example:
        >>> r = TextRequest(prompt="Once upon a time", seed=3)
        >>> r.with_seed(4).seed, r.seed
        (4, 3)
    """

    task: ClassVar[Task]
    #: Fields whose values change tensor shapes; requests may share a batch only when these are equal.
    shape_fields: ClassVar[tuple[str, ...]] = ()

    seed: Seed = Field(default=None, description="Random seed; drawn and recorded in provenance when None.")

    @field_validator("language", mode="before", check_fields=False)
    @classmethod
    def _language(cls, value: Any) -> Any:
        return normalize_language(value) if isinstance(value, str) else value

    @classmethod
    def coerce(cls, request: Any = None, /, **fields: Any) -> Self:
        """The request given as an object of this type, or built from keyword fields (not both).

        The one place where a call's arguments become a request (generators and the Studio use it).

        Raises:
            InvalidRequestError: Both or neither given, a request of another type, or invalid fields.

        Example:
            >>> SpeechRequest.coerce(prompt="Hi").prompt
            'Hi'
            >>> r = SpeechRequest(prompt="Hi")
            >>> SpeechRequest.coerce(r) is r
            True
            >>> try:
            ...     SpeechRequest.coerce(r, speed=2.0)
            ... except ValueError as e:
            ...     "not both" in str(e)
            True
        """
        if request is None:
            return cls.model_validate(fields)
        if fields:
            raise InvalidRequestError("pass either a request object or keyword fields, not both")
        if not isinstance(request, cls):
            raise InvalidRequestError(
                f"this call takes {cls.__name__}, got {type(request).__name__}",
                hint=f"build a {cls.__name__} or pass its fields as keywords",
            )
        return request

    def seeded(self) -> Self:
        """This request if it has a seed, else a copy with a freshly drawn one: the one source of seeds.

        Example:
            >>> TextRequest(prompt="x", seed=5).seeded().seed
            5
            >>> TextRequest(prompt="x").seeded().seed is not None
            True
        """
        return self if self.seed is not None else self.with_seed(secrets.randbelow(MAX_SEED))

    def with_seed(self, seed: int) -> Self:
        """A copy with ``seed`` set (validated).

        Example:
            >>> SpeechRequest(prompt="Hi").with_seed(9).seed
            9
        """
        if not 0 <= seed <= MAX_SEED:
            raise InvalidRequestError(f"seed must be in [0, {MAX_SEED}], got {seed}")
        return self.model_copy(update={"seed": seed})

    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can be coalesced into one batch.

        Example:
            >>> ImageRequest(prompt="a", seed=1).batch_key() == ImageRequest(prompt="b", seed=2).batch_key()
            True
        """
        return tuple(getattr(self, name) for name in self.shape_fields)


class TextRequest(Request):
    r"""Generate text from a prompt (``text-generation``).

    Example:
        >>> TextRequest(prompt="Write a headline:", max_new_tokens=20, temperature=0.7, stop=["\\n"]).stop
        ('\\n',)
    """

    task: ClassVar[Task] = Task.TEXT_GENERATION
    shape_fields: ClassVar[tuple[str, ...]] = ("num_outputs",)

    prompt: Prompt = Field(description="The prompt (or user message when the model has a chat template).")
    system: str | None = Field(default=None, max_length=20_000, description="System message for chat models.")
    max_new_tokens: int = Field(default=256, ge=1, le=32_768, description="Most tokens to generate.")
    temperature: float = Field(default=1.0, ge=0.0, le=5.0, description="0 means greedy decoding.")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(default=0, ge=0, le=10_000, description="Keep the k most likely tokens; 0 turns it off.")
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=10.0, description="Above 1 discourages repeats.")
    stop: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        default=(), max_length=16, description="Stop strings; generation ends before the first one."
    )
    num_outputs: int = Field(default=1, ge=1, le=16, description="Independent completions to return.")
    language: str | None = Field(default=None, description="Expected output language (ISO 639).")


class ImageRequest(Request):
    """Generate images from a prompt (``text-to-image``), or from an image with ``strength`` (img2img).

    Example:
        >>> ImageRequest(prompt="a red fox", negative_prompt="blurry", steps=4, guidance=0.0).steps
        4
    """

    task: ClassVar[Task] = Task.TEXT_TO_IMAGE
    shape_fields: ClassVar[tuple[str, ...]] = (
        "width", "height", "steps", "guidance", "sampler", "num_outputs", "best_of"
    )  # fmt: skip

    prompt: Prompt = Field(description="What to draw.")
    negative_prompt: str | None = Field(default=None, max_length=100_000, description="What to avoid.")
    width: int = Field(default=512, ge=64, le=4096, multiple_of=8, description="Pixels; a multiple of 8.")
    height: int = Field(default=512, ge=64, le=4096, multiple_of=8, description="Pixels; a multiple of 8.")
    steps: int | None = Field(default=None, ge=1, le=500, description="Denoising steps; None: the model's default.")
    guidance: float | None = Field(default=None, ge=0.0, le=50.0, description="Classifier-free guidance scale.")
    sampler: str | None = Field(default=None, max_length=64, description="Scheduler name, e.g. 'euler-a'.")
    num_outputs: int = Field(default=1, ge=1, le=16, description="Images to generate (seed, seed+1, ...).")
    image: ImageInput | None = Field(default=None, description="Init image for img2img (path or Image).")
    strength: float = Field(default=0.8, gt=0.0, le=1.0, description="How far img2img departs from the image.")
    best_of: int = Field(
        default=1, ge=1, le=16, description="Make best_of × num_outputs candidates; keep those CLIP ranks highest."
    )

    @model_validator(mode="after")
    def _pixels(self) -> Self:
        if self.width * self.height > 4096 * 4096:
            raise ValueError("width × height is over 16 megapixels")
        return self


class SpeechRequest(Request):
    """Speak text (``text-to-speech``).

    Example:
        >>> SpeechRequest(prompt="Good evening.", language="en", speed=1.1).language
        'en'
    """

    task: ClassVar[Task] = Task.TEXT_TO_SPEECH
    shape_fields: ClassVar[tuple[str, ...]] = ("voice", "speed")

    prompt: Prompt = Field(description="The text to speak.")
    voice: str | None = Field(default=None, max_length=200, description="Voice or speaker name; None: default.")
    language: str | None = Field(default=None, description="Language of the text (ISO 639).")
    speed: float = Field(default=1.0, ge=0.25, le=4.0, description="Speaking rate; 1 is normal.")
    volume: float = Field(default=1.0, ge=0.0, le=4.0, description="Gain applied to the voice.")
    speaker_wav: FilePath | None = Field(default=None, description="Reference recording for voice cloning.")
    sample_rate: int | None = Field(default=None, ge=8_000, le=192_000, description="Resample to this rate.")


class MusicRequest(Request):
    """Generate music from a description (``text-to-music``).

    Example:
        >>> MusicRequest(prompt="calm piano news bed", duration=12, tempo=90, key="A minor").key
        'A minor'
    """

    task: ClassVar[Task] = Task.TEXT_TO_MUSIC
    shape_fields: ClassVar[tuple[str, ...]] = ("duration", "num_outputs")

    prompt: Prompt = Field(description="Description: genre, instruments, mood.")
    duration: float = Field(default=10.0, gt=0.0, le=600.0, description="Seconds of music.")
    tempo: float | None = Field(default=None, ge=30.0, le=300.0, description="Beats per minute.")
    key: str | None = Field(
        default=None, pattern=r"^[A-G][#b]?( (major|minor))?$", description="Key, e.g. 'C', 'F# minor'."
    )
    mood: str | None = Field(default=None, max_length=100, description="Mood, e.g. 'calm', 'urgent'.")
    num_outputs: int = Field(default=1, ge=1, le=8, description="Pieces to generate.")
    sample_rate: int | None = Field(default=None, ge=8_000, le=192_000, description="Resample to this rate.")


class TranscribeRequest(Request):
    """Transcribe speech (``speech-to-text``).

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.media import Audio
        >>> r = TranscribeRequest(prompt=None, audio=Audio([0.0] * 1600, 16000), language="en")
        >>> r.word_timestamps
        True
    """

    task: ClassVar[Task] = Task.SPEECH_TO_TEXT

    audio: AudioInput = Field(description="The speech: a file path or an Audio value.")
    language: str | None = Field(default=None, description="Spoken language; None: detect.")
    prompt: str | None = Field(default=None, max_length=2_000, description="Initial prompt (names, spellings).")
    word_timestamps: bool = Field(default=True, description="Return a time span per word.")


Color = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$", description="#RRGGBB or #RRGGBBAA.")]


class Motion(FrozenModel):
    """A Ken Burns camera move on one still: zoom and view centre go linearly from start to end.

    Zoom 1 shows the whole (fitted) still; 1.2 shows the middle 1/1.2 of it. The centre is a
    fraction of the still's width/height and is kept inside the still at every zoom.

    Example:
        >>> Motion(zoom_start=1.0, zoom_end=1.2, x_start=0.3, x_end=0.6).zoom_end
        1.2
        >>> Motion.static().zoom_start == Motion.static().zoom_end == 1.0
        True
    """

    zoom_start: float = Field(default=1.0, ge=1.0, le=4.0, description="Zoom at the slide's first frame.")
    zoom_end: float = Field(default=1.15, ge=1.0, le=4.0, description="Zoom at the slide's last frame.")
    x_start: float = Field(default=0.5, ge=0.0, le=1.0, description="View centre, fraction of the width.")
    y_start: float = Field(default=0.5, ge=0.0, le=1.0, description="View centre, fraction of the height.")
    x_end: float = Field(default=0.5, ge=0.0, le=1.0, description="View centre at the end (width fraction).")
    y_end: float = Field(default=0.5, ge=0.0, le=1.0, description="View centre at the end (height fraction).")

    @classmethod
    def static(cls) -> Motion:
        """No motion: the whole still, held.

        Example:
            >>> Motion.static().is_static
            True
        """
        return cls(zoom_start=1.0, zoom_end=1.0)

    @property
    def is_static(self) -> bool:
        """Whether nothing moves.

        Example:
            >>> Motion().is_static
            False
        """
        return self.zoom_start == self.zoom_end and (
            self.zoom_start == 1.0 or (self.x_start, self.y_start) == (self.x_end, self.y_end)
        )


class SubtitleStyle(FrozenModel):
    """How burned-in subtitles look. Sizes are fractions of the frame's shorter side.

    Example:
        >>> SubtitleStyle(font_size=0.06, color="#FFEE00", background=None).background is None
        True
    """

    font_size: float = Field(default=0.055, ge=0.01, le=0.25, description="Text size (fraction of shorter side).")
    color: Color = Field(default="#FFFFFF", description="Text colour.")
    outline_color: Color = Field(default="#000000", description="Outline colour.")
    outline: float = Field(default=0.08, ge=0.0, le=0.5, description="Outline width, fraction of the text size.")
    background: Color | None = Field(default="#00000099", description="Box behind the text; None: no box.")
    position: Literal["bottom", "top", "center"] = Field(default="bottom", description="Where the text sits.")
    margin: float = Field(default=0.06, ge=0.0, le=0.3, description="Safe margin on every side (fraction).")
    max_lines: int = Field(default=2, ge=1, le=8, description="Lines before the text is made smaller.")
    font: FilePath | None = Field(default=None, description="Font file; None: the first font covering the text.")
    highlight: Color | None = Field(
        default=None, description="Colour of the word being spoken (needs VideoRequest.words); None: no highlight."
    )
    safe_zone: bool = Field(
        default=False,
        description="Portrait frames: keep the text out of the platforms' UI bands (top 12 %, bottom 20 %).",
    )


class TimedOverlay(FrozenModel):
    """A picture laid over the video from ``start`` to ``end`` seconds (a lower third, a disclosure line).

    The picture is drawn at ``(x, y)`` at its own size; transparent pixels show the video. It comes in and
    goes with ``animation``: ``fade`` (opacity), ``slide`` (in from the left edge, out to it, and fading)
    or ``none``, over ``ramp`` seconds.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Image
        >>> band = Image.from_array(np.zeros((8, 32, 4), dtype=np.uint8))
        >>> TimedOverlay(image=band, start=1.0, end=3.0, animation="slide").ramp
        0.4
        >>> try:
        ...     TimedOverlay(image=band, start=2.0, end=2.5, ramp=0.4)
        ... except ValueError as e:
        ...     "too short" in str(e)
        True
    """

    image: ImageInput = Field(description="The picture (RGBA keeps its transparency).")
    start: float = Field(ge=0.0, description="Seconds.")
    end: float = Field(gt=0.0, description="Seconds.")
    x: int = Field(default=0, ge=0, description="Left edge, pixels.")
    y: int = Field(default=0, ge=0, description="Top edge, pixels.")
    animation: Literal["none", "fade", "slide"] = "fade"
    ramp: float = Field(default=0.4, ge=0.0, le=5.0, description="Seconds of the in and the out animation.")

    @model_validator(mode="after")
    def _span(self) -> Self:
        ramps = 2 * self.ramp if self.animation != "none" else 0.0
        if self.end <= self.start or self.end - self.start < ramps:
            raise ValueError(
                f"an overlay from {self.start:g} to {self.end:g} s is too short for its {self.ramp:g} s ramps"
            )
        return self


def _check_container(output: Path | None) -> None:
    """An MP4 is written as ``.mp4`` or ``.mov``; anything else is refused before rendering."""
    if output is not None and output.suffix.lower() not in (".mp4", ".mov"):
        raise ValueError(f"output must be an .mp4 or .mov file, got {output.name!r}")


class VideoEncoding(FrozenModel):
    """How a video is encoded and where it is written: x264 settings, invisible watermark, output file.

    What a video shows and when lives in :class:`VideoRequest`; this is the part that changes the
    file's bytes and size but not what the viewer sees.

    Example:
        >>> VideoEncoding(preset="slow", crf=18).crf
        18
        >>> try:
        ...     VideoEncoding(output="clip.gif")
        ... except ValueError as e:
        ...     "mp4" in str(e)
        True
    """

    preset: Literal["slides", "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"] = Field(
        default="slides",
        description="x264 speed/size trade-off. 'slides' (the default) is ultrafast plus CABAC, B-frames and "
        "deblocking: as sharp as veryfast on moving stills (SSIM 0.997 vs slow) at half its CPU, bigger files.",
    )
    crf: int = Field(default=23, ge=0, le=51, description="x264 quality: lower is better and bigger.")
    watermark: bool | None = Field(
        default=None,
        description="Invisible watermark in the frames: None marks frames of stills made by aigc_sdk (with "
        "provenance) but not the user's own pictures; True every frame; False none.",
    )
    output: Path | None = Field(default=None, description="Where to write the MP4; None: the cache's renders folder.")

    @model_validator(mode="after")
    def _container(self) -> Self:
        _check_container(self.output)
        return self


class VideoRequest(Request):
    """Make a video from images (``images-to-video``): what is shown and when, plus how it is encoded.

    Slides last ``durations`` seconds (None: the audio's length spread evenly, or 3 s each);
    crossfades are centred on the cuts, so the video lasts exactly ``sum(durations)``. With
    audio, that sum must equal the audio's length within 0.1 s. Codec settings, the invisible
    watermark and the output file are in ``encoding`` (:class:`VideoEncoding`).

    Options that would have no effect are refused (a logo size without a logo, a music volume
    without music, a letterbox colour when nothing is letterboxed, a crossfade length without
    crossfades, a subtitle style for subtitles that are not drawn).

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Image
        >>> frame = Image.from_array(np.zeros((64, 64, 3), dtype=np.uint8))
        >>> VideoRequest(images=[frame, frame], durations=[1.5, 2.0], fps=25).fps
        25
        >>> r = VideoRequest(images=[frame], durations=[2.0], cues=[Cue(text="Hello", start=0.2, end=1.5)],
        ...                  encoding=VideoEncoding(crf=20))
        >>> r.total_duration, r.cues[0].text, r.encoding.crf
        (2.0, 'Hello', 20)
        >>> try:
        ...     VideoRequest(images=[frame], durations=[2.0], cues=[Cue(text="late", start=1.0, end=3.0)])
        ... except ValueError as e:
        ...     "after the video ends" in str(e)
        True
    """

    task: ClassVar[Task] = Task.IMAGES_TO_VIDEO
    shape_fields: ClassVar[tuple[str, ...]] = ()  # renders of any size share a batch: they run side by side

    images: tuple[ImageInput, ...] = Field(min_length=1, max_length=10_000, description="Frames/slides in order.")
    durations: tuple[Annotated[float, Field(gt=0.0, le=3600.0)], ...] | None = Field(
        default=None, description="Seconds per image; None: spread over the audio or 3 s each."
    )
    prompt: str | None = Field(default=None, max_length=2_000, description="Title or description.")
    fps: int = Field(default=25, ge=1, le=120, description="Frames per second.")
    width: int = Field(default=1280, ge=16, le=7680, multiple_of=2, description="Pixels; even.")
    height: int = Field(default=720, ge=16, le=4320, multiple_of=2, description="Pixels; even.")
    fit: Literal["cover", "contain", "blur"] = Field(
        default="cover",
        description="Stills that do not match the frame: crop to fill, letterbox, or letterbox on a blurred copy.",
    )
    background: Color = Field(default="#000000", description="Letterbox colour (fit='contain').")
    audio: AudioInput | None = Field(default=None, description="Soundtrack, e.g. the narration (path or Audio).")
    music: AudioInput | None = Field(default=None, description="Music bed, looped to the video's length.")
    music_volume: float = Field(default=0.25, ge=0.0, le=2.0, description="Gain of the music bed.")
    duck: bool = Field(default=True, description="Lower the music while the narration speaks.")
    subtitles: FilePath | None = Field(default=None, description="SRT/VTT/ASS file to burn in (instead of cues).")
    cues: tuple[Cue, ...] = Field(default=(), max_length=100_000, description="Subtitle cues, in order.")
    chapters: tuple[Chapter, ...] = Field(
        default=(), max_length=10_000, description="Chapter marks written into the MP4 (players list them), in order."
    )
    burn_subtitles: bool = Field(default=True, description="Draw the cues on the frames (sidecars are always written).")
    subtitle_style: SubtitleStyle = Field(default_factory=SubtitleStyle, description="Look of burned-in subtitles.")
    transition: Literal["none", "crossfade"] = Field(default="crossfade", description="Between images.")
    transition_duration: float = Field(default=0.5, ge=0.0, le=10.0, description="Seconds.")
    motion: Literal["none", "ken-burns"] = Field(default="ken-burns", description="Camera motion on stills.")
    motions: tuple[Motion, ...] | None = Field(
        default=None, description="One move per slide (overrides `motion`); None: drawn from the seed."
    )
    clips: tuple[FilePath | None, ...] | None = Field(
        default=None,
        description="Per slide, moving footage shown instead of the still (e.g. the still animated by a video "
        "model; looped if short, no Ken Burns move); None: stills only.",
    )
    words: tuple[Word, ...] = Field(
        default=(), max_length=200_000, description="Word timings of the narration (highlighted captions)."
    )
    overlays: tuple[TimedOverlay, ...] = Field(
        default=(), max_length=1_000, description="Pictures laid over the video for a time (lower thirds)."
    )
    logo: ImageInput | None = Field(default=None, description="Watermark image (transparency kept).")
    logo_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "top-right"
    logo_size: float = Field(default=0.12, gt=0.0, le=0.5, description="Logo width, fraction of the shorter side.")
    logo_opacity: float = Field(default=0.85, ge=0.0, le=1.0, description="Logo opacity.")
    sample_rate: int | None = Field(
        default=None,
        ge=8_000,
        le=192_000,
        description="Audio rate in the file (48 kHz; the same name as in speech/music).",
    )
    encoding: VideoEncoding = Field(
        default_factory=VideoEncoding, description="Codec settings, watermark and output file."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        n = len(self.images)
        if self.durations is not None and len(self.durations) != n:
            raise ValueError(f"{len(self.durations)} durations for {n} images")
        if self.motions is not None and len(self.motions) != n:
            raise ValueError(f"{len(self.motions)} motions for {n} images")
        if self.clips is not None and len(self.clips) != n:
            raise ValueError(f"{len(self.clips)} clips for {n} images")
        if self.cues and self.subtitles is not None:
            raise ValueError("give either cues or a subtitles file, not both")
        for before, after in zip(self.cues, self.cues[1:], strict=False):
            if after.start < before.end - 1e-6:
                raise ValueError(
                    f"cue {after.text!r} starts at {after.start:g} s, before the previous one ends ({before.end:g} s)"
                )
        for earlier, later in zip(self.chapters, self.chapters[1:], strict=False):
            if later.start < earlier.end - 1e-6:
                raise ValueError(f"chapter {later.title!r} starts at {later.start:g} s, inside the one before")
        self._no_ignored_options()
        total = self.total_duration
        if total is not None:
            self.check_timing(total)
        return self

    def _no_ignored_options(self) -> None:
        """Refuse options given (with a non-default value) that this request would not use."""
        rules = (
            (("logo_position", "logo_size", "logo_opacity"), self.logo is not None, "give a logo, or leave them out"),
            (("music_volume",), self.music is not None, "give music, or leave music_volume out"),
            (("duck",), self.music is not None and self.audio is not None, "ducking needs both audio and music"),
            (("background",), self.fit == "contain", "background is the letterbox colour of fit='contain'"),
            (("transition_duration",), self.transition == "crossfade", "it sets the length of crossfades"),
            (
                ("subtitle_style",),
                self.burn_subtitles and (bool(self.cues) or self.subtitles is not None),
                "a style applies to burned-in cues or a subtitles file",
            ),
        )
        for names, applies, hint in rules:
            given = [n for n in names if n in self.model_fields_set and getattr(self, n) != _DEFAULT_VIDEO[n]]
            if given and not applies:
                raise InvalidRequestError(f"{', '.join(given)} would be ignored by this request: {hint}", hint=hint)
        if self.motions is not None and self.motion == "none" and "motion" in self.model_fields_set:
            raise InvalidRequestError("motion='none' and motions contradict each other: give one of them")
        if self.sample_rate is not None and self.audio is None and self.music is None:
            raise InvalidRequestError("sample_rate would be ignored: the video has no audio or music")

    @property
    def total_duration(self) -> float | None:
        """The video's length when it is known without reading the audio, else None.

        Example:
            >>> import numpy as np
            >>> from aigc_sdk.media import Image
            >>> frame = Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8))
            >>> VideoRequest(images=[frame, frame]).total_duration
            6.0
        """
        if self.durations is not None:
            return float(sum(self.durations))
        return 3.0 * len(self.images) if self.audio is None else None

    def slide_durations(self, total: float) -> tuple[float, ...]:
        """Seconds per slide for a video lasting ``total`` (``durations``, or ``total`` spread evenly).

        Example:
            >>> import numpy as np
            >>> from aigc_sdk.media import Image
            >>> frame = Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8))
            >>> VideoRequest(images=[frame, frame]).slide_durations(5.0)
            (2.5, 2.5)
        """
        return self.durations if self.durations is not None else (total / len(self.images),) * len(self.images)

    def check_timing(self, total: float) -> None:
        """Check slides, crossfades and cues against a video lasting ``total`` seconds.

        Raises:
            InvalidRequestError: A slide is shorter than its crossfades, or a cue ends after the video.

        Example:
            >>> import numpy as np
            >>> from aigc_sdk.media import Image
            >>> frame = Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8))
            >>> request = VideoRequest(images=[frame, frame], audio=Audio([0.0] * 8000, 8000))
            >>> request.check_timing(4.0)
            >>> try:
            ...     request.check_timing(0.8)
            ... except ValueError as e:
            ...     "too short" in str(e)
            True
        """
        durations = self.slide_durations(total)
        fade = self.transition_duration if self.transition == "crossfade" and len(durations) > 1 else 0.0
        shortest = min(durations)
        if fade and shortest <= fade + 1.0 / self.fps:
            raise InvalidRequestError(
                f"a {shortest:.3g} s slide is too short for {fade:g} s crossfades",
                hint="lower transition_duration or use longer slides",
            )
        if self.chapters and self.chapters[-1].start >= total:
            raise InvalidRequestError(
                f"chapter {self.chapters[-1].title!r} starts at {self.chapters[-1].start:g} s, "
                f"after the video ends ({total:g} s)"
            )
        late = [o for o in self.overlays if o.end > total + 0.05]
        if late:
            raise InvalidRequestError(f"an overlay ends at {late[0].end:g} s, after the video ends ({total:g} s)")
        if self.cues and self.cues[-1].end > total + 0.05:
            raise InvalidRequestError(
                f"cue {self.cues[-1].text!r} ends at {self.cues[-1].end:g} s, after the video ends ({total:g} s)"
            )


#: Default values of the VideoRequest options that :meth:`VideoRequest._no_ignored_options` checks.
_DEFAULT_VIDEO: dict[str, Any] = {
    name: VideoRequest.model_fields[name].get_default(call_default_factory=True)
    for name in ("logo_position", "logo_size", "logo_opacity", "music_volume", "duck", "background",
                 "transition_duration", "subtitle_style")
}  # fmt: skip


class VideoGenerationRequest(Request):
    """Generate a short clip with a video diffusion model (``text-to-video``), or animate ``image`` (image-to-video).

    Sizes, frame count and rate left out come from the model's spec (options ``width``, ``height``, ``frames``,
    ``fps``). Frame ``0`` of an image-to-video clip is the still; the model moves it for ``frames`` frames.

    Example:
        >>> r = VideoGenerationRequest(prompt="waves on a pier at dusk", frames=33, width=832, height=480, seed=3)
        >>> r.frames, r.task.value
        (33, 'text-to-video')
        >>> try:
        ...     VideoGenerationRequest(prompt="x", output="clip.gif")
        ... except ValueError as e:
        ...     "mp4" in str(e)
        True
    """

    task: ClassVar[Task] = Task.TEXT_TO_VIDEO
    shape_fields: ClassVar[tuple[str, ...]] = ("width", "height", "frames", "fps", "steps", "guidance")

    prompt: Prompt = Field(description="What happens in the clip.")
    negative_prompt: str | None = Field(default=None, max_length=100_000, description="What to avoid.")
    image: ImageInput | None = Field(default=None, description="The still to animate (image-to-video).")
    width: int | None = Field(default=None, ge=16, le=4096, multiple_of=8, description="Pixels; None: the model's.")
    height: int | None = Field(default=None, ge=16, le=4096, multiple_of=8, description="Pixels; None: the model's.")
    frames: int | None = Field(default=None, ge=1, le=2_000, description="Frames to generate; None: the model's.")
    fps: int | None = Field(default=None, ge=1, le=120, description="Frame rate of the clip; None: the model's.")
    steps: int | None = Field(default=None, ge=1, le=500, description="Denoising steps; None: the model's default.")
    guidance: float | None = Field(default=None, ge=0.0, le=50.0, description="Classifier-free guidance scale.")
    crf: int = Field(default=18, ge=0, le=51, description="x264 quality of the MP4: lower is better and bigger.")
    output: Path | None = Field(default=None, description="Where to write the MP4; None: the cache's renders folder.")

    @model_validator(mode="after")
    def _container(self) -> Self:
        _check_container(self.output)
        return self


class EmbedRequest(Request):
    """Embed a text as a vector (``text-embedding``), e.g. to match sentences with photos.

    Example:
        >>> EmbedRequest(prompt="Flooding on Carver Street").normalize
        True
    """

    task: ClassVar[Task] = Task.TEXT_EMBEDDING

    prompt: Prompt = Field(description="The text to embed.")
    normalize: bool = Field(default=True, description="Scale the vector to unit length.")
    language: str | None = Field(default=None, description="Language of the text; picks a model that speaks it.")


def _field_map(value: Any) -> Any:
    """``["Zeit=date", …]`` (CLI ``--map``) or a mapping → ``{source column: template field}``."""
    if value is None:
        return {}
    if isinstance(value, list | tuple):
        pairs: dict[str, str] = {}
        for entry in value:
            column, sep, field = str(entry).partition("=")
            if not sep or not column.strip() or not field.strip():
                raise InvalidRequestError(f"map entry {entry!r} must be COLUMN=FIELD (e.g. Zeit=date)")
            if column.strip() in pairs:
                raise InvalidRequestError(f"map entry {entry!r}: column {column.strip()!r} is mapped twice")
            pairs[column.strip()] = field.strip()
        return pairs
    return value


#: Source column or key → the field a template reads (``--map Zeit=date``); also accepts ``["Zeit=date"]``.
FieldMap = Annotated[dict[str, str], BeforeValidator(_field_map)]


class TemplateRequest(Request):
    """Write a news story from data with a Jinja2 story template (``story-template``, data-to-text).

    Example:
        >>> r = TemplateRequest(template="market-close", data="examples/data/market_close.csv", language="zh")
        >>> r.language, r.data_format is None
        ('zh', True)
    """

    task: ClassVar[Task] = Task.STORY_TEMPLATE

    template: str = Field(
        min_length=1, max_length=4096, description="Built-in template name (e.g. 'usgs-earthquakes') or a file path."
    )
    data: FilePath | dict[str, Any] | list[Any] = Field(description="JSON / GeoJSON / CSV file, or inline JSON data.")
    data_format: Literal["json", "geojson", "csv"] | None = Field(
        default=None, description="Format of a data file; None: from its suffix."
    )
    language: str = Field(default="en", description="Output language (ISO 639): 'en' or 'zh'.")
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone for times, e.g. 'Asia/Taipei'.")
    now: _dt.datetime | None = Field(default=None, description="Reference time for relative times; None: the data's.")
    relative_times: bool | None = Field(
        default=None,
        description="Say relative times ('11 hours ago'); None: when `now` is given or the data's time is fresh.",
    )
    field_map: FieldMap = Field(
        default_factory=dict,
        description="Rename source columns/keys to the fields the template reads, before validation (--map).",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Name of the story's subject (an index, a place) where the data gives none or another (--name).",
    )
    target_seconds: float | None = Field(
        default=None, gt=0.0, le=3600.0,
        description="Narration length to fit: a round-up covers as many ranked events as fit; None: all of them.",
    )  # fmt: skip


class ScriptRequest(Request):
    r"""Cut an article into a narration script of a target length (``script-writing``, extractive).

    Example:
        >>> ScriptRequest(prompt="# Title\n\nFirst sentence. Second one.", target_seconds=20).language is None
        True
    """

    task: ClassVar[Task] = Task.SCRIPT_WRITING

    prompt: str = Field(
        min_length=1,
        max_length=2_000_000,
        description="The article: Markdown, plain text or HTML (a saved page or an RSS item's body).",
    )
    target_seconds: float = Field(default=60.0, gt=0.0, le=3600.0, description="Narration length to aim for.")
    language: str | None = Field(default=None, description="'en' or 'zh'; None: detect from the text.")
    words_per_second: float = Field(default=2.5, gt=0.0, le=10.0, description="English speaking rate.")
    chars_per_second: float = Field(default=4.0, gt=0.0, le=20.0, description="Chinese speaking rate.")
    rewrite: bool = Field(default=False, description="Let the configured LLM smooth the script (marked in provenance).")


# ---------------------------------------------------------------------------------------------- results


class TimeSpan(FrozenModel):
    """Base of everything with a ``start`` and an ``end`` in seconds: the one check that they are in order.

    Subclasses declare the two fields (with their own bounds); ``empty_ok`` says whether
    ``end == start`` is allowed (a word may be instantaneous, a subtitle cue may not).

    Example:
        >>> class Blip(TimeSpan):
        ...     start: float
        ...     end: float
        >>> Blip(start=1.0, end=1.0).end
        1.0
        >>> try:
        ...     Blip(start=2.0, end=1.0)
        ... except ValueError as e:
        ...     "before start" in str(e)
        True
    """

    #: Whether a span may last zero seconds.
    empty_ok: ClassVar[bool] = True

    if TYPE_CHECKING:
        start: float
        end: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start or (self.end == self.start and not self.empty_ok):
            equal = "" if self.empty_ok else " (or equal)"
            raise ValueError(f"end {self.end} is before start {self.start}{equal}")
        return self


class Word(TimeSpan):
    """A word with its time span in seconds.

    Example:
        >>> Word(text="hello", start=0.0, end=0.4).end
        0.4
    """

    text: str
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    probability: float | None = Field(default=None, ge=0.0, le=1.0)


class Segment(TimeSpan):
    """A sentence or phrase with its time span and, when known, its words.

    Example:
        >>> Segment(text="Hi there.", start=0.0, end=0.8).duration
        0.8
    """

    text: str
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    words: tuple[Word, ...] = ()

    @property
    def duration(self) -> float:
        """Length in seconds.

        Example:
            >>> Segment(text="a", start=1.0, end=1.5).duration
            0.5
        """
        return round(self.end - self.start, 9)


class Cue(TimeSpan):
    """A subtitle cue: text shown from ``start`` to ``end`` seconds.

    Example:
        >>> Cue(text="Good evening.", start=0.0, end=1.2).end
        1.2
        >>> try:
        ...     Cue(text="x", start=2.0, end=1.0)
        ... except ValueError as e:
        ...     "before start" in str(e)
        True
    """

    text: str = Field(min_length=1, max_length=2_000)
    start: float = Field(ge=0.0)
    end: float = Field(gt=0.0)
    empty_ok: ClassVar[bool] = False


class Chapter(TimeSpan):
    """A chapter mark of a video: a title from ``start`` to ``end`` seconds (players list chapters to jump to).

    Example:
        >>> Chapter(title="Markets close higher", start=0.0, end=4.5).end
        4.5
    """

    title: str = Field(min_length=1, max_length=500)
    start: float = Field(ge=0.0)
    end: float = Field(gt=0.0)
    empty_ok: ClassVar[bool] = False


class Result(FrozenModel):
    """Base of every result: carries :class:`~aigc_sdk.provenance.Provenance`.

    Example:
        >>> from aigc_sdk.provenance import Provenance
        >>> p = Provenance(model_id="m", task="text-generation", backend="b")
        >>> TextResult(texts=["hi"], provenance=p).provenance.model_id
        'm'
    """

    provenance: Provenance


class TextResult(Result):
    """Generated text: one entry per ``num_outputs``, with token counts.

    Example:
        >>> from aigc_sdk.provenance import Provenance
        >>> r = TextResult(texts=[" A", "B"], provenance=Provenance(model_id="m", task="t", backend="b"))
        >>> r.text  # completions are kept verbatim (a leading space continues the prompt)
        ' A'
    """

    model_config = ConfigDict(str_strip_whitespace=False)

    texts: tuple[str, ...] = Field(min_length=1)
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: tuple[int, ...] = ()
    finish_reasons: tuple[Literal["stop", "length"], ...] = ()

    @property
    def text(self) -> str:
        """The first completion.

        Example:
            >>> from aigc_sdk.provenance import Provenance
            >>> TextResult(texts=["x"], provenance=Provenance(model_id="m", task="t", backend="b")).text
            'x'
        """
        return self.texts[0]


def _numbered(path: Path, index: int, count: int) -> Path:
    return path if count == 1 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


class ImageResult(Result):
    """Generated images: one per ``num_outputs``.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.provenance import Provenance
        >>> img = Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8))
        >>> ImageResult(images=[img], provenance=Provenance(model_id="m", task="t", backend="b")).image.size
        (8, 8)
    """

    images: tuple[Image, ...] = Field(min_length=1)

    @property
    def image(self) -> Image:
        """The first image.

        Example:
            >>> import numpy as np
            >>> from aigc_sdk.provenance import Provenance
            >>> imgs = [Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8)) for _ in range(2)]
            >>> ImageResult(images=imgs, provenance=Provenance(model_id="m", task="t", backend="b")).image.size
            (8, 8)
        """
        return self.images[0]

    def save(self, path: str | Path, *, credentials: bool | None = None, privacy: bool = False) -> list[Path]:
        """Publish every image (``name.png``, or ``name-1.png``, ``name-2.png`` …) with provenance.

        Each gets its provenance tag, a ``.provenance.json`` sidecar and, by default (PNG/JPEG), signed
        content credentials (``credentials`` and ``privacy`` as in :func:`aigc_sdk.trust.publish`).

        Example:
            >>> import numpy as np, tempfile, pathlib
            >>> from aigc_sdk.provenance import Provenance
            >>> imgs = [Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8)) for _ in range(2)]
            >>> result = ImageResult(images=imgs, provenance=Provenance(model_id="m", task="t", backend="b"))
            >>> [p.name for p in result.save(pathlib.Path(tempfile.mkdtemp()) / "fox.png")]
            ['fox-1.png', 'fox-2.png']
        """
        target, count = Path(path), len(self.images)
        return [
            publish(
                img, _numbered(target, i, count), provenance=self.provenance, credentials=credentials, privacy=privacy
            )
            for i, img in enumerate(self.images)
        ]


class AudioResult(Result):
    """Generated audio (speech or music) with sentence/word timing when known.

    Example:
        >>> from aigc_sdk.provenance import Provenance
        >>> r = AudioResult(audio=Audio([0.0] * 800, 8000), segments=[Segment(text="Hi.", start=0, end=0.1)],
        ...                 provenance=Provenance(model_id="m", task="t", backend="b"))
        >>> r.audio.duration
        0.1
    """

    audio: Audio
    segments: tuple[Segment, ...] = ()

    def save(self, path: str | Path, *, credentials: bool | None = None, privacy: bool = False) -> Path:
        """Publish the audio (WAV/FLAC/OGG/MP3) with provenance.

        It gets its provenance tag, a ``.provenance.json`` sidecar and, by default (WAV/MP3), signed
        content credentials (``credentials`` and ``privacy`` as in :func:`aigc_sdk.trust.publish`).

        Example:
            >>> import tempfile, pathlib
            >>> from aigc_sdk.provenance import Provenance
            >>> result = AudioResult(audio=Audio([0.0] * 800, 8000),
            ...                      provenance=Provenance(model_id="m", task="t", backend="b"))
            >>> result.save(pathlib.Path(tempfile.mkdtemp()) / "speech.flac").suffix
            '.flac'
        """
        return publish(self.audio, path, provenance=self.provenance, credentials=credentials, privacy=privacy)


class TranscriptResult(Result):
    """A transcript with segments and word timestamps.

    Example:
        >>> from aigc_sdk.provenance import Provenance
        >>> TranscriptResult(text="hi", language="en", duration=1.0,
        ...                  provenance=Provenance(model_id="m", task="t", backend="b")).text
        'hi'
    """

    text: str
    language: str | None = None
    duration: float = Field(ge=0.0)
    segments: tuple[Segment, ...] = ()

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word of every segment, in order.

        Example:
            >>> from aigc_sdk.provenance import Provenance
            >>> seg = Segment(text="Hi there", start=0, end=0.6,
            ...               words=[Word(text="Hi", start=0, end=0.2), Word(text="there", start=0.25, end=0.6)])
            >>> r = TranscriptResult(text="Hi there", duration=0.6, segments=[seg],
            ...                      provenance=Provenance(model_id="m", task="t", backend="b"))
            >>> [w.text for w in r.words]
            ['Hi', 'there']
        """
        return tuple(w for s in self.segments for w in s.words)


class VideoResult(Result):
    """A rendered video file, with its SRT and WebVTT subtitle sidecars when it has cues.

    Example:
        >>> VideoResult.model_fields["video"].annotation is Video
        True
    """

    video: Video
    subtitles: Path | None = Field(default=None, description="The SRT sidecar.")
    subtitles_vtt: Path | None = Field(default=None, description="The WebVTT sidecar.")
    cues: tuple[Cue, ...] = Field(default=(), description="The subtitle cues in the video.")

    def save(self, path: str | Path, *, credentials: bool | None = None, privacy: bool = False) -> Path:
        """Publish the video to ``path`` (no re-encode), and its ``.srt``/``.vtt`` beside it.

        It gets its provenance tag, a ``.provenance.json`` sidecar and, by default (MP4), signed
        content credentials (``credentials`` and ``privacy`` as in :func:`aigc_sdk.trust.publish`).

        Example:
            >>> result.save("out/final.mp4")  # doctest: +SKIP
            PosixPath('out/final.mp4')
        """
        from aigc_sdk._internal.files import atomic_copy

        target = publish(self.video, path, provenance=self.provenance, credentials=credentials, privacy=privacy)
        for sidecar in (self.subtitles, self.subtitles_vtt):
            if sidecar is not None and sidecar.resolve() != target.with_suffix(sidecar.suffix).resolve():
                atomic_copy(sidecar, target.with_suffix(sidecar.suffix))
        return target


class EmbeddingResult(Result):
    """A text embedding.

    Example:
        >>> from aigc_sdk.provenance import Provenance
        >>> r = EmbeddingResult(embedding=[0.6, 0.8], provenance=Provenance(model_id="m", task="t", backend="b"))
        >>> r.dim
        2
    """

    embedding: tuple[float, ...] = Field(min_length=1)

    @property
    def dim(self) -> int:
        """Number of dimensions.

        Example:
            >>> from aigc_sdk.provenance import Provenance
            >>> EmbeddingResult(embedding=[1.0], provenance=Provenance(model_id="m", task="t", backend="b")).dim
            1
        """
        return len(self.embedding)


class ChartPlan(FrozenModel):
    """A chart of the story's data file, shown on one narrated line (columns of a CSV feed).

    Example:
        >>> ChartPlan(x="date", y="close").line
        1
    """

    kind: Literal["line", "bar", "delta"] = Field(default="line", description="Chart kind (see ChartSpec).")
    x: str = Field(min_length=1, max_length=200, description="Column on the x axis.")
    y: str = Field(min_length=1, max_length=200, description="Column on the y axis.")
    line: int = Field(default=1, ge=1, description="Narrated line it illustrates: 1 is the first body sentence.")


def _is_point_record(data: Any) -> bool:
    """Whether ``data`` is one place's record: a mapping with numeric ``latitude`` and ``longitude``."""
    if not isinstance(data, dict) or "features" in data:
        return False
    values = (data.get("latitude"), data.get("longitude"))
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


class LocationPlan(FrozenModel):
    """Location cards from a feed's points (GeoJSON point features, or one place's data), largest first.

    Example:
        >>> quake = {"features": [
        ...     {"geometry": {"type": "Point", "coordinates": [0, 0]}, "properties": {"mag": 4.1}},
        ...     {"geometry": {"type": "Point", "coordinates": [1, 1]}, "properties": {"mag": 6.4}},
        ...     {"geometry": {"type": "Polygon", "coordinates": []}, "properties": {"mag": 9.0}}]}
        >>> [f["properties"]["mag"] for f in LocationPlan(rank_by="mag", count=2).features(quake)]
        [6.4, 4.1]
    """

    rank_by: str = Field(default="mag", min_length=1, max_length=200, description="Property ranking the features.")
    count: int = Field(default=2, ge=1, le=50, description="How many location cards (lines 1..count).")

    def features(self, geojson: Any) -> list[dict[str, Any]]:
        """The point features to show, ranked by ``rank_by`` (largest first, ties in feed order), at most ``count``.

        One place's data with numeric ``latitude`` and ``longitude`` (an Open-Meteo forecast) is one point.

        Raises:
            InvalidRequestError: ``geojson`` is not a FeatureCollection-like mapping.

        Example:
            >>> LocationPlan().features({"features": []})
            []
            >>> LocationPlan().features({"latitude": 38.74, "longitude": -9.14})[0]["geometry"]["coordinates"]
            [-9.14, 38.74]
        """
        if _is_point_record(geojson):  # one place's data (an Open-Meteo forecast): its own point
            point = {"type": "Point", "coordinates": [geojson["longitude"], geojson["latitude"]]}
            return [{"type": "Feature", "geometry": point, "properties": {"place": geojson.get("name")}}]
        if not isinstance(geojson, dict) or not isinstance(geojson.get("features", []), list):
            raise InvalidRequestError("location cards need GeoJSON with a 'features' list")
        points = [
            f
            for f in geojson.get("features", [])
            if isinstance(f, dict) and (f.get("geometry") or {}).get("type") == "Point"
        ]
        ranked = sorted(points, key=lambda f: -float((f.get("properties") or {}).get(self.rank_by) or 0.0))
        return ranked[: self.count]


class RankingPlan(FrozenModel):
    """How a round-up ranks a feed's records, most newsworthy first: by each key in turn.

    A key with ``levels`` ranks by its place in that list (first is best; a value not in it,
    or none, after all of them); any other key ranks by its value, largest first (true before
    false; a missing or null value last). Ties keep the feed's order.

    Example:
        >>> plan = RankingPlan(by=("alert", "mag"), levels={"alert": ("red", "orange", "yellow", "green")})
        >>> plan.order([{"mag": 7.4, "alert": "green"}, {"mag": 6.3, "alert": "red"}, {"mag": 5.0, "alert": None}])
        [1, 0, 2]
    """

    by: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        min_length=1, description="Record fields, most important first (e.g. alert, tsunami, sig, felt, mag)."
    )
    levels: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Ordered levels of a field, best first (e.g. PAGER alert colours)."
    )

    def order(self, records: list[Any]) -> list[int]:
        """Indices of ``records`` (mappings), best first.

        Example:
            >>> RankingPlan(by=("felt",)).order([{"felt": None}, {"felt": 3}, {}])
            [1, 0, 2]
        """

        def key(index: int) -> tuple[float, ...]:
            record = records[index] if isinstance(records[index], dict) else {}
            parts: list[float] = []
            for name in self.by:
                value = record.get(name)
                if name in self.levels:
                    levels = self.levels[name]
                    parts.append(float(levels.index(value)) if value in levels else float(len(levels)))
                elif isinstance(value, int | float):
                    parts.append(-float(value))
                else:
                    parts.append(float("inf"))
            return (*parts, float(index))

        return sorted(range(len(records)), key=key)


class RecordsPlan(FrozenModel):
    """Which of a feed's records a story tells; the others are left out and counted in the story's provenance.

    A USGS "all earthquakes" feed lists quarry blasts, explosions and ice quakes beside earthquakes, and a new
    event can lack a magnitude for a while: a quake story keeps ``type = earthquake`` (a blast told as an
    earthquake is a wrong fact) and needs ``mag``. A record without a ``keep`` field is kept (a feed that does
    not label its events); one whose ``needs`` field is missing or null is left out.

    Example:
        >>> plan = RecordsPlan(keep={"type": ("earthquake",)}, needs=("mag",))
        >>> [plan.left_out(r) for r in ({"type": "earthquake", "mag": 2.1}, {"type": "quarry blast", "mag": 1.9},
        ...                             {"type": "earthquake", "mag": None}, {"mag": 4.0})]
        [None, 'type quarry blast', 'no mag', None]
    """

    keep: dict[Annotated[str, Field(min_length=1, max_length=200)], tuple[str, ...]] = Field(
        default_factory=dict, description="Field → the values a told record may have (e.g. type = ['earthquake'])."
    )
    needs: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        default=(), description="Fields a told record must have, not null (e.g. mag)."
    )

    def left_out(self, record: Any) -> str | None:
        """Why ``record`` is not told (``"type quarry blast"``, ``"no mag"``), or None when it is.

        Example:
            >>> RecordsPlan(needs=("mag",)).left_out({"mag": 0})
        """
        if not isinstance(record, dict):
            return None
        for name, values in self.keep.items():
            value = record.get(name)
            if value is not None and value not in values:
                return f"{name} {value}"
        for name in self.needs:
            if record.get(name) is None:
                return f"no {name}"
        return None


_DEFAULT_KICKERS = {"en": "NEWS", "zh": "新闻"}


class DataPlan(FrozenModel):
    """How a story type reads data as it arrives: public source formats it converts, the field ``--name`` sets.

    Example:
        >>> DataPlan(formats=("ohlcv",), name="index").formats
        ('ohlcv',)
    """

    formats: tuple[Literal["ohlcv", "open-meteo"], ...] = Field(
        default=(),
        description="Public formats converted to the template's own shape (see aigc_sdk.generators.text.sources).",
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="Data field a request's name sets; None: no name."
    )


class StoryPlan(FrozenModel):
    """What a story type shows besides its text: kicker, music mood, chart, location cards, and its feeds.

    Each built-in story template declares its plan in ``templates/<name>/story.toml``; an
    article's script gets the default plan (kicker ``NEWS``/``新闻``, a calm music bed).

    Example:
        >>> plan = StoryPlan(template="market-close", kicker={"en": "MARKETS"}, mood="upbeat",
        ...                  chart=ChartPlan(x="date", y="close"), feeds=(".csv",))
        >>> plan.kicker_for("en-GB"), plan.kicker_for("zh"), StoryPlan().kicker_for("zh")
        ('MARKETS', 'MARKETS', '新闻')
    """

    template: str | None = Field(default=None, max_length=200, description="The story template; None: an article.")
    kicker: dict[str, str] = Field(
        default_factory=lambda: dict(_DEFAULT_KICKERS), description="Kicker per language (primary subtag)."
    )
    mood: str = Field(default="calm", min_length=1, max_length=100, description="Mood of the music bed.")
    chart: ChartPlan | None = Field(default=None, description="A chart of the data, or none.")
    locations: LocationPlan | None = Field(default=None, description="Location cards from GeoJSON points, or none.")
    records: RecordsPlan | None = Field(
        default=None, description="Which of the feed's records the story tells (the others are counted, not told)."
    )
    ranking: RankingPlan | None = Field(
        default=None, description="How a round-up ranks the feed's records (its template reads them ranked)."
    )
    feeds: tuple[Annotated[str, Field(pattern=r"^\.[a-z0-9]+$")], ...] = Field(
        default=(), description="Feed file suffixes (e.g. '.csv') for which this template is the default."
    )
    data: DataPlan = Field(default_factory=DataPlan, description="Source formats it reads, the field a name sets.")

    @field_validator("kicker")
    @classmethod
    def _kicker_languages(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("kicker needs at least one language, e.g. {en = 'NEWS'}")
        for language, text in value.items():
            normalize_language(language)
            if not text.strip():
                raise ValueError(f"kicker for {language!r} is empty")
        return {primary_language(language): text.strip() for language, text in value.items()}

    def kicker_for(self, language: str) -> str:
        """The kicker in ``language``: its own entry, else the English one, else ``NEWS``/``新闻``.

        Example:
            >>> StoryPlan(kicker={"en": "WEATHER", "zh": "天气"}).kicker_for("zh-Hans")
            '天气'
        """
        primary = primary_language(language)
        return self.kicker.get(primary) or self.kicker.get("en") or _DEFAULT_KICKERS.get(primary, "NEWS")


class ParagraphSubject(FrozenModel):
    """What one paragraph of a story narrates: a record of the feed (its index and id) and the title it goes under.

    A paragraph about no single record (a closing count, a general note) has ``record`` None.

    Example:
        >>> ParagraphSubject(record=3, id="us7000abcd", title="western Afghanistan").record
        3
    """

    record: int | None = Field(default=None, ge=0, description="Index of the record (e.g. GeoJSON feature) narrated.")
    id: str | None = Field(default=None, max_length=200, description="The record's id (e.g. the GeoJSON feature id).")
    title: str | None = Field(default=None, max_length=500, description="Title of the cards above it.")


class StoryResult(Result):
    """A written story: a headline, narration paragraphs, and the plan of its story type (kicker, mood, visuals).

    Example:
        >>> from aigc_sdk.provenance import Provenance
        >>> r = StoryResult(headline="Quake hits", paragraphs=["A quake hit.", "No tsunami."], language="en",
        ...                 provenance=Provenance(model_id="m", task="t", backend="b"))
        >>> r.narration
        'A quake hit. No tsunami.'
    """

    headline: str = Field(min_length=1)
    paragraphs: tuple[str, ...] = Field(min_length=1)
    language: str
    plan: StoryPlan = Field(default_factory=StoryPlan, description="What the story shows besides its text.")
    subjects: tuple[ParagraphSubject, ...] = Field(
        default=(), description="What each paragraph narrates, one per paragraph; empty: not told (an article)."
    )

    @model_validator(mode="after")
    def _one_subject_per_paragraph(self) -> Self:
        if self.subjects and len(self.subjects) != len(self.paragraphs):
            raise ValueError(f"{len(self.subjects)} subjects for {len(self.paragraphs)} paragraphs")
        return self

    @property
    def narration(self) -> str:
        """The paragraphs as one text to read aloud (joined with a space, or nothing for Chinese).

        Example:
            >>> from aigc_sdk.provenance import Provenance
            >>> StoryResult(headline="标题", paragraphs=["第一段。", "第二段。"], language="zh",
            ...             provenance=Provenance(model_id="m", task="t", backend="b")).narration
            '第一段。第二段。'
        """
        return ("" if self.language.startswith("zh") else " ").join(self.paragraphs)

    @property
    def text(self) -> str:
        r"""Headline and paragraphs separated by blank lines.

        Example:
            >>> from aigc_sdk.provenance import Provenance
            >>> StoryResult(headline="H", paragraphs=["P1", "P2"], language="en",
            ...             provenance=Provenance(model_id="m", task="t", backend="b")).text
            'H\n\nP1\n\nP2'
        """
        return "\n\n".join((self.headline, *self.paragraphs))
