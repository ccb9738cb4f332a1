from __future__ import annotations

import os
from pathlib import Path

import pytest

from aigc_sdk._internal.ffmpeg import find_ffmpeg
from aigc_sdk._internal.files import atomic_path, atomic_write_json
from aigc_sdk._internal.fonts import CJK_PROBE, find_font, font_files
from aigc_sdk._internal.optional import is_available, require
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import MissingDependencyError


def test_atomic_path_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def crash_mid_write() -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        crash_mid_write()
    assert target.read_text() == "old"
    with pytest.raises(OSError, match="nothing was written"), atomic_path(target):
        pass
    assert target.read_text() == "old"
    atomic_write_json(target, {"a": "中"})
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert target.read_text(encoding="utf-8") == '{\n  "a": "中"\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_require_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"aigc-sdk\[video\]"):
        require("surely_missing_module_xyz", extra="video")
    assert not is_available("surely_missing_module_xyz")


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIGC_ALLOW_DOWNLOADS", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("AIGC_MODELS", f"{tmp_path / 'a.toml'}:{tmp_path / 'b.toml'}")
    settings = Settings.from_env()
    assert settings.allow_downloads and not settings.offline
    assert [p.name for p in settings.model_catalogs] == ["a.toml", "b.toml"]
    monkeypatch.setenv("AIGC_OFFLINE", "true")
    assert not Settings.from_env().allow_downloads  # offline wins


def test_sentence_splitting_en_zh(data_dir: Path) -> None:
    en = split_sentences((data_dir / "article_en.md").read_text())
    assert en[1].startswith("The city council voted 7 to 2")
    assert '"The wetland is not decoration, it is a sponge," said council member Ana Ruiz' in en[5]
    zh = split_sentences((data_dir / "article_zh.md").read_text())
    assert all(s.endswith("。") for s in zh[1:])
    assert split_sentences("It cost $3.5 million. Mr. Holt left at 5 p.m. today.") == [
        "It cost $3.5 million.",
        "Mr. Holt left at 5 p.m. today.",
    ]
    assert split_sentences("  \n\n ") == []
    assert split_sentences("The council voted 7 to 2. Work starts soon.") == [
        "The council voted 7 to 2.",
        "Work starts soon.",
    ]


def test_ffmpeg_is_found() -> None:
    info = find_ffmpeg()
    assert info is not None and Path(info.path).exists()


def test_fonts_cover_latin_and_cjk() -> None:
    assert font_files()
    latin = find_font("Hello, world")
    assert latin is not None and latin.covers("Hello")
    pytest.importorskip("manimgx_fonts_cjk", reason="CJK fonts come with the image extra")
    cjk = find_font(CJK_PROBE)
    assert cjk is not None
    assert all(ord(ch) in cjk.codepoints for ch in CJK_PROBE)
