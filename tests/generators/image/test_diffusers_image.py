"""DiffusersImageGenerator with a tiny Stable Diffusion pipeline saved from config and loaded back (CPU, 64×64)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.generators.image.diffusers_image import DiffusersImageGenerator, ImageProgress, sampler_names
from aigc_sdk.media import Image
from aigc_sdk.registry import LocalSource, ModelRegistry
from aigc_sdk.types import ImageRequest
from tests.generators.image.helpers import diffusers_spec, save_tiny_pipeline
from tests.support import require_module

require_module("diffusers", reason="needs the image extra")

FAST = {"width": 64, "height": 64, "steps": 2}
# diffusers' Euler schedulers call np.array(tensor); numpy 2.4 warns that torch's __array__ lacks `copy` (upstream).
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd") / "tiny-sd", seed=0)


@pytest.fixture(scope="module")
def sd(tiny_dir: Path) -> DiffusersImageGenerator:
    return DiffusersImageGenerator(diffusers_spec("tiny-sd", tiny_dir))


def _pixels(image: Image) -> np.ndarray:
    return image.to_array().astype(np.int16)


def test_loads_through_the_registry_and_generates_seeded_images(tiny_dir: Path) -> None:
    registry = ModelRegistry([diffusers_spec("tiny-sd", tiny_dir)], catalogs=False)
    with registry.create("tiny-sd") as gen:
        assert isinstance(gen, DiffusersImageGenerator)
        result = gen(prompt="a lighthouse at dusk", seed=5, **FAST)
        again = gen(prompt="a lighthouse at dusk", seed=5, **FAST)
        other = gen(prompt="a lighthouse at dusk", seed=6, **FAST)
    assert result.image.size == (64, 64)
    assert result.image.pil.mode == "RGB"
    assert np.array_equal(_pixels(result.image), _pixels(again.image))
    assert np.abs(_pixels(result.image) - _pixels(other.image)).max() > 10
    prov = result.provenance
    assert prov.model_id == "tiny-sd"
    assert prov.seed == 5
    assert prov.extra["seeds"] == [5]
    assert prov.extra["mode"] == "txt2img"
    assert prov.extra["pipeline"] == "StableDiffusionPipeline"
    assert "diffusers" in prov.versions


def test_batched_equals_alone_within_2_of_255(sd: DiffusersImageGenerator) -> None:
    requests = [
        ImageRequest(prompt="a red fox in snow", seed=11, **FAST),
        ImageRequest(prompt="storm clouds over a harbour", seed=12, num_outputs=2, **FAST),
        ImageRequest(prompt="a red fox in snow", negative_prompt="blurry", seed=13, **FAST),
    ]
    alone = [sd(r) for r in requests]
    batched = sd.batch(requests)
    assert [len(r.images) for r in batched] == [1, 2, 1]
    for a, b in zip(alone, batched, strict=True):
        assert a.provenance.extra["seeds"] == b.provenance.extra["seeds"]
        for x, y in zip(a.images, b.images, strict=True):
            assert np.abs(_pixels(x) - _pixels(y)).max() <= 2
    # num_outputs uses seed, seed + 1: image 2 of request 2 is the same as that request alone with seed 13
    second = sd(prompt="storm clouds over a harbour", seed=13, **FAST).image
    assert np.abs(_pixels(batched[1].images[1]) - _pixels(second)).max() <= 2


@pytest.mark.parametrize("sampler", ["euler", "euler-a", "dpm++", "ddim", "lcm", "DPMPP_2M_Karras"])
def test_samplers_by_name(sd: DiffusersImageGenerator, sampler: str) -> None:
    result = sd(prompt="a calm sea", sampler=sampler, seed=1, **FAST)
    assert result.image.size == (64, 64)
    assert result.provenance.extra["sampler"] == sampler


def test_img2img_follows_the_init_image_by_strength(sd: DiffusersImageGenerator, tmp_path: Path) -> None:
    ramp = np.zeros((64, 64, 3), dtype=np.uint8)
    ramp[:, :, 0] = np.linspace(0, 255, 64, dtype=np.uint8)[None, :]
    init = Image.from_array(ramp)
    path = init.save(tmp_path / "init.png")
    light = sd(prompt="a painting", image=init, strength=0.5, seed=3, steps=4, width=64, height=64)
    heavy = sd(prompt="a painting", image=path, strength=1.0, seed=3, steps=4, width=64, height=64)
    assert light.provenance.extra["mode"] == "img2img"
    assert light.image.size == (64, 64)
    d_light = np.abs(_pixels(light.image) - ramp.astype(np.int16)).mean()
    d_heavy = np.abs(_pixels(heavy.image) - ramp.astype(np.int16)).mean()
    assert d_light < d_heavy
    # img2img in a batch with text-to-image requests equals each alone
    txt = ImageRequest(prompt="a painting", seed=4, steps=4, width=64, height=64)
    img = ImageRequest(prompt="a painting", image=init, strength=0.5, seed=3, steps=4, width=64, height=64)
    both = sd.batch([txt, img])
    assert np.abs(_pixels(both[1].image) - _pixels(light.image)).max() <= 2
    assert np.abs(_pixels(both[0].image) - _pixels(sd(txt).image)).max() <= 2


def test_progress_hook_sees_every_step(sd: DiffusersImageGenerator) -> None:
    events: list[ImageProgress] = []
    sd.on_progress = events.append
    try:
        sd(prompt="a bridge", seed=2, width=64, height=64, steps=3)
    finally:
        sd.on_progress = None
    assert [(e.step, e.steps) for e in events] == [(1, 3), (2, 3), (3, 3)]
    assert events[-1].fraction == 1.0
    assert events[0].model_id == "tiny-sd"


def test_memory_savers_leave_outputs_unchanged(tiny_dir: Path) -> None:
    plain = DiffusersImageGenerator(diffusers_spec("tiny-sd", tiny_dir))
    saver = DiffusersImageGenerator(diffusers_spec("tiny-sd", tiny_dir, options={"vae_tiling": True}))
    assert saver.memory_savers == {"vae_tiling"}
    assert saver.enable_memory_savers(attention_slicing=True) == {"vae_tiling", "attention_slicing"}
    a = plain(prompt="a field", seed=8, **FAST)
    b = saver(prompt="a field", seed=8, **FAST)
    assert np.abs(_pixels(a.image) - _pixels(b.image)).max() <= 2
    assert b.provenance.extra["memory_savers"] == ["attention_slicing", "vae_tiling"]
    with pytest.raises(InvalidRequestError, match="CUDA"):
        saver.enable_memory_savers(cpu_offload=True)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"width": 500}, "width"),  # not a multiple of 8 (request model)
        ({"height": 32}, "height"),  # below 64
        ({"steps": 0}, "steps"),
        ({"steps": 501}, "steps"),
        ({"guidance": -1.0}, "guidance"),
        ({"guidance": 51.0}, "guidance"),
        ({"sampler": "warp-drive"}, "unknown sampler"),
        ({"sampler": "flow-euler"}, "does not fit"),
        ({"sampler": "lcm", "steps": 80}, "at most 50"),
        ({"best_of": 2}, "CLIP"),
    ],
)
def test_bad_requests_raise_before_the_model_runs(sd: DiffusersImageGenerator, fields: dict, match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        sd(**{"prompt": "x", "seed": 1, **FAST, **fields})


def test_model_specific_size_and_guidance_limits(tiny_dir: Path) -> None:
    spec = diffusers_spec("tiny-turbo", tiny_dir, options={"size_multiple": 64, "max_guidance": 0.0})
    gen = DiffusersImageGenerator(spec)
    with pytest.raises(InvalidRequestError, match="multiples of 64"):
        gen(prompt="x", width=72, height=64, steps=1, seed=1)
    with pytest.raises(InvalidRequestError, match=r"guidance 7\.0 is above"):
        gen(prompt="x", width=64, height=64, steps=1, guidance=7.0, seed=1)
    assert gen(prompt="x", width=64, height=64, steps=1, guidance=0.0, seed=1).image.size == (64, 64)
    init = Image.from_array(np.zeros((64, 64, 3), dtype=np.uint8))
    with pytest.raises(InvalidRequestError, match="no denoising step"):
        gen(prompt="x", image=init, strength=0.2, steps=2, width=64, height=64, seed=1)


def test_missing_and_broken_weights(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError):
        ModelRegistry([diffusers_spec("gone", tmp_path / "nope")], catalogs=False).create("gone")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model_index.json").write_text("{not json")
    with pytest.raises(ModelLoadError):
        DiffusersImageGenerator(diffusers_spec("broken", tmp_path / "broken"))
    single = tmp_path / "model.ckpt"
    single.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="safetensors"):
        DiffusersImageGenerator(diffusers_spec("ckpt", single))


def test_sampler_names_cover_the_common_ones() -> None:
    assert {"euler", "euler-a", "dpm++", "ddim", "lcm"} <= set(sampler_names())
    assert LocalSource(path=Path(".")).kind == "local"


def test_generated_images_carry_the_invisible_watermark(sd: DiffusersImageGenerator, tiny_dir: Path) -> None:
    from aigc_sdk.trust.watermark import detect_watermark

    result = sd(prompt="a lighthouse", width=256, height=256, steps=2, seed=3)
    assert detect_watermark(result.image).detected
    assert result.provenance.extra["watermark"]["method"] == "dwtDctSvd"
    assert result.image.provenance is not None and "watermark" in result.image.provenance.extra
    spec = diffusers_spec("tiny-sd", tiny_dir)
    unmarked = DiffusersImageGenerator(spec.model_copy(update={"options": {**spec.options, "watermark": False}}))
    plain = unmarked(prompt="a lighthouse", width=256, height=256, steps=2, seed=3)
    assert not detect_watermark(plain.image).detected
    assert "watermark" not in plain.provenance.extra
    small = sd(prompt="a lighthouse", seed=3, **FAST)  # below 256 px: no room for the mark
    assert "watermark" not in small.provenance.extra
