"""DiffusersVideoGenerator with tiny random-weight Wan and LTX-Video pipelines saved from config and loaded back (CPU).

The pipelines are diffusers' own test shapes (16×16 Wan, 32×32 LTX, 9 frames, 2 steps), saved with
``save_pretrained`` and loaded through the registry and the backend's real loading code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, OutOfDeviceMemoryError
from aigc_sdk.generators.video.diffusers_video import ClipShape, DiffusersVideoGenerator, clip_memory
from aigc_sdk.media import Image, Video, read_sidecar
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.registry.memory import estimate_memory
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.studio import Studio
from aigc_sdk.types import VideoGenerationRequest
from tests.support import require_module

require_module("diffusers", reason="needs the image extra")
require_module("ftfy", reason="Wan's image-to-video pipeline cleans prompts with ftfy")
av = require_module("av", reason="decodes the clips")

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from video_shapes import save_tiny_pipeline, video_spec  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("wan") / "tiny-wan", "wan")


@pytest.fixture(scope="module")
def ltx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("ltx") / "tiny-ltx", "ltx")


@pytest.fixture(scope="module")
def wan(wan_dir: Path) -> Any:
    registry = ModelRegistry([video_spec("tiny-wan", wan_dir, "wan")], catalogs=False)
    generator = registry.create("tiny-wan")
    yield generator
    generator.close()


def _frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]).astype(np.int16)


def _still(size: int) -> Image:
    ramp = np.linspace(0, 255, size, dtype=np.uint8)
    return Image.from_array(np.stack([np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size)),
                                      np.full((size, size), 90, np.uint8)], axis=-1))  # fmt: skip


def test_wan_text_to_video_through_the_registry(wan: DiffusersVideoGenerator, tmp_path: Path) -> None:
    assert isinstance(wan, DiffusersVideoGenerator)
    result = wan(prompt="waves on a pier at dusk", seed=5, crf=0, output=tmp_path / "a.mp4")
    again = wan(prompt="waves on a pier at dusk", seed=5, crf=0, output=tmp_path / "b.mp4")
    other = wan(prompt="waves on a pier at dusk", seed=6, crf=0, output=tmp_path / "c.mp4")
    info = result.video.info
    assert (info.width, info.height, info.fps) == (16, 16, 16.0)
    frames = _frames(result.video.path)
    assert frames.shape == (9, 16, 16, 3)
    assert np.array_equal(frames, _frames(again.video.path))
    assert np.abs(frames - _frames(other.video.path)).max() > 10
    prov = result.provenance
    assert (prov.model_id, prov.task, prov.seed) == ("tiny-wan", "text-to-video", 5)
    assert prov.request["prompt"] == "waves on a pier at dusk"
    assert prov.extra["pipeline"] == "WanPipeline"
    assert prov.extra["mode"] == "text-to-video"
    assert (prov.extra["frames"], prov.extra["fps"], prov.extra["size"]) == (9, 16, [16, 16])
    assert (prov.extra["steps"], prov.extra["guidance"]) == (2, 6.0)
    assert "diffusers" in prov.versions
    sidecar = read_sidecar(result.video.path)
    assert sidecar is not None and sidecar.seed == 5


def test_batched_equals_alone(wan: DiffusersVideoGenerator, tmp_path: Path) -> None:
    requests = [
        VideoGenerationRequest(prompt="a red fox in snow", seed=11, crf=0, output=tmp_path / "1.mp4"),
        VideoGenerationRequest(prompt="storm clouds over a harbour", seed=12, crf=0, output=tmp_path / "2.mp4"),
        VideoGenerationRequest(prompt="a red fox", negative_prompt="blurry", seed=13, crf=0, output=tmp_path / "3.mp4"),
    ]
    batched = [_frames(r.video.path) for r in wan.batch(requests)]
    for request, clip in zip(requests, batched, strict=True):
        alone = wan(request.model_copy(update={"output": tmp_path / "alone.mp4"}))
        assert alone.provenance.seed == request.seed
        # the noise is the request's own (a CPU generator per clip); the lossless clips match frame for frame
        assert np.array_equal(_frames(alone.video.path), clip)


def test_wan_animates_a_still(wan: DiffusersVideoGenerator, tmp_path: Path) -> None:
    result = wan(prompt="the tide comes in", image=_still(32), seed=3, output=tmp_path / "i2v.mp4")
    assert result.provenance.extra["mode"] == "image-to-video"
    assert result.provenance.extra["pipeline"] == "WanImageToVideoPipeline"
    assert _frames(result.video.path).shape == (9, 16, 16, 3)
    assert result.provenance.request["image"]["image"] == "32x32"


def test_ltx_text_and_image_to_video(ltx_dir: Path, tmp_path: Path) -> None:
    registry = ModelRegistry([video_spec("tiny-ltx", ltx_dir, "ltx")], catalogs=False)
    with registry.create("tiny-ltx") as ltx:
        t2v = ltx(prompt="a lighthouse", seed=1, output=tmp_path / "t2v.mp4")
        i2v = ltx(prompt="a lighthouse", image=_still(48), seed=1, frames=17, output=tmp_path / "i2v.mp4")
    assert (t2v.video.info.width, t2v.video.info.height, t2v.video.info.fps) == (32, 32, 24.0)
    assert _frames(t2v.video.path).shape == (9, 32, 32, 3)
    assert t2v.provenance.extra["pipeline"] == "LTXPipeline"
    assert _frames(i2v.video.path).shape == (17, 32, 32, 3)
    assert i2v.provenance.extra["pipeline"] == "LTXImageToVideoPipeline"


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"frames": 10}, "4·k \\+ 1"),
        ({"width": 24}, "multiples of 16"),
    ],
)
def test_bad_shapes_are_refused_before_any_work(
    wan: DiffusersVideoGenerator, tmp_path: Path, fields: dict[str, Any], match: str
) -> None:
    target = tmp_path / "never.mp4"
    with pytest.raises(InvalidRequestError, match=match) as info:
        wan(prompt="x", seed=1, output=target, **fields)
    assert info.value.hint
    assert not target.exists()


def test_unknown_option_and_missing_image_pipeline_are_refused(wan_dir: Path) -> None:
    with pytest.raises(InvalidRequestError, match="no option 'colour'"):
        DiffusersVideoGenerator(video_spec("bad", wan_dir, "wan", colour=1))
    spec = video_spec("t2v-only", wan_dir, "wan").model_copy(
        update={"options": {"frames": 9, "width": 16, "height": 16, "steps": 1}}
    )
    with DiffusersVideoGenerator(spec) as t2v, pytest.raises(InvalidRequestError, match="cannot animate") as info:
        t2v(prompt="x", image=_still(16), seed=1)
    assert "image_pipeline" in (info.value.hint or "")


def test_a_clip_over_budget_names_the_savers_that_fit_and_plan_agrees(wan_dir: Path, tmp_path: Path) -> None:
    base = video_spec("tiny-wan", wan_dir, "wan")
    request = VideoGenerationRequest(prompt="x", seed=1, frames=33, width=512, height=512, output=tmp_path / "m.mp4")
    weights = estimate_memory(base)
    shape = ClipShape(width=512, height=512, frames=33)
    plain = clip_memory(weights, shape)
    tiled = clip_memory(weights, shape, {"vae_slicing", "vae_tiling"})
    assert tiled < plain
    spec = video_spec("tiny-wan", wan_dir, "wan", memory_budget_bytes=(plain + tiled) // 2)
    with DiffusersVideoGenerator(spec) as gen:
        assert gen.memory_needed(request) == plain
        with pytest.raises(OutOfDeviceMemoryError, match="over the budget") as info:
            gen(request)
        assert not info.value.retryable
        assert "vae_slicing, vae_tiling" in (info.value.hint or "")
        assert not request.output.exists()  # type: ignore[union-attr]
    small = video_spec("tiny-wan", wan_dir, "wan", memory_budget_bytes=weights // 2)
    with DiffusersVideoGenerator(small) as gen, pytest.raises(OutOfDeviceMemoryError) as info:
        gen(request)
    assert "no memory saver is enough" in (info.value.hint or "")
    # the scheduler's plan, given the same figures as memory_bytes / memory_savers_bytes, turns savers on too
    sized = spec.model_copy(update={"memory_bytes": plain, "options": {**spec.options, "memory_savers_bytes": tiled}})
    plan = GpuScheduler([sized], budgets={"cpu": (plain + tiled) // 2}).plan(["tiny-wan"])
    assert plan.memory_savers == ("tiny-wan",)


def test_through_the_studio_scheduler(wan_dir: Path, tmp_path: Path) -> None:
    registry = ModelRegistry([video_spec("tiny-wan", wan_dir, "wan")], catalogs=False)
    with Studio(registry) as studio:
        futures = [
            studio.submit(VideoGenerationRequest(prompt=p, seed=s, output=tmp_path / f"{s}.mp4"))
            for p, s in (("rain", 1), ("snow", 2))
        ]
        results = [f.result(timeout=120) for f in futures]
    assert [r.provenance.seed for r in results] == [1, 2]
    assert all(r.video.info.width == 16 for r in results)


def test_cli_video(wan_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from aigc_sdk.cli import app

    catalog = tmp_path / "models.toml"
    catalog.write_text(
        f"""
[[model]]
id = "tiny-wan"
task = "text-to-video"
backend = "aigc_sdk.generators.video.diffusers_video.DiffusersVideoGenerator"
source = {{ kind = "local", path = "{wan_dir}" }}

[model.options]
width = 16
height = 16
fps = 16
steps = 2
max_sequence_length = 16
image_pipeline = "WanImageToVideoPipeline"
expand_timesteps = true
"""
    )
    monkeypatch.setenv("AIGC_MODELS", str(catalog))
    still = tmp_path / "still.png"
    _still(16).save(still)
    out = tmp_path / "pier.mp4"
    runner = CliRunner()
    args = ["video", "waves", "--model", "tiny-wan", "--frames", "5", "--seed", "3", "-o", str(out), "--json"]
    done = runner.invoke(app, [*args, "--image", str(still)])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["file"] == str(out)
    assert payload["provenance"]["seed"] == 3 and payload["provenance"]["extra"]["mode"] == "image-to-video"
    assert _frames(out).shape == (5, 16, 16, 3)
    assert out.with_suffix(".provenance.json").exists() or read_sidecar(out) is not None
    bad = runner.invoke(app, ["video", "waves", "--model", "tiny-wan", "--frames", "6", "-o", str(tmp_path / "x.mp4")])
    assert bad.exit_code == 2 and "4·k + 1" in bad.output


def test_write_mp4_marks_every_frame_when_asked(tmp_path: Path) -> None:
    from aigc_sdk.generators.video.diffusers_video import write_mp4
    from aigc_sdk.trust.watermark import detect_video_watermark

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(5, 256, 320, 3), dtype=np.uint8)
    marked = write_mp4(frames, tmp_path / "marked.mp4", fps=8, watermark=True)
    plain = write_mp4(frames, tmp_path / "plain.mp4", fps=8)
    assert detect_video_watermark(marked).detected
    assert not detect_video_watermark(plain).detected
    assert Video(marked).info.fps == 8.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marked.mp4", "plain.mp4"]  # no temporary files left
