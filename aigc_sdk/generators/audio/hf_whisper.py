"""Speech-to-text with a transformers Whisper checkpoint (``openai/whisper-*`` or a saved folder).

Use it for Whisper variants that exist only in transformers format (fine-tunes,
distil-whisper). The faster-whisper :class:`~aigc_sdk.generators.audio.whisper.Transcriber`
is quicker on a CPU and gives word timestamps; this backend gives one timed segment per
30-second window. Install with ``pip install "aigc-studio[audio]"``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.languages import primary_language
from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.audio.whisper import SAMPLE_RATE, load_speech
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import Segment, TranscribeRequest, TranscriptResult

__all__ = ["HFWhisperTranscriber"]

_WINDOW_S = 30


class HFWhisperTranscriber(BaseGenerator[TranscribeRequest, TranscriptResult]):
    """Transcribe with ``WhisperForConditionalGeneration``: text and one segment per 30 s window.

    The spec's source is a folder with the model (safetensors) and its processor
    (feature extractor + tokenizer), as written by ``save_pretrained``. Spec option
    ``max_new_tokens`` (default 440) caps the tokens per window; ``num_beams`` (default 1).

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="whisper-small-hf", task="speech-to-text",
        ...     backend="aigc_sdk.generators.audio.hf_whisper.HFWhisperTranscriber",
        ...     source=LocalSource(path="~/models/whisper-small"))
        >>> asr = HFWhisperTranscriber(spec)  # doctest: +SKIP
        >>> asr(audio="speech.wav", language="en").text  # doctest: +SKIP
        'Good evening.'
    """

    request_type: ClassVar[type[TranscribeRequest]] = TranscribeRequest
    distributions: ClassVar[tuple[str, ...]] = ("transformers", "torch")

    def _load(self) -> None:
        transformers = require("transformers", extra="audio", feature="transformers Whisper")
        require("torch", extra="audio", feature="transformers Whisper")  # a clear error before transformers' own
        folder = resolve_weights(self.spec)
        with map_errors(f"could not load Whisper from {folder}", to=ModelLoadError):
            self._processor = transformers.AutoProcessor.from_pretrained(str(folder), local_files_only=True)
            model = transformers.WhisperForConditionalGeneration.from_pretrained(
                str(folder), local_files_only=True, use_safetensors=None if self.spec.allow_pickle else True
            )
            self._model = model.to(self.device).eval()
        generation = self._model.generation_config
        self._multilingual = bool(getattr(generation, "is_multilingual", False))
        self._languages = set(getattr(generation, "lang_to_id", None) or {})
        self._max_new_tokens = int(self.spec.options.get("max_new_tokens", 440))
        self._beams = int(self.spec.options.get("num_beams", 1))

    def _preprocess(self, requests: list[TranscribeRequest]) -> list[tuple[npt.NDArray[np.float32], str | None]]:
        inputs = []
        for request in requests:
            language = primary_language(request.language) if request.language else None
            if language is not None and not self._multilingual and language != "en":
                raise InvalidRequestError(f"model {self.spec.id!r} only transcribes English, not {request.language!r}")
            if language is not None and self._multilingual and f"<|{language}|>" not in self._languages:
                raise InvalidRequestError(f"model {self.spec.id!r} does not know the language {request.language!r}")
            samples = load_speech(request.audio)
            if samples.size == 0:
                raise InvalidRequestError("the audio is empty")
            inputs.append((samples, language if self._multilingual else None))
        return inputs

    def _forward(self, inputs: list[tuple[npt.NDArray[np.float32], str | None]]) -> list[tuple[list[str], float]]:
        outputs = []
        window = _WINDOW_S * SAMPLE_RATE
        for samples, language in inputs:
            texts = []
            for start in range(0, samples.size, window):
                chunk = samples[start : start + window]
                features = self._processor(chunk, sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features
                kwargs: dict[str, Any] = {"max_new_tokens": self._max_new_tokens, "num_beams": self._beams}
                if language is not None:
                    kwargs.update(language=language, task="transcribe")
                tokens = self._model.generate(features.to(self.device, self._model.dtype), **kwargs)
                texts.append(self._processor.batch_decode(tokens, skip_special_tokens=True)[0].strip())
            outputs.append((texts, samples.size / SAMPLE_RATE))
        return outputs

    def _postprocess(
        self, outputs: list[tuple[list[str], float]], requests: list[TranscribeRequest]
    ) -> list[TranscriptResult]:
        results = []
        for (texts, duration), request in zip(outputs, requests, strict=True):
            segments = [
                Segment(text=text, start=float(i * _WINDOW_S), end=min(duration, float((i + 1) * _WINDOW_S)))
                for i, text in enumerate(texts)
                if text
            ]
            language = request.language or (None if self._multilingual else "en")
            results.append(
                TranscriptResult(
                    text=" ".join(s.text for s in segments),
                    language=language,
                    duration=duration,
                    segments=segments,
                    provenance=self.provenance(request, windows=len(texts)),
                )
            )
        return results

    def _to(self, device: str) -> None:
        self._model.to(device)

    def _unload(self) -> None:
        del self._model, self._processor
