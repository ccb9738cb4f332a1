"""Text-to-video and image-to-video with any video pipeline diffusers loads: Wan 2.1/2.2, LTX-Video, CogVideoX ….

Weights come from the spec's source (a diffusers folder: a hub repository at a pinned revision, or a local
folder). The spec picks the pipeline (the folder's ``model_index.json``), and its options pick the rest.
Install with ``pip install "aigc-studio[image]"`` (diffusers, transformers, accelerate; Wan also needs ``ftfy``).

Spec options:

* ``width``, ``height``, ``frames``, ``fps``, ``steps``, ``guidance``: defaults when a request leaves them out
  (``fps`` is the rate the model was trained at: Wan 2.1 16, Wan 2.2 TI2V 24, LTX-Video 24, CogVideoX 8);
* ``image_pipeline`` (str): the diffusers class that animates a still with the same components, e.g.
  ``WanImageToVideoPipeline`` or ``LTXImageToVideoPipeline`` (built with ``from_pipe``, no second copy of the
  weights); ``expand_timesteps`` (bool): Wan 2.2 TI2V's image conditioning;
* ``scheduler`` (str): a diffusers scheduler class replacing the folder's (e.g. ``UniPCMultistepScheduler``),
  with ``flow_shift`` (float) when given;
* ``attention_slicing``, ``vae_tiling``, ``vae_slicing``, ``cpu_offload`` (bools): memory savers turned on at
  load (also at run time with :meth:`DiffusersVideoGenerator.enable_memory_savers`);
* ``memory_budget_bytes`` (int): what one clip may take on the device (default: a CUDA device's total memory;
  none on the CPU); ``decode_bytes_per_pixel`` (int): the VAE decoder's peak bytes per output pixel and frame
  (default 256), the figure the estimate scales with frames × width × height;
  ``memory_savers_bytes`` (int): what the weights take with CPU offload on (the scheduler's own option);
* ``watermark`` (bool, default on): mark every frame invisibly when the shorter side is ≥ 256 px.
"""

from __future__ import annotations

import inspect
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.ffmpeg import require_ffmpeg, run_ffmpeg
from aigc_sdk._internal.files import atomic_path, render_target
from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, MediaError, ModelLoadError, OutOfDeviceMemoryError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Image, Video, write_sidecar
from aigc_sdk.provenance import Provenance
from aigc_sdk.registry.memory import estimate_memory
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import VideoGenerationRequest, VideoResult

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["MEMORY_SAVERS", "ClipShape", "DiffusersVideoGenerator", "clip_memory", "write_mp4"]

#: Memory savers in the order the budget check tries them (cheapest in speed first).
MEMORY_SAVERS = ("vae_slicing", "vae_tiling", "attention_slicing", "cpu_offload")
_DEFAULTS = {"width": 512, "height": 320, "frames": 33, "fps": 16}
_TILE = 256 * 256  # pixels one VAE tile decodes at a time (diffusers' video VAEs tile at 256 px or less)
_OFFLOADED_SHARE = 0.6  # without memory_savers_bytes: the largest component's share of the weights (the denoiser)


@dataclass(frozen=True)
class ClipShape:
    """What a clip asks of the device: its size, frame count and how many are denoised together.

    Example:
        >>> ClipShape(width=832, height=480, frames=81).pixels
        32348160
    """

    width: int
    height: int
    frames: int
    batch: int = 1

    @property
    def pixels(self) -> int:
        """Output pixels over every frame of one clip.

        Example:
            >>> ClipShape(width=16, height=16, frames=9).pixels
            2304
        """
        return self.width * self.height * self.frames


def clip_memory(
    weights: int,
    shape: ClipShape,
    savers: frozenset[str] | set[str] = frozenset(),
    *,
    decode_bytes_per_pixel: int = 256,
    offloaded_weights: int | None = None,
) -> int:
    """Estimated peak bytes of one batch on the device: resident weights plus the VAE decode, with ``savers`` on.

    The decode dominates a video pipeline's activations: ``decode_bytes_per_pixel`` × frames × width × height
    per clip. VAE slicing decodes one clip of the batch at a time; VAE tiling decodes 256×256 tiles; CPU offload
    keeps only the running component on the device (``offloaded_weights``, else 60 % of the weights);
    attention slicing trims the denoiser's attention (a tenth of the latent activations).

    Example:
        >>> shape = ClipShape(width=832, height=480, frames=81)
        >>> round(clip_memory(3_000_000_000, shape) / 1024**3, 1)  # GiB
        10.6
        >>> round(clip_memory(3_000_000_000, shape, {"vae_tiling", "cpu_offload"}) / 1024**3, 1)
        3.1
    """
    resident = weights
    if "cpu_offload" in savers:
        resident = offloaded_weights if offloaded_weights is not None else int(weights * _OFFLOADED_SHARE)
    clips = 1 if "vae_slicing" in savers else shape.batch
    per_frame = min(shape.width * shape.height, _TILE) if "vae_tiling" in savers else shape.width * shape.height
    decode = clips * per_frame * shape.frames * decode_bytes_per_pixel
    latents = shape.batch * shape.pixels * 4  # latents and attention of the denoiser: small next to the decode
    if "attention_slicing" in savers:
        latents //= 10
    return resident + decode + latents


@dataclass
class _Job:
    request: VideoGenerationRequest
    width: int
    height: int
    frames: int
    fps: int
    steps: int | None
    guidance: float | None
    still: PIL.Image.Image | None

    def group_key(self) -> tuple[Any, ...]:
        r = self.request
        return (self.still is not None, r.negative_prompt is None, self.width, self.height, self.frames, self.fps,
                self.steps, self.guidance)  # fmt: skip


class DiffusersVideoGenerator(BaseGenerator[VideoGenerationRequest, VideoResult]):
    """Short clips from a diffusers video pipeline; one CPU-seeded noise per clip, batched or alone alike.

    Clip ``i`` of a batch starts from the noise of a CPU ``torch.Generator`` seeded with its request's seed,
    so a request gives the same clip alone or inside a batch (up to float rounding in batched matmuls) and on
    any device. A request with ``image`` is animated by the spec's ``image_pipeline``. float16 on CUDA unless
    the spec says ``dtype = "bfloat16"`` or ``"float32"``; always float32 on the CPU. A clip that cannot fit
    the memory budget is refused before any work, naming the savers that would make it fit.

    Args:
        spec: The model's spec (a diffusers folder: hub or local).
        device: ``cpu``, ``cuda:N`` or ``mps``.
        pipeline: An already built diffusers pipeline to serve instead of loading the spec's weights
            (benchmarks with random weights, notebooks).

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="wan", task="text-to-video", source=LocalSource(path="models/wan2.1-t2v-1.3b"),
        ...                  backend="aigc_sdk.generators.video.diffusers_video.DiffusersVideoGenerator")
        >>> wan = DiffusersVideoGenerator(spec, device="cuda:0")  # doctest: +SKIP
        >>> clip = wan(prompt="waves on a pier", frames=33, seed=7).video  # doctest: +SKIP
        >>> clip.info.fps, clip.info.width  # doctest: +SKIP
        (16.0, 512)
    """

    request_type: ClassVar[type[VideoGenerationRequest]] = VideoGenerationRequest
    distributions: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers")
    known_options: ClassVar[tuple[str, ...] | None] = (
        "width", "height", "frames", "fps", "steps", "guidance", "image_pipeline", "expand_timesteps", "scheduler",
        "flow_shift", "attention_slicing", "vae_tiling", "vae_slicing", "cpu_offload", "memory_budget_bytes",
        "decode_bytes_per_pixel", "memory_savers_bytes", "max_sequence_length", "watermark",
    )  # fmt: skip

    def __init__(self, spec: ModelSpec, *, device: str = "cpu", pipeline: Any = None) -> None:
        self._injected = pipeline
        super().__init__(spec, device=device)

    # -- loading -------------------------------------------------------------------------------

    def _load(self) -> None:
        diffusers = require("diffusers", extra="image", feature="video diffusion models")
        self._torch = require("torch", extra="image", feature="video diffusion models")
        self._savers: set[str] = set()
        if self._injected is not None:
            pipe, self._injected = self._injected, None
            with map_errors(f"could not move {self.spec.id} to {self.device}", to=ModelLoadError):
                pipe.to(self.device)
        else:
            pipe = self._load_pipeline(diffusers)
        options = self.spec.options
        if options.get("scheduler"):
            pipe.scheduler = _scheduler(diffusers, pipe.scheduler, str(options["scheduler"]), options.get("flow_shift"))
        pipe.set_progress_bar_config(disable=True)
        self._pipe = pipe
        self._params = frozenset(inspect.signature(pipe.__call__).parameters)
        self._still_pipe = self._image_pipeline(diffusers, pipe)
        self._still_params = (
            frozenset(inspect.signature(self._still_pipe.__call__).parameters) if self._still_pipe else frozenset()
        )
        self._temporal, self._spatial = _factors(pipe)
        self._size_multiple = int(options.get("size_multiple", self._spatial))
        self._weights = estimate_memory(self.spec)
        self.enable_memory_savers(**{name: bool(options.get(name, False)) for name in MEMORY_SAVERS})

    def _dtype(self) -> Any:
        torch = self._torch
        if not self.device.startswith("cuda"):
            return torch.float32
        return {"float32": torch.float32, "bfloat16": torch.bfloat16}.get(self.spec.dtype, torch.float16)

    def _load_pipeline(self, diffusers: Any) -> Any:
        path = resolve_weights(self.spec)
        with map_errors(f"could not load video model {self.spec.id} from {path}", to=ModelLoadError):
            if path.is_file():
                raise ModelLoadError(f"{path.name}: video models load from a diffusers folder, not a single file")
            pipe = diffusers.DiffusionPipeline.from_pretrained(
                path,
                **{_dtype_keyword(): self._dtype()},
                use_safetensors=None if self.spec.allow_pickle else True,
                local_files_only=True,
                trust_remote_code=self.spec.trust_remote_code,
            )
            if not bool(self.spec.options.get("cpu_offload", False)):
                pipe.to(self.device)
        return pipe

    def _image_pipeline(self, diffusers: Any, pipe: Any) -> Any:
        if "image" in self._params:
            return pipe  # an image-to-video pipeline already
        name = self.spec.options.get("image_pipeline")
        if not name:
            return None
        cls = getattr(diffusers, str(name), None)
        if cls is None or not hasattr(cls, "from_pipe"):
            raise ModelLoadError(f"{self.spec.id}: diffusers has no pipeline {name!r} to animate stills with")
        extra = {"expand_timesteps": True} if self.spec.options.get("expand_timesteps") else {}
        with map_errors(f"could not build {name} from {type(pipe).__name__}", to=ModelLoadError):
            still = cls.from_pipe(pipe, **extra)
        still.set_progress_bar_config(disable=True)
        return still

    # -- memory --------------------------------------------------------------------------------

    @property
    def memory_savers(self) -> frozenset[str]:
        """The memory savers now on (``vae_slicing``, ``vae_tiling``, ``attention_slicing``, ``cpu_offload``).

        Example:
            >>> wan.memory_savers  # doctest: +SKIP
            frozenset()
        """
        return frozenset(self._savers)

    def enable_memory_savers(
        self,
        *,
        attention_slicing: bool = False,
        vae_tiling: bool = False,
        vae_slicing: bool = False,
        cpu_offload: bool = False,
    ) -> frozenset[str]:
        """Turn on memory savers (never off); the scheduler calls this when a device's budget is short.

        They trade speed for memory and leave outputs unchanged up to rounding (VAE tiling blends tile seams).
        A saver the pipeline lacks is skipped; model CPU offload needs a CUDA device and ``accelerate``.

        Returns:
            The savers now on.

        Raises:
            InvalidRequestError: CPU offload asked for on a non-CUDA device.

        Example:
            >>> wan.enable_memory_savers(vae_tiling=True)  # doctest: +SKIP
            frozenset({'vae_tiling'})
        """
        vae = getattr(self._pipe, "vae", None)
        wanted = {
            "attention_slicing": (attention_slicing, getattr(self._pipe, "enable_attention_slicing", None)),
            "vae_tiling": (vae_tiling, getattr(vae, "enable_tiling", None)),
            "vae_slicing": (vae_slicing, getattr(vae, "enable_slicing", None)),
        }
        for name, (on, turn_on) in wanted.items():
            if on and name not in self._savers and callable(turn_on):
                turn_on()
                self._savers.add(name)
        if cpu_offload and "cpu_offload" not in self._savers:
            if not self.device.startswith("cuda"):
                raise InvalidRequestError(f"model CPU offload needs a CUDA device, not {self.device!r}")
            require("accelerate", extra="image", feature="model CPU offload")
            self._pipe.enable_model_cpu_offload(device=self.device)
            self._savers.add("cpu_offload")
        return self.memory_savers

    def memory_needed(self, request: VideoGenerationRequest, savers: frozenset[str] | None = None) -> int:
        """Estimated peak bytes of ``request`` alone, with ``savers`` (default: those now on).

        Example:
            >>> request = VideoGenerationRequest(prompt="x", frames=81, width=832, height=480)
            >>> round(wan.memory_needed(request, frozenset({"vae_tiling"})) / 1024**3, 1)  # doctest: +SKIP
            4.5
        """
        job = self._job(request.seeded())
        return self._needed(
            ClipShape(job.width, job.height, job.frames), self.memory_savers if savers is None else savers
        )

    def _needed(self, shape: ClipShape, savers: frozenset[str] | set[str]) -> int:
        options = self.spec.options
        offloaded = options.get("memory_savers_bytes")
        return clip_memory(
            self._weights,
            shape,
            savers,
            decode_bytes_per_pixel=int(options.get("decode_bytes_per_pixel", 256)),
            offloaded_weights=int(offloaded) if isinstance(offloaded, int | float) and offloaded else None,
        )

    def _budget(self) -> int | None:
        value = self.spec.options.get("memory_budget_bytes")
        if value:
            return int(value)
        if self.device.startswith("cuda"):
            torch = self._torch
            return int(torch.cuda.get_device_properties(torch.device(self.device)).total_memory)
        return None

    def _check_memory(self, jobs: list[_Job]) -> None:
        """Refuse, before any work, a clip that cannot fit the budget with the savers now on."""
        budget = self._budget()
        if budget is None:
            return
        for job in jobs:
            shape = ClipShape(job.width, job.height, job.frames)
            need = self._needed(shape, self._savers)
            if need <= budget:
                continue
            savers = set(self._savers)
            for name in MEMORY_SAVERS:
                if name == "cpu_offload" and not self.device.startswith("cuda"):
                    continue
                savers.add(name)
                if self._needed(shape, savers) <= budget:
                    added = sorted(savers - self._savers)
                    hint = f"turn on {', '.join(added)} (spec options, or enable_memory_savers): then it fits"
                    break
            else:
                hint = "no memory saver is enough: fewer frames, a smaller size, or a larger budget"
            raise OutOfDeviceMemoryError(
                f"{self.spec.id}: a {job.frames}-frame {job.width}×{job.height} clip needs about {_gib(need)}, "
                f"over the budget of {_gib(budget)} on {self.device}",
                hint=hint,
                retryable=False,
            )

    # -- requests ------------------------------------------------------------------------------

    def _preprocess(self, requests: list[VideoGenerationRequest]) -> list[_Job]:
        jobs = [self._job(request) for request in requests]
        self._check_memory(jobs)
        return jobs

    def _job(self, request: VideoGenerationRequest) -> _Job:
        options = self.spec.options

        def pick(value: Any, name: str) -> Any:
            return value if value is not None else options.get(name, _DEFAULTS.get(name))

        width, height = int(pick(request.width, "width")), int(pick(request.height, "height"))
        frames, fps = int(pick(request.frames, "frames")), int(pick(request.fps, "fps"))
        m, t = self._size_multiple, self._temporal
        if width % m or height % m:
            raise InvalidRequestError(
                f"{self.spec.id}: width and height must be multiples of {m}, got {width}×{height}",
                hint=f"try {width // m * m or m}×{height // m * m or m}",
            )
        if (frames - 1) % t:
            raise InvalidRequestError(
                f"{self.spec.id}: the frame count must be {t}·k + 1 (its VAE packs {t} frames), got {frames}",
                hint=f"try {(frames - 1) // t * t + 1} or {((frames - 1) // t + 1) * t + 1}",
            )
        still = None
        if request.image is not None:
            if self._still_pipe is None:
                raise InvalidRequestError(
                    f"{self.spec.id} ({type(self._pipe).__name__}) cannot animate a still",
                    hint="set the spec option image_pipeline (e.g. WanImageToVideoPipeline) or pick another model",
                )
            still = _load_still(request.image, width, height)
        elif self._still_pipe is self._pipe:
            raise InvalidRequestError(f"{self.spec.id} is an image-to-video model", hint="pass image=<a still>")
        steps = pick(request.steps, "steps")
        guidance = pick(request.guidance, "guidance")
        return _Job(request, width, height, frames, fps, None if steps is None else int(steps),
                    None if guidance is None else float(guidance), still)  # fmt: skip

    # -- the model -----------------------------------------------------------------------------

    def _forward(self, inputs: list[_Job]) -> list[tuple[_Job, npt.NDArray[np.uint8]]]:
        outputs: dict[int, tuple[_Job, npt.NDArray[np.uint8]]] = {}
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, job in enumerate(inputs):
            # image-to-video pipelines take one still per call: each such clip runs alone
            key = job.group_key() if job.still is None else ("still", index)
            groups.setdefault(key, []).append(index)
        for members in groups.values():
            jobs = [inputs[i] for i in members]
            clips = self._run(jobs)
            for index, job, clip in zip(members, jobs, clips, strict=True):
                outputs[index] = (job, clip)
        return [outputs[i] for i in range(len(inputs))]

    def _run(self, jobs: list[_Job]) -> list[npt.NDArray[np.uint8]]:
        """One pipeline call for jobs of one shape; each clip from its own CPU generator."""
        torch = self._torch
        first = jobs[0]
        pipe, params = (self._pipe, self._params) if first.still is None else (self._still_pipe, self._still_params)
        kwargs: dict[str, Any] = {
            "prompt": [job.request.prompt for job in jobs],
            "generator": [torch.Generator(device="cpu").manual_seed(job.request.seed) for job in jobs],
            "width": first.width,
            "height": first.height,
            "num_frames": first.frames,
            "frame_rate": first.fps,
            "output_type": "np",
        }
        if first.request.negative_prompt is not None:
            kwargs["negative_prompt"] = [job.request.negative_prompt for job in jobs]
        if first.steps is not None:
            kwargs["num_inference_steps"] = first.steps
        if first.guidance is not None:
            kwargs["guidance_scale"] = first.guidance
        if self.spec.options.get("max_sequence_length"):
            kwargs["max_sequence_length"] = int(self.spec.options["max_sequence_length"])
        if first.still is not None:
            kwargs["image"] = first.still
        frames = pipe(**{k: v for k, v in kwargs.items() if k in params}).frames
        return [_to_uint8(np.asarray(clip)) for clip in frames]

    # -- results -------------------------------------------------------------------------------

    def _postprocess(
        self, outputs: list[tuple[_Job, npt.NDArray[np.uint8]]], requests: list[VideoGenerationRequest]
    ) -> list[VideoResult]:
        results = []
        for (job, clip), request in zip(outputs, requests, strict=True):
            provenance = self.provenance(
                request,
                pipeline=type(self._pipe if request.image is None else self._still_pipe).__name__,
                mode="image-to-video" if request.image is not None else "text-to-video",
                frames=int(clip.shape[0]),
                fps=job.fps,
                size=[int(clip.shape[2]), int(clip.shape[1])],
                steps=job.steps,
                guidance=job.guidance,
                scheduler=type(self._pipe.scheduler).__name__,
                memory_savers=sorted(self._savers),
            )
            target = render_target(request.output)
            mark = bool(self.spec.options.get("watermark", True)) and min(clip.shape[1:3]) >= _mark_side()
            write_mp4(clip, target, fps=job.fps, crf=request.crf, provenance=provenance, watermark=mark)
            write_sidecar(target, provenance)
            results.append(VideoResult(video=Video(target, provenance=provenance), provenance=provenance))
        return results

    def _to(self, device: str) -> None:
        if "cpu_offload" in self._savers:
            raise InvalidRequestError(f"{self.spec.id} uses model CPU offload and cannot be moved")
        with map_errors(f"could not move {self.spec.id} to {device}", to=ModelLoadError):
            self._pipe.to(device)

    def _unload(self) -> None:
        self._pipe = None
        self._still_pipe = None


def _gib(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB"


def _factors(pipe: Any) -> tuple[int, int]:
    """(frames the VAE packs into one latent frame, pixels one latent token spans) of a video pipeline."""
    temporal: Any = getattr(pipe, "vae_scale_factor_temporal", None)
    temporal = temporal or getattr(pipe, "vae_temporal_compression_ratio", 4)  # Wan, CogVideoX; else LTX
    spatial: Any = getattr(pipe, "vae_scale_factor_spatial", None) or getattr(pipe, "vae_spatial_compression_ratio", 8)
    transformer = getattr(pipe, "transformer", None)
    patch: Any = getattr(getattr(transformer, "config", None), "patch_size", 1) or 1
    if isinstance(patch, list | tuple):
        patch = patch[-1]
    return int(temporal), int(spatial) * int(patch)


def _scheduler(diffusers: Any, base: Any, name: str, flow_shift: Any) -> Any:
    cls = getattr(diffusers, name, None)
    if cls is None or not hasattr(cls, "from_config"):
        raise ModelLoadError(f"diffusers has no scheduler {name!r}")
    extra = {"flow_shift": float(flow_shift)} if flow_shift is not None else {}
    return cls.from_config(base.config, **extra)


def _dtype_keyword() -> str:
    """``dtype`` on diffusers versions that deprecate ``torch_dtype`` (0.36+), else ``torch_dtype``."""
    utils = require("diffusers.utils.deprecation_utils", extra="image", feature="diffusion models")
    return "dtype" if hasattr(utils, "_resolve_dtype") else "torch_dtype"


def _load_still(image: Image | Path, width: int, height: int) -> PIL.Image.Image:
    """The still as an RGB picture of the clip's size, cropped to its aspect (centre) and resized."""
    pil_image = require("PIL.Image", extra="image", feature="images")
    pil_ops = require("PIL.ImageOps", extra="image", feature="images")
    value = image if isinstance(image, Image) else Image.load(image)
    pil = value.pil.convert("RGB")
    if pil.size != (width, height):
        pil = pil_ops.fit(pil, (width, height), method=pil_image.Resampling.LANCZOS)
    return pil


def _to_uint8(clip: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Frames as ``(T, H, W, 3)`` uint8 from diffusers' ``np`` output (floats in [0, 1])."""
    if clip.ndim != 4:
        raise MediaError(f"expected frames of shape (T, H, W, C), got {clip.shape}")
    if clip.shape[-1] not in (1, 3) and clip.shape[1] in (1, 3):
        clip = clip.transpose(0, 2, 3, 1)
    frames: npt.NDArray[np.uint8] = np.clip(np.rint(clip.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frames)


def _mark_side() -> int:
    from aigc_sdk.trust.watermark import MIN_SIDE

    return MIN_SIDE


def write_mp4(
    frames: npt.NDArray[np.uint8],
    target: Path,
    *,
    fps: int,
    crf: int = 18,
    provenance: Provenance | None = None,
    watermark: bool = False,
) -> Path:
    """Encode ``(T, H, W, 3)`` uint8 frames as an H.264 MP4 at ``fps``, atomically (temp file, then rename).

    Odd sides are padded by one pixel (yuv420p needs even sides); with ``watermark`` every frame gets the
    invisible mark (sides of 256 px or more).

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> frames = np.zeros((5, 32, 48, 3), dtype=np.uint8)
        >>> out = write_mp4(frames, pathlib.Path(tempfile.mkdtemp()) / "c.mp4", fps=8)
        >>> info = Video(out).info
        >>> info.width, info.height, info.fps
        (48, 32, 8.0)
    """
    count, height, width, _ = frames.shape
    ffmpeg = require_ffmpeg().path
    encode = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    tail = ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
            "-pix_fmt", "yuv420p", "-r", str(fps), "-movflags", "+faststart", "-f", "mp4"]  # fmt: skip
    if provenance is not None:
        tail += ["-metadata", f"comment={provenance.to_json()}"]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps)]
    with tempfile.TemporaryDirectory(prefix="aigc-clip-") as workdir, atomic_path(target) as tmp:
        source = Path(workdir) / "frames.rgb"
        source.write_bytes(frames.tobytes())
        if watermark and width % 2 == 0 and height % 2 == 0:
            from aigc_sdk.trust.watermark import mark_frames

            producer = [*encode, *raw, "-i", str(source), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
            sink = [*encode, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", str(fps),
                    "-i", "-", *tail, str(tmp)]  # fmt: skip
            mark_frames(producer, sink, width, height)
        else:
            run_ffmpeg([*encode, *raw, "-i", str(source), *tail, str(tmp)],
                       failure=f"ffmpeg failed to encode {count} frames to {target.name}")  # fmt: skip
    return target
