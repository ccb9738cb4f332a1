"""``aigc serve``: run the job service (the ``server`` extra) on uvicorn."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from aigc_sdk.cli._common import cli_errors, err_console
from aigc_sdk.errors import InvalidRequestError, MissingDependencyError

HELP = """Serve the news-clip job API (/v1, OpenAPI at /docs) with jobs kept in SQLite under --data.

Binds 127.0.0.1 by default; another address needs API keys (AIGC_API_KEYS, comma-separated, or --keys-file).
Approved clips are published to --outbox DIR/<job id>/ and announced to each --webhook URL.

Example: aigc serve --port 8000 --data ./aigc-data --concurrency 2 --outbox ./published"""


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


def api_keys_from_file(path: Path) -> tuple[str, ...]:
    r"""The API keys in a keys file: one per line; blank lines and ``#`` comments are skipped.

    Raises:
        InvalidRequestError: The file cannot be read, or holds no key.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "keys"
        >>> _ = p.write_text("# desk\nk-one\n\n  k-two  # laptop\n")
        >>> api_keys_from_file(p)
        ('k-one', 'k-two')
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read the keys file {path}: {exc}", hint="one API key per line") from exc
    keys = tuple(key for key in (line.split("#", 1)[0].strip() for line in lines) if key)
    if not keys:
        raise InvalidRequestError(f"the keys file {path} holds no key", hint="one API key per line; # starts a comment")
    return keys


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
            hint="set AIGC_API_KEYS=key1,key2 or give --keys-file, or bind --host 127.0.0.1",
        )


def serve(
    host: Annotated[str, typer.Option(help="Address to bind; not loopback only with AIGC_API_KEYS set.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    data: Annotated[Path, typer.Option(help="Data folder: jobs.sqlite, jobs/<id>/, cache/.")] = Path("aigc-data"),
    concurrency: Annotated[int, typer.Option(min=0, max=64, help="Jobs run at once (one shared Studio).")] = 1,
    max_queued: Annotated[int, typer.Option(min=1, help="Queued jobs before 429 Too Many Requests.")] = 100,
    keys_file: Annotated[
        Path | None, typer.Option(help="API keys, one per line (# comments), besides AIGC_API_KEYS.")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.001, help="Largest upload or request body, MiB.")] = 10.0,
    outbox: Annotated[Path | None, typer.Option(help="Copy approved clips to OUTBOX/<job id>/.")] = None,
    webhook: Annotated[
        list[str] | None, typer.Option(help="POST a JSON notice of each approved clip here (repeatable).")
    ] = None,
    brand: Annotated[Path | None, typer.Option(help="Brand kit (TOML/YAML) every clip wears.")] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="Run the models on a Ray cluster: auto, ray://HOST:10001 or HOST:6379 (AIGC_CLUSTER)."),
    ] = None,
    jobs_per_node: Annotated[
        int, typer.Option(min=1, max=64, help="With --cluster: jobs each node runs at once beside its replica.")
    ] = 1,
) -> None:
    """Serve the news-clip job API."""
    with cli_errors():
        keys = api_keys_from_env() + (api_keys_from_file(keys_file) if keys_file is not None else ())
        check_bind(host, keys)
        try:
            import uvicorn

            from aigc_sdk.server import create_app
            from aigc_sdk.server.publish import check_webhook
        except ImportError as exc:
            raise MissingDependencyError(package=exc.name or "fastapi", extra="server", feature="aigc serve") from exc
        webhooks = [check_webhook(url) for url in webhook or []]
        share_cores(concurrency)
        studio = None
        if cluster is not None and not cluster.strip():
            raise InvalidRequestError("the cluster address is empty", hint='use "auto" or "ray://host:10001"')
        if cluster is not None:  # connect now: a wrong address fails here, not in the first job
            from aigc_sdk.studio import Studio

            studio = Studio(cluster=cluster, jobs_per_node=jobs_per_node)
        app = create_app(
            data,
            studio=studio,
            concurrency=concurrency,
            api_keys=keys,
            max_queued=max_queued,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            outbox=outbox,
            webhooks=webhooks,
            brand=brand,
        )
        # The workers' threads and the event loop share the GIL: switching every 1 ms (not 5) keeps the API
        # answering within milliseconds while clips render, at a negligible cost to the workers.
        sys.setswitchinterval(0.001)
        err_console.print(f"aigc serve: http://{host}:{port}/docs · data in {data}", highlight=False)
        try:
            uvicorn.run(app, host=host, port=port, log_level="info")
        finally:
            if studio is not None:
                studio.close()


def share_cores(concurrency: int, cores: int | None = None) -> int:
    """Give each of ``concurrency`` jobs a share of the cores: ``AIGC_THREADS`` (and ``OMP_NUM_THREADS``).

    Each model otherwise takes every core for one request (onnxruntime, x264, torch), and two jobs at
    once fight over them; an explicit ``AIGC_THREADS`` is kept. Returns the threads per job (0: not set).

    Example:
        >>> import os
        >>> saved = {name: os.environ.pop(name, None) for name in ("AIGC_THREADS", "OMP_NUM_THREADS")}
        >>> share_cores(1, cores=8), share_cores(2, cores=8), os.environ["AIGC_THREADS"]
        (0, 4, '4')
        >>> share_cores(4, cores=8)  # already set: kept
        0
        >>> for name, value in saved.items():
        ...     _ = os.environ.pop(name, None) if value is None else os.environ.update({name: value})
    """
    if concurrency <= 1 or os.environ.get("AIGC_THREADS"):
        return 0
    share = max(1, (cores or os.cpu_count() or 1) // concurrency)
    os.environ["AIGC_THREADS"] = str(share)
    os.environ.setdefault("OMP_NUM_THREADS", str(share))  # read by torch and OpenBLAS when they load
    return share


def register(app: typer.Typer) -> None:
    """Add ``aigc serve`` to the root app.

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
    app.command(name="serve", help=HELP)(serve)
