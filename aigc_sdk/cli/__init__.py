"""The ``aigc`` command line (typer + rich).

Example:
    >>> from aigc_sdk.cli import app
    >>> app.info.name
    'aigc'
"""

from aigc_sdk.cli.app import app, main

__all__ = ["app", "main"]
