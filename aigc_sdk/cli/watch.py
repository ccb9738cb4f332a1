"""``aigc watch``: new files in folders and new items of RSS/Atom feeds become jobs of ``aigc serve``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from aigc_sdk.cli._common import cli_errors, console, err_console
from aigc_sdk.cli.submit import (
    DEFAULT_SERVER,
    ApiKeyOpt,
    AspectOpt,
    CaptionsOpt,
    DurationOpt,
    LanguageOpt,
    MusicOpt,
    SeedOpt,
    ServerOpt,
    TemplateOpt,
    VoiceOpt,
    clip_options,
)

if TYPE_CHECKING:
    from aigc_sdk.client.watch import PollReport

HELP = """Watch folders, RSS/Atom files and feed URLs, and make a job on an `aigc serve` server of each new item.

A folder's article files (.md/.txt/.html) are sent as text, its data feeds (.geojson/.json/.csv) uploaded, the \
items of its RSS/Atom files sent one job each. Each item is sent with an Idempotency-Key made from its id (a \
file: its name and content hash; a feed item: its guid or link), so even without the --state file no item \
becomes two jobs; the state file keeps a restarted watcher from sending them at all.

Example: aigc watch desk/ feeds/city.rss --server http://127.0.0.1:8000 --state desk-watch.json --aspect 9:16

Example: aigc watch https://news.example.org/feed.xml --once
"""


def watch(
    sources: Annotated[list[str], typer.Argument(help="Folders, RSS/Atom files or feed URLs.")],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    state: Annotated[Path, typer.Option(help="The state file: the items already sent.")] = Path(
        "aigc-watch-state.json"
    ),
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="Poll once and exit (1 if the server was not reached).")] = False,
    settle: Annotated[
        float, typer.Option(min=0.0, help="Seconds a folder's file must stay unchanged before it is sent.")
    ] = 2.0,
    template: TemplateOpt = None,
    language: LanguageOpt = None,
    voice: VoiceOpt = None,
    aspect: AspectOpt = None,
    duration: DurationOpt = None,
    music: MusicOpt = None,
    seed: SeedOpt = None,
    captions: CaptionsOpt = None,
) -> None:
    """Make jobs of new files and feed items."""
    with cli_errors():
        from aigc_sdk.client import Client
        from aigc_sdk.client.watch import Watcher

        options = clip_options(template, language, voice, aspect, duration, music, seed, captions)
        with Client(server, api_key=api_key) as client:
            watcher = Watcher(client, sources, state=state, options=options, settle=settle)
            try:
                while True:
                    report = watcher.poll()
                    _show(report)
                    if once:
                        raise typer.Exit(0 if report.stopped is None else 1)
                    time.sleep(max(interval, report.retry_after or 0.0))
            except KeyboardInterrupt:
                console.print("stopped")


def _show(report: PollReport) -> None:
    for done in report.submitted:
        console.print(f"job [bold]{done.job_id}[/] ← {escape(done.name)} ({escape(done.source)})", highlight=False)
    for refused in report.refused:
        err_console.print(f"[yellow]refused:[/] {escape(refused.name)}: {escape(refused.refused or '')}")
    for source, why in report.problems.items():
        err_console.print(f"[yellow]cannot read[/] {escape(source)}: {escape(why)}", highlight=False)
    if report.stopped:
        err_console.print(f"[bold red]poll stopped:[/] {escape(report.stopped)}", highlight=False)
    new = len(report.submitted)
    console.print(f"[dim]{new} new job(s), {report.known} item(s) known before[/]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``aigc watch`` to the root app.

    Example:
        >>> import typer
        >>> app = typer.Typer()
        >>> register(app)
        >>> [c.name for c in app.registered_commands]
        ['watch']
    """
    app.command(name="watch", help=HELP)(watch)
