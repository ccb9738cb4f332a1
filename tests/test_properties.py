"""Property tests (hypothesis): any input either works or gives a typed error, never a traceback or a partial file.

Over the request models: any keyword arguments validate or raise ``InvalidRequestError`` (pydantic's
``ValidationError`` wrapped, as the SDK does). Over the CLI: every run of a cheap command exits 0 with a
complete output file, or exits non-zero with a one-line error (plus its hint) and no file left behind.
Bounded example counts and no deadline keep the whole module well under a minute.
"""

from __future__ import annotations

import contextlib
import json
import math
import string
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aigc_sdk.cli.app import app
from aigc_sdk.errors import AigcError, InvalidRequestError
from aigc_sdk.types import (
    EmbedRequest,
    ImageRequest,
    MusicRequest,
    Request,
    ScriptRequest,
    SpeechRequest,
    TemplateRequest,
    TextRequest,
    TranscribeRequest,
)
from tests.support import require_module

hypothesis = require_module("hypothesis", reason="needs the dev extra")
st = require_module("hypothesis.strategies")
given, settings, HealthCheck = hypothesis.given, hypothesis.settings, hypothesis.HealthCheck

# No example database in the checkout, no deadline (a first model load is slow), fixtures reused across examples.
FAST = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}

REQUESTS: list[type[Request]] = [
    TextRequest,
    ImageRequest,
    SpeechRequest,
    MusicRequest,
    TranscribeRequest,
    EmbedRequest,
    TemplateRequest,
    ScriptRequest,
]

# Values a user (or a JSON body) could send for any field: wrong types, edge numbers, odd text, nesting.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", " ", "en", "zh-Hans", "xx", "\x00", "a" * 300, "1e9", "-1", "NaN", "/dev/null", "."]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def request_kwargs(draw: Any, cls: type[Request]) -> dict[str, Any]:
    """Some of the model's own fields with arbitrary values, sometimes an unknown one, often a plausible prompt."""
    names = sorted(cls.model_fields)
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names))) if names else []
    kwargs = {name: draw(values) for name in chosen}
    if "prompt" in names and draw(st.booleans()):
        kwargs["prompt"] = draw(st.text(min_size=1, max_size=60))
    if draw(st.integers(0, 9)) == 0:
        kwargs[draw(st.text(string.ascii_lowercase, min_size=1, max_size=10))] = draw(values)
    return kwargs


@pytest.mark.parametrize("cls", REQUESTS, ids=lambda c: c.__name__)
def test_any_request_validates_or_raises_invalid_request_error(cls: type[Request]) -> None:
    @settings(max_examples=100, **FAST)
    @given(request_kwargs(cls))
    def check(kwargs: dict[str, Any]) -> None:
        try:
            request = cls(**kwargs)
        except InvalidRequestError:
            return  # the typed error: fine
        # A request that validated serialises, keys a batch and validates again from its own fields.
        dumped = request.model_dump(mode="json")
        json.dumps(dumped)
        hash(request.batch_key())
        assert cls.model_validate(dict(request)) == request

    check()


@pytest.mark.parametrize("cls", REQUESTS, ids=lambda c: c.__name__)
def test_any_json_body_validates_or_raises_invalid_request_error(cls: type[Request]) -> None:
    @settings(max_examples=40, **FAST)
    @given(values)
    def check(body: Any) -> None:
        with contextlib.suppress(InvalidRequestError):
            cls.model_validate(body)

    check()


# -- the CLI ------------------------------------------------------------------------------------------------------

runner = CliRunner()


def _assert_clean_failure(result: Any, folder: Path) -> None:
    """Exit code 2 (bad input) or 1, a typed error line (and hint), no traceback, nothing written."""
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and (lines[0].startswith("error: ") or "Usage:" in result.output), result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == [], "a failed run left files behind"


speak_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["Good evening.", "...", "你好。", "Hello there. Second sentence!", "\x00", "  "]),
)
speeds = st.one_of(st.sampled_from([1.0, 0.5, 2.0, 0.0, -1.0, 100.0]), st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=10, **FAST)
@hypothesis.example(  # one run that must work, so the success branch is always checked
    text="Good evening.", suffix=".wav", voice="joe", language="en", speed=1.0, sample_rate=16000, seed=1
)
@given(
    text=speak_text,
    suffix=st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ".txt", ""]),
    voice=st.one_of(st.none(), st.sampled_from(["joe", "0", "nobody", ""]), st.text(max_size=8)),
    language=st.one_of(st.none(), st.sampled_from(["en", "en-US", "zh", "de", "xx", "", "klingon"])),
    speed=speeds,
    sample_rate=st.one_of(st.none(), st.sampled_from([16000, 0, -5, 10**9])),
    seed=st.one_of(st.none(), st.integers(-5, 2**64)),
)
def test_speak_writes_a_complete_file_or_fails_cleanly(
    tmp_path_factory: pytest.TempPathFactory,
    text: str,
    suffix: str,
    voice: str | None,
    language: str | None,
    speed: float,
    sample_rate: int | None,
    seed: int | None,
) -> None:
    require_module("piper", reason="needs the voice extra")
    folder = tmp_path_factory.mktemp("speak")
    out = folder / f"speech{suffix}"
    args = ["speak", text, "-o", str(out), "--speed", repr(speed), "--model", "en-joe"]
    for flag, value in (("--voice", voice), ("--language", language), ("--sample-rate", sample_rate), ("--seed", seed)):
        if value is not None:
            args += [flag, str(value)]
    result = runner.invoke(app, args)
    if result.exit_code == 0:
        from aigc_sdk.media import Audio

        written = sorted(p.name for p in folder.iterdir())
        assert written in ([out.name], [out.name, f"{out.name}.provenance.json"]), written  # a sidecar may follow
        audio = Audio.load(out)
        assert audio.duration > 0.05 and math.isfinite(float(audio.samples.max()))
        if sample_rate is not None:
            assert audio.sample_rate == sample_rate
    else:
        _assert_clean_failure(result, folder)


@settings(max_examples=40, **FAST)
@given(model_id=st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(["en-joe", "espeak", "../x", "-", "%s"])))
def test_models_show_prints_a_spec_or_fails_cleanly(tmp_path_factory: pytest.TempPathFactory, model_id: str) -> None:
    folder = tmp_path_factory.mktemp("show")
    result = runner.invoke(app, ["models", "show", "--", model_id])
    if result.exit_code == 0:
        assert json.loads(result.stdout)["id"] == model_id.strip()
    else:
        _assert_clean_failure(result, folder)


FEED = (Path(__file__).resolve().parent.parent / "examples" / "data" / "usgs_significant_week.geojson").read_text()
data_bodies = st.one_of(
    st.sampled_from(
        ["", "{}", "[]", "null", '{"type": "FeatureCollection", "features": []}', "a,b\n1,2\n", "\xff\xfe"]
    ),
    values.map(json.dumps),
    st.text(max_size=80),
)


@settings(max_examples=25, **FAST)
@hypothesis.example(template="usgs-earthquakes", body=FEED, suffix=".geojson", language="zh")  # must work
@given(
    template=st.sampled_from(["usgs-earthquakes", "nope", "../../etc/passwd", ""]),
    body=data_bodies,
    suffix=st.sampled_from([".json", ".geojson", ".csv", ".txt"]),
    language=st.one_of(st.none(), st.sampled_from(["en", "zh", "fr", "xx"])),
)
def test_text_template_writes_a_complete_file_or_fails_cleanly(
    tmp_path_factory: pytest.TempPathFactory, template: str, body: str, suffix: str, language: str | None
) -> None:
    require_module("jinja2", reason="needs the text extra")
    inputs, folder = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("text")
    data = inputs / f"data{suffix}"
    data.write_text(body, encoding="utf-8", errors="surrogateescape")
    out = folder / "story.txt"
    args = ["text", "--template", template, "--data", str(data), "-o", str(out)]
    if language is not None:
        args += ["--language", language]
    result = runner.invoke(app, args)
    if result.exit_code == 0:
        assert sorted(p.name for p in folder.iterdir()) == ["story.txt"]
        assert out.read_text(encoding="utf-8").strip() == result.stdout.strip() != ""
    else:
        _assert_clean_failure(result, folder)


def test_the_error_tree_is_what_the_properties_accept() -> None:
    assert issubclass(InvalidRequestError, AigcError) and issubclass(InvalidRequestError, ValueError)
