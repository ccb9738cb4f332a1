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

import enum
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    Field,
    FilePath,
    PlainSerializer,
    field_validator,
    model_validator,
)

from aigc_sdk._internal.model import FrozenModel
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.media import Audio, Image, Video
from aigc_sdk.provenance import Provenance

__all__ = [
    "AudioResult",
    "ImageRequest",
    "ImageResult",
    "MusicRequest",
    "Request",
    "Result",
    "Segment",
    "SpeechRequest",
    "Task",
    "TextRequest",
    "TextResult",
    "TranscribeRequest",
    "TranscriptResult",
    "VideoRequest",
    "VideoResult",
    "Word",
    "normalize_language",
]

MAX_SEED = 2**63 - 1

# ISO 639-1 codes plus the ISO 639-3 codes speech models commonly use.
_LANGUAGES = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz
    ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io
    is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr
    ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si
    sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu cmn yue wuu nan hak fil haw ast ceb""".split()
)
_LANG_TAG = re.compile(r"^([a-zA-Z]{2,3})((?:[-_][a-zA-Z0-9]{2,8})*)$")


def _parse_language(code: str) -> str:
    match = _LANG_TAG.match(code.strip())
    if not match or match.group(1).lower() not in _LANGUAGES:
        raise ValueError(f"unknown language {code!r}; use an ISO 639 code such as 'en', 'zh', 'en-US' or 'zh-Hans'")
    parts = [match.group(1).lower()]
    for sub in re.split(r"[-_]", match.group(2))[1:]:
        parts.append(sub.upper() if len(sub) == 2 else sub.title() if len(sub) == 4 else sub.lower())
    return "-".join(parts)


def normalize_language(code: str) -> str:
    """Validate a BCP-47-style language tag and return it normalised (``en-US``, ``zh-Hans``).

    Raises:
        InvalidRequestError: The primary language is not a known ISO 639 code.

    Example:
        >>> normalize_language("en_us"), normalize_language("ZH-hans"), normalize_language("cmn")
        ('en-US', 'zh-Hans', 'cmn')
        >>> try:
        ...     normalize_language("xx")
        ... except ValueError as e:
        ...     "unknown language" in str(e)
        True
    """
    try:
        return _parse_language(code)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from exc


class Task(enum.StrEnum):
    """The tasks a generator can perform.

    Example:
        >>> Task("text-to-speech") is Task.TEXT_TO_SPEECH
        True
    """

    TEXT_GENERATION = "text-generation"
    TEXT_TO_IMAGE = "text-to-image"
    TEXT_TO_SPEECH = "text-to-speech"
    TEXT_TO_MUSIC = "text-to-music"
    SPEECH_TO_TEXT = "speech-to-text"
    IMAGES_TO_VIDEO = "images-to-video"


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
        return _parse_language(value) if isinstance(value, str) else value

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
    shape_fields: ClassVar[tuple[str, ...]] = ("width", "height", "steps", "guidance", "sampler", "num_outputs")

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


class VideoRequest(Request):
    """Make a video from images (``images-to-video``): a slideshow with optional audio and subtitles.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Image
        >>> frame = Image.from_array(np.zeros((64, 64, 3), dtype=np.uint8))
        >>> VideoRequest(images=[frame, frame], durations=[1.5, 2.0], fps=25).fps
        25
    """

    task: ClassVar[Task] = Task.IMAGES_TO_VIDEO
    shape_fields: ClassVar[tuple[str, ...]] = ("width", "height", "fps")

    images: tuple[ImageInput, ...] = Field(min_length=1, max_length=10_000, description="Frames/slides in order.")
    durations: tuple[Annotated[float, Field(gt=0.0, le=3600.0)], ...] | None = Field(
        default=None, description="Seconds per image; None: spread over the audio or 3 s each."
    )
    prompt: str | None = Field(default=None, max_length=2_000, description="Title or description.")
    fps: int = Field(default=25, ge=1, le=120, description="Frames per second.")
    width: int = Field(default=1280, ge=16, le=7680, multiple_of=2, description="Pixels; even.")
    height: int = Field(default=720, ge=16, le=4320, multiple_of=2, description="Pixels; even.")
    audio: AudioInput | None = Field(default=None, description="Soundtrack (path or Audio).")
    subtitles: FilePath | None = Field(default=None, description="SRT file to burn in.")
    transition: Literal["none", "crossfade"] = Field(default="crossfade", description="Between images.")
    transition_duration: float = Field(default=0.5, ge=0.0, le=10.0, description="Seconds.")
    motion: Literal["none", "ken-burns"] = Field(default="ken-burns", description="Camera motion on stills.")
    sample_rate: int | None = Field(default=None, ge=8_000, le=192_000, description="Audio rate in the file.")

    @model_validator(mode="after")
    def _durations_match(self) -> Self:
        if self.durations is not None and len(self.durations) != len(self.images):
            raise ValueError(f"{len(self.durations)} durations for {len(self.images)} images")
        return self


# ---------------------------------------------------------------------------------------------- results


class Word(FrozenModel):
    """A word with its time span in seconds.

    Example:
        >>> Word(text="hello", start=0.0, end=0.4).end
        0.4
    """

    text: str
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    probability: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Segment(FrozenModel):
    """A sentence or phrase with its time span and, when known, its words.

    Example:
        >>> Segment(text="Hi there.", start=0.0, end=0.8).duration
        0.8
    """

    text: str
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    words: tuple[Word, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def duration(self) -> float:
        """Length in seconds.

        Example:
            >>> Segment(text="a", start=1.0, end=1.5).duration
            0.5
        """
        return round(self.end - self.start, 9)


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
        >>> r = TextResult(texts=["A", "B"], provenance=Provenance(model_id="m", task="t", backend="b"))
        >>> r.text
        'A'
    """

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

    def save(self, path: str | Path) -> list[Path]:
        """Save every image (``name.png``, or ``name-1.png``, ``name-2.png`` …) with provenance.

        Example:
            >>> import numpy as np, tempfile, pathlib
            >>> from aigc_sdk.provenance import Provenance
            >>> imgs = [Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8)) for _ in range(2)]
            >>> result = ImageResult(images=imgs, provenance=Provenance(model_id="m", task="t", backend="b"))
            >>> [p.name for p in result.save(pathlib.Path(tempfile.mkdtemp()) / "fox.png")]
            ['fox-1.png', 'fox-2.png']
        """
        target = Path(path)
        return [
            img.save(_numbered(target, i, len(self.images)), provenance=self.provenance)
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

    def save(self, path: str | Path) -> Path:
        """Save the audio (WAV/FLAC/OGG/MP3) with provenance.

        Example:
            >>> import tempfile, pathlib
            >>> from aigc_sdk.provenance import Provenance
            >>> result = AudioResult(audio=Audio([0.0] * 800, 8000),
            ...                      provenance=Provenance(model_id="m", task="t", backend="b"))
            >>> result.save(pathlib.Path(tempfile.mkdtemp()) / "speech.flac").suffix
            '.flac'
        """
        return self.audio.save(path, provenance=self.provenance)


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
    """A rendered video file, with its subtitle file when one was written.

    Example:
        >>> VideoResult.model_fields["video"].annotation is Video
        True
    """

    video: Video
    subtitles: Path | None = None

    def save(self, path: str | Path) -> Path:
        """Copy the video to ``path`` with provenance tags (no re-encode).

        Example:
            >>> result.save("out/final.mp4")  # doctest: +SKIP
            PosixPath('out/final.mp4')
        """
        return self.video.save(path, provenance=self.provenance)
