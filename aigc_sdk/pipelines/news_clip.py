"""``news_clip``: an article or a data feed → script → narration → visuals → timeline → MP4s + SRT + VTT + manifest.

Read it top to bottom: the config, the options each step reads, the five steps (typed
functions: their signatures are the DAG), and :func:`news_clip`, the recipe that checks
the options, builds the step options, runs the steps and publishes. Every stage is
cached (see :mod:`aigc_sdk.pipelines.base`), so an interrupted run resumes where it
stopped. Models are reached only through a :class:`~aigc_sdk.studio.Studio`; cards and
charts need no weights.

One job makes the clip in every aspect it is asked for (``aspects=["16:9", "9:16"]``): the
story's stages (script, narration, music) are made once, and each aspect adds its own visuals
(the same cards laid out for its frame) and render; each aspect's clip comes with its subtitles,
a poster (its title card, as a JPEG) and chapter marks, and one manifest lists them all.

Example:
    >>> from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
    >>> config = NewsClipConfig(input="examples/data/usgs_significant_week.geojson", output="out/quake.mp4")
    >>> clip = news_clip(config)  # doctest: +SKIP
    >>> clip.video, clip.duration  # doctest: +SKIP
    (PosixPath('out/quake.mp4'), 41.3)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, BaseModel, DirectoryPath, Field, FilePath, field_validator, model_validator

from aigc_sdk._internal.files import atomic_copy, atomic_write_json
from aigc_sdk._internal.hashing import sha256_file
from aigc_sdk._internal.languages import speaks
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk._internal.settings import Settings
from aigc_sdk._version import __version__
from aigc_sdk.errors import InvalidRequestError, MediaError, PipelineCancelledError, PipelineError
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec, Theme
from aigc_sdk.generators.image.charts import ChartRenderer, ChartSpec
from aigc_sdk.generators.text.sources import load_story_data
from aigc_sdk.generators.text.spoken import spoken_form
from aigc_sdk.generators.text.template import feed_templates, relative_times_hold, template_for_feed
from aigc_sdk.generators.video.brand import Brand, load_brand
from aigc_sdk.generators.video.captions import caption_band, caption_reach
from aigc_sdk.media import Image, Video, read_sidecar
from aigc_sdk.pipelines.base import Pipeline, PipelineEvent, PipelineRun, StepContext, step
from aigc_sdk.pipelines.branding import (
    BrandVisuals,
    Captions,
    brand_visuals,
    branded_render,
    caption_style,
    chapters_after_intro,
    event_places,
    join_brand_clips,
    overlay_ceiling,
    placed_top,
)
from aigc_sdk.pipelines.timeline import Timeline, Visual
from aigc_sdk.provenance import Provenance, redact
from aigc_sdk.studio import Studio
from aigc_sdk.trust.credentials import INGREDIENT_TYPES, Ingredient, signs_by_default
from aigc_sdk.trust.licenses import data_licences, font_licences, licence_warnings
from aigc_sdk.trust.publishing import publish
from aigc_sdk.types import (
    Chapter,
    FieldMap,
    ImageRequest,
    Motion,
    MusicRequest,
    ParagraphSubject,
    ScriptRequest,
    Segment,
    SpeechRequest,
    StoryPlan,
    StoryResult,
    SubtitleStyle,
    Task,
    TemplateRequest,
    VideoEncoding,
    VideoGenerationRequest,
    VideoResult,
    normalize_language,
)

__all__ = ["Aspect", "AspectClip", "NewsClip", "NewsClipConfig", "news_clip"]

#: A clip's aspect ratio: landscape for sites and YouTube, portrait for Shorts/Reels/TikTok, square and 4:5 for feeds.
Aspect = Literal["16:9", "9:16", "1:1", "4:5"]
#: Frame size per aspect at 720p (the shorter side is 720); 1080p scales by 1.5.
FRAMES: dict[str, tuple[int, int]] = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720), "4:5": (720, 900)}
ARTICLE_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
#: RSS and Atom feeds: one clip per item, so not one config (see :mod:`aigc_sdk.pipelines.feeds`).
SYNDICATION_SUFFIXES = (".rss", ".atom", ".xml")


def _landscape() -> list[Aspect]:
    return ["16:9"]


class NewsClipConfig(FrozenModel):
    """Options of a news clip; load from YAML with :meth:`from_yaml` or build from CLI flags.

    ``aspect="9:16"`` is the one-aspect spelling of ``aspects=["9:16"]``; ``aspect="16:9,9:16"``
    (the CLI's and YAML's spelling) gives several.

    Example:
        >>> c = NewsClipConfig(input="examples/data/article_en.md", output="out/park.mp4", aspect="9:16")
        >>> c.frame_size, c.kind
        ((720, 1280), 'article')
        >>> NewsClipConfig(input="examples/data/article_en.md", output="o.mp4", aspect="16:9,4:5").frame_sizes
        {'16:9': (1280, 720), '4:5': (720, 900)}
    """

    input: FilePath = Field(description="Article (.md/.txt/.html) or feed (.geojson/.json/.csv).")
    output: Path = Field(
        description="The MP4 to write; SRT, VTT, poster and manifest go beside it (several aspects: out.16x9.mp4 …)."
    )
    template: str | None = Field(default=None, description="Feed template; None: from the feed's suffix.")
    language: str | None = Field(default=None, description="Script language; None: detected (articles) or 'en'.")
    voice: str | None = Field(default=None, description="Speech model id; None: the default voice for the language.")
    aspects: list[Aspect] = Field(
        default_factory=_landscape,
        validation_alias=AliasChoices("aspects", "aspect"),
        description="One clip per aspect from one script, narration and music; also aspect='9:16' or '16:9,9:16'.",
    )
    resolution: Literal[720, 1080] = 720
    fps: int = Field(default=25, ge=10, le=60)
    target_seconds: float = Field(
        default=60.0, ge=5.0, le=600.0,
        description="Narration length: an article is condensed to it, a feed round-up covers the events that fit.",
    )  # fmt: skip
    music: bool = Field(default=True, description="Lay a music bed under the narration (ducked).")
    subtitles: bool = Field(default=True, description="Burn subtitles into the frames (sidecars are always written).")
    photos: Path | None = Field(default=None, description="Folder of photos to match to sentences.")
    image_model: str | None = Field(default=None, description="Text-to-image model for visuals (e.g. sd-turbo).")
    video_model: str | None = Field(
        default=None,
        description="Video diffusion model (text-to-video with image-to-video, e.g. wan2.2-ti2v-5b) that animates "
        "the photo and generated-image stills; None: stills with Ken Burns moves.",
    )
    broll: bool = Field(
        default=False,
        description="With video_model: short b-roll made from each body sentence (text-to-video) shows instead of "
        "its text card; the title, quotes, maps and charts stay. Each segment's footage is cached on its own.",
    )
    theme: Theme = Field(default_factory=Theme, description="Colours and fonts of cards and charts.")
    brand: FilePath | None = Field(
        default=None, description="Brand kit (TOML/YAML): colours, fonts, logo, intro/outro, lower thirds …"
    )
    captions: Literal["sentence", "words", "off"] | None = Field(
        default=None, description="Burned-in captions; None: the brand's style (sentence without a brand)."
    )
    timezone: str | None = Field(default=None, description="IANA time zone for feed times.")
    field_map: FieldMap = Field(
        default_factory=dict, description="Feed columns/keys renamed to the template's fields (--map Zeit=date)."
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="The feed's subject: an index, a place (--name)."
    )
    seed: int = Field(default=0, ge=0, description="Seed for every stage (voice, motion, music, images).")
    cache_dir: Path | None = Field(default=None, description="Stage cache; None: <AIGC_CACHE_DIR>/pipelines.")
    credentials: bool | None = Field(
        default=None,
        description="Sign the MP4 with C2PA content credentials; None: as saves do (trust extra, AIGC_CREDENTIALS).",
    )
    privacy: bool = Field(
        default=False, description="Record sha256 hashes of prompts and scripts, and file names, not the text/paths."
    )
    watermark: bool = Field(
        default=True, description="Invisible watermark in the frames of generated visuals (never on your photos)."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.keys() >= _ASPECT_KEYS:
            raise ValueError("aspect and aspects both give the clip's aspects (hint: give one of them)")
        return data

    @field_validator("aspects", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``aspect="9:16"`` (one aspect) or ``"16:9,9:16"`` (several): the CLI's and YAML's spelling."""
        return [part.strip() for part in value.split(",")] if isinstance(value, str) else value

    @field_validator("aspects")
    @classmethod
    def _distinct_aspects(cls, aspects: list[Aspect]) -> list[Aspect]:
        if not aspects:
            raise ValueError("aspects is empty: a clip needs at least one aspect (hint: e.g. ['16:9'])")
        repeated = sorted({a for a in aspects if aspects.count(a) > 1})
        if repeated:
            raise ValueError(f"aspects gives {', '.join(repeated)} more than once (hint: name each aspect once)")
        return aspects

    @model_validator(mode="after")
    def _check(self) -> Self:
        suffix = self.input.suffix.lower()
        feeds = feed_templates()  # the suffixes the story templates declare (.geojson, .csv)
        if suffix in SYNDICATION_SUFFIXES:
            raise ValueError(
                f"{self.input.name} is an RSS/Atom feed: it makes one clip per item, not one clip "
                "(hint: use news_clips_from_feed, or aigc news-clip FEED -o FOLDER/)"
            )
        if suffix not in (*ARTICLE_SUFFIXES, ".json", *feeds):
            raise ValueError(
                f"input must be an article (.md/.txt/.html) or a feed (.geojson/.json/.csv), got {suffix!r}"
            )
        if self.kind == "feed" and self.template is None and suffix not in feeds:
            raise ValueError(f"a {suffix} feed needs a template (e.g. --template usgs-earthquakes)")
        if self.output.suffix.lower() != ".mp4":
            raise ValueError(f"output must be an .mp4 file, got {self.output.name!r}")
        if self.photos is not None and not self.photos.is_dir():
            raise ValueError(f"photos folder {self.photos} does not exist")
        if self.language is not None:
            normalize_language(self.language)
        self._check_applies()
        if self.brand is not None:
            if "theme" in self.model_fields_set:
                raise ValueError("brand and theme both set the look: give one of them (hint: the brand has colours)")
            brand = self.brand_kit  # every brand problem, before any work (read once, kept for the run)
            assert brand is not None
            if self.language is not None or self.kind == "feed":
                brand.check_language(self.language or "en")
        if self.captions not in (None, "off") and not self.subtitles:
            raise ValueError(f"captions={self.captions!r} and subtitles=False contradict each other: give one of them")
        return self

    @functools.cached_property
    def brand_kit(self) -> Brand | None:
        """The brand file read, once per config (None: no brand, the built-in theme).

        Example:
            >>> NewsClipConfig(input="examples/data/article_en.md", output="o.mp4").brand_kit is None
            True
        """
        return None if self.brand is None else load_brand(self.brand)

    @property
    def caption_mode(self) -> Captions:
        """The burned-in caption style: ``off`` without subtitles, else the option, the brand's, or ``sentence``.

        Example:
            >>> NewsClipConfig(input="examples/data/article_en.md", output="o.mp4", subtitles=False).caption_mode
            'off'
        """
        if not self.subtitles:
            return "off"
        brand = self.brand_kit
        return self.captions or (brand.captions.style if brand is not None else "sentence")

    def _check_applies(self) -> None:
        """No option is silently ignored: one that cannot apply to this input is an error."""
        if self.kind == "article":
            feed_only = [
                f"{name}={getattr(self, name)!r}"
                for name in ("template", "timezone", "field_map", "name")
                if getattr(self, name)
            ]
            if feed_only:
                raise ValueError(
                    f"{' and '.join(feed_only)}: only for feeds, and {self.input.name} is an article "
                    "(hint: leave them out; a feed template tells a .geojson/.csv/.json feed)"
                )
        if self.broll and self.video_model is None:
            raise ValueError("broll makes footage with a video model: give video_model too (hint: --video-model ID)")
        if self.photos is not None and self.image_model is not None:
            raise ValueError(
                "photos and image_model both choose the visuals: your photos would hide every generated image "
                "(hint: give one of them)"
            )

    @classmethod
    def from_yaml(cls, path: str | Path, *, defaults: dict[str, Any] | None = None, **overrides: Any) -> NewsClipConfig:
        r"""Read a YAML file (keys are this model's fields) over ``defaults``; ``overrides`` that are not None win.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "clip.yaml"
            >>> _ = p.write_text("input: examples/data/article_en.md\noutput: out/a.mp4\naspect: '1:1'\n")
            >>> NewsClipConfig.from_yaml(p).aspect
            '1:1'
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        options = {**(defaults or {}), **cls.yaml_options(path)}
        if given.keys() & _ASPECT_KEYS:  # a flag's aspects replace the file's, whichever spelling each uses
            options = {k: v for k, v in options.items() if k not in _ASPECT_KEYS}
        return cls.model_validate({**options, **given})

    @staticmethod
    def yaml_options(path: str | Path) -> dict[str, Any]:
        r"""The options a YAML clip config holds, unchecked (a feed applies them to each of its clips).

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "clip.yaml"
            >>> _ = p.write_text("aspect: '1:1'\nmusic: false\n")
            >>> NewsClipConfig.yaml_options(p)
            {'aspect': '1:1', 'music': False}
        """
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidRequestError(f"cannot read clip config {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidRequestError(f"clip config {path} must be a mapping of options")
        return data

    @property
    def kind(self) -> Literal["article", "feed"]:
        """``article`` for prose, ``feed`` for structured data.

        Example:
            >>> NewsClipConfig(input="examples/data/market_close.csv", output="o.mp4").kind
            'feed'
        """
        return "article" if self.input.suffix.lower() in ARTICLE_SUFFIXES else "feed"

    @property
    def aspect(self) -> Aspect:
        """The first aspect: the clip's, when there is one.

        Example:
            >>> NewsClipConfig(input="examples/data/article_en.md", output="o.mp4", aspects=["9:16", "1:1"]).aspect
            '9:16'
        """
        return self.aspects[0]

    @property
    def frame_size(self) -> tuple[int, int]:
        """``(width, height)`` of the (first aspect's) video.

        Example:
            >>> NewsClipConfig(input="examples/data/article_en.md", output="o.mp4", resolution=1080).frame_size
            (1920, 1080)
        """
        return self.frame_sizes[self.aspect]

    @property
    def frame_sizes(self) -> dict[str, tuple[int, int]]:
        """``(width, height)`` of each aspect's video, in the order of ``aspects``.

        Example:
            >>> NewsClipConfig(input="examples/data/article_en.md", output="o.mp4", aspects=["4:5"],
            ...                resolution=1080).frame_sizes
            {'4:5': (1080, 1350)}
        """
        scale = self.resolution / 720
        return {a: (round(FRAMES[a][0] * scale / 2) * 2, round(FRAMES[a][1] * scale / 2) * 2) for a in self.aspects}


#: The two spellings of a config's aspects.
_ASPECT_KEYS = frozenset({"aspect", "aspects"})


# ------------------------------------------------------------------------------------------ step options


class ArticleOptions(FrozenModel):
    """What the script step reads from an article: the file, its language, the narration length, the seed.

    Example:
        >>> ArticleOptions(input="examples/data/article_en.md", target_seconds=30, seed=1).language is None
        True
    """

    input: FilePath
    language: str | None = None
    target_seconds: float
    seed: int


class FeedOptions(FrozenModel):
    """What the script step reads from a feed: the file, its template, language, time zone, length, the seed.

    Example:
        >>> FeedOptions(input="examples/data/market_close.csv", template="market-close", seed=0).language
        'en'
    """

    input: FilePath
    template: str
    language: str = "en"
    timezone: str | None = None
    field_map: FieldMap = Field(default_factory=dict)
    name: str | None = None
    target_seconds: float | None = Field(default=None, description="Round-up length; None: every event.")
    relative_times: bool = Field(default=True, description="Whether the story may say '11 hours ago' (fresh feed).")
    told_on: _dt.date | None = Field(
        default=None, description="The day (UTC) the story is told: in the key, so 'today' in a forecast is that day's."
    )
    seed: int


class VoiceOptions(FrozenModel):
    """What the narration step reads: the speech model (None: the Studio's voice for the language), the seed.

    Example:
        >>> VoiceOptions(seed=3).model is None
        True
    """

    model: str | None = None
    seed: int


class VisualOptions(FrozenModel):
    """What the visuals step reads: frame size, theme, photos or image model, the feed charts and maps draw on.

    Example:
        >>> VisualOptions(width=1280, height=720, seed=0).feed is None
        True
    """

    width: int
    height: int
    theme: Theme = Field(default_factory=Theme)
    photos: DirectoryPath | None = None
    image_model: str | None = None
    video_model: str | None = Field(default=None, description="Animates photo and generated stills (image-to-video).")
    broll: bool = Field(default=False, description="Body segments show b-roll from their sentence (text-to-video).")
    feed: FilePath | None = Field(default=None, description="The feed (charts, maps); None for an article.")
    brand: Brand | None = Field(default=None, description="The brand kit: its cards, lower thirds, disclosure.")
    field_map: FieldMap = Field(
        default_factory=dict, description="The feed's columns renamed (charts read the fields)."
    )
    caption_band: float = Field(
        default=0.0, ge=0.0, le=0.5, description="Share of the height at the bottom cards keep free for captions."
    )
    captions: Captions = Field(default="sentence", description="The captions' style: where lower thirds may reach.")
    figure_band: float = Field(
        default=0.0,
        ge=0.0,
        le=0.5,
        description="Share of the height at the bottom charts and maps keep free for captions (axes, scale bars).",
    )
    seed: int


class MusicOptions(FrozenModel):
    """What the music step reads: whether to lay a bed, the seed.

    Example:
        >>> MusicOptions(enabled=False, seed=0).enabled
        False
    """

    enabled: bool
    seed: int


class RenderOptions(FrozenModel):
    """What the render step reads: frame size and rate, subtitles, watermark, the text-safe margin, the seed.

    Example:
        >>> RenderOptions(width=720, height=720, fps=25, subtitles=True, watermark=True, safe_margin=0.06, seed=0).fps
        25
    """

    width: int
    height: int
    fps: int
    subtitles: bool
    watermark: bool
    safe_margin: float
    seed: int
    brand: Brand | None = None
    captions: Captions = "sentence"


# ------------------------------------------------------------------------------------------ step outputs


class Script(BaseModel):
    """The script stage: headline + sentences to narrate, and the story's plan (kicker, mood, chart, maps)."""

    headline: str
    sentences: list[str]
    language: str
    template: str | None
    plan: StoryPlan
    subjects: list[ParagraphSubject] = Field(
        default_factory=list, description="What each sentence narrates (its paragraph's subject); empty: not told."
    )
    provenance: dict[str, Any]


class Narration(BaseModel):
    """The narration stage: the WAV and one timed segment per narrated sentence."""

    audio: Path
    duration: float
    segments: list[Segment]
    provenance: dict[str, Any]


class Visuals(BaseModel):
    """The visuals stage: one still per narrated sentence."""

    items: list[Visual]
    brand: BrandVisuals | None = None


class Music(BaseModel):
    """The music stage: the bed, or nothing when music is off."""

    audio: Path | None
    provenance: dict[str, Any] | None


class Render(BaseModel):
    """The render stage: the MP4 (with its chapter marks) and its subtitle sidecars."""

    video: Path
    srt: Path | None
    vtt: Path | None
    timeline: Timeline
    chapters: list[Chapter]
    provenance: dict[str, Any]
    brand: dict[str, Any] | None = None


class AspectClip(BaseModel):
    """One aspect's clip as published: its MP4, subtitles, poster, frame size and chapter marks.

    Example:
        >>> from pathlib import Path
        >>> clip = AspectClip(aspect="9:16", width=720, height=1280, video=Path("c.9x16.mp4"), srt=None,
        ...                   vtt=None, poster=Path("c.9x16.jpg"), chapters=[])
        >>> [path.name for path in clip.files]
        ['c.9x16.mp4', 'c.9x16.jpg']
    """

    aspect: Aspect
    width: int
    height: int
    video: Path
    srt: Path | None
    vtt: Path | None
    poster: Path = Field(description="The title card at the clip's size, as a JPEG.")
    chapters: list[Chapter] = Field(description="The chapter marks in the MP4, one per story segment.")

    @property
    def files(self) -> list[Path]:
        """The files this aspect published: video, subtitles and poster, in that order.

        Example:
            >>> from pathlib import Path
            >>> AspectClip(aspect="1:1", width=720, height=720, video=Path("c.mp4"), srt=Path("c.srt"), vtt=None,
            ...            poster=Path("c.jpg"), chapters=[]).files[1].name
            'c.srt'
        """
        return [path for path in (self.video, self.srt, self.vtt, self.poster) if path is not None]


class NewsClip(BaseModel):
    """What :func:`news_clip` made: each aspect's clip, the manifest, the length, and which stages were reused.

    ``video``, ``srt`` and ``vtt`` are the first aspect's (the clip's, when there is one aspect).
    With several aspects, a stage made for one aspect is named with it (``render 9:16``) in
    ``reused`` and ``seconds``.

    Example:
        >>> NewsClip.model_fields["video"].annotation
        <class 'pathlib.Path'>
    """

    video: Path
    srt: Path | None
    vtt: Path | None
    manifest: Path
    duration: float
    reused: list[str]
    seconds: dict[str, float]
    clips: list[AspectClip] = Field(min_length=1, description="One per aspect, in the order asked.")

    @property
    def files(self) -> list[Path]:
        """Every file the job published: each aspect's video, subtitles and poster, then the manifest.

        Example:
            >>> from pathlib import Path
            >>> one = AspectClip(aspect="16:9", width=1280, height=720, video=Path("c.mp4"), srt=None, vtt=None,
            ...                  poster=Path("c.jpg"), chapters=[])
            >>> clip = NewsClip(video=one.video, srt=None, vtt=None, manifest=Path("c.manifest.json"),
            ...                 duration=1.0, reused=[], seconds={}, clips=[one])
            >>> [path.name for path in clip.files]
            ['c.mp4', 'c.jpg', 'c.manifest.json']
        """
        return [*(path for clip in self.clips for path in clip.files), self.manifest]


# ------------------------------------------------------------------------------------------ steps


@step(version="3")  # 2: quakes only; zh kickers; "today" only on the forecast's day; 3: page time stamps dropped
def script(ctx: StepContext, source: ArticleOptions | FeedOptions) -> Script:
    """The article condensed to its target length, or the feed told by its template; one sentence per line."""
    request = _story_request(source)
    story: StoryResult = ctx.studio.run(request)
    split = [split_sentences(p) for p in story.paragraphs]
    sentences = [s for part in split for s in part]
    told = zip(story.subjects, split, strict=True) if story.subjects else ()  # an article tells no subjects
    subjects = [subject for subject, part in told for _ in part]
    if not sentences:
        raise InvalidRequestError(f"{source.input} gave no sentences to narrate")
    return Script(
        headline=story.headline,
        sentences=sentences,
        language=story.language,
        template=source.template if isinstance(source, FeedOptions) else None,
        plan=story.plan,
        subjects=subjects,
        provenance=story.provenance.to_dict(),
    )


@step
def narration(ctx: StepContext, script: Script, voice: VoiceOptions) -> Narration:
    """The headline and every sentence spoken in one WAV, with one timed segment per line."""
    lines = _lines(script)
    request = SpeechRequest(prompt="\n\n".join(lines), language=script.language, seed=voice.seed)
    result = ctx.studio.run(request, model=voice.model)
    if len(result.segments) != len(lines):
        raise PipelineError(f"the voice returned {len(result.segments)} sentence timings for {len(lines)} sentences")
    path = result.save(ctx.workdir / "narration.wav")
    return Narration(
        audio=path,
        duration=result.audio.duration,
        segments=list(result.segments),
        provenance=result.provenance.to_dict(),
    )


@step(version="6")  # 2: lower third band; 3: charts keep captions' band; 4: maps too; 5: zh dates; 6: titled speakers
def visuals(ctx: StepContext, script: Script, look: VisualOptions) -> Visuals:
    """One still per line: the title card, then a matched photo, a generated image, a chart or a card."""
    lines = _lines(script)
    if look.brand is not None:
        look.brand.check_text("\n".join(lines))  # the brand fonts draw the story, before any card is drawn
    photos = _photo_matches(ctx, look.photos, lines[1:])
    features = _located_features(script, look)
    cards, charts = CardRenderer(), ChartRenderer()
    made = None
    if look.brand is not None:  # first: the card under a lower third keeps the third's band free of text
        titles = [None] + [subject.title for subject in script.subjects]
        places = event_places(features, titles, len(lines))
        made = brand_visuals(look.brand, lines, places, width=look.width, height=look.height, workdir=ctx.workdir)
    ceiling = overlay_ceiling(look.brand, look.captions, look.width, look.height)
    bands = {t.line: _band_above(placed_top(t, ceiling), look) for t in made.lower_thirds} if made is not None else {}

    def make(index: int) -> Visual:
        path = ctx.workdir / f"visual-{index:03d}.png"
        if index > 0 and photos:
            match = photos[index - 1]
            return Visual(path=match, kind="photo", source=str(match), license="user-supplied")
        if index > 0 and look.image_model is not None:
            request = ImageRequest(
                prompt=lines[index], width=_mult8(look.width), height=_mult8(look.height), seed=look.seed + index
            )
            result = ctx.studio.run(request, model=look.image_model)
            publish(result.image, path, provenance=result.provenance)
            return Visual(
                path=path, kind="generated", source=result.provenance.model_id, license=result.provenance.license
            )
        chart = _chart_for(index, script, look)
        if chart is not None and look.feed is not None:
            table = load_story_data(look.feed, field_map=look.field_map, plan=script.plan.data).data
            publish(charts.render(chart, table), path)
            return Visual(path=path, kind="chart", source="chart-renderer", license="Apache-2.0")
        spec = _card_for(index, lines, script, features, look, bands.get(index, look.caption_band))
        if spec.layout == "body":
            body.add(index)
        publish(cards.render(spec), path)  # its provenance (fonts and their licences) goes into the sidecar
        return Visual(path=path, kind="card", source="card-renderer", license="Apache-2.0")

    body: set[int] = set()  # the segments whose card is a body of text: b-roll may take their place
    items = ctx.map(make, range(len(lines)))
    if look.video_model is not None:  # photos and generated images move; titles, quotes, charts and maps stay
        items = ctx.map(lambda i: _animated(ctx, items[i], lines[i], look, i, i in body), range(len(items)))
    return Visuals(items=items, brand=made)


def _animated(ctx: StepContext, visual: Visual, line: str, look: VisualOptions, index: int, body: bool) -> Visual:
    """The visual with footage from the video model, made once per segment (kept when the step fails).

    A photo or a generated image is animated (image-to-video); with ``broll``, a body card's sentence
    becomes b-roll (text-to-video), the card kept as the segment's still.
    """
    broll = look.broll and body and visual.kind == "card"
    if look.video_model is None or not (broll or visual.kind in ("photo", "generated")):
        return visual
    spec = ctx.studio.model_for(Task.TEXT_TO_VIDEO, look.video_model)
    image = None if broll else visual.path
    key = {"model": spec.model_dump(mode="json"), "prompt": line, "seed": look.seed + index,
           "image": sha256_file(image) if image is not None else None}  # fmt: skip

    def make(path: Path) -> None:
        request = VideoGenerationRequest(prompt=line, image=image, seed=look.seed + index, output=path)
        ctx.studio.run(request, model=look.video_model)

    footage = ctx.cached_file(key, ".mp4", make)
    if broll:
        return visual.model_copy(update={"clip": footage, "kind": "generated", "source": spec.id,
                                         "license": spec.license})  # fmt: skip
    return visual.model_copy(update={"clip": footage})


@step
def music(ctx: StepContext, script: Script, narration: Narration, bed: MusicOptions) -> Music:
    """A bed in the story's mood, half a second longer than the narration; nothing when music is off."""
    if not bed.enabled:
        return Music(audio=None, provenance=None)
    mood = script.plan.mood
    request = MusicRequest(
        prompt=f"{mood} news bed", duration=round(narration.duration + 0.5, 2), mood=mood, seed=bed.seed
    )
    result = ctx.studio.run(request)
    path = result.save(ctx.workdir / "music.wav")
    return Music(audio=path, provenance=result.provenance.to_dict())


@step(version="6")  # 4: slides x264 preset, stills on their own pixels; 5: dips; 6: one soundtrack per mix, muxed
def render(
    ctx: StepContext, script: Script, narration: Narration, visuals: Visuals, music: Music, video: RenderOptions
) -> Render:
    """The timeline (stills on the narration's sentence timings, cues, chapters) encoded as an MP4 with SRT and VTT."""
    if len(visuals.items) != len(narration.segments):
        raise PipelineError(f"{len(visuals.items)} visuals for {len(narration.segments)} narrated sentences")
    # cards and charts carry text: a centred push instead of a seeded Ken Burns move
    items = [
        v.model_copy(update={"motion": _text_safe_motion(i, video.seed, video.safe_margin)})
        if v.kind in ("card", "chart")
        else v
        for i, v in enumerate(visuals.items)
    ]
    timeline = Timeline.from_speech(narration.segments, items, duration=narration.duration, narration=narration.audio)
    chapters = _chapters(script, timeline)
    branded: dict[str, Any] = {}
    record = None
    brand = video.brand or (Brand() if video.captions == "words" else None)  # word captions need no brand file
    if brand is not None:
        spoken = tuple(narration.segments)
        timeline, branded, record = branded_render(timeline, visuals.brand or BrandVisuals(), brand, spoken=spoken,
                                                   captions=video.captions, width=video.width, height=video.height,
                                                   workdir=ctx.workdir)  # fmt: skip
        if record["intro"] == "still":  # the story starts after the intro, which belongs to the headline's chapter
            chapters = chapters_after_intro(chapters, timeline.slide_durations()[0])
        if chapters:  # a still outro closes the last chapter
            chapters[-1] = chapters[-1].model_copy(update={"end": round(timeline.duration, 6)})
    elif video.captions == "sentence" and (style := caption_style(None, "sentence", video.width, video.height)):
        branded["subtitle_style"] = style  # 9:16 captions stay out of the platforms' UI bands, brand or not
    clips = brand is not None and bool(brand.clips())  # intro/outro video files, joined after rendering
    name = "story.mp4" if clips else "clip.mp4"
    request = timeline.to_video_request(
        width=video.width,
        height=video.height,
        fps=video.fps,
        music=music.audio,
        chapters=chapters,
        seed=video.seed,
        prompt=script.headline,
        encoding=VideoEncoding(output=ctx.workdir / name, watermark=None if video.watermark else False),
        **({"burn_subtitles": video.subtitles} | branded),
    )
    result: VideoResult = ctx.studio.run(request)
    if brand is not None and clips and record is not None:
        joined = join_brand_clips(result, request, brand, timeline=timeline, chapters=chapters, record=record,
                                  workdir=ctx.workdir)  # fmt: skip
        provenance = joined.provenance.to_dict()
        return Render(video=joined.video, srt=joined.srt, vtt=joined.vtt, timeline=joined.timeline,
                      chapters=joined.chapters, provenance=provenance, brand=joined.record)  # fmt: skip
    return Render(
        video=result.video.path,
        srt=result.subtitles,
        vtt=result.subtitles_vtt,
        timeline=timeline,
        chapters=chapters,
        provenance=result.provenance.to_dict(),
        brand=record,
    )


# ------------------------------------------------------------------------------------------ the recipe


def news_clip(
    config: NewsClipConfig,
    *,
    studio: Studio | None = None,
    on_event: Callable[[PipelineEvent], None] | None = None,
    cancel: threading.Event | None = None,
) -> NewsClip:
    """Make the clip: run (or resume) script → (narration ∥ visuals) → music → render, then publish atomically.

    With several aspects, the story's stages (script, narration, music) run once and each aspect
    runs its own visuals and render (their events name the aspect: ``render 9:16``). With a Studio
    on a Ray cluster, the whole job runs as a Ray task on a node of the cluster
    (:func:`~aigc_sdk.pipelines.remote.run_on_cluster`), with the same outputs.

    Raises:
        InvalidRequestError: An option that names no model or does not apply, an empty article, an unknown
            template, a feed with no events, an unwritable output … (options are checked before any work).
        PipelineError: A stage failed; finished stages stay cached and a rerun resumes.

    Example:
        >>> config = NewsClipConfig(input="examples/data/article_en.md", output="out/park.mp4")
        >>> clip = news_clip(config)  # doctest: +SKIP
        >>> clip.reused  # doctest: +SKIP
        []
    """
    # 1. check the options: every one names something and applies, and the output can be written
    _check_writable(config.output)
    own = studio is None
    studio = studio or Studio()
    try:
        _check_models(config, studio)
        from aigc_sdk.pipelines.remote import run_on_cluster, runs_on_cluster

        if runs_on_cluster(studio):  # the job runs as a Ray task beside a replica (docs/cluster.md)
            return run_on_cluster(config, studio=studio, on_event=on_event, cancel=cancel)
        # 2. each step's options: exactly what changes its output, so its cache key covers that and no more
        source: ArticleOptions | FeedOptions
        if config.kind == "article":
            source = ArticleOptions(
                input=config.input, language=config.language, target_seconds=config.target_seconds, seed=config.seed
            )
        else:
            source = FeedOptions(
                input=config.input,
                template=config.template or template_for_feed(config.input),
                language=config.language or "en",
                timezone=config.timezone,
                field_map=config.field_map,
                name=config.name,
                target_seconds=config.target_seconds,
                relative_times=relative_times_hold(config.input),  # in the key: a stale feed's story is made anew
                told_on=_dt.datetime.now(_dt.UTC).date(),  # in the key: yesterday's "today" is not reused
                seed=config.seed,
            )
        voice = VoiceOptions(model=config.voice, seed=config.seed)
        bed = MusicOptions(enabled=config.music, seed=config.seed)
        layouts = {aspect: _layout(config, width, height) for aspect, (width, height) in config.frame_sizes.items()}
        cache_dir = config.cache_dir or Settings.from_env().cache_dir / "pipelines"

        # 3. the steps; their signatures say what runs after what
        def pipeline(events: Callable[[PipelineEvent], None] | None) -> Pipeline:
            return Pipeline(
                "news-clip",
                [script, narration, visuals, music, render],
                cache_dir=cache_dir,
                studio=studio,
                on_event=events,
            )

        # 4. run, or resume from the stages already cached: once per aspect, the story's stages made once
        runs = _run_aspects(pipeline, {"source": source, "voice": voice, "bed": bed}, layouts, on_event, cancel)
    finally:
        if own:
            studio.close()
    # 5. publish: per aspect the MP4 (tagged, signed when asked), SRT, VTT and poster; then the manifest
    return _publish(config, runs)


def _layout(config: NewsClipConfig, width: int, height: int) -> dict[str, Any]:
    """The options of the stages one aspect makes for itself: its visuals (``look``) and render (``video``)."""
    brand = config.brand_kit
    theme = brand.theme() if brand is not None else config.theme
    captions = config.caption_mode
    style = caption_style(brand, captions, width, height) if captions != "off" else None
    look = VisualOptions(
        width=width,
        height=height,
        theme=theme,
        brand=brand,
        photos=config.photos,
        image_model=config.image_model,
        video_model=config.video_model,
        broll=config.broll,
        feed=config.input if config.kind == "feed" else None,
        field_map=config.field_map,
        caption_band=caption_band(style, width, height),  # 9:16 captions: the cards' text stays above them
        captions=captions,
        figure_band=caption_reach(None if captions == "off" else style or SubtitleStyle(), width, height),
        seed=config.seed,
    )
    video = RenderOptions(
        width=width,
        height=height,
        fps=config.fps,
        subtitles=config.caption_mode != "off",
        watermark=config.watermark,
        safe_margin=theme.safe_margin,
        seed=config.seed,
        brand=brand,
        captions=config.caption_mode,
    )
    return {"look": look, "video": video}


#: The stages each aspect makes for itself; the others (script, narration, music) tell the story, made once.
PER_ASPECT = (visuals.name, render.name)


def _run_aspects(
    pipeline: Callable[[Callable[[PipelineEvent], None] | None], Pipeline],
    story: dict[str, Any],
    layouts: dict[str, dict[str, Any]],
    on_event: Callable[[PipelineEvent], None] | None,
    cancel: threading.Event | None,
) -> list[PipelineRun]:
    """Run the pipeline (made with an event handler) once per aspect, all at once; the story's stages are made once.

    The runs meet at each of the story's stages (the pipeline makes a stage once per process: the others wait
    and find it cached), so every aspect's visuals are drawn while the narration is spoken, and the renders are
    asked for together, which lets the slideshow render them side by side. With several aspects, events of a
    per-aspect stage name the aspect (``visuals 9:16``), and the story's stages are reported once, by the run that
    made them. A failure cancels every run and is raised (rather than the cancellations it caused).
    """
    cancel = cancel or threading.Event()
    aspects = list(layouts)
    if len(aspects) == 1:
        return [pipeline(on_event).run({**story, **layouts[aspects[0]]}, cancel=cancel)]
    reported: set[str] = set()  # the story's stages this job has told of
    lock = threading.Lock()

    def relay(aspect: str) -> Callable[[PipelineEvent], None]:
        def emit(event: PipelineEvent) -> None:
            if event.step in PER_ASPECT:
                event = dataclasses.replace(event, step=f"{event.step} {aspect}")
            else:
                with lock:
                    if event.status == "cached" and event.step in reported:
                        return  # another run of this job made it, or told of it already
                    reported.add(event.step)
            if on_event is not None:
                on_event(event)

        return emit

    def run(aspect: str) -> PipelineRun:
        return pipeline(relay(aspect)).run({**story, **layouts[aspect]}, cancel=cancel)

    with ThreadPoolExecutor(max_workers=len(aspects), thread_name_prefix="news-clip-aspect") as pool:
        futures = [pool.submit(run, aspect) for aspect in aspects]  # a failed run sets cancel: the others stop
    return [future.result() for future in _first_failure_first(futures)]


def _first_failure_first(futures: list[Future[PipelineRun]]) -> list[Future[PipelineRun]]:
    """The finished runs with the one that failed first in front: a cancellation it caused is not the error."""
    failed = [f for f in futures if f.exception() is not None]
    cause = [f for f in failed if not isinstance(f.exception(), PipelineCancelledError)]
    return [*cause, *failed, *futures]


# ------------------------------------------------------------------------------------------ the story's visuals
# What a story type shows (kicker, mood, chart, location cards) is its template's plan (StoryPlan); these read it.


def _chart_for(index: int, script: Script, look: VisualOptions) -> ChartSpec | None:
    """The chart the story's plan puts on this line (drawn from the feed), else None."""
    chart = script.plan.chart
    if chart is None or index != chart.line or look.feed is None:
        return None
    return ChartSpec(kind=chart.kind, x=chart.x, y=chart.y, title=script.headline, width=look.width,
                     height=look.height, theme=look.theme, source=look.feed.name,
                     caption_band=look.figure_band, language=script.language)  # fmt: skip


def _located_features(script: Script, look: VisualOptions) -> list[dict[str, Any] | None]:
    """The GeoJSON feature whose location card goes on each line (None: no location card on that line).

    When the story tells what each paragraph narrates (``Script.subjects``), the first line about an
    event shows that event's map; otherwise the plan's ``locations`` go on the first body lines.
    """
    locations = script.plan.locations
    if locations is None or look.feed is None:
        return []
    geojson = _read_json(look.feed)
    if not script.subjects:
        return [None, *locations.features(geojson)]
    features = geojson.get("features", []) if isinstance(geojson, dict) else []
    shown: list[dict[str, Any] | None] = [None]
    previous: int | None = None
    for subject in script.subjects:
        record, feature = subject.record, None
        if record is not None and record != previous and record < len(features):
            candidate = features[record]
            if isinstance(candidate, dict) and (candidate.get("geometry") or {}).get("type") == "Point":
                feature = candidate
        shown.append(feature)
        previous = record
    return shown


def _card_for(
    index: int,
    lines: list[str],
    script: Script,
    features: list[dict[str, Any] | None],
    look: VisualOptions,
    band: float,
) -> CardSpec:
    """The card of line ``index``, its text above the bottom ``band`` (the captions', or a lower third's)."""
    common: dict[str, Any] = {"width": look.width, "height": look.height, "theme": look.theme, "caption_band": band}
    kicker = script.plan.kicker_for(script.language)
    if index == 0:
        return CardSpec(layout="title", kicker=kicker, title=script.headline, **common)
    feature = features[index] if index < len(features) else None
    if feature is not None:  # the map's town names in the script's language; an unnamed point: the headline
        unnamed = not (feature.get("properties") or {}).get("place")
        extra = {"title": script.headline} if unnamed else {}
        common["caption_band"] = max(band, look.figure_band)  # the map's scale bar and credit above the captions
        return CardSpec.from_geojson(feature, kicker=kicker, language=script.language, **common, **extra)
    sentence = lines[index]
    quote = re.match(r'^[“"](.+?)[,，]?[”"][,，]?\s*(?:said|says)?\s*(.*?)[.。]?$', sentence)
    if quote and quote.group(2):
        return CardSpec(layout="quote", quote=quote.group(1), attribution=quote.group(2), **common)
    subject = script.subjects[index - 1] if index - 1 < len(script.subjects) else None
    title = subject.title if subject is not None and subject.title else script.headline  # the paragraph's event
    return CardSpec(layout="body", kicker=kicker, title=title, body=sentence, **common)


# ------------------------------------------------------------------------------------------ helpers


def _band_above(top: int, look: VisualOptions) -> float:
    """The bottom share of the frame a card keeps free so that an overlay from ``top`` (pixels) covers no text."""
    gap = 0.02 * look.height
    return round(min(0.5, max(look.caption_band, 1.0 - (top - gap) / look.height)), 4)


def _story_request(source: ArticleOptions | FeedOptions) -> ScriptRequest | TemplateRequest:
    """The request that writes the script; an empty article or a feed with no events is an error."""
    if isinstance(source, ArticleOptions):
        text = source.input.read_text(encoding="utf-8")
        if not text.strip():
            raise InvalidRequestError(f"the article {source.input} is empty")
        return ScriptRequest(
            prompt=text, target_seconds=source.target_seconds, language=source.language, seed=source.seed
        )
    if _record_count(source.input) == 0:
        raise InvalidRequestError(f"the feed {source.input} has no events", hint="nothing to report: no clip made")
    return TemplateRequest(
        template=source.template,
        data=source.input,
        language=source.language,
        timezone=source.timezone,
        field_map=source.field_map,
        name=source.name,
        target_seconds=source.target_seconds,
        relative_times=source.relative_times,
        seed=source.seed,
    )


def _check_models(config: NewsClipConfig, studio: Studio) -> None:
    """The voice and image model named exist, do their task, and the voice speaks the language asked."""
    if config.voice is not None:
        spec = studio.model_for(Task.TEXT_TO_SPEECH, config.voice)
        if config.language is not None and spec.languages and not speaks(spec.languages, config.language):
            raise InvalidRequestError(
                f"the voice {config.voice!r} does not speak {config.language!r}: it speaks {', '.join(spec.languages)}",
                hint="pick a voice for the language (aigc models list), or leave --voice out",
            )
    if config.image_model is not None:
        studio.model_for(Task.TEXT_TO_IMAGE, config.image_model)
    if config.video_model is not None:
        studio.model_for(Task.TEXT_TO_VIDEO, config.video_model)


def _lines(script: Script) -> list[str]:
    """The narrated lines: the headline said (in spoken form), then the sentences (already spoken)."""
    headline = spoken_form(script.headline.rstrip(), script.language)
    if not re.search(r"[.!?。！？]$", headline):
        headline += "。" if script.language.startswith("zh") else "."
    return [headline, *script.sentences]


def _chapters(script: Script, timeline: Timeline) -> list[Chapter]:
    """One chapter per story segment, timed as its still is on screen; consecutive lines of one title join.

    The headline's line is titled with the headline; a sentence with its paragraph's subject (a feed's
    event) with the subject's title, so an event's sentences make one chapter; any other with the
    sentence, shortened.
    """
    titles = [script.headline]
    for index, sentence in enumerate(script.sentences):
        subject = script.subjects[index] if index < len(script.subjects) else None
        titles.append(subject.title if subject is not None and subject.title else _shortened(sentence))
    starts = list(itertools.accumulate(timeline.slide_durations(), initial=0.0))
    chapters: list[Chapter] = []
    for title, start, end in zip(titles, starts[:-1], starts[1:], strict=True):
        if chapters and chapters[-1].title == title:
            chapters[-1] = Chapter(title=title, start=chapters[-1].start, end=round(end, 6))
        else:
            chapters.append(Chapter(title=title, start=round(start, 6), end=round(end, 6)))
    return chapters


def _shortened(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters at a word boundary where it has spaces, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:，、") + "…"


def _text_safe_motion(index: int, seed: int, margin: float) -> Motion:
    """A push in or out about the centre that never crops text: slides alternate, starting with the seed's parity.

    A zoom ``z`` about the centre cuts ``(1 - 1/z) / 2`` of each side: zooming to ``1 + 1.3 * margin``
    cuts well inside the theme's safe margin, where cards and charts keep no text.
    """
    depth = round(1.0 + 1.3 * margin, 4)
    push_in = (index + seed) % 2 == 0
    return Motion(zoom_start=1.0 if push_in else depth, zoom_end=depth if push_in else 1.0)


def _record_count(feed: Path) -> int:
    """Events in a feed: GeoJSON features, JSON list items or CSV data rows."""
    if feed.suffix.lower() == ".csv":
        lines = feed.read_text(encoding="utf-8").splitlines()
        return max(0, sum(1 for line in lines if line.strip()) - 1)
    data = _read_json(feed)
    if isinstance(data, dict) and isinstance(data.get("features"), list):
        return len(data["features"])
    return len(data) if isinstance(data, list) else 1


def _mult8(n: int) -> int:
    return max(64, n // 8 * 8)


def _photo_matches(ctx: StepContext, photos: Path | None, sentences: list[str]) -> list[Path]:
    if photos is None:
        return []
    from aigc_sdk.generators.image.photos import PhotoMatcher

    return [m.path for m in PhotoMatcher(photos, embed=ctx.studio).match(sentences)]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequestError(f"{path} is not valid JSON: {exc}") from exc


def _check_writable(output: Path) -> None:
    folder = output.expanduser().absolute().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot create the output folder {folder}: {exc}") from exc
    probe = folder / f".{output.name}.write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InvalidRequestError(f"the output folder {folder} is not writable: {exc}") from exc


def _outputs(run: PipelineRun) -> tuple[Render, Narration, Music, Visuals, Script]:
    return run[render], run[narration], run[music], run[visuals], run[script]


def _publish(config: NewsClipConfig, runs: list[PipelineRun]) -> NewsClip:
    """Publish each aspect's clip (named after its aspect when there are several), then the one manifest.

    The aspects are published side by side: tagging, probing and signing are mostly ffmpeg, file I/O and
    the credentials library, which leave the interpreter free.
    """
    output = config.output.expanduser().absolute()
    several = len(runs) > 1
    signed = config.credentials is True or (config.credentials is None and signs_by_default())

    def one(aspect: Aspect, run: PipelineRun) -> _Published:
        return _publish_aspect(config, aspect, run, _aspect_output(output, aspect, several), signed=signed)

    with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="news-clip-publish") as pool:
        published = list(pool.map(one, config.aspects, runs))
    first = published[0]
    # the story's ingredients once, every aspect's visuals
    ingredients = {**first.ingredients, "visuals": [v for p in published for v in p.ingredients["visuals"]]}
    licences = _licences(ingredients)
    stages = list(_own_stages(runs, config.aspects))
    manifest_path = output.with_suffix(".manifest.json")
    manifest = runs[0].manifest(
        name="news-clip",
        sdk_version=__version__,
        config=json.loads(config.model_dump_json()),
        artifacts={**{k: first.artifact[k] for k in ("video", "srt", "vtt")}, "clips": [p.artifact for p in published]},
        ingredients=ingredients,
        licenses=licences,
        license_warnings=licence_warnings(licences),
        credentials=signed,
        **({"brand": branded} if (branded := runs[0][render].brand) is not None else {}),
    )
    every = {id(run): run.manifest()["steps"] for run in runs}
    manifest["steps"] = [
        entry | ({"aspect": aspect} if aspect else {})
        for run, name, _, aspect in stages
        for entry in every[id(run)]
        if entry["name"] == name
    ]
    if config.privacy:  # stage outputs hold the script's text; inputs and outputs are named, not located
        manifest["steps"] = [{k: v for k, v in step.items() if k != "output"} for step in manifest["steps"]]
        manifest["config"].update(input=config.input.name, output=config.output.name)
    atomic_write_json(manifest_path, manifest)
    return NewsClip(
        video=first.clip.video,
        srt=first.clip.srt,
        vtt=first.clip.vtt,
        manifest=manifest_path,
        duration=runs[0][render].timeline.duration,  # the narration, with the brand's intro and outro around it
        reused=sorted(label for run, name, label, _ in stages if name in run.cached),
        seconds={label: run.seconds[name] for run, name, label, _ in stages if name in run.seconds},
        clips=[p.clip for p in published],
    )


def _aspect_output(output: Path, aspect: Aspect, several: bool) -> Path:
    """Where an aspect's MP4 goes: the output itself, or with several aspects ``out.9x16.mp4`` beside it.

    Example:
        >>> _aspect_output(Path("out/clip.mp4"), "9:16", True).name
        'clip.9x16.mp4'
    """
    return output.with_suffix(f".{aspect.replace(':', 'x')}.mp4") if several else output


def _own_stages(runs: list[PipelineRun], aspects: list[Aspect]) -> Iterator[tuple[PipelineRun, str, str, str | None]]:
    """The stages the job made, in order: ``(run, step, label, aspect)``, the story's once (from the run that made it).

    A per-aspect stage has its aspect; its label names it when there are several (``render 9:16``). A story's
    stage comes from the run that made it; from the first run when every run found it cached.
    """
    several = len(runs) > 1
    for index, (run, aspect) in enumerate(zip(runs, aspects, strict=True)):
        for name in run.keys:  # dependency order
            if name in PER_ASPECT:
                yield run, name, f"{name} {aspect}" if several else name, aspect
            elif index == 0:
                maker = next((r for r in runs if name in r.seconds), run)  # only a made stage is timed
                yield maker, name, name, None


@dataclasses.dataclass(frozen=True)
class _Published:
    """One aspect's clip as published, its entry in the manifest, and what went into it (redacted when private)."""

    clip: AspectClip
    artifact: dict[str, Any]
    ingredients: dict[str, Any]


def _publish_aspect(
    config: NewsClipConfig, aspect: Aspect, run: PipelineRun, target: Path, *, signed: bool
) -> _Published:
    """The aspect's MP4 (tagged, signed with its ingredients when asked), its SRT, VTT and poster, beside ``target``."""
    render, narration, music, visuals, script = _outputs(run)
    made = {visual.path: read_sidecar(visual.path) for visual in visuals.items}  # None: the user's photo
    ingredients = {
        "script": script.provenance,
        "narration": narration.provenance,
        "music": music.provenance,
        "visuals": [_visual_record(v, made[v.path]) | {"aspect": aspect} for v in visuals.items],
    }
    if config.privacy:
        ingredients = redact(ingredients)
    rendered = Provenance.model_validate(render.provenance)
    extra = {**rendered.extra, "pipeline": "news-clip", "aspect": aspect, "ingredients": ingredients}
    provenance = rendered.model_copy(update={"extra": extra})
    licences = _licences(ingredients)
    parts = _parts(narration, music, visuals, made)
    brand = config.brand_kit
    if brand is not None:  # logo and intro/outro videos are ingredients of the credentials; fonts are in the manifest
        parts += [Ingredient(path, role) for role, path in brand.assets() if path.suffix.lower() in INGREDIENT_TYPES]
    # Tagged and signed (with its ingredients) under a temporary name, renamed last: the output is the finished
    # clip or whatever was there before.
    video = publish(
        Video(render.video), target, provenance=provenance, credentials=signed, privacy=config.privacy,
        ingredients=parts if signed else (), licences=licences,
    )  # fmt: skip
    recorded = provenance.redacted() if config.privacy else provenance  # as Video.save wrote it in the sidecar
    srt = _copy_beside(render.srt, target.with_suffix(".srt"))
    vtt = _copy_beside(render.vtt, target.with_suffix(".vtt"))
    title = visuals.items[0]  # the title card, at this aspect's frame size
    poster = publish(
        Image.load(title.path), target.with_suffix(".jpg"), provenance=made[title.path], credentials=signed,
        privacy=config.privacy,
    )  # fmt: skip
    width, height = config.frame_sizes[aspect]
    clip = AspectClip(aspect=aspect, width=width, height=height, video=video, srt=srt, vtt=vtt, poster=poster,
                      chapters=render.chapters)  # fmt: skip
    # chapter titles are the script's text: a private record keeps only their times
    chapters = [c.model_dump(exclude={"title"} if config.privacy else set()) for c in render.chapters]
    artifact = {
        "aspect": aspect,
        "width": width,
        "height": height,
        "video": {"path": str(video), "provenance": recorded.to_dict()},
        "srt": str(srt) if srt else None,
        "vtt": str(vtt) if vtt else None,
        "poster": str(poster),
        "chapters": chapters,
    }
    return _Published(clip=clip, artifact=artifact, ingredients=ingredients)


def _parts(
    narration: Narration, music: Music, visuals: Visuals, made: dict[Path, Provenance | None]
) -> list[Ingredient]:
    """The files that went into the clip, as C2PA ingredients (each signed with its own provenance)."""
    parts = [Ingredient(narration.audio, "narration", Provenance.model_validate(narration.provenance))]
    if music.audio is not None and music.provenance is not None:
        parts.append(Ingredient(music.audio, "music", Provenance.model_validate(music.provenance)))
    for index, visual in enumerate(visuals.items, start=1):
        parts.append(Ingredient(visual.path, f"{visual.kind} {index}", made[visual.path]))
    return parts


def _visual_record(visual: Visual, made: Provenance | None) -> dict[str, Any]:
    record: dict[str, Any] = {"path": str(visual.path), "kind": visual.kind, "source": visual.source,
                              "license": visual.license}  # fmt: skip
    if made is not None:
        record["provenance"] = made.to_dict()
    return record


def _licences(ingredients: dict[str, Any]) -> list[dict[str, Any]]:
    """One licence record per model, visual source and font; ``commercial_use`` where the model's terms forbid it."""
    seen: dict[str, dict[str, Any]] = {}

    def record(what: str, ident: str, licence: Any, made: Mapping[str, Any] | None) -> dict[str, Any]:
        found = {"what": what, "id": ident, "license": licence}
        return found | {"commercial_use": False} if (made or {}).get("commercial_use") is False else found

    for name in ("script", "narration", "music"):
        prov = ingredients.get(name)
        if prov:
            seen[prov["model_id"]] = record(name, prov["model_id"], prov.get("license"), prov)
    for visual in ingredients["visuals"]:
        key = str(visual["source"])
        seen.setdefault(key, record(f"visual ({visual['kind']})", key, visual["license"], visual.get("provenance")))
        for font in font_licences(visual.get("provenance")):
            seen.setdefault(f"font:{font['id']}", font)
        for data in data_licences(visual.get("provenance")):  # a locator map's outlines and place names
            seen.setdefault(f"data:{data['id']}", data)
    return list(seen.values())


def _copy_beside(source: Path | None, target: Path) -> Path | None:
    if source is None:
        return None
    try:
        return atomic_copy(source, target)
    except OSError as exc:
        raise MediaError(f"could not copy {source} to {target}: {exc}") from exc
