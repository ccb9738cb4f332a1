"""Lower thirds: who is quoted (read from the sentence), timed overlays in the slideshow, and a branded clip."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk import Studio
from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.generators.text.article import Speaker, speaker_of
from aigc_sdk.generators.video.brand import Brand, BrandCard, Disclosure
from aigc_sdk.generators.video.slideshow import SlideshowVideoGenerator
from aigc_sdk.media import Audio, Image
from aigc_sdk.pipelines.branding import brand_visuals, branded_render
from aigc_sdk.pipelines.news_clip import NewsClip, NewsClipConfig, news_clip
from aigc_sdk.pipelines.timeline import Timeline, Visual
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import Segment, TimedOverlay, VideoEncoding, VideoRequest
from tests.support import require_module

require_module("pysubs2", reason="needs the video extra")

FPS, W, H = 25, 320, 180
BOX = (40, 120, 200, 160)  # x0, y0, x1, y1 of the overlay's opaque panel


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ('"The wetland is a sponge," said council member Ana Ruiz, who led the proposal.',
         Speaker("Ana Ruiz", "Council member")),
        ("“We open in May,” said Maria Lopez, the city's parks director.",
         Speaker("Maria Lopez", "The city's parks director")),
        ('"We are ready," Maria Lopez said.', Speaker("Maria Lopez")),
        ('"We are ready," Maria Lopez, the parks director, said.', Speaker("Maria Lopez", "The parks director")),
        ('John Smith, the mayor, said: "Ready."', Speaker("John Smith", "The mayor")),
        # a title before the name is the role, unless the sentence gives one after it
        ('"Nobody should spend the night in a cold house," said County Executive Priya Raman.',
         Speaker("Priya Raman", "County Executive")),
        ('"We are ready," Gov. Gavin Newsom said.', Speaker("Gavin Newsom", "Gov.")),
        ('Mayor Karen Bass said: "We will rebuild."', Speaker("Karen Bass", "Mayor")),
        ('"Stay home," said Lt. Gov. Eleni Kounalakis.', Speaker("Eleni Kounalakis", "Lt. Gov.")),
        ('"It is over," said Police Chief Ana Ruiz, the city\'s first female chief.',
         Speaker("Ana Ruiz", "The city's first female chief")),
        ('"Wash your hands," said Director-General Tedros Adhanom Ghebreyesus.',
         Speaker("Tedros Adhanom Ghebreyesus", "Director-General")),
        ('"Ready," said Executive Chef Tom Brady.', Speaker("Executive Chef Tom Brady")),  # no office: kept whole
        ('"Leave when told to," Boulder County Sheriff Curtis Johnson said at a news conference.',
         Speaker("Curtis Johnson", "Boulder County Sheriff")),
        ('"Go," said Los Angeles Mayor Karen Bass.', Speaker("Karen Bass", "Los Angeles Mayor")),
        ('"Yes," said Mike Judge.', Speaker("Mike Judge")),  # after a place, an office needs a two-word name
        ('"We will," Maria Lopez said in a statement.', Speaker("Maria Lopez")),
        ('"Not again," she said.', None),
        ('"Stay back," police said.', None),
        ("Council member Peter Holt said the city was choosing ducks.", None),
        ("“好”，他说。", None),
    ],
)  # fmt: skip
def test_speaker_of_reads_the_attribution(sentence: str, speaker: Speaker | None) -> None:
    assert speaker_of(sentence) == speaker


def _panel() -> Image:
    picture = np.zeros((H, W, 4), np.uint8)
    x0, y0, x1, y1 = BOX
    picture[y0:y1, x0:x1] = (255, 0, 255, 255)
    return Image.from_array(picture)


def _render(tmp_path: Path, name: str, overlays: tuple[TimedOverlay, ...]) -> tuple[np.ndarray, float]:
    still = Image.from_array(np.full((H, W, 3), 60, np.uint8))
    request = VideoRequest(images=[still], durations=[3.0], width=W, height=H, fps=FPS, motion="none",
                           transition="none", overlays=overlays,
                           encoding=VideoEncoding(output=tmp_path / f"{name}.mp4", crf=12,
                                                  watermark=False))  # fmt: skip
    began = time.perf_counter()
    result = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))(request)
    seconds = time.perf_counter() - began
    raw = subprocess.run(
        [require_ffmpeg().path, "-v", "error", "-i", str(result.video.path), "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3).astype(int), seconds


def _magenta(frame: np.ndarray) -> np.ndarray:
    return (frame[..., 0] > 200) & (frame[..., 1] < 60) & (frame[..., 2] > 200)


@pytest.mark.parametrize("animation", ["fade", "slide"])
def test_a_timed_overlay_shows_only_in_its_span_and_animates(tmp_path: Path, animation: str) -> None:
    overlay = TimedOverlay(image=_panel(), start=1.0, end=2.4, animation=animation, ramp=0.4)  # type: ignore[arg-type]
    frames, _ = _render(tmp_path, animation, (overlay,))
    x0, y0, x1, y1 = BOX
    inside = [float(_magenta(f[y0:y1, x0:x1]).mean()) for f in frames]
    assert max(inside[: 1 * FPS]) < 0.01 and max(inside[round(2.4 * FPS) + 1 :]) < 0.01  # before and after: not there
    assert min(inside[round(1.45 * FPS) : round(1.95 * FPS)]) > 0.95  # in full between the ramps
    middle = frames[round(1.1 * FPS)]  # a quarter into the ramp in
    if animation == "slide":
        xs = np.nonzero(middle[y0:y1, :, 0] - middle[y0:y1, :, 1] > 30)[1]  # the panel, a quarter faded in
        assert len(xs) and xs.max() < x1 - 40  # still sliding in from the left
    else:
        panel = middle[y0 + 5, x0 + 5]
        assert 60 + 20 < panel[0] < 235  # half faded: between the frame and the panel


def test_overlays_cost_little(tmp_path: Path) -> None:
    _, plain = _render(tmp_path, "plain", ())
    overlays = tuple(
        TimedOverlay(image=_panel(), start=0.2 + k * 0.9, end=1.0 + k * 0.9, animation="slide", ramp=0.3)
        for k in range(3)
    )  # type: ignore[arg-type]
    _, with_overlays = _render(tmp_path, "thirds", overlays)
    assert with_overlays < plain * 2 + 1.0, f"{with_overlays:.2f} s with 3 overlays vs {plain:.2f} s without"


# ------------------------------------------------------------------------------------------ a branded clip

ARTICLE = """# Council approves riverside park expansion

The city council voted on Tuesday to expand Millbrook Riverside Park.

"The wetland is not decoration, it is a sponge," said council member Ana Ruiz, who led the proposal.
"""

BRAND = """name = "Test Desk"
[colors]
accent = "#E4572E"
[lower_third]
animation = "fade"
[captions]
style = "sentence"
[disclosure]
text = "Produced with automated tools."
"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[NewsClip, NewsClip]:
    """The same short article made with and without a brand (the script and voice are shared by the cache)."""
    require_module("piper", reason="needs the voice extra")
    folder = tmp_path_factory.mktemp("branded")
    (folder / "park.md").write_text(ARTICLE, encoding="utf-8")
    (folder / "brand.toml").write_text(BRAND, encoding="utf-8")
    common = {"input": folder / "park.md", "target_seconds": 20, "music": False, "aspect": "1:1",
              "cache_dir": folder / "cache"}  # fmt: skip
    with Studio() as studio:
        plain = news_clip(NewsClipConfig(output=folder / "plain.mp4", **common), studio=studio)
        branded = news_clip(NewsClipConfig(output=folder / "brand.mp4", brand=folder / "brand.toml", **common),
                            studio=studio)  # fmt: skip
    return plain, branded


def _frame_at(path: Path, t: float) -> np.ndarray:
    raw = subprocess.run(
        [require_ffmpeg().path, "-v", "error", "-ss", f"{t:.3f}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(720, 720, 3).astype(int)


@pytest.mark.slow
def test_a_lower_third_names_the_speaker_over_the_quote(clips: tuple[NewsClip, NewsClip]) -> None:
    plain, branded = clips
    record = json.loads(branded.manifest.read_text())["brand"]
    thirds = record["lower_thirds"]
    assert [(t["kind"], t["title"], t["subtitle"]) for t in thirds] == [("speaker", "Ana Ruiz", "Council member")]
    middle = (thirds[0]["start"] + thirds[0]["end"]) / 2
    with_third, without = _frame_at(branded.video, middle), _frame_at(plain.video, middle)
    # the lower-third box (left, above the captions) differs from the same moment without a brand
    box = (slice(400, 560), slice(40, 300))
    assert np.abs(with_third[box] - without[box]).mean() > 20
    assert "lower_thirds" not in json.loads(plain.manifest.read_text()).get("brand", {})


@pytest.mark.slow
def test_the_disclosure_is_shown_and_recorded(clips: tuple[NewsClip, NewsClip]) -> None:
    _, branded = clips
    manifest = json.loads(branded.manifest.read_text())
    disclosure = manifest["brand"]["disclosure"]
    assert disclosure["text"] == "Produced with automated tools." and disclosure["caption"] is True
    assert disclosure["end"] == pytest.approx(branded.duration, abs=0.05)
    assert disclosure["end"] - disclosure["start"] == pytest.approx(4.0, abs=0.05)


def test_intro_outro_and_end_card_go_around_the_narration(tmp_path: Path) -> None:
    voice = Audio(np.zeros(16_000 * 3, np.float32), 16_000).save(tmp_path / "voice.wav")
    card = Visual(path=_panel().save(tmp_path / "still.png"), kind="card")
    said = [Segment(text="One line.", start=0.0, end=1.4), Segment(text="Two lines.", start=1.5, end=3.0)]
    timeline = Timeline.from_speech(said, [card, card], duration=3.0, narration=voice)
    disclosure = Disclosure(text="Made with automated tools.", end_card=True, caption=False, seconds=2.0)
    brand = Brand(intro=BrandCard(title="Desk", seconds=1.5), outro=BrandCard(title="Bye", seconds=1.0),
                  disclosure=disclosure)  # fmt: skip
    made = brand_visuals(brand, ["One line.", "Two lines."], [None, None], width=W, height=H, workdir=tmp_path)
    assert made.intro is not None and made.outro is not None and made.end_card is not None
    branded, fields, record = branded_render(timeline, made, brand, captions="sentence", width=W, height=H,
                                             workdir=tmp_path)  # fmt: skip
    assert [s.text for s in branded.segments] == ["intro", "One line.", "Two lines.", "outro", "outro"]
    assert branded.duration == pytest.approx(3.0 + 1.5 + 1.0 + 2.0)
    assert branded.segments[1].start == pytest.approx(1.5) and branded.cues[0].start == pytest.approx(1.5)
    assert branded.narration is not None and Audio.load(branded.narration).duration == pytest.approx(7.5, abs=1e-3)
    assert all(s.visual.motion is not None and s.visual.motion.is_static for s in (branded.segments[0],
                                                                                  branded.segments[-1]))  # fmt: skip
    assert record["intro"] and record["outro"] and record["end_card"] and fields["overlays"] == ()


@pytest.mark.slow
def test_the_card_under_a_lower_third_keeps_its_band_free(clips: tuple[NewsClip, NewsClip]) -> None:
    """The quote's card draws its text above the speaker's lower third, which covers the frame's lower part."""
    from PIL import Image as PILImage

    _, branded = clips
    visuals = json.loads(branded.manifest.read_text())["ingredients"]["visuals"]
    requests = [v["provenance"]["request"] for v in visuals if v["kind"] == "card"]
    quote = next(v for v in visuals if v["provenance"]["request"]["layout"] == "quote")
    band = quote["provenance"]["request"]["caption_band"]
    assert band > 0.2
    assert sorted({r["caption_band"] for r in requests}) == [0.0, band]  # only that card keeps the band
    with PILImage.open(quote["path"]) as opened:
        pixels = np.asarray(opened.convert("L"), dtype=int)
    below = pixels[int(np.ceil((1 - band) * pixels.shape[0])) :, :]
    assert np.abs(np.diff(below, axis=1)).max() < 24  # the background's gradient only: no letter's edge
