"""CLI command for trust: ``aigc verify`` (content credentials, watermark, licences)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from aigc_sdk.cli._common import cli_errors, console, err_console

VERIFY_HELP = """Check a file's signed content credentials (C2PA) and invisible watermark; print what made it.

Exits 1 when the file has no credentials or they do not validate (the file or its manifest was changed).

Example: aigc verify out/quake.mp4

Example: aigc verify card.png --json"""

_VIDEO = (".mp4",)
_IMAGES = (".png", ".jpg", ".jpeg")


def _watermark(path: Path) -> dict[str, Any] | None:
    if path.suffix.lower() not in (*_VIDEO, *_IMAGES):
        return None
    from aigc_sdk.media import Image
    from aigc_sdk.trust.watermark import detect_video_watermark, detect_watermark

    check = detect_video_watermark(path) if path.suffix.lower() in _VIDEO else detect_watermark(Image.load(path))
    return dataclasses.asdict(check)


def verify(
    file: Annotated[Path, typer.Argument(help="PNG/JPEG, WAV/MP3 or MP4 file to check.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    watermark: Annotated[bool, typer.Option(help="Also look for the invisible watermark (images, MP4).")] = True,
) -> None:
    """Check a file's content credentials and watermark (see VERIFY_HELP).

    Example:
        >>> callable(verify)
        True
    """
    from aigc_sdk.trust.credentials import verify_file

    with cli_errors():
        result = verify_file(file)
        mark = _watermark(file) if watermark else None
    report = {**dataclasses.asdict(result), "path": str(result.path), "valid": result.valid, "watermark": mark}
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        _print(report)
    if not result.valid:
        raise typer.Exit(1)


def _print(report: dict[str, Any]) -> None:
    state = report["state"]
    if state == "missing":
        err_console.print(f"[bold red]no content credentials[/] in {escape(report['path'])}", highlight=False)
        return
    colour = "green" if report["valid"] else "red"
    console.print(f"[bold {colour}]{escape(state)}[/] content credentials in {escape(report['path'])}", highlight=False)
    for failure in report["failures"]:
        console.print(f"  [red]failed:[/] {escape(failure)}", highlight=False)
    signer = f"{report['signer']} (issuer: {report['issuer']})"
    trust = " [yellow](untrusted signer)[/]" if report["untrusted"] else ""
    console.print(f"  signed by: {escape(signer)}{trust}", highlight=False)
    prov = report.get("provenance") or {}
    if prov:
        made = f"{prov.get('model_id')} ({prov.get('task')}), revision {prov.get('revision')}, seed {prov.get('seed')}"
        console.print(f"  made by: {escape(made)}", highlight=False)
    if report.get("digital_source_type"):
        console.print(
            f"  source type: {escape(str(report['digital_source_type']).rsplit('/', 1)[-1])}", highlight=False
        )
    script = (report.get("made_of") or {}).get("script")
    if script:
        console.print(f"  ingredient script: {escape(str(script.get('model_id')))}", highlight=False)
    for part in report.get("ingredients") or []:
        made = f": {part['model_id']}" if part.get("model_id") else ""
        status = "own credentials valid" if part["signed"] else "no credentials of its own"
        if part["failures"]:
            status = f"[red]failed: {', '.join(part['failures'])}[/]"
        line = f"  ingredient {escape(str(part.get('role') or 'file'))} ({escape(part['title'])}){escape(made)}"
        console.print(f"{line}, {status}", highlight=False)
    licences = report.get("licenses") or {}
    for item in licences.get("licenses", []):
        console.print(f"  licence: {escape(str(item.get('id')))}: {escape(str(item.get('license')))}", highlight=False)
    for warning in licences.get("warnings", []):
        console.print(f"  [yellow]warning:[/] {escape(warning)}", highlight=False)
    mark = report.get("watermark")
    if mark is not None:
        found = "found" if mark["detected"] else "not found"
        if report["path"].lower().endswith(_VIDEO):
            found += f" in {mark['marked']} of {mark['frames']} sampled frames"
        console.print(f"  watermark: {found} (bit accuracy {mark['bit_accuracy']:.2f})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app.

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
    app.command(name="verify", help=VERIFY_HELP)(verify)
