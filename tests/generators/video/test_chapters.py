"""Chapter marks: checked in the request, written at mux from an FFMETADATA file, kept when a video is re-tagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.video.ffgraph import Encoding, chapter_metadata, mux_command
from aigc_sdk.media import Audio, Image, Video
from aigc_sdk.provenance import Provenance
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import Chapter, VideoEncoding, VideoRequest
from tests.support import require_module

av = require_module("av", reason="needs the video extra")

CHAPTERS = [
    Chapter(title="Council votes", start=0.0, end=1.0),
    Chapter(title="Park: 2 = more; #wetland", start=1.0, end=2.0),
]


def _frame(value: int) -> Image:
    prov = Provenance(model_id="card-renderer", task="text-to-image", backend="b")  # made by the SDK: marked
    return Image.from_array(np.full((144, 256, 3), value, dtype=np.uint8), prov)


def test_the_metadata_file_escapes_titles_and_ends_with_the_video() -> None:
    text = chapter_metadata([*CHAPTERS, Chapter(title="After the end", start=2.5, end=3.0)], total=1.6)
    assert text.splitlines() == [
        ";FFMETADATA1",
        *("[CHAPTER]", "TIMEBASE=1/1000", "START=0", "END=1000", "title=Council votes"),
        *("[CHAPTER]", "TIMEBASE=1/1000", "START=1000", "END=1600", r"title=Park: 2 \= more\; \#wetland"),
    ]


@pytest.mark.parametrize("sound", [None, "soundtrack.m4a"])
def test_the_chapters_come_from_the_last_input(sound: str | None) -> None:
    encoding = Encoding(
        width=16, height=16, fps=10, frames=10, preset="veryfast", crf=23, rate=48_000, chapters="ch.txt"
    )
    command = mux_command("ffmpeg", "picture.mp4", sound, encoding)
    inputs = [command[i + 1] for i, arg in enumerate(command) if arg == "-i"]
    at = command.index("ch.txt")
    assert inputs[-1] == "ch.txt" and command[at - 3 : at] == ["-f", "ffmetadata", "-i"]
    assert command[command.index("-map_chapters") + 1] == str(len(inputs) - 1)
    without = mux_command("ffmpeg", "picture.mp4", sound, Encoding(width=16, height=16, fps=10, frames=10,
                          preset="veryfast", crf=23, rate=48_000))  # fmt: skip
    assert "-map_chapters" not in without and "ffmetadata" not in without


def test_chapters_out_of_order_or_after_the_end_are_refused() -> None:
    frames = [_frame(40), _frame(200)]
    with pytest.raises(InvalidRequestError, match="inside the one before"):
        VideoRequest(images=frames, durations=[1.0, 1.0], chapters=[CHAPTERS[1], CHAPTERS[0]])
    late = Chapter(title="Late", start=2.0, end=3.0)
    with pytest.raises(InvalidRequestError, match="after the video ends"):
        VideoRequest(images=frames, durations=[1.0, 1.0], chapters=[CHAPTERS[0], late])
    with pytest.raises(InvalidRequestError):
        Chapter(title="Empty", start=1.0, end=1.0)


@pytest.mark.parametrize("watermark", [False, None])
def test_a_render_carries_its_chapters_and_a_re_tagged_copy_keeps_them(tmp_path: Path, watermark: bool | None) -> None:
    from aigc_sdk.generators.video.slideshow import SlideshowVideoGenerator

    renderer = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))
    out = tmp_path / "clip.mp4"
    result = renderer(
        images=[_frame(40), _frame(200)],
        durations=[1.0, 1.0],
        width=256,
        height=144,
        fps=10,
        audio=Audio(np.full(32_000, 0.01, dtype=np.float32), 16_000),
        chapters=CHAPTERS,
        encoding=VideoEncoding(output=out, watermark=watermark),
    )
    assert result.provenance.request["chapters"][1]["title"] == CHAPTERS[1].title
    copy = Video.load(out).save(tmp_path / "copy.mp4")
    for path in (out, copy):
        with av.open(str(path)) as container:
            chapters = container.chapters()
            data = [s for s in container.streams if s.type == "data"]
        assert [c["metadata"]["title"] for c in chapters] == [c.title for c in CHAPTERS]
        assert [float(c["start"] * c["time_base"]) for c in chapters] == [0.0, 1.0]
        assert len(data) == 1  # the chapters' text track, once
