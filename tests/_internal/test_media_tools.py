"""The one subtitle writer, the one media probe and the one text layout in _internal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk._internal.probe import probe_media
from aigc_sdk._internal.subtitles import read_subtitles, subtitle_text, write_subtitles
from aigc_sdk._internal.textlayout import TextLayout, balanced_lines, shared_book, wrap_measured, wrap_text
from aigc_sdk.errors import MediaError
from aigc_sdk.media import Audio
from aigc_sdk.types import Cue, Segment
from tests.support import require_module

require_module("pysubs2", reason="needs the video extra")
require_module("av", reason="needs the video extra")


def test_one_writer_for_cues_and_segments_round_trips(tmp_path: Path) -> None:
    cues = [Cue(text="Good evening.", start=0.1, end=0.9), Cue(text="市议会周二通过。", start=1.0, end=1.9)]
    srt, vtt = write_subtitles(cues, tmp_path / "a.srt", tmp_path / "a.vtt")
    assert srt.read_text(encoding="utf-8").startswith("1\n00:00:00,100 --> 00:00:00,900\nGood evening.\n")
    assert vtt.read_text(encoding="utf-8").startswith("WEBVTT")
    for path in (srt, vtt):
        assert read_subtitles(path) == [(c.text, c.start, c.end) for c in cues]
    # segments from speech (the CLI's --subtitles) go through the same writer; empty ones are left out
    segments = [Segment(text="Hi.", start=0.0, end=0.5), Segment(text=" ", start=0.5, end=0.6)]
    assert subtitle_text(segments) == "1\n00:00:00,000 --> 00:00:00,500\nHi.\n\n"
    with pytest.raises(ValueError, match=r"srt or \.vtt"):
        write_subtitles(cues, tmp_path / "a.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.srt", "a.vtt"]


def test_probe_reads_the_container_not_ffmpegs_log(tmp_path: Path) -> None:
    out = tmp_path / "t.mp4"
    cmd = [require_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i", "testsrc=s=96x54:r=12:d=1.5",
           "-metadata", "comment=" + "市" * 300, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    info = probe_media(out)
    assert (info.width, info.height, info.fps, info.has_video, info.has_audio) == (96, 54, 12.0, True, False)
    assert info.duration == pytest.approx(1.5, abs=0.01)
    assert info.tags["comment"] == "市" * 300  # long non-ASCII tags come back whole
    wav = Audio(np.zeros(4000, np.float32), 8000).save(tmp_path / "a.wav")
    assert probe_media(wav).duration == 0.5 and probe_media(wav).has_audio
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(MediaError, match="not a readable media file"):
        probe_media(tmp_path / "junk.mp4")
    with pytest.raises(MediaError, match="not a readable video file") as info:  # the stream a caller reads
        probe_media(wav, need="video")
    assert info.value.hint == "it has no video stream"
    assert probe_media(out, need="video").has_video
    with pytest.raises(MediaError, match="not a readable audio file"):
        probe_media(out, need="audio")


def test_one_wrapping_rule_for_cards_and_subtitles() -> None:
    assert wrap_measured("a\n\nb c", 10, len) == (["a", "b c"], [1, 3], False)
    assert wrap_measured("Supercalifragilistic", 8, len)[2] is True
    assert wrap_text("", 5, len) == []
    lines = balanced_lines("The council voted seven to two on Tuesday", 30, len)
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 8
    layout = TextLayout(shared_book(("DejaVu Sans", "Noto Sans CJK SC")))
    block = layout.fit("市议会周二以七比二通过了预算", 120, 200, max_size=24, min_size=8)
    assert all(w <= 120 for w in block.widths)
    assert {face.family for line in block.lines for _, face in line} == {"Noto Sans CJK SC"}
