"""CLI commands for text generation (registered on the root `aigc` app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app.

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
