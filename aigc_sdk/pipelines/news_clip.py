"""``news_clip``: an article or a data feed → script → narration → visuals → timeline → MP4 + SRT + VTT + manifest.

Read it top to bottom: the config, the options each step reads, the five steps (typed
functions: their signatures are the DAG), and :func:`news_clip`, the recipe that checks
the options, builds the step options, runs the steps and publishes. Every stage is
cached (see :mod:`aigc_sdk.pipelines.base`), so an interrupted run resumes where it
stopped. Models are reached only through a :class:`~aigc_sdk.studio.Studio`; cards and
charts need no weights.

Example:
    >>> from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
    >>> config = NewsClipConfig(input="examples/data/usgs_significant_week.geojson", output="out/quake.mp4")
    >>> clip = news_clip(config)  # doctest: +SKIP
    >>> clip.video, clip.duration  # doctest: +SKIP
    (PosixPath('out/quake.mp4'), 41.3)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, DirectoryPath, Field, FilePath, model_validator

from aigc_sdk._internal.files import atomic_copy, atomic_write_json
from aigc_sdk._internal.languages import speaks
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk._internal.settings import Settings
from aigc_sdk._version import __version__
from aigc_sdk.errors import InvalidRequestError, MediaError, PipelineError
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec, Theme
from aigc_sdk.generators.image.charts import ChartRenderer, ChartSpec
from aigc_sdk.generators.text.sources import load_story_data
from aigc_sdk.generators.text.spoken import spoken_form
from aigc_sdk.generators.text.template import feed_templates, template_for_feed
from aigc_sdk.generators.video.brand import Brand, load_brand
from aigc_sdk.media import Video, read_sidecar
from aigc_sdk.pipelines.base import Pipeline, PipelineEvent, PipelineRun, StepContext, step
from aigc_sdk.pipelines.branding import BrandVisuals, Captions, brand_visuals, branded_render, event_places
from aigc_sdk.pipelines.timeline import Timeline, Visual
from aigc_sdk.provenance import Provenance, redact
from aigc_sdk.studio import Studio
from aigc_sdk.trust.credentials import Ingredient, signs_by_default
from aigc_sdk.trust.licenses import font_licences, licence_warnings
from aigc_sdk.trust.publishing import publish
from aigc_sdk.types import (
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
    Task,
    TemplateRequest,
    VideoEncoding,
    VideoResult,
    normalize_language,
)

__all__ = ["NewsClip", "NewsClipConfig", "news_clip"]

#: Frame size per aspect at 720p; 1080p scales by 1.5.
FRAMES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)}
ARTICLE_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
#: RSS and Atom feeds: one clip per item, so not one config (see :mod:`aigc_sdk.pipelines.feeds`).
SYNDICATION_SUFFIXES = (".rss", ".atom", ".xml")


class NewsClipConfig(FrozenModel):
    """Options of a news clip; load from YAML with :meth:`from_yaml` or build from CLI flags.

    Example:
        >>> c = NewsClipConfig(input="examples/data/article_en.md", output="out/park.mp4", aspect="9:16")
        >>> c.frame_size, c.kind
        ((720, 1280), 'article')
    """

    input: FilePath = Field(description="Article (.md/.txt/.html) or feed (.geojson/.json/.csv).")
    output: Path = Field(description="The MP4 to write; SRT, VTT and the manifest go beside it.")
    template: str | None = Field(default=None, description="Feed template; None: from the feed's suffix.")
    language: str | None = Field(default=None, description="Script language; None: detected (articles) or 'en'.")
    voice: str | None = Field(default=None, description="Speech model id; None: the default voice for the language.")
    aspect: Literal["16:9", "9:16", "1:1"] = "16:9"
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
            brand = load_brand(self.brand)  # every brand problem, before any work
            if self.language is not None or self.kind == "feed":
                brand.check_language(self.language or "en")
        if self.captions not in (None, "off") and not self.subtitles:
            raise ValueError(f"captions={self.captions!r} and subtitles=False contradict each other: give one of them")
        return self

    @property
    def brand_kit(self) -> Brand | None:
        """The brand file read (None: no brand, the built-in theme).

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
        return cls.model_validate({**(defaults or {}), **cls.yaml_options(path), **given})

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
    def frame_size(self) -> tuple[int, int]:
        """``(width, height)`` of the video.

        Example:
            >>> NewsClipConfig(input="examples/data/article_en.md", output="o.mp4", resolution=1080).frame_size
            (1920, 1080)
        """
        w, h = FRAMES[self.aspect]
        scale = self.resolution / 720
        return (round(w * scale / 2) * 2, round(h * scale / 2) * 2)


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
    feed: FilePath | None = Field(default=None, description="The feed (charts, maps); None for an article.")
    brand: Brand | None = Field(default=None, description="The brand kit: its cards, lower thirds, disclosure.")
    field_map: FieldMap = Field(
        default_factory=dict, description="The feed's columns renamed (charts read the fields)."
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
    """The render stage: the MP4 and its subtitle sidecars."""

    video: Path
    srt: Path | None
    vtt: Path | None
    timeline: Timeline
    provenance: dict[str, Any]
    brand: dict[str, Any] | None = None


class NewsClip(BaseModel):
    """What :func:`news_clip` made: the files, the clip's length, and which stages were reused.

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

    @property
    def files(self) -> list[Path]:
        """Every file the clip published (video, subtitles, manifest), in that order.

        Example:
            >>> from pathlib import Path
            >>> clip = NewsClip(video=Path("c.mp4"), srt=None, vtt=None, manifest=Path("c.manifest.json"),
            ...                 duration=1.0, reused=[], seconds={})
            >>> [path.name for path in clip.files]
            ['c.mp4', 'c.manifest.json']
        """
        return [path for path in (self.video, self.srt, self.vtt, self.manifest) if path is not None]


# ------------------------------------------------------------------------------------------ steps


@step
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


@step
def visuals(ctx: StepContext, script: Script, look: VisualOptions) -> Visuals:
    """One still per line: the title card, then a matched photo, a generated image, a chart or a card."""
    lines = _lines(script)
    if look.brand is not None:
        look.brand.check_text("\n".join(lines))  # the brand fonts draw the story, before any card is drawn
    photos = _photo_matches(ctx, look.photos, lines[1:])
    features = _located_features(script, look)
    cards, charts = CardRenderer(), ChartRenderer()

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
        spec = _card_for(index, lines, script, features, look)
        publish(cards.render(spec), path)  # its provenance (fonts and their licences) goes into the sidecar
        return Visual(path=path, kind="card", source="card-renderer", license="Apache-2.0")

    items = ctx.map(make, range(len(lines)))
    if look.brand is None:
        return Visuals(items=items)
    titles = [None] + [subject.title for subject in script.subjects]
    places = event_places(features, titles, len(lines))
    made = brand_visuals(look.brand, lines, places, width=look.width, height=look.height, workdir=ctx.workdir)
    return Visuals(items=items, brand=made)


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


@step(version="2")
def render(
    ctx: StepContext, script: Script, narration: Narration, visuals: Visuals, music: Music, video: RenderOptions
) -> Render:
    """The timeline (stills on the narration's sentence timings, cues) encoded as an MP4 with SRT and VTT."""
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
    branded: dict[str, Any] = {}
    record = None
    brand = video.brand or (Brand() if video.captions == "words" else None)  # word captions need no brand file
    if brand is not None:
        spoken = tuple(narration.segments)
        timeline, branded, record = branded_render(timeline, visuals.brand or BrandVisuals(), brand, spoken=spoken,
                                                   captions=video.captions, width=video.width, height=video.height,
                                                   workdir=ctx.workdir)  # fmt: skip
    request = timeline.to_video_request(
        width=video.width,
        height=video.height,
        fps=video.fps,
        music=music.audio,
        seed=video.seed,
        prompt=script.headline,
        encoding=VideoEncoding(output=ctx.workdir / "clip.mp4", watermark=None if video.watermark else False),
        **({"burn_subtitles": video.subtitles} | branded),
    )
    result: VideoResult = ctx.studio.run(request)
    return Render(
        video=result.video.path,
        srt=result.subtitles,
        vtt=result.subtitles_vtt,
        timeline=timeline,
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
        # 2. each step's options: exactly what changes its output, so its cache key covers that and no more
        width, height = config.frame_size
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
                seed=config.seed,
            )
        voice = VoiceOptions(model=config.voice, seed=config.seed)
        brand = config.brand_kit
        theme = brand.theme() if brand is not None else config.theme
        look = VisualOptions(
            width=width,
            height=height,
            theme=theme,
            brand=brand,
            photos=config.photos,
            image_model=config.image_model,
            feed=config.input if config.kind == "feed" else None,
            field_map=config.field_map,
            seed=config.seed,
        )
        bed = MusicOptions(enabled=config.music, seed=config.seed)
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
        # 3. the steps; their signatures say what runs after what
        pipeline = Pipeline(
            "news-clip",
            [script, narration, visuals, music, render],
            cache_dir=config.cache_dir or Settings.from_env().cache_dir / "pipelines",
            studio=studio,
            on_event=on_event,
        )
        # 4. run, or resume from the stages already cached
        run = pipeline.run({"source": source, "voice": voice, "look": look, "bed": bed, "video": video}, cancel=cancel)
    finally:
        if own:
            studio.close()
    # 5. publish: the MP4 (tagged, signed when asked), SRT, VTT and the manifest
    return _publish(config, run)


# ------------------------------------------------------------------------------------------ the story's visuals
# What a story type shows (kicker, mood, chart, location cards) is its template's plan (StoryPlan); these read it.


def _chart_for(index: int, script: Script, look: VisualOptions) -> ChartSpec | None:
    """The chart the story's plan puts on this line (drawn from the feed), else None."""
    chart = script.plan.chart
    if chart is None or index != chart.line or look.feed is None:
        return None
    return ChartSpec(kind=chart.kind, x=chart.x, y=chart.y, title=script.headline, width=look.width,
                     height=look.height, theme=look.theme, source=look.feed.name)  # fmt: skip


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
    index: int, lines: list[str], script: Script, features: list[dict[str, Any] | None], look: VisualOptions
) -> CardSpec:
    common: dict[str, Any] = {"width": look.width, "height": look.height, "theme": look.theme}
    kicker = script.plan.kicker_for(script.language)
    if index == 0:
        return CardSpec(layout="title", kicker=kicker, title=script.headline, **common)
    feature = features[index] if index < len(features) else None
    if feature is not None:
        return CardSpec.from_geojson(feature, kicker=kicker, **common)
    sentence = lines[index]
    quote = re.match(r'^[“"](.+?)[,，]?[”"][,，]?\s*(?:said|says)?\s*(.*?)[.。]?$', sentence)
    if quote and quote.group(2):
        return CardSpec(layout="quote", quote=quote.group(1), attribution=quote.group(2), **common)
    subject = script.subjects[index - 1] if index - 1 < len(script.subjects) else None
    title = subject.title if subject is not None and subject.title else script.headline  # the paragraph's event
    return CardSpec(layout="body", kicker=kicker, title=title, body=sentence, **common)


# ------------------------------------------------------------------------------------------ helpers


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


def _lines(script: Script) -> list[str]:
    """The narrated lines: the headline said (in spoken form), then the sentences (already spoken)."""
    headline = spoken_form(script.headline.rstrip(), script.language)
    if not re.search(r"[.!?。！？]$", headline):
        headline += "。" if script.language.startswith("zh") else "."
    return [headline, *script.sentences]


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


def _publish(config: NewsClipConfig, run: PipelineRun) -> NewsClip:
    render, narration, music, visuals, script = _outputs(run)
    output = config.output.expanduser().absolute()
    made = {visual.path: read_sidecar(visual.path) for visual in visuals.items}  # None: the user's photo
    ingredients = {
        "script": script.provenance,
        "narration": narration.provenance,
        "music": music.provenance,
        "visuals": [_visual_record(v, made[v.path]) for v in visuals.items],
    }
    if config.privacy:
        ingredients = redact(ingredients)
    rendered = Provenance.model_validate(render.provenance)
    extra = {**rendered.extra, "pipeline": "news-clip", "ingredients": ingredients}
    provenance = rendered.model_copy(update={"extra": extra})
    licences = _licences(ingredients)
    parts = _parts(narration, music, visuals, made)
    brand = config.brand_kit
    if brand is not None:  # the logo is an ingredient of the credentials; fonts (no C2PA type) are in the manifest
        parts += [Ingredient(path, role) for role, path in brand.assets() if path.suffix.lower() in (".png",)]
    # Tagged and signed (with its ingredients) under a temporary name, renamed last: the output is the finished
    # clip or whatever was there before.
    signed = config.credentials is True or (config.credentials is None and signs_by_default())
    video = publish(
        Video(render.video), output, provenance=provenance, credentials=signed, privacy=config.privacy,
        ingredients=parts if signed else (), licences=licences,
    )  # fmt: skip
    recorded = provenance.redacted() if config.privacy else provenance  # as Video.save wrote it in the sidecar
    srt = _copy_beside(render.srt, output.with_suffix(".srt"))
    vtt = _copy_beside(render.vtt, output.with_suffix(".vtt"))
    manifest_path = output.with_suffix(".manifest.json")
    manifest = run.manifest(
        name="news-clip",
        sdk_version=__version__,
        config=json.loads(config.model_dump_json()),
        artifacts={
            "video": {"path": str(video), "provenance": recorded.to_dict()},
            "srt": str(srt) if srt else None,
            "vtt": str(vtt) if vtt else None,
        },
        ingredients=ingredients,
        licenses=licences,
        license_warnings=licence_warnings(licences),
        credentials=signed,
        **({"brand": render.brand} if render.brand is not None else {}),
    )
    if config.privacy:  # stage outputs hold the script's text; inputs and outputs are named, not located
        manifest["steps"] = [{k: v for k, v in step.items() if k != "output"} for step in manifest["steps"]]
        manifest["config"].update(input=config.input.name, output=config.output.name)
    atomic_write_json(manifest_path, manifest)
    return NewsClip(
        video=video,
        srt=srt,
        vtt=vtt,
        manifest=manifest_path,
        duration=render.timeline.duration,  # the narration, with the brand's intro and outro around it
        reused=run.reused,
        seconds=run.seconds,
    )


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
    return list(seen.values())


def _copy_beside(source: Path | None, target: Path) -> Path | None:
    if source is None:
        return None
    try:
        return atomic_copy(source, target)
    except OSError as exc:
        raise MediaError(f"could not copy {source} to {target}: {exc}") from exc
