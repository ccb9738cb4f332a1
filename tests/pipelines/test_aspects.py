"""Many aspects from one job (issue 15): one script, narration and music; a clip, poster and chapters per aspect."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from aigc_sdk import Studio
from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.media import Image, Video, read_sidecar
from aigc_sdk.pipelines import PipelineEvent
from aigc_sdk.pipelines.news_clip import NewsClip, NewsClipConfig, news_clip
from tests.support import require_module

require_module("piper", reason="needs the voice extra")
av = require_module("av", reason="needs the video extra")

SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)}


class Job:
    """The three-aspect job, then the same story asked again in one aspect it already made."""

    def __init__(self, config: NewsClipConfig, clip: NewsClip, events: list[PipelineEvent], again: NewsClip) -> None:
        self.config, self.clip, self.events, self.again = config, clip, events, again
        self.manifest: dict[str, Any] = json.loads(clip.manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[Job]:
    folder = tmp_path_factory.mktemp("aspects")
    with pytest.MonkeyPatch.context() as env:  # as tests/conftest.py isolates each test, for the module's job
        env.setenv("AIGC_CACHE_DIR", str(folder / "aigc-cache"))
        env.setenv("HF_HUB_CACHE", str(folder / "aigc-cache" / "hf"))
        env.setenv("HF_HUB_OFFLINE", "1")
        env.delenv("AIGC_MODELS", raising=False)
        config = NewsClipConfig(
            input=data_dir / "article_en.md",
            output=folder / "out" / "park.mp4",
            aspect="16:9,9:16,1:1",
            target_seconds=8,
            cache_dir=folder / "cache",
        )
        events: list[PipelineEvent] = []
        with Studio() as studio:
            clip = news_clip(config, studio=studio, on_event=events.append)
            one = config.model_copy(update={"aspects": ["9:16"], "output": folder / "again" / "park.mp4"})
            again = news_clip(one, studio=studio)
        yield Job(config, clip, events, again)


def _audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]


def _audio_samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([frame.to_ndarray() for frame in container.decode(audio=0)], axis=1)


def _decode_errors(path: Path) -> str:
    cmd = [require_ffmpeg().path, "-v", "error", "-i", str(path), "-f", "null", "-"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stderr.strip()


def test_three_aspects_write_three_clips_of_their_sizes_with_one_soundtrack(job: Job) -> None:
    clip = job.clip
    assert [c.aspect for c in clip.clips] == ["16:9", "9:16", "1:1"]
    assert [c.video.name for c in clip.clips] == ["park.16x9.mp4", "park.9x16.mp4", "park.1x1.mp4"]
    assert (clip.video, clip.srt, clip.vtt) == (clip.clips[0].video, clip.clips[0].srt, clip.clips[0].vtt)
    for made in clip.clips:
        assert _decode_errors(made.video) == ""
        video = Video.load(made.video)
        assert (video.info.width, video.info.height) == SIZES[made.aspect] == (made.width, made.height)
        assert video.info.duration == pytest.approx(clip.duration, abs=0.1)
        assert video.provenance is not None and video.provenance.extra["aspect"] == made.aspect
        assert made.srt is not None and made.srt.name == made.video.with_suffix(".srt").name
        assert made.srt.read_text() == clip.srt.read_text()  # type: ignore[union-attr]
    # one narration and one music bed, mixed the same: the audio streams are identical, packet for packet
    packets = [_audio_packets(made.video) for made in clip.clips]
    assert packets[0] and packets[0] == packets[1] == packets[2]
    samples = [_audio_samples(made.video) for made in clip.clips]
    assert np.array_equal(samples[0], samples[1]) and np.array_equal(samples[0], samples[2])
    # every published file is listed, and nothing else was written (besides provenance sidecars)
    written = {p for p in clip.manifest.parent.iterdir() if not p.name.endswith(".provenance.json")}
    assert written == set(clip.files)
    assert len(clip.files) == 3 * 4 + 1 and clip.files[-1] == clip.manifest


def test_the_story_stages_run_once_and_each_aspect_its_own(job: Job) -> None:
    started = [e.step for e in job.events if e.status == "started"]
    assert sorted(started) == sorted(
        ["script", "narration", "music", *(f"{step} {a}" for a in SIZES for step in ("visuals", "render"))]
    )
    assert job.clip.reused == []
    assert {"render 16:9", "render 9:16", "render 1:1", "narration"} <= set(job.clip.seconds)
    steps = [(s["name"], s.get("aspect")) for s in job.manifest["steps"]]
    assert sorted(steps, key=str) == sorted(
        [("script", None), ("narration", None), ("music", None)]
        + [(step, a) for a in SIZES for step in ("visuals", "render")],
        key=str,
    )


def test_one_manifest_lists_every_clip(job: Job) -> None:
    artifacts = job.manifest["artifacts"]
    listed = artifacts["clips"]
    assert [c["aspect"] for c in listed] == ["16:9", "9:16", "1:1"]
    for entry, made in zip(listed, job.clip.clips, strict=True):
        assert (entry["width"], entry["height"]) == SIZES[made.aspect]
        assert [entry["video"]["path"], entry["srt"], entry["vtt"], entry["poster"]] == [str(p) for p in made.files]
        assert entry["video"]["provenance"]["extra"]["aspect"] == made.aspect
        assert [c["title"] for c in entry["chapters"]] == [c.title for c in made.chapters]
    assert artifacts["video"]["path"] == str(job.clip.video)
    visuals = job.manifest["ingredients"]["visuals"]
    assert {v["aspect"] for v in visuals} == set(SIZES) and len(visuals) % 3 == 0


def test_each_poster_is_the_title_card_at_its_aspect(job: Job) -> None:
    cards = {s["aspect"]: s["output"]["items"][0]["path"] for s in job.manifest["steps"] if s["name"] == "visuals"}
    for made in job.clip.clips:
        assert made.poster.suffix == ".jpg" and made.poster.stem == made.video.stem
        with PILImage.open(made.poster) as poster, PILImage.open(cards[made.aspect]) as card:
            assert poster.format == "JPEG" and poster.size == card.size == SIZES[made.aspect]
            difference = np.abs(np.asarray(poster.convert("RGB"), float) - np.asarray(card.convert("RGB"), float))
        assert difference.mean() < 2.0  # the card itself, JPEG-compressed: not a frame of the video
        tagged = Image.load(made.poster).provenance
        assert tagged is not None and tagged.model_id == "card-renderer"
        assert read_sidecar(made.poster) is not None


def test_each_clip_has_a_chapter_per_segment(job: Job) -> None:
    outputs = {(s["name"], s.get("aspect")): s["output"] for s in job.manifest["steps"]}
    headline = outputs["script", None]["headline"]
    for made in job.clip.clips:
        segments = outputs["render", made.aspect]["timeline"]["segments"]
        starts = [0.0] + [s["start"] for s in segments[1:]]
        assert len(made.chapters) == len(segments) >= 2  # an article's lines each make a chapter
        assert made.chapters[0].title == headline
        assert [c.start for c in made.chapters] == pytest.approx(starts, abs=1e-6)
        assert made.chapters[-1].end == pytest.approx(job.clip.duration, abs=1e-3)
        with av.open(str(made.video)) as container:
            probed = container.chapters()
            data = [s for s in container.streams if s.type == "data"]
        assert [c["metadata"]["title"] for c in probed] == [c.title for c in made.chapters]
        assert [float(c["start"] * c["time_base"]) for c in probed] == pytest.approx(starts, abs=1e-3)
        assert len(data) == 1  # the chapters' one text track: publishing did not copy it beside a new one


def test_an_aspect_made_before_is_reused_and_one_aspect_keeps_its_names(job: Job) -> None:
    again = job.again
    assert again.reused == ["music", "narration", "render", "script", "visuals"]
    assert [p.name for p in again.files] == ["park.mp4", "park.srt", "park.vtt", "park.jpg", "park.manifest.json"]
    assert [c.aspect for c in again.clips] == ["9:16"]
    assert _audio_packets(again.video) == _audio_packets(job.clip.clips[1].video)


def test_bad_aspect_lists_are_typed_errors_naming_the_field(data_dir: Path, tmp_path: Path) -> None:
    article, out = data_dir / "article_en.md", tmp_path / "o.mp4"
    for aspects, said in [
        (["16:9", "4:3"], r"aspects\.1"),
        (["9:16", "1:1", "9:16"], "aspects gives 9:16 more than once"),
        ([], "aspects is empty"),
    ]:
        with pytest.raises(InvalidRequestError, match=said):
            NewsClipConfig(input=article, output=out, aspects=aspects)
    with pytest.raises(InvalidRequestError, match="aspect and aspects both"):
        NewsClipConfig(input=article, output=out, aspect="1:1", aspects=["1:1"])
    with pytest.raises(InvalidRequestError, match=r"aspect\.1: Input should be '16:9', '9:16', '1:1' or '4:5'"):
        NewsClipConfig(input=article, output=out, aspect="16:9,3:2")  # named as given
    assert NewsClipConfig(input=article, output=out, aspect="4:5").frame_sizes == {"4:5": (720, 900)}
    # a flag's aspects replace a YAML file's, whichever spelling each uses
    yaml = tmp_path / "clip.yaml"
    yaml.write_text("aspects: ['1:1', '4:5']\n")
    assert NewsClipConfig.from_yaml(yaml, input=article, output=out).aspects == ["1:1", "4:5"]
    assert NewsClipConfig.from_yaml(yaml, input=article, output=out, aspect="9:16,16:9").aspects == ["9:16", "16:9"]
    assert not list(tmp_path.rglob("*.mp4"))


def test_the_cli_takes_several_aspects_and_refuses_a_bad_one(data_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aigc_sdk.cli import app

    out = tmp_path / "x.mp4"
    for aspects in ("16:9,4:3", "9:16,9:16"):
        result = CliRunner().invoke(
            app, ["news-clip", str(data_dir / "article_en.md"), "-o", str(out), "--aspect", aspects]
        )
        assert result.exit_code == 2, result.output
        shown = " ".join(result.output.split())
        assert "aspect" in shown and "Traceback" not in shown
    assert not list(tmp_path.iterdir())
