"""The slideshow renderer on real, tiny renders (160x90 and friends, 2 s, 10 fps)."""

from __future__ import annotations

import itertools
import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk._internal.fonts import read_font
from aigc_sdk._internal.textlayout import wrap_text
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.generators.video.slideshow import SlideshowVideoGenerator, ken_burns_motions
from aigc_sdk.media import Audio, Image, Video, sidecar_path
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import Cue, Motion, SubtitleStyle, VideoEncoding, VideoRequest, VideoResult
from tests.support import require_module

pysubs2 = require_module("pysubs2", reason="needs the video extra")

FPS = 10


@pytest.fixture(scope="module")
def video() -> SlideshowVideoGenerator:
    return SlideshowVideoGenerator(ModelRegistry().get("slideshow"))


def _slide(seed: int, width: int = 240, height: int = 160) -> Image:
    """A still with structure (gradients and a grid) so motion and overlays change pixels."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, 3)
    arr = np.stack(
        [127 + 120 * np.sin(x / 9 + phase[0]), 127 + 120 * np.sin(y / 7 + phase[1]), (x + y + seed * 40) % 255], -1
    )
    return Image.from_array(arr.astype(np.uint8))


def _tone(seconds: float, freq: float = 300.0, rate: int = 16_000, amp: float = 0.4) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio(amp * np.sin(2 * np.pi * freq * t), rate)


def _ffmpeg() -> str:
    return require_ffmpeg().path


def _decode_errors(path: Path) -> str:
    done = subprocess.run(
        [_ffmpeg(), "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True
    )
    return done.stdout + done.stderr


def _frame(path: Path, t: float, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        [_ffmpeg(), "-v", "error", "-i", str(path), "-ss", f"{t:.3f}", "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16)


def _samples(path: Path, rate: int = 16_000) -> np.ndarray:
    raw = subprocess.run(
        [_ffmpeg(), "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32)


@pytest.mark.parametrize(("width", "height"), [(160, 90), (90, 160), (128, 128)])
def test_renders_a_clean_mp4_of_the_asked_size_lasting_as_long_as_the_audio(
    video: SlideshowVideoGenerator, tmp_path: Path, width: int, height: int
) -> None:
    out = tmp_path / "clip.mp4"
    narration = _tone(2.37)
    result = video(
        images=[_slide(1), _slide(2, 160, 240), _slide(3)], audio=narration, width=width, height=height, fps=FPS,
        transition_duration=0.3, encoding=VideoEncoding(output=out), seed=5, prompt="A test clip",
    )  # fmt: skip
    assert result.video.path == out and out.is_file()
    assert _decode_errors(out) == ""
    info = result.video.info
    assert (info.width, info.height) == (width, height)
    assert info.has_audio
    assert info.duration == pytest.approx(narration.duration, abs=0.1)
    assert info.fps == FPS
    # provenance: in the MP4 comment tag and in the sidecar
    assert Video.load(out).provenance is not None
    assert Video.load(out).provenance.model_id == "slideshow"
    assert sidecar_path(out).is_file()
    assert result.provenance.seed == 5
    assert result.subtitles is None  # no cues, no sidecars
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "clip.mp4.provenance.json"]
    # the streams are H.264 yuv420p + AAC, with the moov atom first (+faststart)
    probe = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "h264" in probe and "yuv420p" in probe and "aac" in probe
    head = out.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))


def test_ken_burns_moves_the_picture_and_is_reproducible(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    request = VideoRequest(images=[_slide(1)], durations=[2.0], width=160, height=90, fps=FPS, seed=11)
    motions = ken_burns_motions(request)
    assert motions == ken_burns_motions(request)
    assert ken_burns_motions(request.with_seed(12)) != motions
    assert not motions[0].is_static
    moving = video(request.model_copy(update={"encoding": VideoEncoding(output=tmp_path / "moving.mp4")}))
    first, last = _frame(moving.video.path, 0.0, 160, 90), _frame(moving.video.path, 1.9, 160, 90)
    assert np.abs(first - last).mean() > 3
    assert moving.provenance.extra["motions"] == [m.model_dump() for m in motions]
    still = video(
        request.model_copy(update={"motion": "none", "encoding": VideoEncoding(output=tmp_path / "still.mp4")})
    )
    first, last = _frame(still.video.path, 0.0, 160, 90), _frame(still.video.path, 1.9, 160, 90)
    assert np.abs(first - last).mean() < 2


def test_crossfade_blends_neighbouring_slides(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    black = Image.from_array(np.zeros((90, 160, 3), np.uint8))
    white = Image.from_array(np.full((90, 160, 3), 255, np.uint8))
    result = video(
        images=[black, white], durations=[1.0, 1.0], width=160, height=90, fps=FPS, motion="none",
        transition_duration=0.6, encoding=VideoEncoding(output=tmp_path / "fade.mp4"),
    )  # fmt: skip
    levels = [_frame(result.video.path, t, 160, 90).mean() for t in (0.1, 0.9, 1.0, 1.1, 1.9)]
    assert levels[0] < 20 and levels[-1] > 235
    assert 20 < levels[2] < 235  # mid-fade, centred on the cut
    assert levels == sorted(levels)
    assert result.video.info.duration == pytest.approx(2.0, abs=0.05)


def _card(line: int, width: int = 320, height: int = 180) -> Image:
    """A text card as the card renderer draws them: a dark gradient, a shared headline bar, one line of its own."""
    ground = np.linspace(12, 40, height)[:, None, None] + np.zeros((height, width, 3))
    ground[20:40, 20:300] = 235  # the headline both cards share
    ground[line : line + 12, 20:300] = 220  # this card's text
    return Image.from_array(ground.astype(np.uint8))


MEETING = (Motion(zoom_start=1.0, zoom_end=1.1, y_end=0.45), Motion(zoom_start=1.1, zoom_end=1.0, y_start=0.45))


@pytest.mark.parametrize("motion", ["none", "meeting"])
def test_cards_on_one_ground_dip_instead_of_overlapping_their_text(
    video: SlideshowVideoGenerator, tmp_path: Path, motion: str
) -> None:
    """Two text cards cross-fade through their bare ground: no frame shows both texts; the headline stays."""
    moves = {"motions": MEETING} if motion == "meeting" else {"motion": "none"}  # a move ending where the next starts
    result = video(
        images=[_card(70), _card(110)], durations=[1.0, 1.0], width=320, height=180, fps=FPS, **moves,
        transition_duration=0.6, encoding=VideoEncoding(output=tmp_path / "dip.mp4"),
    )  # fmt: skip
    assert result.provenance.extra["transitions"] == ["dip"]
    if motion == "meeting":  # the covered stills make their slides' moves: the headline glides through the dip
        tops = []
        for t in (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3):
            bright = np.flatnonzero(_frame(result.video.path, t, 320, 180).mean(axis=(1, 2)) > 120)
            tops.append(int(bright[0]))
        assert max(abs(a - b) for a, b in itertools.pairwise(tops)) <= 2, tops
        return
    first, second = (slice(72, 80), slice(40, 280)), (slice(112, 120), slice(40, 280))
    for t in (0.1 * k for k in range(1, 20)):
        frame = _frame(result.video.path, t, 320, 180)
        shown = [float(frame[rows, cols].mean()) > 100 for rows, cols in (first, second)]
        assert not all(shown), t  # never both texts at once
        assert frame[25:35, 40:280].mean() > 200, t  # the shared headline throughout
        if t < 0.65:
            assert shown == [True, False], t
        if t > 1.35:
            assert shown == [False, True], t
    bottom = _frame(result.video.path, 1.0, 320, 180)  # the dip's bottom: the bare ground under both lines
    assert bottom[first].mean() < 60 and bottom[second].mean() < 60
    photos = video(
        images=[_slide(1, 320, 180), _slide(2, 320, 180)], durations=[1.0, 1.0], width=320, height=180, fps=FPS,
        motion="none", transition_duration=0.6, encoding=VideoEncoding(output=tmp_path / "fade.mp4"),
    )  # fmt: skip
    assert photos.provenance.extra["transitions"] == ["fade"]  # pictures cross-fade as they always did
    apart = video(
        images=[_card(70), _card(110)], durations=[1.0, 1.0], width=320, height=180, fps=FPS, motions=MEETING[:1] * 2,
        transition_duration=0.6, encoding=VideoEncoding(output=tmp_path / "apart.mp4"),
    )  # fmt: skip
    assert apart.provenance.extra["transitions"] == ["fade"]  # moves that do not meet: the headline would jump


def test_subtitles_are_burned_in_and_written_as_srt_and_vtt(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    cues = (
        Cue(text="Good evening.", start=0.1, end=0.9),
        Cue(text="The council voted seven to two.", start=1.0, end=1.9),
    )
    common = {"images": [_slide(4)], "durations": [2.0], "width": 256, "height": 144, "fps": FPS, "seed": 3}
    plain = video(**common, encoding=VideoEncoding(output=tmp_path / "plain.mp4"))
    subbed = video(**common, cues=cues, encoding=VideoEncoding(output=tmp_path / "subbed.mp4"))
    assert _decode_errors(subbed.video.path) == ""
    during = np.abs(_frame(plain.video.path, 0.5, 256, 144) - _frame(subbed.video.path, 0.5, 256, 144))
    assert during[90:].mean() > 4  # the lower band holds text
    assert during[:40].mean() < 3  # the top of the frame is untouched
    assert subbed.subtitles == tmp_path / "subbed.srt" and subbed.subtitles_vtt == tmp_path / "subbed.vtt"
    for path in (subbed.subtitles, subbed.subtitles_vtt):
        events = pysubs2.load(str(path)).events
        assert [e.plaintext for e in events] == [c.text for c in cues]
        assert [(e.start, e.end) for e in events] == [(100, 900), (1000, 1900)]
        for before, after in itertools.pairwise(events):
            assert before.end <= after.start
        assert events[-1].end / 1000 <= subbed.video.info.duration + 1e-6
    assert subbed.cues == cues
    # save() copies the video with provenance and its sidecars
    saved = subbed.save(tmp_path / "final" / "news.mp4")
    assert {p.name for p in saved.parent.iterdir()} == {"news.mp4", "news.srt", "news.vtt", "news.mp4.provenance.json"}


def test_cjk_subtitles_render_with_a_font_covering_every_glyph(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    text = "市议会周二以七比二通过了预算，工程明年春天开始。"
    plain = video(
        images=[_slide(5)],
        durations=[1.5],
        width=160,
        height=90,
        fps=FPS,
        seed=1,
        encoding=VideoEncoding(output=tmp_path / "a.mp4"),
    )
    result = video(
        images=[_slide(5)], durations=[1.5], width=160, height=90, fps=FPS, seed=1,
        encoding=VideoEncoding(output=tmp_path / "b.mp4"), cues=[Cue(text=text, start=0.0, end=1.5)],
    )  # fmt: skip
    (font,) = result.provenance.extra["subtitle_fonts"]
    path, index = font.rsplit("#", 1)
    face = read_font(Path(path))[int(index)]
    assert all(ord(ch) in face.glyphs for ch in text)
    diff = np.abs(_frame(plain.video.path, 0.7, 160, 90) - _frame(result.video.path, 0.7, 160, 90))
    assert diff.mean() > 5
    assert pysubs2.load(str(result.subtitles)).events[0].plaintext == text


def test_line_breaking_keeps_punctuation_and_breaks_cjk() -> None:
    assert wrap_text("Hello, world again", 7, len) == ["Hello,", "world", "again"]
    lines = wrap_text("第一句话很长很长，第二句。", 5, len)
    assert "".join(lines) == "第一句话很长很长，第二句。"
    assert all(len(line) <= 5 for line in lines)
    assert not any(line.startswith(("，", "。")) for line in lines)
    assert wrap_text("Supercalifragilistic", 8, len) == ["Supercal", "ifragili", "stic"]
    # The same rules as card text: an opening bracket never ends a line, Korean breaks between words.
    assert wrap_text("他说「好的」", 3, len) == ["他说", "「好", "的」"]  # not "他说「"
    assert wrap_text("안녕하세요 여러분", 6, len) == ["안녕하세요", "여러분"]


def test_subtitle_file_input_is_burned_like_cues(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    srt = tmp_path / "in.srt"
    srt.write_text("1\n00:00:00,200 --> 00:00:01,000\nFrom a file\n", encoding="utf-8")
    result = video(
        images=[_slide(6)],
        durations=[1.5],
        width=160,
        height=90,
        fps=FPS,
        subtitles=srt,
        encoding=VideoEncoding(output=tmp_path / "s.mp4"),
    )
    assert result.cues == (Cue(text="From a file", start=0.2, end=1.0),)
    assert result.subtitles is not None and result.subtitles.is_file()


def test_music_bed_is_ducked_under_the_narration(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    rate = 16_000
    voice = np.concatenate([np.zeros(rate), _tone(1.0, 300.0, rate, 0.5).samples])  # silent first second
    music = _tone(0.7, 1000.0, rate, 0.5)  # shorter than the video: looped
    result = video(
        images=[_slide(7)], audio=Audio(voice, rate), music=music, music_volume=0.5, width=160, height=90, fps=FPS,
        encoding=VideoEncoding(output=tmp_path / "m.mp4"),
    )  # fmt: skip
    samples = _samples(result.video.path, rate)

    def level(at: float, freq: float) -> float:
        window = samples[round(at * rate) : round((at + 0.4) * rate)]
        t = np.arange(window.size) / rate
        return float(np.abs(np.sum(window * np.exp(-2j * np.pi * freq * t))) / window.size)

    assert level(1.4, 300.0) > 0.1  # the narration is there
    alone, under_voice = level(0.5, 1000.0), level(1.5, 1000.0)
    assert alone > 0.05  # music audible (and looped) before the voice starts
    assert under_voice < 0.6 * alone  # and lowered while it speaks


def test_logo_watermark_in_its_corner(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    black = Image.from_array(np.zeros((90, 160, 3), np.uint8))
    logo = Image.from_array(
        np.dstack([np.full((20, 20), 255), np.zeros((20, 20)), np.zeros((20, 20))]).astype(np.uint8)
    )
    result = video(
        images=[black], durations=[1.0], width=160, height=90, fps=FPS, motion="none", logo=logo,
        logo_position="top-right", logo_size=0.2, logo_opacity=1.0,
        encoding=VideoEncoding(output=tmp_path / "logo.mp4"),
    )  # fmt: skip
    frame = _frame(result.video.path, 0.5, 160, 90)
    assert frame[5:25, 125:150, 0].mean() > 150  # red, top right (inside the safe margin)
    assert frame[60:, :60].mean() < 20  # rest untouched


def test_letterbox_fills_with_the_background_colour(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    square = Image.from_array(np.full((100, 100, 3), 255, np.uint8))
    result = video(
        images=[square], durations=[1.0], width=160, height=90, fps=FPS, motion="none", fit="contain",
        background="#0000FF", encoding=VideoEncoding(output=tmp_path / "box.mp4"),
    )  # fmt: skip
    frame = _frame(result.video.path, 0.5, 160, 90)
    assert frame[:, :30, 2].mean() > 200 and frame[:, :30, 0].mean() < 40  # blue bars at the sides
    assert frame[:, 70:90].mean() > 220  # the white still in the middle


def test_stills_that_fill_the_frame_exactly_in_one_direction(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    """640x427 in a 1080x1920 moving frame: the crop box is the whole height, give or take rounding."""
    wide = Image.from_array(np.full((427, 640, 3), 128, np.uint8))
    result = video(
        images=[wide],
        durations=[0.4],
        width=720,
        height=1280,
        fps=5,
        seed=0,
        encoding=VideoEncoding(output=tmp_path / "p.mp4"),
    )
    assert result.video.info.height == 1280


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"durations": [1.0, 1.0]}, "durations for 1 images"),
        ({"durations": [2.0], "cues": [Cue(text="late", start=1.0, end=3.0)]}, "after the video ends"),
        ({"durations": [2.0], "cues": [Cue(text="a", start=0, end=1.2), Cue(text="b", start=1.0, end=1.5)]},
         "before the previous one ends"),
        ({"images": []}, "images"),
        ({"durations": [0.4], "motions": [Motion(), Motion()]}, "motions for 1 images"),
        ({"encoding": {"output": "clip.gif"}}, "mp4"),
        ({"logo_size": 0.3}, "logo_size would be ignored"),
        ({"music_volume": 0.5, "audio": _tone(1.0)}, "music_volume would be ignored"),
        ({"duck": False, "music": _tone(1.0)}, "duck would be ignored"),
        ({"background": "#FF0000"}, "background would be ignored"),
        ({"transition": "none", "transition_duration": 1.0}, "transition_duration would be ignored"),
        ({"subtitle_style": SubtitleStyle(font_size=0.1)}, "subtitle_style would be ignored"),
        ({"burn_subtitles": False, "durations": [2.0], "cues": [Cue(text="a", start=0, end=1)],
          "subtitle_style": SubtitleStyle(position="top")}, "subtitle_style would be ignored"),
        ({"motion": "none", "motions": [Motion()]}, "contradict"),
        ({"sample_rate": 16_000}, "no audio"),
    ],
)  # fmt: skip
def test_bad_requests_are_rejected(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"images": [_slide(1)]}
    with pytest.raises(InvalidRequestError, match=message):
        VideoRequest(**{**base, **fields})


def test_options_at_their_defaults_or_that_apply_are_accepted() -> None:
    base: dict[str, object] = {"images": [_slide(1)], "durations": [2.0]}
    VideoRequest(**base, logo_size=0.12, background="#000000", duck=True)  # defaults given explicitly: no effect lost
    VideoRequest(**base, fit="contain", background="#FF0000", transition="none")
    VideoRequest(**base, cues=[Cue(text="a", start=0, end=1)], subtitle_style=SubtitleStyle(position="top"))
    VideoRequest(**base, music=_tone(2.0), music_volume=0.5, sample_rate=44_100)


def test_timing_errors_found_against_the_audio(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="audio lasts"):
        video(images=[_slide(1)], durations=[3.0], audio=_tone(2.0), encoding=VideoEncoding(output=tmp_path / "x.mp4"))
    with pytest.raises(InvalidRequestError, match="too short"):
        video(
            images=[_slide(1), _slide(2)],
            audio=_tone(0.8),
            transition_duration=0.5,
            encoding=VideoEncoding(output=tmp_path / "y.mp4"),
        )
    with pytest.raises(InvalidRequestError, match="after the video ends"):
        video(
            images=[_slide(1)],
            audio=_tone(1.0),
            cues=[Cue(text="x", start=0.5, end=1.5)],
            encoding=VideoEncoding(output=tmp_path / "z.mp4"),
        )
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not an image")
    with pytest.raises(InvalidRequestError, match="not a readable image"):
        video(images=[garbage], durations=[1.0], encoding=VideoEncoding(output=tmp_path / "w.mp4"))
    assert [p.name for p in tmp_path.iterdir()] == ["garbage.png"]


def test_unwritable_output_leaves_nothing(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(MediaError):
        video(
            images=[_slide(1)],
            durations=[1.0],
            width=160,
            height=90,
            fps=FPS,
            encoding=VideoEncoding(output=blocker / "clip.mp4"),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_failed_render_leaves_no_partial_mp4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real ffmpeg that writes the whole file and then reports failure, as a crash after writing would.
    wrapper = tmp_path / "ffmpeg-fails"
    wrapper.write_text(f'#!/bin/sh\n"{_ffmpeg()}" "$@"\ncase "$*" in *filter_complex*) exit 1;; esac\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("AIGC_FFMPEG", str(wrapper))
    failing = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))
    out_dir = tmp_path / "out"
    with pytest.raises(MediaError, match="ffmpeg failed"):
        failing(images=[_slide(1)], durations=[1.0], width=160, height=90, fps=FPS,
                encoding=VideoEncoding(output=out_dir / "clip.mp4"),
                cues=[Cue(text="hi", start=0, end=0.5)])  # fmt: skip
    assert os.listdir(out_dir) == []


def test_audio_files_with_chinese_metadata_are_read(video: SlideshowVideoGenerator, tmp_path: Path) -> None:
    # ffmpeg prints a long metadata tag cut at a byte count, which can split a multi-byte character.
    from aigc_sdk.provenance import Provenance

    prompt = "市图书馆延长夜间开放时间。" * 40
    record = Provenance(model_id="voice", task="text-to-speech", backend="x.Voice", request={"prompt": prompt})
    narration = Audio(_tone(1.0).samples, 16_000, record).save(tmp_path / "narration.wav")
    printed = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(narration)], capture_output=True, check=False)
    with pytest.raises(UnicodeDecodeError):
        printed.stderr.decode("utf-8")  # the case this test is about
    result = video(
        images=[_slide(1)],
        audio=narration,
        width=160,
        height=90,
        fps=FPS,
        encoding=VideoEncoding(output=tmp_path / "zh.mp4"),
    )
    assert _samples(tmp_path / "zh.mp4").size / 16_000 == pytest.approx(1.0, abs=0.1)
    assert result.video.path == tmp_path / "zh.mp4"


def _counting_ffmpeg(tmp_path: Path, fail_sound: int = 0) -> Path:
    """A real ffmpeg behind a script that logs each soundtrack encode, and fails the first ``fail_sound`` of them."""
    log = tmp_path / "sound.log"
    wrapper = tmp_path / "ffmpeg-counts"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *"-c:a aac"*) echo x >> "{log}"; [ "$(wc -l < "{log}")" -le {fail_sound} ] && exit 1;; esac\n'
        f'exec "{_ffmpeg()}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return log


def _audio_packets(path: Path) -> list[bytes]:
    av = require_module("av", reason="needs the video extra")
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]


def test_renders_of_one_mix_share_one_soundtrack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = _counting_ffmpeg(tmp_path)
    monkeypatch.setenv("AIGC_FFMPEG", str(tmp_path / "ffmpeg-counts"))
    video = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))
    voice, music = _tone(2.0), _tone(0.7, 1000.0)

    def render(width: int, height: int) -> VideoResult:
        slides = [_slide(1, width, height), _slide(2, width, height)]
        output = tmp_path / f"{width}x{height}.mp4"
        return video(images=slides, audio=voice, music=music, width=width, height=height, fps=FPS,
                     encoding=VideoEncoding(output=output))  # fmt: skip

    made = [render(160, 90), render(90, 160), render(96, 96)]
    assert log.read_text().count("x") == 1  # the story's aspects: one AAC encode
    packets = [_audio_packets(result.video.path) for result in made]
    assert packets[0] and packets[0] == packets[1] == packets[2]
    for result in made:
        assert _decode_errors(result.video.path) == ""
        assert result.video.info.duration == pytest.approx(2.0, abs=0.05) and result.video.info.has_audio
    video(images=[_slide(1)], audio=_tone(2.0, 440.0), music=music, width=160, height=90, fps=FPS,
          encoding=VideoEncoding(output=tmp_path / "other.mp4"))  # fmt: skip
    assert log.read_text().count("x") == 2  # another narration is another mix


def test_a_failed_soundtrack_fails_the_render_and_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _counting_ffmpeg(tmp_path, fail_sound=1)
    monkeypatch.setenv("AIGC_FFMPEG", str(tmp_path / "ffmpeg-counts"))
    video = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))
    out = tmp_path / "out"
    request = VideoRequest(images=[_slide(1)], audio=_tone(1.0), width=160, height=90, fps=FPS,
                           encoding=VideoEncoding(output=out / "clip.mp4"))  # fmt: skip
    with pytest.raises(MediaError, match="failed to encode the soundtrack"):
        video(request)
    assert os.listdir(out) == []  # no partial MP4, no sidecar
    assert video(request).video.info.has_audio and log.read_text().count("x") == 2


def test_a_batch_renders_side_by_side_each_to_its_own_file(tmp_path: Path) -> None:
    video = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))
    voice = _tone(1.5)
    sizes = ((160, 90), (90, 160), (96, 96))
    requests = [
        VideoRequest(
            images=[_slide(1, w, h), _slide(2, w, h)],
            audio=voice,
            width=w,
            height=h,
            fps=FPS,
            seed=3,
            encoding=VideoEncoding(output=tmp_path / f"{w}x{h}.mp4"),
        )
        for w, h in sizes
    ]
    assert len({r.batch_key() for r in requests}) == 1  # sizes differ, yet they may share a batch
    results = video.batch(requests)
    for result, (w, h) in zip(results, sizes, strict=True):
        assert result.video.path == tmp_path / f"{w}x{h}.mp4" and _decode_errors(result.video.path) == ""
        assert (result.video.info.width, result.video.info.height) == (w, h)
        assert result.provenance.timings["batch_size"] == 3.0
    alone = video(requests[1].model_copy(update={"encoding": VideoEncoding(output=tmp_path / "alone.mp4")}))
    assert _frame(alone.video.path, 0.7, 90, 160).tobytes() == _frame(results[1].video.path, 0.7, 90, 160).tobytes()
    broken = requests[0].model_copy(update={"encoding": VideoEncoding(output=tmp_path / "sub" / "x.mp4")})
    (tmp_path / "sub").write_text("a file where the folder should be")
    with pytest.raises(MediaError):
        video.batch([broken, requests[2]])  # the scheduler then runs each alone: only the broken one fails
