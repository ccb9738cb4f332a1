"""The root ``aigc`` command and its sub-commands."""

from __future__ import annotations

from typing import Annotated

import typer

from aigc_sdk._version import __version__
from aigc_sdk.cli import audio, doctor, image, models, news, serve, submit, text, trust, video, watch

app = typer.Typer(
    name="aigc",
    help="Generate text, images, speech, music and video offline.\n\nExample: aigc doctor --json",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.command(name="doctor", help=doctor.HELP)(doctor.doctor)
app.add_typer(models.app, name="models")
for _module in (news, text, image, audio, video, trust, serve, submit, watch):
    _module.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aigc_sdk {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Generate text, images, speech, music and video offline."""


def main() -> None:
    """Entry point of the ``aigc`` console script.

    Example:
        >>> callable(main)
        True
    """
    app()
