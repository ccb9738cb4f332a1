"""``aigc submit``: send an article or a feed to ``aigc serve`` as a job; follow it, download its files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from aigc_sdk.cli._common import cli_errors, console, err_console, read_text, stage_bars, stage_progress

if TYPE_CHECKING:
    from aigc_sdk.client import Client, ClipKwargs, ClipView

HELP = """Send an article (.md/.txt/.html) or a feed (.geojson/.json/.csv/.rss/.atom/.xml) to an `aigc serve` \
server as a news-clip job; prints the job id, and with --wait its stages as they run.

An article is sent as text; any other file is uploaded. --download DIR waits, then saves the clip's files there.

Example: aigc submit examples/data/article_en.md --server http://127.0.0.1:8000 --aspect 1:1 --wait

Example: AIGC_API_KEY=k1 aigc submit story.md --server https://clips.example.org --download out/
"""

#: The options every command that makes jobs on a server shares (``aigc submit``, ``aigc watch``).
ServerOpt = Annotated[
    str, typer.Option("--server", envvar="AIGC_SERVER", help="The aigc serve server's URL.", show_default=True)
]
ApiKeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="AIGC_API_KEY", help="API key (default: $AIGC_API_KEY).")
]
TemplateOpt = Annotated[str | None, typer.Option(help="Story template of a data feed; default: by suffix.")]
LanguageOpt = Annotated[str | None, typer.Option(help="Script language (en, zh); default: detected.")]
VoiceOpt = Annotated[str | None, typer.Option(help="Speech model id (see aigc models list).")]
AspectOpt = Annotated[
    str | None, typer.Option(help="16:9, 9:16, 1:1 or 4:5, or several: 16:9,9:16 (the server's default: 16:9).")
]
CaptionsOpt = Annotated[str | None, typer.Option(help="Burned-in captions: sentence, words or off.")]
DurationOpt = Annotated[float | None, typer.Option(help="Target narration seconds (the server's default: 60).")]
MusicOpt = Annotated[bool | None, typer.Option("--music/--no-music", help="Music bed under the voice.")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed for every stage.")]
DEFAULT_SERVER = "http://127.0.0.1:8000"


def clip_options(
    template: str | None,
    language: str | None,
    voice: str | None,
    aspect: str | None,
    duration: float | None,
    music: bool | None,
    seed: int | None,
    captions: str | None = None,
) -> ClipKwargs:
    """The clip options given on the command line (the ones left out are the server's defaults).

    Example:
        >>> clip_options(None, None, None, "1:1", 8.0, False, None)
        {'aspect': '1:1', 'duration': 8.0, 'music': False}
    """
    given: dict[str, object] = {"template": template, "language": language, "voice": voice, "aspect": aspect}
    given |= {"duration": duration, "music": music, "seed": seed, "captions": captions}
    options: ClipKwargs = {k: v for k, v in given.items() if v is not None}  # type: ignore[assignment]
    return options


def submit(
    file: Annotated[Path, typer.Argument(help="Article or feed file.", exists=True, dir_okay=False)],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    template: TemplateOpt = None,
    language: LanguageOpt = None,
    voice: VoiceOpt = None,
    aspect: AspectOpt = None,
    duration: DurationOpt = None,
    music: MusicOpt = None,
    seed: SeedOpt = None,
    captions: CaptionsOpt = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key makes one job however often it is sent.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job's stages until it is done.")] = False,
    download: Annotated[
        Path | None, typer.Option(help="Wait, then save the clip's files (MP4, SRT, VTT, manifest) in this folder.")
    ] = None,
) -> None:
    """Send a file to aigc serve as a news-clip job."""
    with cli_errors():
        from aigc_sdk.client import Client
        from aigc_sdk.pipelines.news_clip import ARTICLE_SUFFIXES

        options = clip_options(template, language, voice, aspect, duration, music, seed, captions)
        with Client(server, api_key=api_key) as client:
            if file.suffix.lower() in ARTICLE_SUFFIXES:
                article = read_text(file, "article ")
                job = client.clips.create(article, idempotency_key=idempotency_key, **options)
            else:
                job = client.clips.create(file=file, idempotency_key=idempotency_key, **options)
            where = f", position {job.position}" if job.position else ""
            console.print(f"job [bold]{job.id}[/] {job.status}{where}", highlight=False)
            if wait or download is not None:
                job = _follow(client, job.id)
            if download is not None:
                for path in client.clips.download_all(job.id, to=download):
                    console.print(f"[green]saved[/] {escape(str(path))}", highlight=False)


def _follow(client: Client, job_id: str) -> ClipView:
    """The job's stages as progress bars until it stops; a job that failed or was cancelled exits 1."""
    with stage_progress() as progress:
        bars = stage_bars(progress)
        job = client.clips.wait(job_id, on_event=bars)
    if job.status in ("failed", "cancelled"):
        error = job.error
        err_console.print(f"[bold red]job {job.id} {job.status}:[/] {escape(error.message if error else '')}")
        if error and error.hint:
            err_console.print(f"[yellow]hint:[/] {escape(error.hint)}", highlight=False)
        raise typer.Exit(1)
    console.print(f"job [bold]{job.id}[/] {job.status}: {escape(', '.join(job.files))}", highlight=False)
    return job


def register(app: typer.Typer) -> None:
    """Add ``aigc submit`` to the root app.

    Example:
        >>> import typer
        >>> app = typer.Typer()
        >>> register(app)
        >>> [c.name for c in app.registered_commands]
        ['submit']
    """
    app.command(name="submit", help=HELP)(submit)
