from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from aigc_sdk._internal.ffmpeg import find_ffmpeg, relay_frames, require_ffmpeg
from aigc_sdk._internal.files import atomic_path, atomic_write_json
from aigc_sdk._internal.fonts import CJK_PROBE, find_font, font_files
from aigc_sdk._internal.optional import is_available, require
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import MediaError, MissingDependencyError
from tests.support import require_module


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
    with pytest.raises(MissingDependencyError, match=r"aigc-studio\[video\]"):
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
    require_module("manimgx_fonts_cjk", reason="CJK fonts come with the image extra")
    cjk = find_font(CJK_PROBE)
    assert cjk is not None
    assert all(ord(ch) in cjk.glyphs for ch in CJK_PROBE)


def _gray_source(seconds: float) -> list[str]:
    return [require_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i", f"color=c=red:s=16x16:d={seconds}:r=10",
            "-f", "rawvideo", "-pix_fmt", "gray", "-"]  # fmt: skip


def _gray_sink(*extra: str) -> list[str]:
    return [require_ffmpeg().path, "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "16x16", "-r", "10",
            "-i", "-", *extra]  # fmt: skip


#: Whole frames through Python, and only a window of each (the rest spliced from pipe to pipe on Linux).
RELAY_WINDOWS = pytest.mark.parametrize("window", [None, (64, 128)], ids=["whole", "window"])


@RELAY_WINDOWS
def test_relay_frames_passes_changed_frames_in_order(tmp_path: Path, window: tuple[int, int] | None) -> None:

    out = tmp_path / "out.gray"

    def paint(index: int, frame: npt.NDArray[np.uint8]) -> None:
        frame[:] = index  # the sink must receive what the hook wrote, frame by frame

    count = relay_frames(_gray_source(3.0), _gray_sink("-f", "rawvideo", str(out)), 256, paint, window=window)
    assert count == 30
    frames = np.frombuffer(out.read_bytes(), dtype=np.uint8).reshape(30, 256)
    start, length = window or (0, 256)
    assert [list(set(f[start : start + length])) for f in frames] == [[i] for i in range(30)]
    assert set(frames[:, :start].ravel()) | set(frames[:, start + length :].ravel()) <= {76}  # the rest untouched


@RELAY_WINDOWS
def test_relay_frames_reports_the_failing_side_and_stops_both(window: tuple[int, int] | None) -> None:

    def relay(source: list[str], sink: list[str], frame_bytes: int = 256, hook: Any = lambda i, f: None) -> int:
        return relay_frames(source, sink, frame_bytes, hook, window=window)

    with pytest.raises(MediaError, match=r"ffmpeg \(sink\) failed") as sink_failed:
        relay(_gray_source(60.0), _gray_sink("-c:v", "no-such-codec", "-f", "null", "-"))
    assert sink_failed.value.hint and "no-such-codec" in sink_failed.value.hint
    broken = [*_gray_source(1.0)[:-5], "-f", "no-such-format", "-"]
    with pytest.raises(MediaError, match=r"ffmpeg \(source\) failed"):
        relay(broken, _gray_sink("-f", "null", "-"))
    with pytest.raises(MediaError, match="partial frame"):  # 256 bytes per frame do not divide into 300
        relay(_gray_source(1.0), _gray_sink("-f", "null", "-"), 300)

    def fail(index: int, frame: npt.NDArray[np.uint8]) -> None:
        if index == 3:
            raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        relay(_gray_source(60.0), _gray_sink("-f", "null", "-"), 256, fail)
    with pytest.raises(ValueError, match="not inside a frame"):
        relay_frames(_gray_source(1.0), _gray_sink("-f", "null", "-"), 256, lambda i, f: None, window=(200, 100))


@RELAY_WINDOWS
def test_relay_frames_stops_the_source_when_the_sink_is_done(window: tuple[int, int] | None) -> None:
    count = relay_frames(_gray_source(600.0), _gray_sink("-frames:v", "5", "-f", "null", "-"), 256,
                         lambda i, f: None, window=window)  # fmt: skip
    assert count >= 5  # the sink took five frames and quit; the long source was stopped, not waited for


def test_hidden_from_hides_a_package_from_one_importer_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    from aigc_sdk._internal.optional import hidden_from

    (tmp_path / "accel_dep.py").write_text("FAST = True\n")
    (tmp_path / "picky_lib.py").write_text(
        "try:\n    import accel_dep\n    FAST = True\nexcept ImportError:\n    FAST = False\n"
    )
    (tmp_path / "other_lib.py").write_text("import accel_dep\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("accel_dep", "picky_lib", "other_lib"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with hidden_from("picky_lib", "accel_dep"):
        picky_lib = importlib.import_module("picky_lib")
        other_lib = importlib.import_module("other_lib")  # imported after: another importer still finds it
    assert picky_lib.FAST is False
    assert other_lib.accel_dep.FAST is True
    assert not any(type(f).__name__ == "_Hidden" for f in sys.meta_path)
