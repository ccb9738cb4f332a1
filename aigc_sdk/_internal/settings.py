"""Settings read from environment variables (documented in docs/environment.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return raw in _TRUE if raw else default


def _paths(name: str) -> tuple[Path, ...]:
    raw = os.environ.get(name, "")
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Settings:
    """A snapshot of the SDK's environment settings.

    Example:
        >>> s = Settings.from_env()
        >>> isinstance(s.cache_dir, Path)
        True
    """

    cache_dir: Path
    hf_cache_dir: Path
    envs_dir: Path
    model_catalogs: tuple[Path, ...]
    allow_downloads: bool
    offline: bool
    ffmpeg: str | None
    font_dirs: tuple[Path, ...]
    credentials: bool = True
    threads: int = 0

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the current environment.

        Example:
            >>> Settings.from_env().offline in (True, False)
            True
        """
        xdg = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
        cache = Path(os.environ.get("AIGC_CACHE_DIR", str(xdg / "aigc_sdk"))).expanduser()
        hf_home = Path(os.environ.get("HF_HOME", str(xdg / "huggingface"))).expanduser()
        hf_cache = Path(os.environ.get("HF_HUB_CACHE", str(hf_home / "hub"))).expanduser()
        data = Path(os.environ.get("XDG_DATA_HOME", "~/.local/share")).expanduser()
        offline = _flag("AIGC_OFFLINE") or _flag("HF_HUB_OFFLINE")
        return cls(
            cache_dir=cache,
            hf_cache_dir=hf_cache,
            envs_dir=Path(os.environ.get("AIGC_ENVS_DIR", str(data / "aigc_sdk" / "envs"))).expanduser(),
            model_catalogs=_paths("AIGC_MODELS"),
            allow_downloads=_flag("AIGC_ALLOW_DOWNLOADS") and not offline,
            offline=offline,
            ffmpeg=os.environ.get("AIGC_FFMPEG") or None,
            font_dirs=_paths("AIGC_FONT_DIRS"),
            credentials=_flag("AIGC_CREDENTIALS", default=True),
            threads=_count("AIGC_THREADS"),
        )


def _count(name: str) -> int:
    """A non-negative integer variable (0 when unset or not a number)."""
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else 0
