"""``aigc news-clip``: an article or a data feed → a narrated MP4 with subtitles and a manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from aigc_sdk.cli._common import cli_errors, console
from aigc_sdk.pipelines.base import PipelineEvent

HELP = """Turn an article (.md/.txt) or a feed (.geojson/.csv/.json + template) into a narrated news clip.

Writes OUTPUT (MP4) plus .srt, .vtt and .manifest.json beside it. Stages are cached: a rerun resumes.

Example: aigc news-clip examples/data/usgs_significant_week.geojson -o out/quake.mp4 --aspect 9:16

Example: aigc news-clip forecast.json --template weather-summary --name Lisbon -o out/weather.mp4
"""


def news_clip_command(
    source: Annotated[Path, typer.Argument(help="Article or feed file.", exists=True, dir_okay=False)],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="The MP4 to write [default: out/clip.mp4].")
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
    aspect: Annotated[str | None, typer.Option(help="16:9, 9:16 or 1:1.")] = None,
    resolution: Annotated[int | None, typer.Option(help="720 or 1080.")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Target narration seconds (articles).")] = None,
    music: Annotated[bool | None, typer.Option("--music/--no-music", help="Music bed under the voice.")] = None,
    photos: Annotated[Path | None, typer.Option(help="Folder of photos to match to sentences.")] = None,
    image_model: Annotated[str | None, typer.Option(help="Text-to-image model for visuals.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for every stage.")] = None,
    watermark: Annotated[
        bool | None, typer.Option("--watermark/--no-watermark", help="Invisible watermark in generated frames.")
    ] = None,
) -> None:
    """Make a news clip."""
    from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip

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
        "seed": seed,
        "watermark": watermark,
    }
    with cli_errors():
        defaults = {"output": Path("out/clip.mp4")}
        if config is not None:
            settings = NewsClipConfig.from_yaml(config, defaults=defaults, **options)
        else:
            settings = NewsClipConfig.model_validate(defaults | {k: v for k, v in options.items() if v is not None})
        columns = (TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.fields[status]}"))
        with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
            bars: dict[str, TaskID] = {}

            def on_event(event: PipelineEvent) -> None:
                if event.step not in bars:
                    bars[event.step] = progress.add_task(event.step, total=1.0, status="")
                status = {"started": "…", "progress": event.message}.get(event.status, event.status)
                progress.update(bars[event.step], completed=event.fraction, status=status)

            clip = news_clip(settings, on_event=on_event)
    reused = f" (reused: {', '.join(clip.reused)})" if clip.reused else ""
    console.print(f"[green]wrote[/] {clip.video} — {clip.duration:.1f} s{reused}")
    console.print(f"      {clip.srt}, {clip.vtt}, {clip.manifest}")


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
