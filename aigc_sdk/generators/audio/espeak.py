"""eSpeak NG formant voices for about 100 languages, through ``espeakng-loader`` (no system package).

eSpeak is robotic but always available: it is the fallback voice for languages
without a neural voice. Mandarin is spoken from pinyin (converted with ``pypinyin``)
by the ``cmn-latn-pinyin`` voice, because eSpeak's Hanzi reading of ``cmn`` is
unintelligible. Install with ``pip install "aigc-studio[audio]"``; libespeak-ng and
its data are GPL-3.0.
"""

from __future__ import annotations

import ctypes
import functools
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.languages import speaks
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk.audio.processing import join_sentences, resample
from aigc_sdk.errors import GenerationError, InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.types import AudioResult, SpeechRequest, Word

__all__ = ["EspeakSpeechGenerator", "espeak_languages", "espeak_voice_for"]

#: Languages whose best eSpeak voice is not the one named after them.
_PREFERRED = {"en": "en-us", "zh": "cmn-latn-pinyin", "cmn": "cmn-latn-pinyin", "yue": "yue"}
#: Voices that read pinyin: Hanzi is converted first.
_PINYIN_VOICES = frozenset({"cmn-latn-pinyin"})
_VOICE_NAME = re.compile(r"[a-z0-9][a-z0-9_+-]{0,39}")  # eSpeak voice names: en-gb, cmn-latn-pinyin, en+f3
_CJK_PUNCT = str.maketrans({"。": ". ", "！": "! ", "？": "? ", "；": "; ", "，": ", ", "、": ", ", "：": ": "})
_HANZI = re.compile(r"[\u3400-\u9fff]")
_DEFAULT_WPM = 175

# espeak_AUDIO_OUTPUT / event types / flags (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAM_RATE = 1


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class _Capture:
    chunks: list[npt.NDArray[np.int16]] = field(default_factory=list)
    words: list[tuple[int, int, int]] = field(default_factory=list)  # (char position, length, sample)
    total: int = 0


class _Engine:
    """The process-wide libespeak-ng (its state is global, so calls are serialised)."""

    def __init__(self) -> None:
        loader = require("espeakng_loader", extra="audio", feature="eSpeak voices")
        self.data_path = Path(loader.get_data_path())
        lib = ctypes.CDLL(loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), 0)
        if rate <= 0:
            raise ModelLoadError(f"libespeak-ng failed to initialise with data at {self.data_path}")
        self.sample_rate = int(rate)
        self.lock = threading.Lock()
        self._capture = _Capture()
        self._callback = _Callback(self._on_audio)  # keep a reference: ctypes must not free it
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def _on_audio(self, wav: Any, count: int, events: Any) -> int:
        if count > 0 and wav:
            self._capture.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD:
                self._capture.words.append((event.text_position, event.length, event.sample))
            i += 1
        return 0

    def has_voice(self, voice: str) -> bool:
        """Whether eSpeak can load ``voice`` (a name like ``en-gb``, ``cmn-latn-pinyin`` or ``en+f3``)."""
        if not _VOICE_NAME.fullmatch(voice):
            return False  # never hand eSpeak's fixed-size C buffers an odd or long name
        with self.lock:
            return bool(self.lib.espeak_SetVoiceByName(voice.encode()) == 0)

    def speak(self, text: str, voice: str, words_per_minute: int) -> _Capture:
        data = text.encode("utf-8")
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InvalidRequestError(f"eSpeak has no voice {voice!r}")
            self.lib.espeak_SetParameter(_PARAM_RATE, words_per_minute, 0)
            self._capture = _Capture()
            status = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            capture = self._capture
        if status != 0:
            raise GenerationError(f"espeak_Synth failed with status {status}")
        capture.total = sum(c.size for c in capture.chunks)
        return capture


@functools.lru_cache(maxsize=1)
def _engine() -> _Engine:
    return _Engine()


@functools.lru_cache(maxsize=1)
def _voice_table() -> dict[str, str]:
    """Language tag (lowercase) -> eSpeak voice name, read from the voice files' ``language`` lines.

    The name is the voice file's (``en`` for the file that speaks ``en-gb``): ``espeak_SetVoiceByName`` looks
    voices up by file name, not by the languages they declare.
    """
    loader = require("espeakng_loader", extra="audio", feature="eSpeak voices")
    table: dict[str, str] = {}
    for path in sorted((Path(loader.get_data_path()) / "lang").rglob("*")):
        if not path.is_file():
            continue
        langs = [
            line.split()[1].lower()
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.startswith("language ") and len(line.split()) >= 2
        ]
        for lang in langs:
            table.setdefault(lang, path.name.lower())
    table.update(_PREFERRED)
    return table


def espeak_languages() -> list[str]:
    """Language tags eSpeak NG can speak (lowercase, as in its voice files).

    Example:
        >>> langs = espeak_languages()
        >>> "en" in langs and "zh" in langs and "de" in langs
        True
    """
    return sorted(_voice_table())


def espeak_voice_for(language: str) -> str:
    """The eSpeak voice for a language tag: the full tag first (``en-gb``), then the primary language.

    Raises:
        InvalidRequestError: eSpeak has no voice for the language.

    Example:
        >>> espeak_voice_for("en-GB"), espeak_voice_for("zh-Hans"), espeak_voice_for("de")
        ('en', 'cmn-latn-pinyin', 'de')
    """
    table = _voice_table()
    tag = language.lower().replace("_", "-")
    for key in (tag, tag.split("-")[0]):
        if key in table:
            return table[key]
    raise InvalidRequestError(
        f"eSpeak has no voice for language {language!r}",
        hint="see aigc_sdk.generators.audio.espeak.espeak_languages() for the languages it speaks",
    )


def to_pinyin(text: str) -> tuple[str, list[str]]:
    """Hanzi to tone-numbered pinyin (``ni3 hao3``), with the source token of each pinyin word.

    Example:
        >>> to_pinyin("你好。")
        ('ni3 hao3 . ', ['你', '好', '.'])
    """
    pypinyin = require("pypinyin", extra="audio", feature="Mandarin speech")
    tokens: list[str] = []
    sources: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+|[^\u3400-\u9fff]+", text):
        if _HANZI.match(run):
            syllables = pypinyin.lazy_pinyin(run, style=pypinyin.Style.TONE3, neutral_tone_with_five=True)
            pairs = zip(syllables, run, strict=True) if len(syllables) == len(run) else ((s, s) for s in syllables)
            for syllable, source in pairs:
                tokens.append(syllable)
                sources.append(source)
        else:
            for word in run.translate(_CJK_PUNCT).split():
                tokens.append(word)
                sources.append(word)
    return " ".join(tokens) + " ", sources


@dataclass(frozen=True)
class _Utterance:
    sentence: str
    spoken: str
    sources: list[str] | None


@dataclass(frozen=True)
class _Job:
    voice: str
    utterances: list[_Utterance]
    wpm: int


class EspeakSpeechGenerator(BaseGenerator[SpeechRequest, AudioResult]):
    """Speech from eSpeak NG in the request's language, with sentence and word timings.

    The voice is ``SpeechRequest.voice`` when given (an eSpeak voice name such as
    ``en-us``, ``en+f3`` or ``cmn-latn-pinyin``, or a language tag such as ``en-gb``;
    anything else is an ``InvalidRequestError``), else spec option ``voice``, else the
    voice for ``SpeechRequest.language`` (default: the spec's first language, else English).
    Spec option ``sentence_silence`` (seconds, default 0.2) sets the pause between sentences.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> voice = EspeakSpeechGenerator(ModelRegistry().get("espeak"))
        >>> result = voice(prompt="今天天气很好。", language="zh", seed=1)
        >>> result.audio.duration > 0.5, [w.text for w in result.segments[0].words][:2]
        (True, ['今', '天'])
    """

    request_type: ClassVar[type[SpeechRequest]] = SpeechRequest
    distributions: ClassVar[tuple[str, ...]] = ("espeakng-loader", "pypinyin")

    def _load(self) -> None:
        with map_errors("could not load libespeak-ng", to=ModelLoadError):
            self._engine = _engine()
        self.sample_rate = self._engine.sample_rate
        self._silence = float(self.spec.options.get("sentence_silence", 0.2))
        voice = self.spec.options.get("voice")
        self._voice = str(voice) if voice else None

    def _pick_voice(self, request: SpeechRequest) -> str:
        if request.voice is not None:
            voice = request.voice.lower()
            if not self._engine.has_voice(voice):
                voice = _voice_table().get(voice, voice)  # a language tag (en-gb) names the voice that speaks it
            if not self._engine.has_voice(voice):
                raise InvalidRequestError(
                    f"eSpeak has no voice {request.voice!r}",
                    hint="name an eSpeak voice or language, such as en-gb, de, fr or cmn-latn-pinyin "
                    "(aigc_sdk.generators.audio.espeak.espeak_languages() lists them); or leave the voice out",
                )
            return voice
        if request.language:
            if self._voice and not speaks(self.spec.languages, request.language):
                raise InvalidRequestError(
                    f"voice {self.spec.id!r} speaks {', '.join(self.spec.languages)}, not {request.language!r}",
                    hint="use the 'espeak' model, which picks a voice per language",
                )
            return self._voice or espeak_voice_for(request.language)
        if self._voice:
            return self._voice
        return espeak_voice_for(self.spec.languages[0] if self.spec.languages else "en")

    def _preprocess(self, requests: list[SpeechRequest]) -> list[_Job]:
        jobs = []
        for request in requests:
            voice = self._pick_voice(request)
            utterances = []
            for sentence in split_sentences(request.prompt):
                if voice in _PINYIN_VOICES:
                    spoken, sources = to_pinyin(sentence)
                    utterances.append(_Utterance(sentence, spoken, sources))
                else:
                    utterances.append(_Utterance(sentence, sentence, None))
            if not any(re.search(r"\w", u.spoken) for u in utterances):
                raise InvalidRequestError("the text has nothing to speak (only punctuation or symbols)")
            jobs.append(_Job(voice, utterances, _wpm(request.speed)))
        return jobs

    def _forward(self, inputs: list[_Job]) -> list[tuple[_Job, list[_Capture]]]:
        return [(job, [self._engine.speak(u.spoken, job.voice, job.wpm) for u in job.utterances]) for job in inputs]

    def _postprocess(
        self, outputs: list[tuple[_Job, list[_Capture]]], requests: list[SpeechRequest]
    ) -> list[AudioResult]:
        rate = self.sample_rate
        results = []
        for (job, captures), request in zip(outputs, requests, strict=True):
            spoken = []
            for utterance, capture in zip(job.utterances, captures, strict=True):
                audio = (
                    np.concatenate(capture.chunks).astype(np.float32) / 32768.0
                    if capture.chunks
                    else np.zeros(0, dtype=np.float32)
                )
                words = _words(capture, utterance.spoken, utterance.sources, rate)
                spoken.append((utterance.sentence, Audio(np.clip(audio * request.volume, -1.0, 1.0), rate), words))
            value, segments = join_sentences(spoken, silence=self._silence)
            if request.sample_rate:  # resample() returns the audio as is at its own rate
                value = resample(value, request.sample_rate)
            results.append(
                AudioResult(audio=value, segments=segments, provenance=self.provenance(request, espeak_voice=job.voice))
            )
        return results


def _wpm(speed: float) -> int:
    return int(min(max(round(_DEFAULT_WPM * speed), 80), 450))


def _words(capture: _Capture, spoken: str, sources: list[str] | None, rate: int) -> list[Word]:
    """Word spans from eSpeak's word events (seconds from the utterance's start): each lasts until the next starts."""
    if not capture.words:
        return []
    token_index: dict[int, int] = {}  # character position (eSpeak counts from 1) -> index of the token there
    position = 0
    for token in spoken.split(" "):
        if token:
            token_index[position + 1] = len(token_index)
        position += len(token) + 1
    words = []
    events = capture.words
    for i, (pos, length, sample) in enumerate(events):
        end_sample = events[i + 1][2] if i + 1 < len(events) else capture.total
        text = spoken[pos - 1 : pos - 1 + length].strip()
        if sources is not None and token_index.get(pos, len(sources)) < len(sources):
            text = sources[token_index[pos]]
        if not text:
            continue
        start = min(sample, capture.total)
        end = max(start, min(end_sample, capture.total))
        words.append(Word(text=text, start=start / rate, end=end / rate))
    return words
