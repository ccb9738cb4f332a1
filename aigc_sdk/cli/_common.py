"""Helpers shared by CLI commands: error display and consoles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

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
