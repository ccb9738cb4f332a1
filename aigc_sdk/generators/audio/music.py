"""Text-to-music with transformers MusicGen (``facebook/musicgen-*`` or any saved MusicGen folder).

No MusicGen weights ship in a package: register a hub snapshot (pinned revision) or a
local folder written by ``save_pretrained`` (model + tokenizer). Tempo, key and mood of
the request are appended to the description, since MusicGen only reads text.
Install with ``pip install "aigc-studio[audio]"``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.audio.processing import resample
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import AudioResult, MusicRequest, Segment

__all__ = ["MusicGenerator", "describe"]


def describe(request: MusicRequest) -> str:
    """The text MusicGen reads: the prompt plus tempo, key and mood when given.

    Example:
        >>> from aigc_sdk.types import MusicRequest
        >>> describe(MusicRequest(prompt="calm piano bed", tempo=90, key="A minor", mood="hopeful"))
        'calm piano bed, 90 bpm, in A minor, hopeful mood'
    """
    parts = [request.prompt]
    if request.tempo:
        parts.append(f"{request.tempo:g} bpm")
    if request.key:
        parts.append(f"in {request.key}")
    if request.mood:
        parts.append(f"{request.mood} mood")
    return ", ".join(parts)


class MusicGenerator(BaseGenerator[MusicRequest, AudioResult]):
    """Music from a MusicGen model: sampled audio tokens decoded by EnCodec.

    Spec options: ``guidance_scale`` (classifier-free guidance, default 3.0),
    ``temperature`` (default 1.0), ``top_k`` (default 250). Each request is generated
    on its own, seeded with its seed, so results do not depend on batching.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="musicgen-small", task="text-to-music",
        ...     backend="aigc_sdk.generators.audio.music.MusicGenerator",
        ...     source=LocalSource(path="~/models/musicgen-small"))
        >>> music = MusicGenerator(spec)  # doctest: +SKIP
        >>> music(prompt="lo-fi news bed", duration=8, tempo=80, seed=1).audio.sample_rate  # doctest: +SKIP
        32000
    """

    request_type: ClassVar[type[MusicRequest]] = MusicRequest
    distributions: ClassVar[tuple[str, ...]] = ("transformers", "torch")

    def _load(self) -> None:
        transformers = require("transformers", extra="audio", feature="MusicGen")
        self._torch = require("torch", extra="audio", feature="MusicGen")
        folder = resolve_weights(self.spec)
        with map_errors(f"could not load MusicGen from {folder}", to=ModelLoadError):
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = transformers.MusicgenForConditionalGeneration.from_pretrained(
                str(folder), local_files_only=True, use_safetensors=None if self.spec.allow_pickle else True
            )
            self._model = model.to(self.device).eval()
        audio_config = self._model.config.audio_encoder
        self.sample_rate = int(audio_config.sampling_rate)
        self._frame_rate = float(audio_config.frame_rate)
        self._codebooks = int(self._model.config.decoder.num_codebooks)
        self._max_tokens = int(self._model.config.decoder.max_position_embeddings)
        options = self.spec.options
        self._guidance = float(options.get("guidance_scale", 3.0))
        self._temperature = float(options.get("temperature", 1.0))
        self._top_k = int(options.get("top_k", 250))

    def _tokens_for(self, duration: float) -> int:
        return math.ceil(duration * self._frame_rate) + self._codebooks - 1

    def _preprocess(self, requests: list[MusicRequest]) -> list[tuple[MusicRequest, dict[str, Any], int]]:
        jobs = []
        for request in requests:
            if request.num_outputs != 1:
                raise InvalidRequestError("MusicGen makes one piece per request; send several requests")
            tokens = self._tokens_for(request.duration)
            if tokens > self._max_tokens:
                longest = (self._max_tokens - self._codebooks + 1) / self._frame_rate
                raise InvalidRequestError(
                    f"{request.duration:g} s is longer than this model can generate ({longest:.0f} s)",
                    hint="generate shorter pieces and join them with aigc_sdk.audio.concatenate(..., crossfade=1.0)",
                )
            inputs = self._tokenizer([describe(request)], return_tensors="pt", padding=True)
            jobs.append((request, dict(inputs), tokens))
        return jobs

    def _forward(self, inputs: list[tuple[MusicRequest, dict[str, Any], int]]) -> list[npt.NDArray[np.float32]]:
        outputs = []
        for request, encoded, tokens in inputs:
            self._torch.manual_seed(int(request.seed or 0))
            audio = self._model.generate(
                **{k: v.to(self.device) for k, v in encoded.items()},
                max_new_tokens=tokens,
                do_sample=True,
                guidance_scale=self._guidance,
                temperature=self._temperature,
                top_k=self._top_k,
            )
            samples = audio[0].detach().float().cpu().numpy()  # (channels, time)
            frames = round(request.duration * self.sample_rate)
            outputs.append(np.ascontiguousarray(samples.T[:frames]).astype(np.float32))
        return outputs

    def _postprocess(self, outputs: list[npt.NDArray[np.float32]], requests: list[MusicRequest]) -> list[AudioResult]:
        results = []
        for samples, request in zip(outputs, requests, strict=True):
            mono = samples[:, 0] if samples.ndim == 2 and samples.shape[1] == 1 else samples
            peak = float(np.abs(mono).max()) if mono.size else 0.0
            if peak > 1.0:
                mono = mono / peak
            audio = Audio(mono, self.sample_rate)
            if request.sample_rate:  # resample() returns the audio as is at its own rate
                audio = resample(audio, request.sample_rate)
            description = describe(request)
            segment = Segment(text=description, start=0.0, end=audio.duration)
            provenance = self.provenance(request, description=description, guidance_scale=self._guidance)
            results.append(AudioResult(audio=audio, segments=[segment], provenance=provenance))
        return results

    def _to(self, device: str) -> None:
        self._model.to(device)

    def _unload(self) -> None:
        del self._model, self._tokenizer
