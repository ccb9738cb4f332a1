"""``news_clip``: an article or a data feed → script → narration → visuals → timeline → MP4 + SRT + VTT + manifest.

Every stage is cached (see :mod:`aigc_sdk.pipelines.base`), so an interrupted run
resumes where it stopped. Models are reached only through a
:class:`~aigc_sdk.studio.Studio`; cards and charts need no weights.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from pydantic import BaseModel, Field, FilePath, model_validator

from aigc_sdk._internal.files import atomic_copy, atomic_write_json
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk._internal.settings import Settings
from aigc_sdk._version import __version__
from aigc_sdk.errors import InvalidRequestError, MediaError, PipelineError
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec, Theme
from aigc_sdk.generators.image.charts import ChartRenderer, ChartSpec
from aigc_sdk.media import Video, read_sidecar
from aigc_sdk.pipelines.base import Pipeline, PipelineEvent, PipelineRun, Step, StepContext
from aigc_sdk.pipelines.timeline import Timeline, Visual
from aigc_sdk.provenance import Provenance, redact
from aigc_sdk.studio import Studio
from aigc_sdk.trust.credentials import Ingredient, signs_by_default
from aigc_sdk.trust.licenses import font_licences, licence_warnings
from aigc_sdk.trust.publishing import publish
from aigc_sdk.types import (
    ImageRequest,
    Motion,
    MusicRequest,
    ScriptRequest,
    Segment,
    SpeechRequest,
    StoryResult,
    Task,
    TemplateRequest,
    VideoEncoding,
    VideoResult,
    normalize_language,
)

__all__ = ["NewsClip", "NewsClipConfig", "news_clip"]

OutT = TypeVar("OutT", bound=BaseModel)

#: Frame size per aspect at 720p; 1080p scales by 1.5.
FRAMES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)}
#: Template picked for a feed by its file suffix when none is given.
FEED_TEMPLATES = {".geojson": "usgs-earthquakes", ".csv": "market-close"}
ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")
_MOODS = {"usgs-earthquakes": "urgent", "market-close": "upbeat", "weather-summary": "calm", "sports-result": "upbeat"}
_KICKERS = {"usgs-earthquakes": "EARTHQUAKE", "market-close": "MARKETS", "weather-summary": "WEATHER"}


class NewsClipConfig(FrozenModel):
    """Options of a news clip; load from YAML with :meth:`from_yaml` or build from CLI flags.

    Example:
        >>> c = NewsClipConfig(input="examples/data/article_en.md", output="out/park.mp4", aspect="9:16")
        >>> c.frame_size, c.kind
        ((720, 1280), 'article')
    """

    input: FilePath = Field(description="Article (.md/.txt) or feed (.geojson/.json/.csv).")
    output: Path = Field(description="The MP4 to write; SRT, VTT and the manifest go beside it.")
    template: str | None = Field(default=None, description="Feed template; None: from the feed's suffix.")
    language: str | None = Field(default=None, description="Script language; None: detected (articles) or 'en'.")
    voice: str | None = Field(default=None, description="Speech model id; None: the default voice for the language.")
    aspect: Literal["16:9", "9:16", "1:1"] = "16:9"
    resolution: Literal[720, 1080] = 720
    fps: int = Field(default=25, ge=10, le=60)
    target_seconds: float = Field(default=60.0, ge=5.0, le=600.0, description="Narration length for articles.")
    music: bool = Field(default=True, description="Lay a music bed under the narration (ducked).")
    subtitles: bool = Field(default=True, description="Burn subtitles into the frames (sidecars are always written).")
    photos: Path | None = Field(default=None, description="Folder of photos to match to sentences.")
    image_model: str | None = Field(default=None, description="Text-to-image model for visuals (e.g. sd-turbo).")
    theme: Theme = Field(default_factory=Theme, description="Colours and fonts of cards and charts.")
    timezone: str | None = Field(default=None, description="IANA time zone for feed times.")
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
        if suffix not in (*ARTICLE_SUFFIXES, ".json", *FEED_TEMPLATES):
            raise ValueError(f"input must be an article (.md/.txt) or a feed (.geojson/.json/.csv), got {suffix!r}")
        if self.kind == "feed" and self.template is None and suffix not in FEED_TEMPLATES:
            raise ValueError(f"a {suffix} feed needs a template (e.g. --template usgs-earthquakes)")
        if self.output.suffix.lower() != ".mp4":
            raise ValueError(f"output must be an .mp4 file, got {self.output.name!r}")
        if self.photos is not None and not self.photos.is_dir():
            raise ValueError(f"photos folder {self.photos} does not exist")
        if self.language is not None:
            normalize_language(self.language)
        return self

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
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidRequestError(f"cannot read clip config {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidRequestError(f"clip config {path} must be a mapping of options")
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls.model_validate({**(defaults or {}), **data, **given})

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


# ------------------------------------------------------------------------------------------ stage outputs


class Script(BaseModel):
    """The script stage: headline + sentences to narrate, and what the visuals need."""

    headline: str
    sentences: list[str]
    language: str
    template: str | None
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


# ------------------------------------------------------------------------------------------ steps


def _script(ctx: StepContext, inputs: dict[str, Any]) -> Script:
    config: NewsClipConfig = inputs["config"]
    studio: Studio = ctx.studio
    template: str | None = None  # feeds only
    if config.kind == "article":
        text = config.input.read_text(encoding="utf-8")
        if not text.strip():
            raise InvalidRequestError(f"the article {config.input} is empty")
        story: StoryResult = studio.run(
            ScriptRequest(
                prompt=text, target_seconds=config.target_seconds, language=config.language, seed=config.seed
            ),
            model="script-writer",
        )
    else:
        if _record_count(config.input) == 0:
            raise InvalidRequestError(f"the feed {config.input} has no events", hint="nothing to report: no clip made")
        template = config.template or FEED_TEMPLATES[config.input.suffix.lower()]
        story = studio.run(
            TemplateRequest(
                template=template,
                data=config.input,
                language=config.language or "en",
                timezone=config.timezone,
                seed=config.seed,
            ),
            model="news-templates",
        )
    sentences = [s for p in story.paragraphs for s in split_sentences(p)]
    if not sentences:
        raise InvalidRequestError(f"{config.input} gave no sentences to narrate")
    return Script(
        headline=story.headline,
        sentences=sentences,
        language=story.language,
        template=template,
        provenance=story.provenance.to_dict(),
    )


def _lines(script: Script) -> list[str]:
    headline = script.headline.rstrip()
    if not re.search(r"[.!?。！？]$", headline):
        headline += "。" if script.language.startswith("zh") else "."
    return [headline, *script.sentences]


def _narration(ctx: StepContext, inputs: dict[str, Any]) -> Narration:
    config: NewsClipConfig = inputs["config"]
    script: Script = inputs["script"]
    lines = _lines(script)
    request = SpeechRequest(prompt="\n\n".join(lines), language=script.language, seed=config.seed)
    result = ctx.studio.run(request, model=config.voice)
    if len(result.segments) != len(lines):
        raise PipelineError(f"the voice returned {len(result.segments)} sentence timings for {len(lines)} sentences")
    path = result.save(ctx.workdir / "narration.wav")
    return Narration(
        audio=path,
        duration=result.audio.duration,
        segments=list(result.segments),
        provenance=result.provenance.to_dict(),
    )


def _visuals(ctx: StepContext, inputs: dict[str, Any]) -> Visuals:
    config: NewsClipConfig = inputs["config"]
    script: Script = inputs["script"]
    width, height = config.frame_size
    lines = _lines(script)
    photos = _photo_matches(config, lines[1:])
    features = _feed_features(config) if script.template == "usgs-earthquakes" else []
    cards, charts = CardRenderer(), ChartRenderer()

    def make(index: int) -> Visual:
        path = ctx.workdir / f"visual-{index:03d}.png"
        if index > 0 and photos:
            match = photos[index - 1]
            return Visual(path=match, kind="photo", source=str(match), license="user-supplied")
        if index > 0 and config.image_model is not None:
            result = ctx.studio.run(
                ImageRequest(prompt=lines[index], width=_mult8(width), height=_mult8(height), seed=config.seed + index),
                model=config.image_model,
            )
            publish(result.image, path, provenance=result.provenance)
            return Visual(
                path=path, kind="generated", source=result.provenance.model_id, license=result.provenance.license
            )
        if index > 0 and script.template == "market-close" and index == 1:
            image = charts.render(
                ChartSpec(kind="line", x="date", y="close", title=script.headline, width=width, height=height,
                          theme=config.theme, source=config.input.name),
                config.input,
            )  # fmt: skip
            publish(image, path)
            return Visual(path=path, kind="chart", source="chart-renderer", license="Apache-2.0")
        spec = _card_for(index, lines, script, features, config, width, height)
        publish(cards.render(spec), path)  # its provenance (fonts and their licences) goes into the sidecar
        return Visual(path=path, kind="card", source="card-renderer", license="Apache-2.0")

    return Visuals(items=ctx.map(make, range(len(lines))))


def _music(ctx: StepContext, inputs: dict[str, Any]) -> Music:
    config: NewsClipConfig = inputs["config"]
    if not config.music:
        return Music(audio=None, provenance=None)
    script: Script = inputs["script"]
    narration: Narration = inputs["narration"]
    mood = _MOODS.get(script.template or "", "calm")
    result = ctx.studio.run(
        MusicRequest(
            prompt=f"{mood} news bed", duration=round(narration.duration + 0.5, 2), mood=mood, seed=config.seed
        )
    )
    path = result.save(ctx.workdir / "music.wav")
    return Music(audio=path, provenance=result.provenance.to_dict())


def _render(ctx: StepContext, inputs: dict[str, Any]) -> Render:
    config: NewsClipConfig = inputs["config"]
    narration: Narration = inputs["narration"]
    visuals: Visuals = inputs["visuals"]
    music: Music = inputs["music"]
    if len(visuals.items) != len(narration.segments):
        raise PipelineError(f"{len(visuals.items)} visuals for {len(narration.segments)} narrated sentences")
    # cards and charts carry text: a centred push instead of a seeded Ken Burns move
    margin = config.theme.safe_margin
    items = [
        v.model_copy(update={"motion": _text_safe_motion(i, config.seed, margin)}) if v.kind in ("card", "chart") else v
        for i, v in enumerate(visuals.items)
    ]
    timeline = Timeline.from_speech(narration.segments, items, duration=narration.duration, narration=narration.audio)
    width, height = config.frame_size
    request = timeline.to_video_request(
        width=width,
        height=height,
        fps=config.fps,
        music=music.audio,
        burn_subtitles=config.subtitles,
        seed=config.seed,
        prompt=inputs["script"].headline,
        encoding=VideoEncoding(output=ctx.workdir / "clip.mp4", watermark=None if config.watermark else False),
    )
    result: VideoResult = ctx.studio.run(request)
    return Render(
        video=result.video.path,
        srt=result.subtitles,
        vtt=result.subtitles_vtt,
        timeline=timeline,
        provenance=result.provenance.to_dict(),
    )


# ------------------------------------------------------------------------------------------ helpers


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


def _photo_matches(config: NewsClipConfig, sentences: list[str]) -> list[Path]:
    if config.photos is None:
        return []
    from aigc_sdk.generators.image.photos import PhotoMatcher

    return [m.path for m in PhotoMatcher(config.photos).match(sentences)]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidRequestError(f"{path} is not valid JSON: {exc}") from exc


def _feed_features(config: NewsClipConfig) -> list[dict[str, Any]]:
    data = _read_json(config.input)
    features = [f for f in data.get("features", []) if (f.get("geometry") or {}).get("type") == "Point"]
    return sorted(features, key=lambda f: -float((f.get("properties") or {}).get("mag") or 0.0))


def _card_for(
    index: int,
    lines: list[str],
    script: Script,
    features: list[dict[str, Any]],
    config: NewsClipConfig,
    width: int,
    height: int,
) -> CardSpec:
    common: dict[str, Any] = {"width": width, "height": height, "theme": config.theme}
    kicker = _KICKERS.get(script.template or "", "NEWS" if not script.language.startswith("zh") else "新闻")
    if index == 0:
        return CardSpec(layout="title", kicker=kicker, title=script.headline, **common)
    if features and index <= len(features) and index <= 2:
        return CardSpec.from_geojson(features[index - 1], kicker=kicker, **common)
    sentence = lines[index]
    quote = re.match(r'^[“"](.+?)[,，]?[”"][,，]?\s*(?:said|says)?\s*(.*?)[.。]?$', sentence)
    if quote and quote.group(2):
        return CardSpec(layout="quote", quote=quote.group(1), attribution=quote.group(2), **common)
    return CardSpec(layout="body", kicker=kicker, title=script.headline, body=sentence, **common)


# ------------------------------------------------------------------------------------------ the pipeline


def build_pipeline(studio: Studio, cache_dir: Path, on_event: Callable[[PipelineEvent], None] | None) -> Pipeline:
    """The news-clip DAG: script → (narration ∥ visuals) → music → render.

    Example:
        >>> import pathlib, tempfile
        >>> pipe = build_pipeline(None, pathlib.Path(tempfile.mkdtemp()), None)  # type: ignore[arg-type]
        >>> sorted(pipe.steps)
        ['music', 'narration', 'render', 'script', 'visuals']
    """
    return Pipeline(
        "news-clip",
        [
            Step(
                "script",
                _script,
                Script,
                params=("config_script",),
                context=("config",),
                tasks=(Task.TEXT_GENERATION,),
                version="1",
            ),
            Step(
                "narration",
                _narration,
                Narration,
                needs=("script",),
                params=("config_voice",),
                context=("config",),
                version="1",
            ),
            Step(
                "visuals",
                _visuals,
                Visuals,
                needs=("script",),
                params=("config_visuals",),
                context=("config",),
                version="1",
            ),
            Step(
                "music",
                _music,
                Music,
                needs=("script", "narration"),
                params=("config_music",),
                context=("config",),
                version="1",
            ),
            Step(
                "render",
                _render,
                Render,
                needs=("script", "narration", "visuals", "music"),
                params=("config_render",),
                context=("config",),
                tasks=(Task.IMAGES_TO_VIDEO,),
                version="2",
            ),
        ],
        cache_dir=cache_dir,
        studio=studio,
        on_event=on_event,
    )


def _params(config: NewsClipConfig) -> dict[str, Any]:
    """Each stage's cache key covers only the options that change its output."""

    def pick(*names: str) -> dict[str, Any]:
        return {n: getattr(config, n) for n in names}

    return {
        "config": config,
        "config_script": {"input": config.input, **pick("template", "language", "target_seconds", "timezone", "seed")},
        "config_voice": pick("voice", "seed"),
        "config_visuals": pick("aspect", "resolution", "photos", "image_model", "theme", "seed"),
        "config_music": pick("music", "seed"),
        "config_render": pick("aspect", "resolution", "fps", "subtitles", "seed", "watermark"),
    }


def news_clip(
    config: NewsClipConfig,
    *,
    studio: Studio | None = None,
    on_event: Callable[[PipelineEvent], None] | None = None,
    cancel: threading.Event | None = None,
) -> NewsClip:
    """Make the clip: run (or resume) the pipeline, then write the MP4, SRT, VTT and manifest atomically.

    Raises:
        InvalidRequestError: Empty article, unknown template, a feed with no events, unwritable output …
        PipelineError: A stage failed; finished stages stay cached and a rerun resumes.

    Example:
        >>> config = NewsClipConfig(input="examples/data/article_en.md", output="out/park.mp4")
        >>> clip = news_clip(config)  # doctest: +SKIP
        >>> clip.reused  # doctest: +SKIP
        []
    """
    _check_writable(config.output)
    own = studio is None
    studio = studio or Studio()
    cache = config.cache_dir or Settings.from_env().cache_dir / "pipelines"
    params = _params(config)
    pipeline = build_pipeline(studio, cache, on_event)
    # the step functions read the whole config; keys use only the relevant slices
    try:
        run = pipeline.run(params, cancel=cancel)
    finally:
        if own:
            studio.close()
    return _publish(config, run)


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


def _publish(config: NewsClipConfig, run: PipelineRun) -> NewsClip:
    render = _output(run, "render", Render)
    narration = _output(run, "narration", Narration)
    music = _output(run, "music", Music)
    visuals = _output(run, "visuals", Visuals)
    script = _output(run, "script", Script)
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
        duration=narration.duration,
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


def _output(run: PipelineRun, name: str, kind: type[OutT]) -> OutT:
    value = run.outputs[name]
    if not isinstance(value, kind):
        raise PipelineError(f"stage {name!r} produced {type(value).__name__}, not {kind.__name__}")
    return value


def _visual_record(visual: Visual, made: Provenance | None) -> dict[str, Any]:
    record: dict[str, Any] = {"path": str(visual.path), "kind": visual.kind, "source": visual.source,
                              "license": visual.license}  # fmt: skip
    if made is not None:
        record["provenance"] = made.to_dict()
    return record


def _licences(ingredients: dict[str, Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for name in ("script", "narration", "music"):
        prov = ingredients.get(name)
        if prov:
            seen[prov["model_id"]] = {"what": name, "id": prov["model_id"], "license": prov.get("license")}
    for visual in ingredients["visuals"]:
        key = str(visual["source"])
        seen.setdefault(key, {"what": f"visual ({visual['kind']})", "id": key, "license": visual["license"]})
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
