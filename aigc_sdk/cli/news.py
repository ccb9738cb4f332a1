"""``aigc news-clip``: an article or a data feed → a narrated MP4 with subtitles and a manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from aigc_sdk.cli._common import cli_errors, console, stage_bars, stage_progress
from aigc_sdk.errors import InvalidRequestError

if TYPE_CHECKING:
    from aigc_sdk.pipelines.feeds import FeedJob
    from aigc_sdk.pipelines.news_clip import NewsClip

HELP = """Turn an article (.md/.txt/.html), a data feed (.geojson/.csv/.json + template) or an RSS/Atom feed
(.rss/.atom/.xml) into narrated news clips.

Writes OUTPUT (MP4) plus .srt, .vtt, a .jpg poster and .manifest.json beside it. Stages are cached: a rerun
resumes. Several aspects (--aspect 16:9,9:16,1:1) share one script, narration and music: each writes
OUTPUT's name with the aspect (clip.16x9.mp4, clip.9x16.mp4 … with their .srt, .vtt and .jpg), and one
manifest lists them all.

An RSS/Atom feed makes one clip per new item in the OUTPUT folder (named after the item's id), or with \
--roundup N one round-up of the newest N items; the items done are remembered there, so a rerun makes \
clips only for new items.

Example: aigc news-clip examples/data/usgs_significant_week.geojson -o out/quake.mp4 --aspect 9:16

Example: aigc news-clip examples/data/article_en.md -o out/park.mp4 --aspect 16:9,9:16,1:1

Example: aigc news-clip examples/data/desk_feed.rss -o out/desk/ --aspect 1:1

Example: aigc news-clip forecast.json --template weather-summary --name Lisbon -o out/weather.mp4

Example: aigc news-clip examples/data/article_en.md --brand examples/brand/brand.toml --captions words
"""


def news_clip_command(
    source: Annotated[Path, typer.Argument(help="Article or feed file.", exists=True, dir_okay=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="The MP4 to write; a folder for an RSS/Atom feed [default: out/clip.mp4, out/]."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file with options (flags win).", exists=True)
    ] = None,
    template: Annotated[str | None, typer.Option(help="Feed template, e.g. usgs-earthquakes.")] = None,
    field_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a feed column to a template field, COLUMN=FIELD (repeatable)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The feed's subject: an index, a place.")] = None,
    language: Annotated[str | None, typer.Option(help="Script language (en, zh); default: detected.")] = None,
    voice: Annotated[str | None, typer.Option(help="Speech model id (see aigc models list).")] = None,
    aspect: Annotated[
        str | None, typer.Option(help="16:9, 9:16, 1:1 or 4:5; several comma-separated, e.g. 16:9,9:16.")
    ] = None,
    resolution: Annotated[int | None, typer.Option(help="720 or 1080.")] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Target narration seconds (articles, feed items, round-ups).")
    ] = None,
    music: Annotated[bool | None, typer.Option("--music/--no-music", help="Music bed under the voice.")] = None,
    photos: Annotated[Path | None, typer.Option(help="Folder of photos to match to sentences.")] = None,
    image_model: Annotated[str | None, typer.Option(help="Text-to-image model for visuals.")] = None,
    video_model: Annotated[
        str | None, typer.Option(help="Video model that animates photo and generated stills (image-to-video).")
    ] = None,
    broll: Annotated[
        bool | None, typer.Option("--broll", help="With --video-model: b-roll from each body sentence (text-to-video).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for every stage.")] = None,
    watermark: Annotated[
        bool | None, typer.Option("--watermark/--no-watermark", help="Invisible watermark in generated frames.")
    ] = None,
    brand: Annotated[
        Path | None, typer.Option("--brand", help="Brand kit file (TOML/YAML): colours, fonts, logo …", exists=True)
    ] = None,
    captions: Annotated[
        str | None, typer.Option("--captions", help="Burned-in captions: sentence, words (highlighted) or off.")
    ] = None,
    roundup: Annotated[
        int | None, typer.Option(help="RSS/Atom: one round-up clip of the newest N items.", min=1)
    ] = None,
) -> None:
    """Make a news clip (or one per new item of an RSS/Atom feed)."""
    from aigc_sdk.pipelines.news_clip import SYNDICATION_SUFFIXES, NewsClipConfig, news_clip

    # this command draws its own progress bars: keep the hub/transformers loading bars out of them
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    options = {
        "input": source,
        "output": output,
        "template": template,
        "field_map": field_map or None,
        "name": name,
        "language": language,
        "voice": voice,
        "aspect": aspect,
        "resolution": resolution,
        "target_seconds": duration,
        "music": music,
        "photos": photos,
        "image_model": image_model,
        "video_model": video_model,
        "broll": broll,
        "seed": seed,
        "watermark": watermark,
        "brand": brand,
        "captions": captions,
    }
    with cli_errors():
        if source.suffix.lower() in SYNDICATION_SUFFIXES:
            _feed_clips(source, output, config, roundup, options)
            return
        if roundup is not None:
            raise InvalidRequestError(
                f"--roundup: only for RSS/Atom feeds, and {source.name} is not one", hint="leave --roundup out"
            )
        defaults = {"output": Path("out/clip.mp4")}
        if config is not None:
            settings = NewsClipConfig.from_yaml(config, defaults=defaults, **options)
        else:
            settings = NewsClipConfig.model_validate(defaults | {k: v for k, v in options.items() if v is not None})
        with stage_progress() as progress:
            clip = news_clip(settings, on_event=stage_bars(progress))
    _report(clip)


def _feed_clips(
    source: Path, output: Path | None, config: Path | None, roundup: int | None, options: dict[str, Any]
) -> None:
    """One clip per new item of an RSS/Atom feed (or one round-up) in the output folder."""
    from aigc_sdk.pipelines.feeds import make_feed_clips, plan_feed_clips
    from aigc_sdk.pipelines.news_clip import NewsClipConfig

    given = {k: v for k, v in options.items() if v is not None and k not in ("input", "output")}
    from_file = NewsClipConfig.yaml_options(config) if config is not None else {}
    if "aspect" in given:  # the flag's aspects replace the file's
        from_file.pop("aspects", None)
    settings = {**from_file, **given}
    settings.pop("input", None)  # the feed given on the command line wins, as for articles
    out_dir = output or settings.pop("output", None) or Path("out")
    settings.pop("output", None)
    plan = plan_feed_clips(source, out_dir, roundup=roundup, **settings)
    for item_id in plan.done_before:
        console.print(f"[dim]done before:[/] {escape(item_id)} (no new clip)", highlight=False)
    for item_id, why in plan.left_out.items():
        console.print(f"[yellow]left out:[/] {escape(item_id)}: {escape(why)}", highlight=False)
    if not plan.jobs:
        console.print(f"nothing new in {escape(source.name)}: no clip made", highlight=False)
        return
    with stage_progress() as progress:
        current = {"job": ""}

        def on_job(index: int, job: FeedJob) -> None:
            current["job"] = f"{index + 1}/{len(plan.jobs)} "
            progress.console.print(f"[bold]{current['job']}[/]{escape(job.title)}", highlight=False)

        made = make_feed_clips(plan, on_event=stage_bars(progress, lambda: current["job"]), on_job=on_job)
    for feed_clip in made:
        _report(feed_clip.clip)


def _report(clip: NewsClip) -> None:
    reused = f" (reused: {', '.join(clip.reused)})" if clip.reused else ""
    for made in clip.clips:
        others = ", ".join(str(path) for path in made.files[1:])
        console.print(f"[green]wrote[/] {made.video} ({made.aspect}) — {clip.duration:.1f} s", highlight=False)
        console.print(f"      {others}", highlight=False)
    console.print(f"      {clip.manifest}{reused}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``aigc news-clip`` to the root app.

    Example:
        >>> import typer
        >>> app = typer.Typer()
        >>> register(app)
        >>> [c.name for c in app.registered_commands]
        ['news-clip']
    """
    app.command(name="news-clip", help=HELP)(news_clip_command)
