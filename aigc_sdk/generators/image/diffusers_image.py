"""Text-to-image (and img2img) with any pipeline diffusers loads: SD 1.x/2.x, SDXL, SD-Turbo, PixArt, Flux ….

Weights come from the spec's source: a hub repository at a pinned revision (a diffusers folder), a local
diffusers folder, or a single ``.safetensors`` checkpoint (loaded with ``from_single_file``; spec option
``pipeline`` names the pipeline class and ``config`` a local folder holding its configs, since nothing is
fetched). Install with ``pip install "aigc-studio[image]"``.

Spec options:

* ``steps``, ``guidance``, ``sampler``: defaults when a request leaves them out;
* ``size_multiple`` (int): width and height must be multiples of it (default: the VAE scale factor, × 2
  for pipelines that pack latents, such as Flux); ``max_guidance`` (float): e.g. ``0`` for distilled
  models such as SD-Turbo that were trained without classifier-free guidance;
* ``attention_slicing``, ``vae_tiling``, ``cpu_offload`` (bools): memory savers turned on at load
  (also at run time with :meth:`DiffusersImageGenerator.enable_memory_savers`);
* ``clip_model`` (path): a CLIP folder that scores candidates for ``ImageRequest.best_of``;
* ``pipeline``, ``config``: for single-file checkpoints (see above).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Image
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import ImageRequest, ImageResult

if TYPE_CHECKING:
    import PIL.Image

    from aigc_sdk.generators.image.clip import ClipScorer

__all__ = ["SAMPLERS", "DiffusersImageGenerator", "ImageProgress", "sampler_names"]

#: Sampler names → (diffusers scheduler class, extra config). Aliases: see :func:`sampler_names`.
SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler-a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "dpm++": ("DPMSolverMultistepScheduler", {}),
    "dpm++-karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "dpm-single": ("DPMSolverSinglestepScheduler", {}),
    "deis": ("DEISMultistepScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
    "flow-euler": ("FlowMatchEulerDiscreteScheduler", {}),
}
_ALIASES = {
    "euler-ancestral": "euler-a",
    "k-euler-a": "euler-a",
    "k-euler": "euler",
    "dpmpp-2m": "dpm++",
    "dpm++-2m": "dpm++",
    "dpmpp-2m-karras": "dpm++-karras",
    "dpm++-2m-karras": "dpm++-karras",
    "dpm-solver": "dpm++",
}


def sampler_names() -> list[str]:
    """Every sampler name :class:`DiffusersImageGenerator` accepts (aliases included), sorted.

    Example:
        >>> {"euler", "euler-a", "dpm++", "ddim", "lcm"} <= set(sampler_names())
        True
    """
    return sorted([*SAMPLERS, *_ALIASES])


def _canonical_sampler(name: str) -> str:
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in SAMPLERS:
        raise InvalidRequestError(f"unknown sampler {name!r}", hint=f"use one of {', '.join(sampler_names())}")
    return key


@dataclass(frozen=True)
class ImageProgress:
    """One denoising step finished (sent to ``on_progress`` hooks).

    Attributes:
        model_id: The spec id.
        step: Steps done so far (1-based).
        steps: Steps in this pass.
        batch_size: Images being denoised together.

    Example:
        >>> p = ImageProgress(model_id="sd", step=2, steps=4, batch_size=1)
        >>> p.fraction
        0.5
    """

    model_id: str
    step: int
    steps: int
    batch_size: int

    @property
    def fraction(self) -> float:
        """Share of the pass done, in ``[0, 1]``.

        Example:
            >>> ImageProgress(model_id="m", step=1, steps=4, batch_size=2).fraction
            0.25
        """
        return self.step / self.steps if self.steps else 1.0


@dataclass
class _Job:
    request: ImageRequest
    seeds: list[int]  # one per candidate image
    init: PIL.Image.Image | None
    sampler: str | None
    steps: int | None
    guidance: float | None

    def group_key(self) -> tuple[Any, ...]:
        r = self.request
        strength = r.strength if self.init is not None else None
        return (self.init is not None, strength, r.negative_prompt is None, self.sampler, self.steps, self.guidance,
                r.width, r.height)  # fmt: skip


@dataclass
class _Output:
    images: list[npt.NDArray[np.float32]]
    seeds: list[int]
    scores: list[float] = field(default_factory=list)


class DiffusersImageGenerator(BaseGenerator[ImageRequest, ImageResult]):
    """Images from a diffusers pipeline; one seed per image, batched or alone alike.

    Image ``j`` of a request with seed ``s`` starts from the noise of a CPU ``torch.Generator`` seeded
    ``s + j``, so a request gives the same images alone or inside a batch (within float rounding) and on
    any device. A request with ``image`` runs img2img with ``strength``. float16 on CUDA unless the spec
    says ``dtype = "float32"`` (or ``bfloat16``); always float32 on the CPU.

    Args:
        spec: The model's spec (source: hub folder, local folder or single ``.safetensors`` file).
        device: ``cpu``, ``cuda:N`` or ``mps``.
        pipeline: An already built diffusers pipeline to serve instead of loading the spec's weights
            (dependency injection: benchmarks with random weights, notebooks).
        on_progress: Called after every denoising step with an :class:`ImageProgress`.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="my-sd", task="text-to-image", source=LocalSource(path="models/sd-1.5"),
        ...                  backend="aigc_sdk.generators.image.diffusers_image.DiffusersImageGenerator")
        >>> sd = DiffusersImageGenerator(spec, device="cuda:0")  # doctest: +SKIP
        >>> sd(prompt="a lighthouse at dusk", steps=20, sampler="dpm++", seed=7).image.size  # doctest: +SKIP
        (512, 512)
    """

    request_type: ClassVar[type[ImageRequest]] = ImageRequest
    distributions: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers")

    def __init__(
        self,
        spec: ModelSpec,
        *,
        device: str = "cpu",
        pipeline: Any = None,
        on_progress: Callable[[ImageProgress], None] | None = None,
    ) -> None:
        self._injected = pipeline
        self.on_progress = on_progress
        super().__init__(spec, device=device)

    # -- loading -------------------------------------------------------------------------------

    def _load(self) -> None:
        diffusers = require("diffusers", extra="image", feature="diffusion models")
        torch = require("torch", extra="image", feature="diffusion models")
        self._torch = torch
        self._savers: set[str] = set()
        if self._injected is not None:
            pipe = self._injected
            self._injected = None
            with map_errors(f"could not move {self.spec.id} to {self.device}", to=ModelLoadError):
                pipe.to(self.device)
        else:
            pipe = self._load_pipeline(diffusers, torch)
        pipe.set_progress_bar_config(disable=True)
        self._pipe = pipe
        signature = inspect.signature(pipe.__call__).parameters
        self._params = frozenset(signature)
        self._img2img = self._image_to_image(diffusers, pipe)
        self._img2img_params = (
            frozenset(inspect.signature(self._img2img.__call__).parameters)
            if self._img2img is not None
            else frozenset()
        )
        self._base_scheduler = pipe.scheduler
        self._schedulers: dict[str, Any] = {}
        default = signature.get("num_inference_steps")
        self._default_steps = int(default.default) if default is not None and default.default else 50
        vae_factor = int(getattr(pipe, "vae_scale_factor", 8) or 8)
        packs = hasattr(pipe, "_pack_latents")
        self._size_multiple = int(self.spec.options.get("size_multiple", vae_factor * (2 if packs else 1)))
        self._clip: ClipScorer | None = None
        clip_path = self.spec.options.get("clip_model")
        if clip_path:
            from aigc_sdk.generators.image.clip import ClipScorer

            self._clip = ClipScorer(Path(str(clip_path)), device=self.device)
        options = self.spec.options
        self.enable_memory_savers(
            attention_slicing=bool(options.get("attention_slicing", False)),
            vae_tiling=bool(options.get("vae_tiling", False)),
            cpu_offload=bool(options.get("cpu_offload", False)),
        )

    def _dtype(self, torch: Any) -> Any:
        if not self.device.startswith("cuda"):
            return torch.float32
        return {"float32": torch.float32, "bfloat16": torch.bfloat16}.get(self.spec.dtype, torch.float16)

    def _load_pipeline(self, diffusers: Any, torch: Any) -> Any:
        path = resolve_weights(self.spec)
        dtype = self._dtype(torch)
        with map_errors(f"could not load diffusion model {self.spec.id} from {path}", to=ModelLoadError):
            if path.is_file():
                if path.suffix != ".safetensors" and not self.spec.allow_pickle:
                    raise ModelLoadError(f"{path.name}: single-file checkpoints must be .safetensors")
                name = str(self.spec.options.get("pipeline", "StableDiffusionPipeline"))
                cls = getattr(diffusers, name, None)
                if cls is None or not hasattr(cls, "from_single_file"):
                    raise ModelLoadError(f"diffusers has no single-file pipeline {name!r}")
                config = self.spec.options.get("config")
                kwargs: dict[str, Any] = {_dtype_keyword(): dtype, "local_files_only": True}
                if config:
                    kwargs["config"] = str(config)
                pipe = cls.from_single_file(str(path), **kwargs)
            else:
                pipe = diffusers.DiffusionPipeline.from_pretrained(
                    path,
                    **{_dtype_keyword(): dtype},
                    use_safetensors=None if self.spec.allow_pickle else True,
                    local_files_only=True,
                    trust_remote_code=self.spec.trust_remote_code,
                )
            if not bool(self.spec.options.get("cpu_offload", False)):
                pipe.to(self.device)
        return pipe

    def _image_to_image(self, diffusers: Any, pipe: Any) -> Any:
        if "image" in self._params and "strength" in self._params:
            return pipe  # already an img2img pipeline
        try:
            img2img = diffusers.AutoPipelineForImage2Image.from_pipe(pipe)
        except ValueError:  # this architecture has no img2img counterpart; image requests are refused
            return None
        img2img.set_progress_bar_config(disable=True)
        return img2img

    # -- memory savers -------------------------------------------------------------------------

    @property
    def memory_savers(self) -> frozenset[str]:
        """The memory savers now on (``attention_slicing``, ``vae_tiling``, ``cpu_offload``).

        Example:
            >>> sd.memory_savers  # doctest: +SKIP
            frozenset()
        """
        return frozenset(self._savers)

    def enable_memory_savers(
        self, *, attention_slicing: bool = False, vae_tiling: bool = False, cpu_offload: bool = False
    ) -> frozenset[str]:
        """Turn on memory savers (never off); the scheduler calls this when a device's budget is short.

        Attention slicing computes attention in slices; VAE tiling decodes large images tile by tile;
        model CPU offload keeps each component in host memory until it runs (CUDA only, needs
        ``accelerate``). They trade speed for memory and leave outputs unchanged up to rounding.

        Returns:
            The savers now on.

        Raises:
            InvalidRequestError: CPU offload asked for on a non-CUDA device.
            MissingDependencyError: CPU offload without ``accelerate``.

        Example:
            >>> sd.enable_memory_savers(attention_slicing=True, vae_tiling=True)  # doctest: +SKIP
            frozenset({'attention_slicing', 'vae_tiling'})
        """
        pipes = [p for p in (self._pipe, self._img2img) if p is not None]
        if attention_slicing and "attention_slicing" not in self._savers:
            for pipe in pipes:
                pipe.enable_attention_slicing()
            self._savers.add("attention_slicing")
        if vae_tiling and "vae_tiling" not in self._savers:
            vae = getattr(self._pipe, "vae", None)
            if vae is None or not hasattr(vae, "enable_tiling"):
                raise InvalidRequestError(f"{self.spec.id} has no VAE that supports tiling")
            vae.enable_tiling()
            self._savers.add("vae_tiling")
        if cpu_offload and "cpu_offload" not in self._savers:
            if not self.device.startswith("cuda"):
                raise InvalidRequestError(f"model CPU offload needs a CUDA device, not {self.device!r}")
            require("accelerate", extra="image", feature="model CPU offload")
            self._pipe.enable_model_cpu_offload(device=self.device)
            self._savers.add("cpu_offload")
        return self.memory_savers

    # -- requests ------------------------------------------------------------------------------

    def _preprocess(self, requests: list[ImageRequest]) -> list[_Job]:
        return [self._job(request) for request in requests]

    def _job(self, request: ImageRequest) -> _Job:
        options = self.spec.options
        m = self._size_multiple
        if request.width % m or request.height % m:
            raise InvalidRequestError(
                f"{self.spec.id}: width and height must be multiples of {m}, got {request.width}×{request.height}",
                hint=f"try {request.width // m * m or m}×{request.height // m * m or m}",
            )
        sampler = request.sampler if request.sampler is not None else options.get("sampler")
        sampler = _canonical_sampler(str(sampler)) if sampler else None
        if sampler is not None:
            self._check_sampler(sampler)
        steps = request.steps if request.steps is not None else options.get("steps")
        steps = int(steps) if steps is not None else None
        guidance = request.guidance if request.guidance is not None else options.get("guidance")
        guidance = float(guidance) if guidance is not None else None
        max_guidance = options.get("max_guidance")
        if guidance is not None and max_guidance is not None and guidance > float(max_guidance):
            raise InvalidRequestError(
                f"{self.spec.id}: guidance {guidance} is above this model's maximum {float(max_guidance)}",
                hint=f"use guidance ≤ {float(max_guidance)} (distilled models run without guidance)",
            )
        effective_steps = steps if steps is not None else self._default_steps
        if sampler == "lcm":
            limit = int(self._base_scheduler.config.get("original_inference_steps", 50))
            if effective_steps > limit:
                raise InvalidRequestError(f"the lcm sampler takes at most {limit} steps, got {effective_steps}")
        init = None
        if request.image is not None:
            if self._img2img is None:
                raise InvalidRequestError(f"{self.spec.id} ({type(self._pipe).__name__}) cannot do img2img")
            if int(effective_steps * request.strength) < 1:
                raise InvalidRequestError(
                    f"steps × strength = {effective_steps} × {request.strength} leaves no denoising step",
                    hint="raise steps or strength",
                )
            init = _load_init(request.image, request.width, request.height)
        best_of = request.best_of
        if best_of > 1 and self._clip is None:
            raise InvalidRequestError(
                f"best_of={best_of} needs a CLIP model to rank candidates",
                hint="set the spec option clip_model to a CLIP folder",
            )
        assert request.seed is not None  # drawn by BaseGenerator.batch
        count = request.num_outputs * best_of
        return _Job(request, [request.seed + j for j in range(count)], init, sampler, steps, guidance)

    def _check_sampler(self, name: str) -> None:
        class_name, _ = SAMPLERS[name]
        base = self._base_scheduler
        compatible = {cls.__name__ for cls in base.compatibles} | {type(base).__name__}
        flow = type(base).__name__.startswith("FlowMatch")
        if class_name not in compatible and not (class_name == "LCMScheduler" and not flow):
            raise InvalidRequestError(
                f"sampler {name!r} does not fit {self.spec.id} (its scheduler is {type(base).__name__})",
                hint="flow-matching models (SD3, Flux) take 'flow-euler'; others the rest",
            )

    def _scheduler(self, name: str | None) -> Any:
        if name is None:
            return self._base_scheduler
        if name not in self._schedulers:
            diffusers = require("diffusers", extra="image", feature="diffusion models")
            class_name, extra = SAMPLERS[name]
            cls = getattr(diffusers, class_name)
            self._schedulers[name] = cls.from_config(self._base_scheduler.config, **extra)
        return self._schedulers[name]

    # -- the model -----------------------------------------------------------------------------

    def _forward(self, inputs: list[_Job]) -> list[_Output]:
        torch = self._torch
        outputs: dict[int, _Output] = {}
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, job in enumerate(inputs):
            groups.setdefault(job.group_key(), []).append(index)
        for members in groups.values():
            jobs = [inputs[i] for i in members]
            first = jobs[0]
            pipe = self._pipe if first.init is None else self._img2img
            pipe.scheduler = self._scheduler(first.sampler)
            seeds = [s for job in jobs for s in job.seeds]
            kwargs: dict[str, Any] = {
                "prompt": [job.request.prompt for job in jobs for _ in job.seeds],
                "generator": [torch.Generator(device="cpu").manual_seed(s) for s in seeds],
                "num_images_per_prompt": 1,
                "output_type": "np",
            }
            if first.request.negative_prompt is not None:
                kwargs["negative_prompt"] = [job.request.negative_prompt for job in jobs for _ in job.seeds]
            if first.steps is not None:
                kwargs["num_inference_steps"] = first.steps
            if first.guidance is not None:
                kwargs["guidance_scale"] = first.guidance
            if first.init is not None:
                kwargs["image"] = [job.init for job in jobs for _ in job.seeds]
                kwargs["strength"] = first.request.strength
            else:
                kwargs["width"], kwargs["height"] = first.request.width, first.request.height
            if self.on_progress is not None:
                kwargs["callback_on_step_end"] = self._progress_callback(len(seeds))
            params = self._params if pipe is self._pipe else self._img2img_params
            images = pipe(**{k: v for k, v in kwargs.items() if k in params}).images
            arrays = [np.asarray(img, dtype=np.float32) for img in images]
            cursor = 0
            for index, job in zip(members, jobs, strict=True):
                n = len(job.seeds)
                outputs[index] = self._pick(job, arrays[cursor : cursor + n])
                cursor += n
        return [outputs[i] for i in range(len(inputs))]

    def _pick(self, job: _Job, arrays: list[npt.NDArray[np.float32]]) -> _Output:
        want = job.request.num_outputs
        if len(arrays) == want or self._clip is None:
            return _Output(images=arrays, seeds=job.seeds)
        candidates = [Image.from_array(a) for a in arrays]
        scores = self._clip.score(job.request.prompt, candidates).tolist()
        order = sorted(range(len(arrays)), key=lambda i: -scores[i])[:want]
        return _Output(
            images=[arrays[i] for i in order], seeds=[job.seeds[i] for i in order], scores=[scores[i] for i in order]
        )

    def _progress_callback(self, batch_size: int) -> Callable[..., dict[str, Any]]:
        hook = self.on_progress
        model_id = self.spec.id

        def callback(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
            if hook is not None:
                total = int(getattr(pipe, "num_timesteps", 0) or 0)
                hook(ImageProgress(model_id=model_id, step=step + 1, steps=max(total, step + 1), batch_size=batch_size))
            return callback_kwargs

        return callback

    def _postprocess(self, outputs: list[_Output], requests: list[ImageRequest]) -> list[ImageResult]:
        results = []
        for output, request in zip(outputs, requests, strict=True):
            extra: dict[str, Any] = {
                "pipeline": type(self._pipe).__name__,
                "mode": "img2img" if request.image is not None else "txt2img",
                "seeds": output.seeds,
                "sampler": request.sampler or self.spec.options.get("sampler") or type(self._base_scheduler).__name__,
                "steps": request.steps or self.spec.options.get("steps") or self._default_steps,
                "memory_savers": sorted(self._savers),
            }
            if output.scores:
                extra["clip_scores"] = [round(s, 6) for s in output.scores]
            provenance = self.provenance(request, **extra)
            images = [Image.from_array(a, provenance) for a in output.images]
            if self._watermarks(request):
                from aigc_sdk.trust.watermark import embed_watermark

                images = [embed_watermark(img) for img in images]
                provenance = images[0].provenance or provenance  # now records the mark
            results.append(ImageResult(images=images, provenance=provenance))
        return results

    def _watermarks(self, request: ImageRequest) -> bool:
        """Whether to mark these images invisibly, as SDXL does (spec option ``watermark``, default on).

        Needs at least 256 px on the shorter side; the mark is recorded in provenance
        (``extra["watermark"]``).
        """
        if not self.spec.options.get("watermark", True):
            return False
        from aigc_sdk.trust.watermark import MIN_SIDE

        return min(request.width, request.height) >= MIN_SIDE

    def _to(self, device: str) -> None:
        if "cpu_offload" in self._savers:
            raise InvalidRequestError(f"{self.spec.id} uses model CPU offload and cannot be moved")
        with map_errors(f"could not move {self.spec.id} to {device}", to=ModelLoadError):
            self._pipe.to(device)
            if self._clip is not None:
                self._clip.to(device)

    def _unload(self) -> None:
        self._pipe = None
        self._img2img = None
        self._schedulers.clear()
        self._clip = None


def _dtype_keyword() -> str:
    """``dtype`` on diffusers versions that deprecate ``torch_dtype`` (0.36+), else ``torch_dtype``."""
    utils = require("diffusers.utils.deprecation_utils", extra="image", feature="diffusion models")
    return "dtype" if hasattr(utils, "_resolve_dtype") else "torch_dtype"


def _load_init(image: Image | Path, width: int, height: int) -> PIL.Image.Image:
    pil_image = require("PIL.Image", extra="image", feature="images")
    value = image if isinstance(image, Image) else Image.load(image)
    pil = value.pil.convert("RGB")
    if pil.size != (width, height):
        pil = pil.resize((width, height), pil_image.Resampling.LANCZOS)
    return pil
