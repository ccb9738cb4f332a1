"""Captions: word-highlighted captions switch at the voice's word timings (to the frame), and the portrait safe zone."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec
from aigc_sdk.generators.video.captions import SAFE_BOTTOM, caption_area, caption_band, caption_top, subtitle_band
from aigc_sdk.generators.video.slideshow import SlideshowVideoGenerator
from aigc_sdk.media import Image
from aigc_sdk.pipelines.branding import caption_style, word_timed
from aigc_sdk.pipelines.timeline import Timeline, Visual
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import Cue, Segment, SubtitleStyle, VideoEncoding, VideoRequest, Word
from tests.support import require_module

require_module("pysubs2", reason="needs the video extra")

FPS, W, H = 25, 480, 270
WORDS = (
    Word(text="Alpha", start=0.2, end=0.8),
    Word(text="beta", start=1.0, end=1.6),
    Word(text="gamma", start=1.72, end=2.5),
)
CUE = Cue(text="Alpha beta gamma", start=0.0, end=3.0)
STYLE = SubtitleStyle(font_size=0.1, highlight="#FF0000", background=None, outline=0.0)


def _request(tmp_path: Path) -> VideoRequest:
    still = Image.from_array(np.full((H, W, 3), 40, np.uint8))
    return VideoRequest(images=[still], durations=[3.0], width=W, height=H, fps=FPS, cues=[CUE], words=WORDS,
                        subtitle_style=STYLE, motion="none", transition="none",
                        encoding=VideoEncoding(output=tmp_path / "words.mp4", crf=12, watermark=False))  # fmt: skip


def _frames(path: Path) -> np.ndarray:
    raw = subprocess.run(
        [require_ffmpeg().path, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3).astype(int)


def _red_x(frame: np.ndarray) -> float | None:
    """The mean column of the highlighted (red) pixels, None when nothing is highlighted."""
    red = (frame[..., 0] > 170) & (frame[..., 1] < 90) & (frame[..., 2] < 90)
    xs = np.nonzero(red)[1]
    return float(xs.mean()) if len(xs) > 20 else None


def test_the_playlist_switches_pictures_at_the_word_timings(tmp_path: Path) -> None:
    request = _request(tmp_path)
    playlist, _, _ = subtitle_band(request.cues, 3.0, request, tmp_path)
    lines = playlist.read_text().splitlines()
    files = [line.split()[1] for line in lines if line.startswith("file")]
    durations = [float(line.split()[1]) for line in lines if line.startswith("duration")]
    assert files[:4] == ["cue0.png", "cue0w0.png", "cue0w1.png", "cue0w2.png"]
    switches = np.cumsum(durations[:4])
    assert switches[:3] == pytest.approx([w.start for w in WORDS], abs=1e-6)
    assert switches[3] == pytest.approx(CUE.end, abs=1e-6)


def test_words_captions_highlight_the_spoken_word_within_one_frame(tmp_path: Path) -> None:
    result = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))(_request(tmp_path))
    frames = _frames(result.video.path)
    xs = [_red_x(frame) for frame in frames]
    assert xs[round(WORDS[0].start * FPS) - 1] is None  # before the first word: nothing highlighted
    positions = []
    for before, after in itertools.pairwise(WORDS):
        switch = round(after.start * FPS)  # the frame at (or nearest after) the next word's start
        left, right = xs[switch - 1], xs[switch]
        assert left is not None and right is not None
        assert right > left + 30, f"the highlight did not move on at frame {switch} ({before.text} -> {after.text})"
        assert xs[switch - 2] == pytest.approx(left, abs=2)  # and not a frame early
        positions.append(left)
    assert positions == sorted(positions)
    # the sidecars keep the plain cue
    assert result.subtitles is not None and "Alpha beta gamma" in result.subtitles.read_text()


def test_cues_are_retimed_to_start_on_their_first_word() -> None:
    card = Visual(path=Path(__file__), kind="card")
    said = Segment(text="One two three four five six.", start=0.0, end=3.0, words=tuple(
        Word(text=t, start=0.5 * i, end=0.5 * i + 0.4) for i, t in enumerate("One two three four five six.".split())
    ))  # fmt: skip
    timeline = Timeline.from_speech([said], [card], duration=3.0, max_chars=14)
    timed, words = word_timed(timeline, (said,))
    assert len(words) == 6
    for cue in timed.cues[1:]:
        first = cue.text.split()[0]
        assert cue.start == next(w.start for w in words if w.text == first)
    # a voice that gave no word timings: words spread over the sentence, in order, inside it
    bare = said.model_copy(update={"words": ()})
    _, spread = word_timed(timeline, (bare,))
    assert [w.text for w in spread] == said.text.split()
    assert spread[0].start == 0.0 and spread[-1].end == pytest.approx(3.0, abs=0.01)


def test_portrait_captions_stay_out_of_the_platform_ui() -> None:
    top, bottom = caption_area(SubtitleStyle(safe_zone=True), 1080, 1920)
    assert bottom <= round((1 - SAFE_BOTTOM) * 1920) and top >= round(0.12 * 1920)
    assert caption_area(SubtitleStyle(), 1080, 1920)[1] > bottom  # today's default is unchanged
    style = caption_style(None, "words", 720, 1280)
    assert style is not None and style.safe_zone and style.highlight is not None
    plain = caption_style(None, "sentence", 720, 1280)  # no brand, sentence captions: the safe zone all the same
    assert plain is not None and plain.safe_zone and plain.highlight is None and plain.font is None
    assert caption_style(None, "sentence", 1280, 720) is None  # landscape: the slideshow's default


def test_portrait_band_is_drawn_above_the_bottom_ui_band(tmp_path: Path) -> None:
    still = Image.from_array(np.zeros((64, 36, 3), np.uint8))
    cue = Cue(text="Hi", start=0, end=1)
    request = VideoRequest(images=[still], durations=[2.0], width=360, height=640, cues=[cue],
                           subtitle_style=SubtitleStyle(safe_zone=True))  # fmt: skip
    playlist, band_y, _ = subtitle_band(request.cues, 2.0, request, tmp_path)
    band_height = Image.load(tmp_path / "cue0.png").size[1]
    assert band_y + band_height <= round((1 - SAFE_BOTTOM) * 640)
    assert playlist.is_file()


@pytest.mark.parametrize("layout", ["title", "body", "quote"])
def test_portrait_cards_keep_their_text_above_the_captions(layout: str) -> None:
    require_module("fontTools", reason="needs the image extra")
    style = caption_style(None, "sentence", 720, 1280)  # every portrait clip's captions: in the safe zone
    band = caption_band(style, 720, 1280)
    assert style is not None and 1 - band < caption_top(style, 720, 1280) / 1280 < 1 - SAFE_BOTTOM
    assert caption_band(caption_style(None, "sentence", 1280, 720), 1280, 720) == 0.0  # landscape: as before
    assert caption_band(caption_style(None, "sentence", 720, 900), 720, 900) == 0.0  # 4:5: a post shown whole
    text = "The plan adds a wetland boardwalk, two playing fields and a path along the river. " * 3
    fields = {"title": {"title": "Council approves park", "subtitle": text}, "body": {"title": "Park", "body": text},
              "quote": {"quote": text, "attribution": "Ana Ruiz"}}[layout]  # fmt: skip
    card = CardRenderer().compose(CardSpec(layout=layout, width=720, height=1280, caption_band=band, **fields))
    lowest = max(box.box[3] for box in card.boxes)
    assert lowest <= (1 - band) * 1280 and card.safe_area[3] == int((1 - band) * 1280)
    free = CardRenderer().compose(CardSpec(layout=layout, width=720, height=1280, **fields))
    assert max(box.box[3] for box in free.boxes) > lowest  # without the band the text runs lower
