"""Signed content credentials on a card PNG, a speech WAV and a slideshow MP4; tampering breaks them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aigc_sdk import Studio
from aigc_sdk.cli.app import app
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec
from aigc_sdk.media import Audio, Image, Video
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust import build_manifest, licence_warnings, publish, sign_file, signing_identity, verify_file
from aigc_sdk.trust.credentials import CERT_ENV, KEY_ENV, Ingredient
from tests.support import require_module

require_module("c2pa", reason="needs the trust extra")
runner = CliRunner()


def _tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))


def _verify_cli(path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", str(path), "--no-watermark"])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def studio() -> Iterator[Studio]:
    with Studio() as shared:
        yield shared


@pytest.fixture(scope="module")
def card() -> Image:
    return CardRenderer().render(CardSpec(kicker="TEST", title="Flooding on Carver Street", width=640, height=360))


def test_card_png_is_signed_and_tampering_is_caught(card: Image, tmp_path: Path) -> None:
    png = publish(card, tmp_path / "card.png", credentials=True)
    check = verify_file(png)
    assert check.valid and check.state == "Valid"
    assert check.untrusted and check.signer is not None and "untrusted" in check.signer
    assert check.digital_source_type is not None and check.digital_source_type.endswith("trainedAlgorithmicMedia")
    assert check.provenance is not None and check.provenance["task"] == "render-card"
    assert check.licenses is not None and any(item["what"] == "font" for item in check.licenses["licenses"])
    assert Image.load(png).provenance == card.provenance  # the iTXt provenance is still there
    code, output = _verify_cli(png)
    assert code == 0, output
    assert "Valid" in output and "render-card" in output and "untrusted" in output
    _tamper(png)
    assert not verify_file(png).valid
    assert _verify_cli(png)[0] == 1


def test_speech_wav_is_signed_and_tampering_is_caught(studio: Studio, tmp_path: Path) -> None:
    require_module("piper", reason="needs the voice extra")
    result = studio.speech("Good evening. Here is the news.", seed=3)
    wav = result.save(tmp_path / "news.wav", credentials=True)
    check = verify_file(wav)
    assert check.valid
    assert check.provenance is not None and check.provenance["model_id"] == "en-joe"
    assert check.provenance["request"]["prompt"] == "Good evening. Here is the news."
    assert Audio.load(wav).duration == pytest.approx(result.audio.duration, abs=0.01)
    _tamper(wav)
    check = verify_file(wav)
    assert not check.valid and check.failures
    code, output = _verify_cli(wav)
    assert code == 1 and "Invalid" in output


def test_slideshow_mp4_is_signed_and_tampering_is_caught(studio: Studio, card: Image, tmp_path: Path) -> None:
    result = studio.video(
        [card, card], durations=[0.5, 0.5], width=320, height=256, fps=10, motion="none", transition="none"
    )
    mp4 = result.save(tmp_path / "slides.mp4", credentials=True)
    check = verify_file(mp4)
    assert check.valid and check.provenance is not None and check.provenance["task"] == "images-to-video"
    assert Video.load(mp4).info.duration == pytest.approx(1.0, abs=0.15)
    assert _verify_cli(mp4)[0] == 0
    _tamper(mp4)
    assert not verify_file(mp4).valid
    assert _verify_cli(mp4)[0] == 1


def test_saves_are_signed_by_default_unless_turned_off(
    card: Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed = publish(card, tmp_path / "default.png")  # provenance + a signable format + the trust extra
    check = verify_file(signed)
    assert check.valid and check.extra["title"] == "default.png"  # signed before the rename, titled as the file
    assert not list(tmp_path.glob(".*.tmp*"))
    speech = publish(Audio(np.zeros(800, dtype=np.float32), 8000, GENERATED_SPEECH), tmp_path / "default.wav")
    assert verify_file(speech).valid
    mine = publish(Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8)), tmp_path / "mine.png")
    assert verify_file(mine).state == "missing"  # no provenance: the user's own picture is not claimed
    assert verify_file(card.save(tmp_path / "value.png")).state == "missing"  # a value's save never signs
    private = verify_file(
        publish(Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8), PROMPTED), tmp_path / "p.png", privacy=True)
    )
    assert private.valid and private.licenses is not None and private.licenses["privacy"] is True
    assert (
        private.provenance is not None
        and private.provenance["request"]["prompt"] == PROMPTED.redacted().request["prompt"]
    )  # hashed once, the same hash as in the tag and sidecar
    monkeypatch.setenv("AIGC_CREDENTIALS", "0")
    assert verify_file(publish(card, tmp_path / "off.png")).state == "missing"
    assert verify_file(publish(card, tmp_path / "forced.png", credentials=True)).valid


def test_unsigned_files_and_bad_requests(card: Image, tmp_path: Path) -> None:
    png = publish(card, tmp_path / "plain.png", credentials=False)
    assert verify_file(png).state == "missing"
    code, _ = _verify_cli(png)
    assert code == 1
    with pytest.raises(InvalidRequestError):
        publish(card, tmp_path / "card.webp", credentials=True)
    with pytest.raises(InvalidRequestError):
        publish(Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8)), tmp_path / "x.png", credentials=True)
    assert not (tmp_path / "card.webp").exists() and not (tmp_path / "x.png").exists()
    with pytest.raises(InvalidRequestError):
        sign_file(tmp_path / "missing.png", card.provenance)


def test_privacy_hashes_prompts_and_licence_warnings(tmp_path: Path) -> None:
    prov = Provenance(
        model_id="some-lm", task="text-to-image", backend="b", request={"prompt": "my secret", "steps": 4},
        license="CC-BY-NC-4.0",
    )  # fmt: skip
    png = publish(Image.from_array(np.full((16, 16, 3), 128, dtype=np.uint8), prov), tmp_path / "p.png")
    check = verify_file(sign_file(png, privacy=True))
    assert check.valid and check.provenance is not None
    assert check.provenance["request"]["prompt"].startswith("sha256:") and check.provenance["request"]["steps"] == 4
    assert "my secret" not in json.dumps(check.provenance)
    assert check.licenses is not None and check.licenses["privacy"] is True
    assert check.licenses["warnings"] == [
        "some-lm (text-to-image) is licensed under 'CC-BY-NC-4.0', which restricts commercial use"
    ]
    assert licence_warnings([{"id": "en-joe", "license": "MIT"}]) == []
    clip = prov.model_copy(update={"extra": {"ingredients": {"visuals": [{"path": "/home/me/x.png"}]}}})
    manifest = build_manifest(
        "a.mp4", clip, licences=[{"what": "font", "id": "Noto", "license": "OFL-1.1"}], privacy=True
    )
    assert manifest["assertions"][-1]["data"]["visuals"][0]["path"] == "x.png"
    assert manifest["assertions"][-1]["data"]["licenses"] == [{"what": "font", "id": "Noto", "license": "OFL-1.1"}]


def test_own_certificate_from_the_environment(card: Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = signing_identity()
    assert dev.development and signing_identity().certificate_chain == dev.certificate_chain  # made once, reused
    cert, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert.write_bytes(dev.certificate_chain)
    key.write_bytes(dev.private_key)
    monkeypatch.setenv(CERT_ENV, str(cert))
    monkeypatch.setenv(KEY_ENV, str(key))
    own = signing_identity()
    assert not own.development
    png = publish(card, tmp_path / "own.png", credentials=True)
    check = verify_file(png)
    assert check.valid and check.licenses is not None and check.licenses["development_signer"] is False
    monkeypatch.setenv("AIGC_C2PA_ALG", "md5")
    with pytest.raises(InvalidRequestError):
        signing_identity()
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(InvalidRequestError):
        signing_identity()
    assert os.environ[CERT_ENV] == str(cert)


def test_verify_json_output(card: Image, tmp_path: Path) -> None:
    png = publish(card, tmp_path / "card.png", credentials=True)
    result = runner.invoke(app, ["verify", str(png), "--json", "--no-watermark"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] and report["provenance"]["model_id"] == card.provenance.model_id  # type: ignore[union-attr]


def test_files_that_went_in_become_ingredients_with_their_own_credentials(card: Image, tmp_path: Path) -> None:
    card_png = publish(card, tmp_path / "card.png")
    before = card_png.read_bytes()
    photo = Image.from_array(np.full((32, 48, 3), 90, dtype=np.uint8)).save(tmp_path / "photo.jpg")
    webp = tmp_path / "phone.webp"
    Image.from_array(np.full((32, 48, 3), 60, dtype=np.uint8)).pil.save(webp)
    signed_wav = publish(Audio(np.zeros(800, dtype=np.float32), 8000, GENERATED_SPEECH), tmp_path / "voice.wav")
    sign_file(signed_wav)  # already carries credentials: goes in as it is, manifest and all
    out = publish(Image.from_array(np.zeros((64, 64, 3), dtype=np.uint8), CLIP), tmp_path / "out.png")
    parts = [
        Ingredient(card_png, "card 1", card.provenance),
        Ingredient(photo, "photo 2"),
        Ingredient(webp, "photo 3", CLIP),  # WebP: an ingredient format (sign_file itself writes PNG/JPEG/WAV/MP3/MP4)
        Ingredient(signed_wav, "narration", GENERATED_SPEECH),
    ]
    check = verify_file(sign_file(out, ingredients=parts))
    assert check.valid and check.digital_source_type is not None
    assert check.digital_source_type.endswith("compositeWithTrainedAlgorithmicMedia")
    by_role = {part.role: part for part in check.ingredients}
    assert by_role["card 1"].signed and by_role["card 1"].model_id == "card-renderer"
    assert by_role["card 1"].format == "image/png" and by_role["card 1"].title == "card.png"
    assert not by_role["photo 2"].signed and by_role["photo 2"].model_id is None  # the user's photo: no claims made
    assert by_role["photo 3"].format == "image/webp" and by_role["photo 3"].signed
    assert by_role["narration"].signed and by_role["narration"].model_id == "en-joe"
    assert all(part.valid for part in check.ingredients)
    assert card_png.read_bytes() == before  # signed in memory; the file on disk is untouched
    code, output = _verify_cli(out)
    assert code == 0, output
    assert "ingredient card 1 (card.png): card-renderer, own credentials valid" in output
    assert "ingredient photo 2 (photo.jpg), no credentials of its own" in output
    with pytest.raises(InvalidRequestError, match="no file"):
        sign_file(out, ingredients=[Ingredient(tmp_path / "gone.png", "card 3")])
    with pytest.raises(InvalidRequestError, match="cannot record as an ingredient"):
        sign_file(out, ingredients=[Ingredient(tmp_path / "notes.txt", "notes")])


GENERATED_SPEECH = Provenance(model_id="en-joe", task="text-to-speech", backend="b", license="MIT")
CLIP = Provenance(model_id="slideshow", task="images-to-video", backend="b")
PROMPTED = Provenance(model_id="sd", task="text-to-image", backend="b", request={"prompt": "a secret prompt"})


def test_the_development_key_is_made_once_across_threads_and_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saves sign from several threads and processes at once: all of them must end up with one key pair."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    env = {**os.environ, "AIGC_CACHE_DIR": str(tmp_path / "cache")}
    code = (
        "import hashlib\nfrom aigc_sdk.trust import signing_identity\n"
        "print(hashlib.sha256(signing_identity().private_key).hexdigest())"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    keys = {process.communicate(timeout=120)[0].strip() for process in processes}
    assert len(keys) == 1 and all(process.returncode == 0 for process in processes)
    monkeypatch.setenv("AIGC_CACHE_DIR", str(tmp_path / "threads"))
    with ThreadPoolExecutor(8) as pool:
        identities = list(pool.map(lambda _: signing_identity(), range(8)))
    assert len({identity.private_key for identity in identities}) == 1
    folder = tmp_path / "threads" / "c2pa" / "development"
    assert sorted(p.name for p in folder.iterdir()) == ["dev-ca.pem", "dev-signer-chain.pem", "dev-signer.key"]
    assert not [p for p in folder.parent.iterdir() if p.name != "development"]  # no staging folders left behind
