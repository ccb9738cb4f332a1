"""A brand's intro and outro as short video files: checked when the brand loads, joined around the slideshow."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk import Studio
from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk._internal.subtitles import read_subtitles
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.video.brand import load_brand
from aigc_sdk.generators.video.slideshow import SlideshowVideoGenerator
from aigc_sdk.media import Audio, Image
from aigc_sdk.pipelines.branding import brand_visuals, branded_render, join_brand_clips
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
from aigc_sdk.pipelines.timeline import Timeline, Visual
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import Chapter, Segment, VideoEncoding
from tests.support import require_module

require_module("av", reason="needs the video extra")
require_module("pysubs2", reason="needs the video extra")

FPS, W, H = 25, 320, 180
INTRO_S, STORY_S, OUTRO_S = 1.2, 4.0, 0.8


def _ffmpeg(*args: str) -> None:
    subprocess.run([require_ffmpeg().path, "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def brand_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A brand whose intro is a 4:3 30 fps test pattern with a 440 Hz tone and whose outro is silent red."""
    folder = tmp_path_factory.mktemp("brand-clips")
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size=160x120:rate=30:duration={INTRO_S}", "-f", "lavfi", "-i",
            f"sine=frequency=440:sample_rate=44100:duration={INTRO_S}", "-shortest", "-pix_fmt", "yuv420p",
            str(folder / "intro.mp4"))  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", f"color=c=red:size=96x96:rate=20:duration={OUTRO_S}", "-pix_fmt", "yuv420p",
            str(folder / "outro.mov"))  # fmt: skip
    (folder / "brand.toml").write_text(
        '[colors]\nbackground = "#0000FF"\n[intro]\nvideo = "intro.mp4"\n[outro]\nvideo = "outro.mov"\n'
        '[lower_third]\n[disclosure]\ntext = "Made with automated tools."\n',
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('[intro]\nvideo = "missing.mp4"\n', "missing.mp4"),
        ('[intro]\nvideo = "notes.mp4"\n', "not a readable video file"),
        ('[outro]\nvideo = "logo.png"\n', "not a video file"),
        ('[intro]\nvideo = "intro.mp4"\ntitle = "Desk"\n', "not both"),
        ('[intro]\nsubtitle = "Local news"\n', "title (a still) or a video"),
    ],
)
def test_a_bad_intro_video_names_the_file_and_the_field(brand_dir: Path, table: str, words: str) -> None:
    (brand_dir / "notes.mp4").write_text("not a video", encoding="utf-8")
    (brand_dir / "logo.png").write_bytes(b"")
    bad = brand_dir / "bad.toml"
    bad.write_text(table, encoding="utf-8")
    with pytest.raises(InvalidRequestError) as caught:
        load_brand(bad)
    field = "outro" if "outro" in table else "intro"
    assert caught.value.message.startswith(f"bad.toml: {field}.") and words in caught.value.message


def test_a_long_video_is_not_an_intro(brand_dir: Path) -> None:
    _ffmpeg("-f", "lavfi", "-i", "color=c=black:size=16x16:rate=2:duration=16", str(brand_dir / "long.mp4"))
    (brand_dir / "long.toml").write_text('[intro]\nvideo = "long.mp4"\n', encoding="utf-8")
    with pytest.raises(InvalidRequestError, match=r"long\.toml: intro\.video: .*at most 15 s"):
        load_brand(brand_dir / "long.toml")


def _frames(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run([require_ffmpeg().path, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3).astype(int)


def _sound(path: Path) -> np.ndarray:
    raw = subprocess.run([require_ffmpeg().path, "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar",
                          "48000", "-"], capture_output=True, check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32)


def _tone(samples: np.ndarray) -> float:
    """The loudest frequency of a stretch of sound, in Hz (48 kHz)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * 48000 / len(samples))


def test_intro_and_outro_videos_are_joined_and_every_timing_moves(brand_dir: Path, tmp_path: Path) -> None:
    brand = load_brand(brand_dir / "brand.toml")
    assert [role for role, _ in brand.assets()] == ["brand intro", "brand outro"]
    rate = 48_000
    t = np.arange(round(STORY_S * rate)) / rate
    voice = Audio((0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate).save(tmp_path / "voice.wav")
    still = Visual(path=Image.from_array(np.full((H, W, 3), 90, np.uint8)).save(tmp_path / "still.png"), kind="card")
    said = [Segment(text="One line here.", start=0.0, end=1.4),
            Segment(text='"It works," said Ana Ruiz, the editor.', start=1.5, end=STORY_S)]  # fmt: skip
    timeline = Timeline.from_speech(said, [still, still], duration=STORY_S, narration=voice)
    made = brand_visuals(brand, [s.text for s in said], [None, None], width=W, height=H, workdir=tmp_path)
    assert made.intro is None and made.outro is None  # videos, not cards
    story, fields, record = branded_render(timeline, made, brand, captions="sentence", width=W, height=H,
                                           workdir=tmp_path)  # fmt: skip
    assert record["intro"] == record["outro"] == "video" and story.duration == STORY_S  # nothing added before rendering
    chapters = [Chapter(title="One", start=0.0, end=1.5), Chapter(title="Two", start=1.5, end=STORY_S)]
    request = story.to_video_request(width=W, height=H, fps=FPS, chapters=chapters, motion="none",
                                     encoding=VideoEncoding(output=tmp_path / "story.mp4", watermark=False),
                                     **fields)  # fmt: skip
    result = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))(request)
    joined = join_brand_clips(result, request, brand, timeline=story, chapters=chapters, record=record,
                              workdir=tmp_path)  # fmt: skip
    assert joined.copied  # the slideshow's video was not encoded again
    assert joined.lead == INTRO_S and joined.timeline.duration == pytest.approx(INTRO_S + STORY_S + OUTRO_S)
    assert [s.text for s in joined.timeline.segments][::3] == ["intro", "outro"]
    assert not (tmp_path / "story.mp4").exists()

    frames = _frames(joined.video, W, H)
    assert len(frames) == round((INTRO_S + STORY_S + OUTRO_S) * FPS)
    intro, middle, outro = frames[5], frames[round((INTRO_S + 0.8) * FPS)], frames[-3]
    assert np.abs(intro[H // 2, 4] - (0, 0, 255)).max() < 40  # 4:3 pattern fitted: the brand's blue at the sides
    assert intro[40:140, 110:210].std() > 40  # the test pattern's colour bars in the middle
    assert np.abs(middle[20, 20] - 90).max() < 12  # the story's still
    assert np.abs(outro[H // 2, 4] - (0, 0, 255)).max() < 40 and np.abs(outro[H // 2, W // 2] - (255, 0, 0)).max() < 40
    sound = _sound(joined.video)
    assert len(sound) / rate == pytest.approx(INTRO_S + STORY_S + OUTRO_S, abs=0.03)
    assert abs(_tone(sound[int(0.2 * rate) : int(1.0 * rate)]) - 440) < 5  # the intro's own sound
    assert abs(_tone(sound[int(1.6 * rate) : int(4.8 * rate)]) - 300) < 5  # then the narration, in time
    assert np.abs(sound[int(5.35 * rate) : int(5.9 * rate)]).max() < 0.01  # a silent outro: silence

    cues = read_subtitles(joined.srt)
    assert cues[0][1] == pytest.approx(INTRO_S, abs=1e-3) and cues[0][1] == pytest.approx(result.cues[0].start + 1.2)
    assert [(c.start, c.end) for c in joined.chapters] == [(0.0, 2.7), (2.7, 5.2)]
    import av

    with av.open(str(joined.video)) as container:
        marks = [(round(float(c["start"] * c["time_base"]), 3), c["metadata"]["title"]) for c in container.chapters()]
        tags = dict(container.metadata)
    assert marks == [(0.0, "One"), (2.7, "Two")]
    assert json.loads(tags["comment"])["extra"]["brand_clips"][0]["seconds"] == INTRO_S
    thirds = joined.record["lower_thirds"]
    assert thirds and thirds[0]["start"] == pytest.approx(record["lower_thirds"][0]["start"] + INTRO_S)
    assert joined.record["disclosure"]["end"] == pytest.approx(record["disclosure"]["end"] + INTRO_S)


@pytest.mark.slow
def test_a_news_clip_opens_with_the_intro_video(brand_dir: Path, tmp_path: Path) -> None:
    require_module("piper", reason="needs the voice extra")
    (tmp_path / "park.md").write_text("# Park opens\n\nThe city opened a riverside park on Tuesday.\n", "utf-8")
    (tmp_path / "brand.toml").write_text(f'[intro]\nvideo = "{brand_dir / "intro.mp4"}"\n', encoding="utf-8")
    config = NewsClipConfig(input=tmp_path / "park.md", output=tmp_path / "out" / "park.mp4",
                            brand=tmp_path / "brand.toml", target_seconds=10, music=False, aspect="1:1",
                            cache_dir=tmp_path / "cache")  # fmt: skip
    with Studio() as studio:
        clip = news_clip(config, studio=studio)
    import av

    with av.open(str(clip.video)) as container:
        assert float(container.duration / 1e6) == pytest.approx(clip.duration, abs=0.06)
        assert next(float(c["start"] * c["time_base"]) for c in container.chapters()) == 0.0
    assert clip.clips[0].chapters[0].start == 0.0 and clip.clips[0].chapters[-1].end > INTRO_S
    assert read_subtitles(clip.srt)[0][1] >= INTRO_S - 1e-3  # the first caption after the intro
    manifest = json.loads(clip.manifest.read_text())
    assert manifest["brand"]["intro"] == "video"
    assert [a["role"] for a in manifest["brand"]["assets"]] == ["brand intro"]
    first = _frames(clip.video, 720, 720)[3]
    assert first[200:520, 200:520].std() > 40  # the test pattern opens the clip
    if manifest["credentials"]:  # signed (the trust extra): the intro video is an ingredient
        from aigc_sdk.trust import verify_file

        parts = {part.role: part for part in verify_file(clip.video).ingredients}
        assert parts["brand intro"].format == "video/mp4" and parts["brand intro"].valid
