"""``aigc serve``: run the job service (the ``server`` extra) on uvicorn."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from aigc_sdk.cli._common import cli_errors, err_console
from aigc_sdk.errors import InvalidRequestError, MissingDependencyError

HELP = """Serve the news-clip job API (/v1, OpenAPI at /docs) with jobs kept in SQLite under --data.

Binds 127.0.0.1 by default; another address needs API keys (AIGC_API_KEYS, comma-separated).

Example: aigc serve --port 8000 --data ./aigc-data --concurrency 2"""


def api_keys_from_env() -> tuple[str, ...]:
    """The API keys in ``AIGC_API_KEYS`` (comma-separated; blanks dropped).

    Example:
        >>> import os
        >>> os.environ["AIGC_API_KEYS"] = "a, b,"
        >>> api_keys_from_env()
        ('a', 'b')
        >>> del os.environ["AIGC_API_KEYS"]
    """
    return tuple(key.strip() for key in os.environ.get("AIGC_API_KEYS", "").split(",") if key.strip())


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds only this machine (``localhost``, ``127.0.0.0/8``, ``::1``).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0"), is_loopback("localhost")
        (True, False, True)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_keys: tuple[str, ...]) -> None:
    """Refuse to bind a non-loopback address without an API key.

    Raises:
        InvalidRequestError: ``host`` is reachable from other machines and no key is configured.

    Example:
        >>> check_bind("127.0.0.1", ())
        >>> check_bind("0.0.0.0", ("k",))
    """
    if not api_keys and not is_loopback(host):
        raise InvalidRequestError(
            f"refusing to serve on {host} without an API key",
            hint="set AIGC_API_KEYS=key1,key2, or bind --host 127.0.0.1",
        )


def serve(
    host: Annotated[str, typer.Option(help="Address to bind; not loopback only with AIGC_API_KEYS set.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    data: Annotated[Path, typer.Option(help="Data folder: jobs.sqlite, jobs/<id>/, cache/.")] = Path("aigc-data"),
    concurrency: Annotated[int, typer.Option(min=0, max=64, help="Jobs run at once (one shared Studio).")] = 1,
    max_queued: Annotated[int, typer.Option(min=1, help="Queued jobs before 429 Too Many Requests.")] = 100,
) -> None:
    """Serve the news-clip job API."""
    with cli_errors():
        keys = api_keys_from_env()
        check_bind(host, keys)
        try:
            import uvicorn

            from aigc_sdk.server import create_app
        except ImportError as exc:
            raise MissingDependencyError(package=exc.name or "fastapi", extra="server", feature="aigc serve") from exc
        app = create_app(data, concurrency=concurrency, api_keys=keys, max_queued=max_queued)
        err_console.print(f"aigc serve: http://{host}:{port}/docs · data in {data}", highlight=False)
        uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add ``aigc serve`` to the root app.

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
    app.command(name="serve", help=HELP)(serve)
