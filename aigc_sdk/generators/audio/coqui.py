"""Coqui TTS models (VITS, Tacotron 2, XTTS …) from a local folder or a coqui model name.

A local folder holds ``config.json`` and a checkpoint (``model.pth``, ``best_model.pth`` …,
or the XTTS files). Coqui checkpoints are pickles: the spec must set ``allow_pickle = true``,
so only add models you trust. A coqui model name (``tts_models/en/ljspeech/vits``, spec
option ``coqui_model``) is fetched by coqui itself, only when downloads are allowed.

Audio is read with soundfile and resampled with soxr, so the compiled part of
torchaudio is never needed (see ``tools/cpu_torchaudio.py``). Install with
``pip install "aigc-studio[audio]"``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.languages import primary_language, speaks
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk._internal.settings import Settings
from aigc_sdk.audio.processing import join_sentences, resample, to_channels
from aigc_sdk.errors import AigcError, InvalidRequestError, ModelLoadError, ModelNotAvailableError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import AudioResult, SpeechRequest

__all__ = ["CoquiSpeechGenerator", "chunk_text"]

_CHECKPOINTS = ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth", "model.pt")
_DEFAULT_CHAR_LIMIT = 400
_XTTS_RATE = 22_050


def chunk_text(text: str, limit: int) -> list[list[str]]:
    """Split text into sentences, and each sentence into chunks of at most ``limit`` characters.

    Chunks break at clause punctuation when possible, else between words, else inside a word.

    Example:
        >>> chunk_text("Short one. A much longer sentence, which goes on and on, needs cutting.", 30)
        [['Short one.'], ['A much longer sentence,', 'which goes on and on,', 'needs cutting.']]
    """
    if limit < 8:
        raise InvalidRequestError(f"character limit must be at least 8, got {limit}")
    out = []
    for sentence in split_sentences(text):
        if len(sentence) <= limit:
            out.append([sentence])
            continue
        chunks: list[str] = []
        for clause in re.split(r"(?<=[,;:，；：、])\s*", sentence):
            for piece in _wrap(clause, limit):
                if chunks and len(chunks[-1]) + 1 + len(piece) <= limit:
                    chunks[-1] = f"{chunks[-1]} {piece}"
                else:
                    chunks.append(piece)
        out.append(chunks)
    return out


def _wrap(clause: str, limit: int) -> list[str]:
    lines: list[str] = []
    for word in clause.split():
        for piece in (word[i : i + limit] for i in range(0, len(word), limit)):
            if lines and len(lines[-1]) + 1 + len(piece) <= limit:
                lines[-1] = f"{lines[-1]} {piece}"
            else:
                lines.append(piece)
    return lines


@dataclass(frozen=True)
class _Job:
    request: SpeechRequest
    chunks: list[list[str]]
    speaker: str | None
    language: str | None
    reference: npt.NDArray[np.float32] | None


class CoquiSpeechGenerator(BaseGenerator[SpeechRequest, AudioResult]):
    """Speech from a coqui ``TTS`` model: multi-speaker, multilingual, and XTTS voice cloning.

    ``SpeechRequest.voice`` names a speaker of a multi-speaker model (default: spec option
    ``speaker``, else the first speaker); ``language`` picks the language of a multilingual
    model; ``speaker_wav`` clones a voice (XTTS). Long text is cut into sentences and then
    into chunks under the model's character limit (XTTS: its per-language limit; others:
    spec option ``max_chars``, default 400). Each chunk is seeded from ``(seed, chunk)``.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="my-vits", task="text-to-speech", allow_pickle=True,
        ...     backend="aigc_sdk.generators.audio.coqui.CoquiSpeechGenerator",
        ...     source=LocalSource(path="~/models/my-vits"))  # config.json + model.pth
        >>> voice = CoquiSpeechGenerator(spec)  # doctest: +SKIP
        >>> voice(prompt="Hello there.", voice="ana", language="en").audio.sample_rate  # doctest: +SKIP
        22050
    """

    request_type: ClassVar[type[SpeechRequest]] = SpeechRequest
    distributions: ClassVar[tuple[str, ...]] = ("coqui-tts", "torch")

    def _load(self) -> None:
        api = require("TTS.api", extra="audio", feature="coqui TTS models")
        self._torch = require("torch", extra="audio", feature="coqui TTS models")
        name = self.spec.options.get("coqui_model")
        if name and not _coqui_cached(str(name)) and not Settings.from_env().allow_downloads:
            raise ModelNotAvailableError(
                f"{self.spec.id}: coqui model {name!r} is not downloaded and downloads are off",
                hint="set AIGC_ALLOW_DOWNLOADS=1 once to let coqui fetch it",
            )
        with map_errors(f"could not load coqui model {self.spec.id}", to=ModelLoadError):
            if name:
                self._tts = api.TTS(model_name=str(name), progress_bar=False)
            else:
                model_path, config_path = _local_files(resolve_weights(self.spec))
                self._tts = api.TTS(model_path=str(model_path), config_path=str(config_path), progress_bar=False)
            self._tts.to(self.device)
        synthesizer = self._tts.synthesizer
        self._model = synthesizer.tts_model
        self.sample_rate = int(synthesizer.output_sample_rate)
        self._xtts = type(self._model).__name__ == "Xtts"
        self._speakers: list[str] = list(self._tts.speakers or []) if self._tts.is_multi_speaker else []
        self._languages: list[str] = list(self._tts.languages or []) if self._tts.is_multi_lingual else []
        if self._xtts:
            self._languages = list(self._model.tokenizer.char_limits)
        self._lock = threading.Lock()

    def _preprocess(self, requests: list[SpeechRequest]) -> list[_Job]:
        return [self._job(request) for request in requests]

    def _job(self, request: SpeechRequest) -> _Job:
        language = self._language(request.language)
        speaker = self._speaker(request)
        reference = None
        if request.speaker_wav is not None:
            if not self._xtts:  # XTTS is the model that clones
                raise InvalidRequestError(
                    f"model {self.spec.id!r} cannot clone a voice from speaker_wav", hint="use an XTTS model"
                )
            reference = _read_reference(Path(request.speaker_wav))
        elif self._xtts and speaker is None:
            raise InvalidRequestError("XTTS needs a speaker_wav to clone (or a voice name of a built-in speaker)")
        limit = int(self.spec.options.get("max_chars", _DEFAULT_CHAR_LIMIT))
        if self._xtts:
            limit = int(self._model.tokenizer.char_limits.get(language or "en", 250))
        chunks = chunk_text(request.prompt, limit)
        if not chunks or not any(re.search(r"\w", c) for s in chunks for c in s):
            raise InvalidRequestError("the text has nothing to speak (only punctuation or symbols)")
        return _Job(request, chunks, speaker, language, reference)

    def _language(self, language: str | None) -> str | None:
        if not self._languages:
            if language and not speaks(self.spec.languages, language):
                raise InvalidRequestError(
                    f"model {self.spec.id!r} speaks {', '.join(self.spec.languages)}, not {language!r}",
                    hint="pick a voice for that language (aigc models list --task text-to-speech)",
                )
            return None
        if language is None:
            default = self.spec.options.get("language")
            return str(default) if default else self._languages[0]
        for candidate in (language, language.lower(), primary_language(language)):
            if candidate in self._languages:
                return candidate
        if primary_language(language) == "zh" and "zh-cn" in self._languages:
            return "zh-cn"
        raise InvalidRequestError(
            f"model {self.spec.id!r} does not speak {language!r}", hint=f"languages: {', '.join(self._languages)}"
        )

    def _speaker(self, request: SpeechRequest) -> str | None:
        if request.voice is not None:
            if request.voice not in self._speakers:
                listing = ", ".join(self._speakers[:20]) or "none (single-speaker model)"
                raise InvalidRequestError(
                    f"model {self.spec.id!r} has no speaker {request.voice!r}", hint=f"speakers: {listing}"
                )
            return request.voice
        if self._speakers and request.speaker_wav is None:
            default = self.spec.options.get("speaker")
            return str(default) if default else self._speakers[0]
        return None

    def _forward(self, inputs: list[_Job]) -> list[tuple[_Job, list[list[npt.NDArray[np.float32]]]]]:
        outputs = []
        for job in inputs:
            latents = self._clone(job.reference) if job.reference is not None else None
            per_sentence = []
            index = 0
            for sentence in job.chunks:
                waves = []
                for chunk in sentence:
                    self._torch.manual_seed((int(job.request.seed or 0) + 7919 * index) % (2**63 - 1))
                    waves.append(self._speak(job, chunk, latents))
                    index += 1
                per_sentence.append(waves)
            outputs.append((job, per_sentence))
        return outputs

    def _clone(self, reference: npt.NDArray[np.float32]) -> tuple[Any, Any]:
        audio = self._torch.from_numpy(reference).unsqueeze(0).to(self._model.device)
        gpt_latent = self._model.get_gpt_cond_latents(audio, _XTTS_RATE, length=30, chunk_length=6)
        speaker_embedding = self._model.get_speaker_embedding(audio, _XTTS_RATE)
        return gpt_latent, speaker_embedding

    def _speak(self, job: _Job, text: str, latents: tuple[Any, Any] | None) -> npt.NDArray[np.float32]:
        speed = job.request.speed
        if latents is not None:
            out = self._model.inference(text, job.language, latents[0], latents[1], speed=speed)
            wav = out["wav"]
        elif self._xtts:
            wav = self._tts.tts(
                text=text, speaker=job.speaker, language=job.language, split_sentences=False, speed=speed
            )
        else:
            with self._lock:  # VITS reads its speed from an attribute
                previous = getattr(self._model, "length_scale", None)
                if previous is not None:
                    self._model.length_scale = previous / speed
                try:
                    wav = self._tts.tts(text=text, speaker=job.speaker, language=job.language, split_sentences=False)
                finally:
                    if previous is not None:
                        self._model.length_scale = previous
        if hasattr(wav, "detach"):
            wav = wav.detach().cpu().numpy()
        return np.asarray(wav, dtype=np.float32).reshape(-1)

    def _postprocess(
        self, outputs: list[tuple[_Job, list[list[npt.NDArray[np.float32]]]]], requests: list[SpeechRequest]
    ) -> list[AudioResult]:
        rate = self.sample_rate
        silence = float(self.spec.options.get("sentence_silence", 0.25))
        results = []
        for (job, sentences), request in zip(outputs, requests, strict=True):
            spoken = []
            for chunks, waves in zip(job.chunks, sentences, strict=True):
                audio = np.concatenate(waves) if waves else np.zeros(0, dtype=np.float32)
                spoken.append((" ".join(chunks), Audio(np.clip(audio * request.volume, -1.0, 1.0), rate), ()))
            value, segments = join_sentences(spoken, silence=silence)
            if request.sample_rate:  # resample() returns the audio as is at its own rate
                value = resample(value, request.sample_rate)
            provenance = self.provenance(
                request, chunks=sum(len(w) for w in sentences), cloned=request.speaker_wav is not None
            )
            results.append(AudioResult(audio=value, segments=segments, provenance=provenance))
        return results

    def _to(self, device: str) -> None:
        with map_errors(f"could not move {self.spec.id} to {device}", to=ModelLoadError):
            self._tts.to(device)

    def _unload(self) -> None:
        del self._tts, self._model


def _local_files(path: Path) -> tuple[Path, Path]:
    """(model path for coqui, config.json) of a local coqui model folder or checkpoint file."""
    folder = path if path.is_dir() else path.parent
    config = folder / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"no config.json in {folder}")
    with map_errors(f"unreadable {config}", to=ModelLoadError):
        kind = str(json.loads(config.read_text(encoding="utf-8")).get("model", "")).lower()
    if kind == "xtts":
        return folder, config
    if path.is_file():
        return path, config
    for name in _CHECKPOINTS:
        if (folder / name).is_file():
            return folder / name, config
    found = sorted(p for p in folder.glob("*.pth") if not p.name.startswith("speakers"))
    if not found:
        raise ModelLoadError(f"no checkpoint (.pth) in {folder}")
    return found[0], config


def _coqui_cached(name: str) -> bool:
    try:
        manage = require("TTS.utils.manage", extra="audio", feature="coqui model names")
        folder = Path(manage.get_user_data_dir("tts")) / name.replace("/", "--")
    except (AigcError, AttributeError):
        return False
    return folder.is_dir()


def _read_reference(path: Path) -> npt.NDArray[np.float32]:
    """The cloning reference as mono float32 at 22.05 kHz; unreadable files are bad input."""
    try:
        audio = Audio.load(path)
    except AigcError as exc:
        raise InvalidRequestError(f"speaker_wav {path} is not readable audio: {exc.message}") from exc
    if audio.duration < 1.0:
        raise InvalidRequestError(f"speaker_wav {path} is {audio.duration:.2f} s long; give at least 1 s of speech")
    return resample(to_channels(audio, 1), _XTTS_RATE).samples
