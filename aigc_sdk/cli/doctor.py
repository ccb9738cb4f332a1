"""``aigc doctor``: what this machine can run, offline."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import sys
from typing import Annotated, Any

import typer
from packaging.requirements import Requirement
from rich.table import Table

from aigc_sdk._internal.ffmpeg import find_ffmpeg
from aigc_sdk._internal.fonts import CJK_PROBE, find_font, font_files
from aigc_sdk._internal.optional import is_available
from aigc_sdk._internal.settings import Settings
from aigc_sdk._version import __version__
from aigc_sdk.cli._common import console

HELP = """Report Python, torch and devices, ffmpeg, fonts, offline models and voices, extras, caches.

Example: aigc doctor --json
"""

EXTRAS = (
    "text",
    "image",
    "audio",
    "voice",
    "asr",
    "video",
    "trust",
    "news",
    "server",
    "client",
    "distributed",
    "dev",
    "docs",
)


def collect() -> dict[str, Any]:
    """Gather the doctor's report as JSON-able data.

    Example:
        >>> report = collect()
        >>> sorted(report)[:3]
        ['caches', 'credentials', 'devices']
    """
    settings = Settings.from_env()
    return {
        "sdk": {"version": __version__, "python": platform.python_version(), "platform": platform.platform()},
        "torch": _torch(),
        "devices": _devices(),
        "ffmpeg": _ffmpeg(),
        "fonts": _fonts(),
        "models": _models(),
        "extras": _extras(),
        "caches": {
            "aigc": str(settings.cache_dir),
            "huggingface": str(settings.hf_cache_dir),
            "envs": str(settings.envs_dir),
            "numba": os.environ.get("NUMBA_CACHE_DIR"),
        },
        "offline": {"offline": settings.offline, "downloads_allowed": settings.allow_downloads},
        "credentials": _credentials(settings),
    }


def _credentials(settings: Settings) -> dict[str, Any]:
    """Whether saves are signed, and with which key (nothing is generated here)."""
    from aigc_sdk.trust.credentials import signs_by_default, uses_own_certificate

    return {
        "available": is_available("c2pa"),
        "sign_on_save": signs_by_default(settings),
        "signer": "own certificate" if uses_own_certificate() else "development key (untrusted)",
    }


def _torch() -> dict[str, Any]:
    if not is_available("torch"):
        return {"installed": False}
    import torch

    return {
        "installed": True,
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "mps_available": bool(torch.backends.mps.is_available()),
    }


def _devices() -> list[dict[str, Any]]:
    from aigc_sdk.runtime.devices import memory_info

    free, total = memory_info("cpu")
    devices: list[dict[str, Any]] = [
        {
            "device": "cpu",
            "name": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "total_memory": total,
            "free_memory": free,
        }
    ]
    if is_available("torch"):
        import torch

        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                free_b, total_b = memory_info(f"cuda:{i}")
                devices.append(
                    {
                        "device": f"cuda:{i}",
                        "name": torch.cuda.get_device_name(i),
                        "total_memory": total_b,
                        "free_memory": free_b,
                    }
                )
        if torch.backends.mps.is_available():
            devices.append({"device": "mps", "name": "Apple GPU", "total_memory": None, "free_memory": None})
    return devices


def _ffmpeg() -> dict[str, Any] | None:
    info = find_ffmpeg()
    return None if info is None else {"path": info.path, "version": info.version, "source": info.source}


def _fonts() -> dict[str, Any]:
    if not is_available("fontTools"):
        return {"count": len(font_files()), "latin": None, "cjk": None, "cjk_ok": False}
    latin = find_font("Aa Bb 0123")
    cjk = find_font(CJK_PROBE)
    return {
        "count": len(font_files()),
        "latin": None if latin is None else {"family": latin.family, "path": str(latin.path)},
        "cjk": None if cjk is None else {"family": cjk.family, "path": str(cjk.path)},
        "cjk_ok": cjk is not None,
    }


def _models() -> list[dict[str, Any]]:
    from aigc_sdk.registry import ModelRegistry, is_available_offline

    return [
        {
            "id": s.id,
            "task": s.task.value,
            "source": s.source.kind,
            "license": s.license,
            "voices": list(s.voices),
            "languages": list(s.languages),
            "available_offline": is_available_offline(s),
        }
        for s in ModelRegistry().list()
    ]


def _extras() -> dict[str, dict[str, Any]]:
    try:
        requires = importlib.metadata.requires("aigc-studio") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    needed: dict[str, list[str]] = {extra: [] for extra in EXTRAS}
    for line in requires:
        req = Requirement(line)
        marker = str(req.marker or "")
        match = re.search(r'extra == "([^"]+)"', marker)
        if match and match.group(1) in needed and not req.name.startswith("aigc-studio"):
            needed[match.group(1)].append(req.name)
    report = {}
    for extra, names in needed.items():
        missing = [n for n in names if not _installed(n)]
        report[extra] = {"installed": bool(names) and not missing, "missing": missing}
    return report


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _gib(value: int | None) -> str:
    return "?" if value is None else f"{value / 2**30:.1f} GiB"


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Report what this machine can run offline."""
    report = collect()
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    sdk, torch_info = report["sdk"], report["torch"]
    console.print(f"[bold]aigc_sdk {sdk['version']}[/] on Python {sdk['python']} ({sdk['platform']})")
    console.print(
        f"torch: {torch_info.get('version', 'not installed')}"
        + (f", CUDA {torch_info['cuda']}" if torch_info.get("cuda") else "")
    )
    table = Table("device", "name", "memory (free / total)", title="Devices")
    for d in report["devices"]:
        table.add_row(d["device"], str(d["name"]), f"{_gib(d['free_memory'])} / {_gib(d['total_memory'])}")
    console.print(table)
    ff = report["ffmpeg"]
    console.print(f"ffmpeg: {ff['version'] + ' (' + ff['source'] + ') ' + ff['path'] if ff else '[red]not found[/]'}")
    fonts = report["fonts"]
    cjk = fonts["cjk"]["family"] if fonts["cjk"] else "[red]none (install fonts-noto-cjk or the image extra)[/]"
    console.print(f"fonts: {fonts['count']} files; CJK: {cjk}")
    models = Table("model", "task", "source", "offline", title="Models and voices")
    for m in report["models"]:
        models.add_row(m["id"], m["task"], m["source"], "yes" if m["available_offline"] else "no")
    console.print(models)
    missing = [m["id"] for m in report["models"] if not m["available_offline"]]
    if missing:
        console.print(f"not on this machine: {', '.join(missing)}; `aigc models fetch ID` gets one", highlight=False)
    extras = ", ".join(f"{k} {'✓' if v['installed'] else '✗'}" for k, v in report["extras"].items())
    console.print(f"extras: {extras}")
    caches, offline = report["caches"], report["offline"]
    console.print(f"caches: aigc={caches['aigc']} huggingface={caches['huggingface']} envs={caches['envs']}")
    console.print(f"offline: {offline['offline']}; downloads allowed: {offline['downloads_allowed']}")
    signing = report["credentials"]
    if not signing["available"]:
        state = "unavailable (pip install 'aigc-studio[trust]')"
    elif signing["sign_on_save"]:
        state = f"saves are signed, with the {signing['signer']}"
    else:
        state = "saves are not signed (AIGC_CREDENTIALS=0); sign_file and credentials=True still sign"
    console.print(f"content credentials: {state}; watermarks: on", highlight=False)
