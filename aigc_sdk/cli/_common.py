"""Helpers shared by CLI commands: error display, consoles, stage progress bars, text files in and out, JSON output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from aigc_sdk.errors import AigcError, InvalidRequestError

console = Console()
err_console = Console(stderr=True)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Show SDK errors as one red line plus hint, exiting 2 for bad input and 1 otherwise.

    Example:
        >>> import typer
        >>> try:
        ...     with cli_errors():
        ...         raise InvalidRequestError("bad")
        ... except typer.Exit as e:
        ...     e.exit_code
        2
    """
    try:
        yield
    except AigcError as exc:
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, markup=True)
        if exc.hint:
            err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)
        raise typer.Exit(2 if isinstance(exc, InvalidRequestError) else 1) from exc


def check_output(path: Path, suffixes: Iterable[str], what: str) -> None:
    """Refuse an output file the command cannot write, before any work (a model load, a render).

    Example:
        >>> try:
        ...     check_output(Path("speech.txt"), [".wav", ".mp3"], "audio")
        ... except InvalidRequestError as e:
        ...     e.message, e.hint
        ("cannot save audio as '.txt'", 'use one of .mp3, .wav')
    """
    suffix = path.suffix.lower()
    allowed = sorted(suffixes)
    if suffix not in allowed:
        shown = repr(suffix) if suffix else "a file without an extension"
        raise InvalidRequestError(f"cannot save {what} as {shown}", hint=f"use one of {', '.join(allowed)}")


def read_text(path: Path, what: str = "") -> str:
    """A UTF-8 text file given on the command line; an unreadable one is bad input.

    Example:
        >>> try:
        ...     read_text(Path("no/such/article.md"), "article ")
        ... except InvalidRequestError as e:
        ...     e.message.startswith("cannot read article no/such/article.md")
        True
    """
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read {what}{path}: {exc}") from exc


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, atomically.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "a.txt"
        >>> write_text(out, "hi"); out.read_text()
        'hi'
    """
    from aigc_sdk._internal.files import atomic_write_bytes

    atomic_write_bytes(path, text.encode("utf-8"))


def print_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON on stdout (non-ASCII text kept as is).

    Example:
        >>> print_json({"text": "你好"})
        {
          "text": "你好"
        }
    """
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


class StageEvent(Protocol):
    """What a stage's progress bar reads from an event: a pipeline's, or a job's from ``aigc serve``.

    Example:
        >>> from aigc_sdk.pipelines.base import PipelineEvent
        >>> event: StageEvent = PipelineEvent(step="script", status="done", fraction=1.0)
        >>> event.status
        'done'
    """

    @property
    def step(self) -> str | None: ...  # None: not a stage's event (a job's status)

    @property
    def status(self) -> str: ...

    @property
    def fraction(self) -> float: ...

    @property
    def message(self) -> str: ...


def stage_progress() -> Progress:
    """The progress display of stage bars: name, bar, status, elapsed time.

    Example:
        >>> len(stage_progress().columns)
        4
    """
    columns = (TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.fields[status]}"))
    return Progress(*columns, TimeElapsedColumn(), console=console)


def stage_bars(progress: Progress, prefix: Callable[[], str] = str) -> Callable[[StageEvent], None]:
    """A progress bar per stage (per clip, with ``prefix``), updated from stage events; other events are ignored.

    Example:
        >>> from aigc_sdk.pipelines.base import PipelineEvent
        >>> progress = stage_progress()
        >>> stage_bars(progress)(PipelineEvent(step="script", status="started"))
        >>> [task.description for task in progress.tasks]
        ['script']
    """
    bars: dict[str, TaskID] = {}

    def on_event(event: StageEvent) -> None:
        if event.step is None:
            return
        name = prefix() + event.step
        if name not in bars:
            bars[name] = progress.add_task(name, total=1.0, status="")
        status = {"started": "…", "progress": event.message}.get(event.status, event.status)
        progress.update(bars[name], completed=event.fraction, status=status)

    return on_event
