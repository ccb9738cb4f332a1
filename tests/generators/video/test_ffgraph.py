"""The slideshow's three builders, each alone on small inputs: timing + video graph, audio mix, command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.video.ffgraph import (
    Encoding,
    Overlay,
    Slide,
    audio_mix,
    ffmpeg_commands,
    mux_command,
    slide_timing,
    soundtrack_command,
    video_graph,
)
from aigc_sdk.types import Motion


def test_timing_centres_crossfades_on_the_cuts() -> None:
    t = slide_timing([1.0, 2.0, 1.0], fps=10, crossfade=0.4)
    assert t.bounds == (0, 10, 30, 40) and t.fade == 4 and t.frames == 40
    # each slide renders its span plus half of each crossfade it takes part in
    assert t.lengths == (12, 24, 12)
    assert sum(t.lengths) - 2 * t.fade == t.frames
    assert slide_timing([1.0, 1.0], fps=10, crossfade=0.0).lengths == (10, 10)
    assert slide_timing([2.5], fps=10, crossfade=0.5).fade == 0  # one slide: nothing to fade into
    with pytest.raises(InvalidRequestError, match="too short"):
        slide_timing([0.4, 1.0], fps=10, crossfade=0.4)


def test_video_graph_of_held_slides_with_cuts_is_a_plain_concat() -> None:
    g = video_graph([Slide("a.bmp", 10, None), Slide("b.bmp", 5, None)], fade=0, width=32, height=16, fps=10)
    assert g.chains == (
        "[0:v]format=yuv420p,loop=loop=9:size=1:start=0,setpts=N/(10*TB),setsar=1[z0]",
        "[1:v]format=yuv420p,loop=loop=4:size=1:start=0,setpts=N/(10*TB),setsar=1[z1]",
        "[z0][z1]concat=n=2:v=1:a=0[slides]",
        "[slides]format=yuv420p[vout]",
    )
    assert g.streams == 2 and g.output == "vout"


def test_video_graph_crossfades_only_the_overlapping_frames() -> None:
    slides = [Slide(f"s{i}.bmp", 12, None) for i in range(3)]
    g = video_graph(slides, fade=4, width=32, height=16, fps=10)
    text = g.text
    assert "[z0]split=2[b0in][t0in]" in text and "[z1]split=3[h1in][b1in][t1in]" in text
    assert "[z2]split=2[h2in][b2in]" in text
    assert "[b1in]trim=start_frame=4:end_frame=8" in text  # the body: after the head, before the tail
    assert re.findall(r"xfade=[^\[]*\[x\d\]", text) == [
        "xfade=transition=fade:duration=0.400000:offset=0[x0]",
        "xfade=transition=fade:duration=0.400000:offset=0[x1]",
    ]
    assert "[b0][x0][b1][x1][b2]concat=n=5:v=1:a=0[slides]" in text


def test_video_graph_moves_and_overlays_in_order() -> None:
    move = Motion(zoom_start=1.0, zoom_end=1.2, x_end=0.6)
    subs = Overlay("subbed", ("-f", "concat", "-safe", "0", "-i", "subs.ffconcat"), x=0, y=60,
                   convert="format=yuva420p", stream="subs")  # fmt: skip
    logo = Overlay("logoed", ("-i", "logo.png"), x=100, y=4)
    g = video_graph([Slide("a.bmp", 20, move)], fade=0, width=160, height=90, fps=10, overlays=[subs, logo])
    assert g.inputs[-8:] == ("-f", "concat", "-safe", "0", "-i", "subs.ffconcat", "-i", "logo.png")
    assert "zoompan=z='1.000000+0.200000*(on/19)'" in g.chains[0] and ":d=20:s=160x90:fps=10" in g.chains[0]
    assert g.chains[-4:] == (
        "[1:v]format=yuva420p[subs]",
        "[slides][subs]overlay=x=0:y=60:eof_action=repeat:format=yuv420[subbed]",
        "[subbed][2:v]overlay=x=100:y=4:eof_action=repeat:format=yuv420[logoed]",
        "[logoed]format=yuv420p[vout]",
    )
    assert g.streams == 3


@pytest.mark.parametrize(
    ("narration", "music", "duck", "output", "filters"),
    [
        (None, None, True, None, []),
        ("n.wav", None, True, "voice", ["aresample"]),
        (None, "m.wav", True, "music", ["aresample"]),
        ("n.wav", "m.wav", False, "mix", ["aresample", "aresample", "amix", "alimiter"]),
        ("n.wav", "m.wav", True, "mix", ["aresample", "aresample", "asplit", "sidechaincompress", "amix", "alimiter"]),
    ],
)
def test_audio_mix_graph(
    narration: str | None, music: str | None, duck: bool, output: str | None, filters: list[str]
) -> None:
    g = audio_mix(first_input=3, total=4.0, rate=44_100, narration=narration, music=music, duck=duck)
    assert g.output == output
    assert [re.search(r"(?:^|\])(\w+)=", c)[1] for c in g.chains] == filters  # type: ignore[index]
    assert g.streams == (narration is not None) + (music is not None)
    if narration is not None:
        assert g.chains[0] == (
            "[3:a]aresample=44100,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=end=4.000000[voice]"
        )
    if music is not None:
        assert g.inputs[-4:] == ("-stream_loop", "-1", "-i", music)  # looped to the video's length
        bed = next(c for c in g.chains if c.endswith("[music]"))
        assert bed.startswith(f"[{3 + (narration is not None)}:a]")
        assert "volume=0.2500,afade=t=in:d=0.500,afade=t=out:st=3.000:d=1.000" in bed


def test_picture_in_one_process_or_as_producer_and_encoder_then_sound_and_mux() -> None:
    video = video_graph([Slide("a.bmp", 5, None)], fade=0, width=16, height=16, fps=10)
    audio = audio_mix(first_input=0, total=0.5, rate=48_000, narration="n.wav")
    enc = Encoding(width=16, height=16, fps=10, frames=5, preset="slow", crf=18, rate=48_000, threads=2,
                   metadata=(("comment", "{}"), ("title", "T")))  # fmt: skip
    one, producer = ffmpeg_commands("ff", video, enc, marked=False)
    assert producer == []
    assert one[one.index("-filter_complex") + 1] == video.text
    assert one[one.index("-i") + 1] == "a.bmp" and "n.wav" not in one and "-an" in one
    for flag, value in (("-preset", "slow"), ("-crf", "18"), ("-frames:v", "5"), ("-threads", "2")):
        assert one[one.index(flag) + 1] == value
    assert "-metadata" not in one and "+faststart" not in one  # the mux tags the MP4 and moves its index
    sink, producer = ffmpeg_commands("ff", video, enc, marked=True)
    assert producer[-7:] == ["-frames:v", "5", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    assert "a.bmp" not in sink and "-filter_complex" not in sink
    assert sink[sink.index("-s") + 1] == "16x16" and sink[sink.index("-map") + 1] == "0:v"
    sound = soundtrack_command("ff", audio, enc)
    assert sound is not None and sound[sound.index("-filter_complex") + 1] == audio.text
    assert sound[sound.index("-i") + 1] == "n.wav" and sound[sound.index("-ar") + 1] == "48000"
    mux = mux_command("ff", "picture.mp4", "soundtrack.m4a", enc)
    assert mux[mux.index("-c") + 1] == "copy" and mux[-8:-4] == ["-metadata", "comment={}", "-metadata", "title=T"]
    assert mux[-4:] == ["-movflags", "+faststart", "-f", "mp4"]


def test_built_graphs_are_valid_ffmpeg(tmp_path: Path) -> None:
    """The builders' text runs in a real ffmpeg (tiny lavfi-free inputs: two BMPs and a WAV)."""
    from PIL import Image as PILImage

    from aigc_sdk.media import Audio

    PILImage.new("RGB", (48, 48), "red").save(tmp_path / "s0.bmp")  # moving: fitted above the frame size
    PILImage.new("RGB", (32, 32), "blue").save(tmp_path / "s1.bmp")  # held: fitted to the frame
    Audio([0.1] * 8000, 8000).save(tmp_path / "n.wav")
    timing = slide_timing([0.5, 0.5], fps=10, crossfade=0.2)
    move = Motion(zoom_start=1.0, zoom_end=1.1)
    slides = [Slide("s0.bmp", timing.lengths[0], move), Slide("s1.bmp", timing.lengths[1], None)]
    video = video_graph(slides, fade=timing.fade, width=32, height=32, fps=10)
    audio = audio_mix(first_input=0, total=1.0, rate=48_000, narration="n.wav")
    enc = Encoding(width=32, height=32, fps=10, frames=timing.frames, preset="ultrafast", crf=30, rate=48_000)
    ffmpeg = require_ffmpeg().path
    command, _ = ffmpeg_commands(ffmpeg, video, enc, marked=False)
    sound = soundtrack_command(ffmpeg, audio, enc)
    assert sound is not None
    for made in (
        [*command, "picture.mp4"],
        [*sound, "sound.m4a"],
        [*mux_command(ffmpeg, "picture.mp4", "sound.m4a", enc), "out.mp4"],
    ):
        subprocess.run(made, cwd=tmp_path, check=True, capture_output=True)
    from aigc_sdk._internal.probe import probe_media

    info = probe_media(tmp_path / "out.mp4")
    assert (info.width, info.height, info.fps, info.has_audio) == (32, 32, 10.0, True)
    assert info.duration == pytest.approx(1.0, abs=0.05)
