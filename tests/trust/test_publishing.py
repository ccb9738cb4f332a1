"""``publish``: the one path from a media value to a published file (tag, sidecar, credentials)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk._internal.optional import is_available
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.media import Audio, Image, read_sidecar, sidecar_path
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust import Ingredient, publish, will_sign
from aigc_sdk.types import AudioResult, ImageResult

PROV = Provenance(model_id="tiny", task="text-to-image", backend="tests.Backend", seed=3, license="MIT")
SPEECH = Provenance(model_id="en-joe", task="text-to-speech", backend="b", license="MIT")
needs_trust = pytest.mark.skipif(not is_available("c2pa"), reason="needs the trust extra")


def _picture(prov: Provenance | None = PROV) -> Image:
    return Image.from_array(np.full((16, 24, 3), 100, dtype=np.uint8), prov)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


def test_privacy_hashes_the_request_in_tags_and_sidecar(tmp_path: Path) -> None:
    secret = PROV.model_copy(update={"request": {"prompt": "the embargoed story"}})
    png = publish(_picture(None), tmp_path / "p.png", provenance=secret, privacy=True)
    wav = publish(Audio([0.0, 0.1] * 100, 8000), tmp_path / "p.wav", provenance=secret, privacy=True)
    for path in (png, wav):
        assert "embargoed" not in sidecar_path(path).read_text()
        assert "embargoed" not in path.read_bytes().decode("latin-1")
    loaded = Image.load(png).provenance
    assert loaded is not None
    assert loaded.request["prompt"].startswith("sha256:")
    assert loaded.model_id == PROV.model_id  # only the request is hidden
    assert read_sidecar(png) == loaded  # one hash per text: the tag and the sidecar agree


def test_publish_writes_the_file_tag_and_sidecar_where_a_value_writes_only_the_file(tmp_path: Path) -> None:
    value = _picture().save(tmp_path / "value.webp")
    assert not sidecar_path(value).exists() and Image.load(value).provenance is None  # WebP: no tag
    published = publish(_picture(), tmp_path / "out" / "published.webp", credentials=False)
    assert read_sidecar(published) == PROV and Image.load(published).provenance == PROV
    own = publish(_picture(None), tmp_path / "own.png", credentials=False)
    assert not sidecar_path(own).exists()  # nothing to record: no sidecar
    assert _leftovers(tmp_path) == []


def test_bad_requests_leave_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    with pytest.raises(InvalidRequestError, match="cannot be embedded"):
        publish(_picture(), tmp_path / "x.webp", credentials=True)
    with pytest.raises(InvalidRequestError, match="provenance"):
        publish(_picture(None), target, credentials=True)
    with pytest.raises(InvalidRequestError, match="credentials=False"):
        publish(_picture(), target, credentials=False, ingredients=[Ingredient(target, "card 1")])
    with pytest.raises(InvalidRequestError, match="cannot record as an ingredient"):
        publish(_picture(), target, credentials=None, ingredients=[Ingredient(tmp_path / "notes.txt", "notes")])
    with pytest.raises(InvalidRequestError, match="cannot save an image"):
        publish(_picture(), tmp_path / "x.gif", credentials=False)
    assert target.read_bytes() == b"precious" and not sidecar_path(target).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]


def test_will_sign_follows_the_format_the_provenance_and_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert will_sign("a.png", PROV) is is_available("c2pa")
    assert will_sign("a.webp", PROV) is False and will_sign("a.flac", PROV) is False
    assert will_sign("a.png", None) is False and will_sign("a.png", PROV, False) is False
    assert will_sign("a.mp4", PROV, True) is True
    monkeypatch.setenv("AIGC_CREDENTIALS", "0")
    assert will_sign("a.png", PROV) is False and will_sign("a.png", PROV, True) is True


@needs_trust
def test_results_save_through_publish_and_sign_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aigc_sdk.trust import verify_file

    speech = AudioResult(audio=Audio(np.zeros(800, dtype=np.float32), 8000), provenance=SPEECH)
    wav = speech.save(tmp_path / "narration.wav")  # README: WAV tag + sidecar, signed by default
    assert Audio.load(wav).provenance == SPEECH and read_sidecar(wav) == SPEECH
    assert verify_file(wav).valid and verify_file(wav).extra["title"] == "narration.wav"
    images = ImageResult(images=[_picture(None), _picture(None)], provenance=PROV)
    saved = images.save(tmp_path / "fox.png", credentials=False)
    assert [p.name for p in saved] == ["fox-1.png", "fox-2.png"]
    assert all(verify_file(p).state == "missing" and read_sidecar(p) == PROV for p in saved)
    private = speech.model_copy(update={"provenance": SPEECH.model_copy(update={"request": {"prompt": "secret"}})})
    hidden = private.save(tmp_path / "private.wav", privacy=True)
    assert (
        "secret" not in json.dumps(verify_file(hidden).provenance) and "secret" not in sidecar_path(hidden).read_text()
    )
    monkeypatch.setenv("AIGC_CREDENTIALS", "0")
    assert verify_file(speech.save(tmp_path / "off.wav")).state == "missing"


@needs_trust
def test_ingredients_are_signed_into_the_published_file(tmp_path: Path) -> None:
    from aigc_sdk.trust import verify_file

    voice = Audio(np.zeros(800, dtype=np.float32), 8000, SPEECH).save(tmp_path / "voice.wav")  # a value: unsigned
    made_of = {"narration": SPEECH.to_dict()}
    clip = PROV.model_copy(update={"extra": {"pipeline": "test", "ingredients": made_of}})
    licences = [{"what": "narration", "id": "en-joe", "license": "MIT"}]
    out = publish(
        _picture(clip), tmp_path / "out.png", ingredients=[Ingredient(voice, "narration", SPEECH)], licences=licences
    )
    check = verify_file(out)
    assert check.valid and check.digital_source_type is not None
    assert check.digital_source_type.endswith("compositeWithTrainedAlgorithmicMedia")
    assert [(i.role, i.model_id, i.signed) for i in check.ingredients] == [("narration", "en-joe", True)]
    assert check.made_of == {**made_of, "licenses": licences}
    assert read_sidecar(out) == clip
