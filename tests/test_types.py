from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.media import Audio, Image
from aigc_sdk.provenance import Provenance
from aigc_sdk.types import (
    ImageRequest,
    MusicRequest,
    Request,
    Segment,
    SpeechRequest,
    Task,
    TextRequest,
    TextResult,
    TranscribeRequest,
    VideoRequest,
    Word,
    normalize_language,
)

FRAME = Image.from_array(np.zeros((16, 16, 3), dtype=np.uint8))
SILENCE = Audio(np.zeros(1600, dtype=np.float32), 16000)

VALID: dict[type[Request], dict[str, Any]] = {
    TextRequest: {"prompt": "Once upon a time"},
    ImageRequest: {"prompt": "a lighthouse"},
    SpeechRequest: {"prompt": "Good evening."},
    MusicRequest: {"prompt": "calm piano"},
    TranscribeRequest: {"audio": SILENCE},
    VideoRequest: {"images": [FRAME]},
}

BAD: list[tuple[type[Request], dict[str, Any], str]] = [
    (TextRequest, {"prompt": ""}, "prompt"),
    (TextRequest, {"prompt": "   "}, "prompt"),
    (TextRequest, {"prompt": "x" * 100_001}, "prompt"),
    (TextRequest, {"temperature": math.nan}, "temperature"),
    (TextRequest, {"top_p": 0.0}, "top_p"),
    (TextRequest, {"stop": [""]}, "stop"),
    (TextRequest, {"language": "klingon"}, "language"),
    (TextRequest, {"seed": -1}, "seed"),
    (TextRequest, {"unknown_field": 1}, "unknown_field"),
    (ImageRequest, {"width": 500}, "width"),
    (ImageRequest, {"height": 32}, "height"),
    (ImageRequest, {"width": 8192}, "width"),
    (ImageRequest, {"steps": 0}, "steps"),
    (ImageRequest, {"guidance": math.inf}, "guidance"),
    (ImageRequest, {"guidance": -1.0}, "guidance"),
    (ImageRequest, {"num_outputs": 0}, "num_outputs"),
    (ImageRequest, {"strength": 0.0}, "strength"),
    (ImageRequest, {"image": "/no/such/file.png"}, "image"),
    (SpeechRequest, {"speed": -1.0}, "speed"),
    (SpeechRequest, {"volume": math.nan}, "volume"),
    (SpeechRequest, {"language": "xx"}, "language"),
    (SpeechRequest, {"speaker_wav": "/no/such.wav"}, "speaker_wav"),
    (SpeechRequest, {"sample_rate": 100}, "sample_rate"),
    (MusicRequest, {"duration": 0}, "duration"),
    (MusicRequest, {"duration": math.nan}, "duration"),
    (MusicRequest, {"key": "H major"}, "key"),
    (TranscribeRequest, {"audio": "/no/such.wav"}, "audio"),
    (TranscribeRequest, {"language": "zz"}, "language"),
    (VideoRequest, {"images": []}, "images"),
    (VideoRequest, {"fps": 0}, "fps"),
    (VideoRequest, {"width": 1281}, "width"),
    (VideoRequest, {"durations": [1.0, 2.0]}, "durations"),
    (VideoRequest, {"durations": [math.nan]}, "durations"),
]


@pytest.mark.parametrize(("cls", "fields"), VALID.items(), ids=lambda v: getattr(v, "__name__", ""))
def test_valid_requests_build_and_are_frozen(cls: type[Request], fields: dict[str, Any]) -> None:
    request = cls(**fields)
    assert request.task in Task
    with pytest.raises(Exception, match="frozen"):
        request.seed = 3  # type: ignore[misc]


@pytest.mark.parametrize(("cls", "override", "field"), BAD, ids=[f"{c.__name__}-{f}" for c, _, f in BAD])
def test_bad_input_raises_invalid_request_naming_the_field(
    cls: type[Request], override: dict[str, Any], field: str
) -> None:
    fields = {**VALID[cls], **override}
    with pytest.raises(InvalidRequestError, match=field) as info:
        cls(**fields)
    assert isinstance(info.value, ValueError)
    assert info.value.__cause__ is not None  # the pydantic detail is chained, not lost


def test_model_validate_and_json_raise_invalid_request() -> None:
    with pytest.raises(InvalidRequestError):
        TextRequest.model_validate({"prompt": ""})
    with pytest.raises(InvalidRequestError):
        TextRequest.model_validate_json('{"prompt": 5}')
    assert TextRequest.model_validate_json('{"prompt": "hi", "seed": 2}').seed == 2


def test_same_argument_names_across_modalities() -> None:
    for cls in (TextRequest, ImageRequest, SpeechRequest, MusicRequest):
        assert "prompt" in cls.model_fields
        assert "seed" in cls.model_fields
    for cls in (TextRequest, ImageRequest, MusicRequest):
        assert "num_outputs" in cls.model_fields
    for cls in (SpeechRequest, MusicRequest, VideoRequest):
        assert "sample_rate" in cls.model_fields


def test_language_normalisation() -> None:
    assert SpeechRequest(prompt="x", language="en_us").language == "en-US"
    assert normalize_language("zh-hans-cn") == "zh-Hans-CN"
    with pytest.raises(InvalidRequestError, match="unknown language"):
        normalize_language("")


def test_with_seed_and_batch_key() -> None:
    a = ImageRequest(prompt="a", seed=1)
    assert a.with_seed(5).seed == 5 and a.seed == 1
    with pytest.raises(InvalidRequestError):
        a.with_seed(-1)
    assert a.batch_key() == ImageRequest(prompt="other", seed=9).batch_key()
    assert a.batch_key() != ImageRequest(prompt="a", width=768).batch_key()


def test_media_inputs_serialise_to_summaries(tmp_path: Path) -> None:
    request = TranscribeRequest(audio=SILENCE, language="en")
    dumped = request.model_dump(mode="json")
    assert dumped["audio"]["audio"] == "0.100s@16000" and len(dumped["audio"]["sha256"]) == 64
    wav = SILENCE.save(tmp_path / "s.wav")
    assert TranscribeRequest(audio=wav).model_dump(mode="json")["audio"] == str(wav)


def test_results_and_timing_values() -> None:
    prov = Provenance(model_id="m", task="text-generation", backend="b")
    assert TextResult(texts=["a", "b"], provenance=prov).text == "a"
    with pytest.raises(InvalidRequestError):
        TextResult(texts=[], provenance=prov)
    with pytest.raises(InvalidRequestError, match="before start"):
        Segment(text="x", start=2.0, end=1.0)
    with pytest.raises(InvalidRequestError):
        Word(text="x", start=-1.0, end=1.0)


def test_one_language_normaliser_folds_mandarin_everywhere() -> None:
    from aigc_sdk._internal.languages import primary_language

    for tag, normal in [("cmn", "zh"), ("CMN-hans", "zh-Hans"), ("cmn_CN", "zh-CN"), ("zh-hant-tw", "zh-Hant-TW")]:
        assert normalize_language(tag) == normal
        assert SpeechRequest(prompt="x", language=tag).language == normal
        assert primary_language(tag) == primary_language(normal) == "zh"
    assert normalize_language("yue") == "yue" and normalize_language("EN_gb") == "en-GB"


def test_each_request_type_asks_for_its_own_task() -> None:
    from aigc_sdk.types import EmbedRequest, ScriptRequest, TemplateRequest

    tasks = [cls.task for cls in (TextRequest, TemplateRequest, ScriptRequest, EmbedRequest, SpeechRequest)]
    assert tasks == [Task.TEXT_GENERATION, Task.STORY_TEMPLATE, Task.SCRIPT_WRITING, Task.TEXT_EMBEDDING,
                     Task.TEXT_TO_SPEECH]  # fmt: skip


def test_one_seed_source_and_one_coercion() -> None:
    seeded = TextRequest(prompt="x").seeded()
    assert seeded.seed is not None and seeded.seeded() is seeded
    request = TextRequest(prompt="x", seed=4)
    assert TextRequest.coerce(request) is request and TextRequest.coerce(prompt="x", seed=4) == request
    with pytest.raises(InvalidRequestError, match="not both"):
        TextRequest.coerce(request, seed=5)
    with pytest.raises(InvalidRequestError, match="takes TextRequest, got SpeechRequest"):
        TextRequest.coerce(SpeechRequest(prompt="x"))
    with pytest.raises(InvalidRequestError, match="prompt"):
        TextRequest.coerce()


def test_spans_share_one_order_check() -> None:
    from aigc_sdk.types import Cue, TimeSpan

    assert all(issubclass(cls, TimeSpan) for cls in (Word, Segment, Cue))
    assert Word(text="a", start=1.0, end=1.0).end == Segment(text="a", start=1.0, end=1.0).end == 1.0
    for cls in (Word, Segment, Cue):
        with pytest.raises(InvalidRequestError, match="before start"):
            cls(text="x", start=2.0, end=1.0)
    with pytest.raises(InvalidRequestError, match=r"before start 1.0 \(or equal\)"):
        Cue(text="x", start=1.0, end=1.0)  # a cue must last


def test_story_plans_are_typed() -> None:
    from aigc_sdk.types import ChartPlan, StoryPlan, StoryResult

    plan = StoryPlan(template="t", kicker={"EN-us": "QUAKE"}, chart=ChartPlan(x="d", y="v"), feeds=(".geojson",))
    assert plan.kicker == {"en": "QUAKE"} and plan.kicker_for("zh") == "QUAKE"
    assert StoryPlan().kicker_for("en") == "NEWS" and StoryPlan().kicker_for("zh-Hans") == "新闻"
    prov = Provenance(model_id="m", task="t", backend="b")
    assert StoryResult(headline="h", paragraphs=["p"], language="en", provenance=prov).plan == StoryPlan()
    for bad in ({"kicker": {}}, {"kicker": {"en": " "}}, {"feeds": ["csv"]}, {"mood": ""}, {"map": True}):
        with pytest.raises(InvalidRequestError):
            StoryPlan(**bad)
    with pytest.raises(InvalidRequestError):
        ChartPlan(x="d", y="v", line=0)


def test_a_path_the_system_cannot_look_up_is_an_invalid_request() -> None:
    """A name longer than the file system allows (found by the property test) is the request's error, not OSError."""
    from aigc_sdk.types import TemplateRequest

    with pytest.raises(InvalidRequestError, match=r"cannot be looked up: File name too long") as caught:
        TemplateRequest(template="usgs-earthquakes", data="a" * 400)
    assert "(400 characters)" in caught.value.message
