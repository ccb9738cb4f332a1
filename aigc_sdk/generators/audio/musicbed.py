"""A no-weights music bed: a chord-progression pad with bass and pulse, synthesized with numpy.

Not a neural model: it reads tempo, key and mood from the request (or guesses them
from words in the prompt) and renders a loopable background bed, so clips get
music offline. Deterministic for a given seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk.audio.processing import resample
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio
from aigc_sdk.types import AudioResult, MusicRequest, Segment

__all__ = ["BedPlan", "MusicBedGenerator", "plan_bed"]

_NOTES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


@dataclass(frozen=True)
class _Mood:
    mode: str  # "major" or "minor"
    tempo: float
    key: str
    progression: tuple[int, ...]  # scale degrees (0-based) of one chord per bar
    brightness: float  # 0..1: low-pass opening and upper partials
    pulse: float  # 0..1: level of the eighth-note pulse


_MOODS = {
    "calm": _Mood("major", 72.0, "C", (0, 5, 3, 4), 0.35, 0.0),
    "warm": _Mood("major", 84.0, "F", (0, 3, 5, 4), 0.45, 0.15),
    "upbeat": _Mood("major", 118.0, "G", (0, 4, 5, 3), 0.7, 0.5),
    "sad": _Mood("minor", 66.0, "A", (0, 5, 2, 6), 0.3, 0.0),
    "serious": _Mood("minor", 80.0, "D", (0, 3, 5, 4), 0.4, 0.2),
    "urgent": _Mood("minor", 128.0, "E", (0, 5, 3, 4), 0.65, 0.6),
}
# Checked in this order: the more specific moods first.
_SYNONYMS = {
    "urgent": ("urgent", "breaking", "alarm", "fast", "action", "storm"),
    "sad": ("sad", "somber", "sombre", "melanchol", "grief", "tragic", "mourn"),
    "upbeat": ("upbeat", "happy", "bright", "energetic", "cheerful", "sport"),
    "warm": ("warm", "hopeful", "positive", "light"),
    "serious": ("serious", "news", "tense", "dark", "suspense", "drama"),
    "calm": ("calm", "relax", "gentle", "soft", "ambient", "peaceful", "quiet"),
}
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


@dataclass(frozen=True)
class BedPlan:
    """What the bed will play: mood, key, mode, tempo and the chord of each bar.

    Example:
        >>> BedPlan("calm", "C", "major", 72.0, ("C", "Am", "F", "G")).bar_seconds
        3.3333333333333335
    """

    mood: str
    key: str
    mode: str
    tempo: float
    chords: tuple[str, ...]

    @property
    def bar_seconds(self) -> float:
        """Length of one 4/4 bar in seconds.

        Example:
            >>> BedPlan("calm", "C", "major", 120.0, ("C",)).bar_seconds
            2.0
        """
        return 240.0 / self.tempo


def _guess_mood(request: MusicRequest) -> str:
    words = f"{request.mood or ''} {request.prompt}".lower()
    if request.mood and request.mood.lower() in _MOODS:
        return request.mood.lower()
    for mood, stems in _SYNONYMS.items():
        if any(stem in words for stem in stems):
            return mood
    return "calm"


def _chord_name(root: int, quality: str) -> str:
    return _NAMES[root % 12] + {"maj": "", "min": "m", "dim": "dim"}[quality]


def _triad(tonic: int, mode: str, degree: int) -> tuple[int, str, tuple[int, int, int]]:
    scale = _SCALES[mode]
    notes = tuple(tonic + scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4))
    third, fifth = (notes[1] - notes[0]) % 12, (notes[2] - notes[0]) % 12
    quality = "dim" if fifth == 6 else "min" if third == 3 else "maj"
    return notes[0], quality, (notes[0], notes[1], notes[2])


def plan_bed(request: MusicRequest) -> BedPlan:
    """Choose mood, key, mode, tempo and chords for a request (explicit fields win over the prompt).

    Example:
        >>> from aigc_sdk.types import MusicRequest
        >>> plan = plan_bed(MusicRequest(prompt="somber piano under a news report", duration=8))
        >>> plan.mood, plan.key, plan.mode, plan.chords
        ('sad', 'A', 'minor', ('Am', 'F', 'C', 'G'))
        >>> plan_bed(MusicRequest(prompt="bed", key="F# minor", tempo=100, duration=4)).chords[0]
        'F#m'
    """
    mood = _guess_mood(request)
    preset = _MOODS[mood]
    key, mode = preset.key, preset.mode
    if request.key:
        parts = request.key.split()
        key = parts[0]
        mode = parts[1] if len(parts) > 1 else ("minor" if re.search(r"\bminor\b", request.prompt.lower()) else "major")
    tonic = _tonic(key)
    chords = tuple(_chord_name(*_triad(tonic, mode, degree)[:2]) for degree in preset.progression)
    return BedPlan(mood, key, mode, float(request.tempo or preset.tempo), chords)


def _tonic(key: str) -> int:
    base = _NOTES[key[0]]
    if key.endswith("#"):
        base += 1
    elif len(key) > 1 and key[1] == "b":
        base -= 1
    return base % 12


def _hz(midi: float) -> float:
    return float(440.0 * 2.0 ** ((midi - 69.0) / 12.0))


class MusicBedGenerator(BaseGenerator[MusicRequest, AudioResult]):
    """Background music without weights: a pad, bass and soft pulse over a four-chord loop.

    The result has one :class:`~aigc_sdk.types.Segment` per bar, labelled with its chord.
    Spec option ``sample_rate`` (default 44100) sets the output rate; the bed is stereo.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> bed = MusicBedGenerator(ModelRegistry().get("music-bed"))
        >>> result = bed(prompt="calm ambient bed", duration=4.0, tempo=120, seed=1)
        >>> result.audio.duration, result.audio.channels, [s.text for s in result.segments]
        (4.0, 2, ['C', 'Am'])
    """

    request_type: ClassVar[type[MusicRequest]] = MusicRequest
    distributions: ClassVar[tuple[str, ...]] = ("numpy",)

    def _load(self) -> None:
        self.sample_rate = int(self.spec.options.get("sample_rate", 44_100))

    def _preprocess(self, requests: list[MusicRequest]) -> list[tuple[MusicRequest, BedPlan]]:
        for request in requests:
            if request.num_outputs != 1:
                raise InvalidRequestError("the music bed makes one piece per request; send several requests")
        return [(request, plan_bed(request)) for request in requests]

    def _forward(self, inputs: list[tuple[MusicRequest, BedPlan]]) -> list[tuple[BedPlan, npt.NDArray[np.float32]]]:
        return [(plan, self._render(request, plan)) for request, plan in inputs]

    def _render(self, request: MusicRequest, plan: BedPlan) -> npt.NDArray[np.float32]:
        rate = self.sample_rate
        rng = np.random.default_rng(request.seed)
        preset = _MOODS[plan.mood]
        frames = round(request.duration * rate)
        bar = plan.bar_seconds
        out = np.zeros((frames, 2), dtype=np.float64)
        tonic = _tonic(plan.key)
        octave = 48 + (tonic if tonic < 7 else tonic - 12)  # keep the pad around C3..F#3
        detune = rng.uniform(0.0015, 0.004)
        n_bars = int(np.ceil(request.duration / bar))
        for b in range(n_bars):
            degree = preset.progression[b % len(preset.progression)]
            _, _, notes = _triad(octave, plan.mode, degree)
            start = round(b * bar * rate)
            end = min(frames, round((b + 1) * bar * rate) + round(0.25 * rate))  # ring into the next bar
            if start >= frames:
                break
            t = np.arange(end - start, dtype=np.float32) / np.float32(rate)  # float32: half the time, inaudible
            env = _envelope(t.size, rate, attack=min(0.6, bar / 3), release=min(0.8, bar / 2))
            chord = np.zeros((t.size, 2), dtype=np.float32)
            for i, note in enumerate((*notes, notes[0] + 12)):
                f = _hz(note)
                for side, sign in ((0, -1.0), (1, 1.0)):
                    ph = np.float32(rng.uniform(0, 2 * np.pi))
                    wave = np.sin(np.float32(2 * np.pi * f * (1 + sign * detune)) * t + ph)
                    wave += np.float32(preset.brightness * 0.3) * np.sin(np.float32(4 * np.pi * f) * t + ph)
                    chord[:, side] += wave * np.float32(0.5 if i < 3 else 0.3)
            bass = np.sin(2 * np.pi * _hz(notes[0] - 12) * t)[:, None] * 0.6
            layer = (chord * 0.22 + bass * 0.35) * env[:, None]
            if preset.pulse:
                layer += _pulse(t, plan.tempo, _hz(notes[0] + 12))[:, None] * preset.pulse * 0.6
            out[start:end] += layer
        fade = min(frames // 2, round(0.5 * rate))
        ramp = np.linspace(0.0, 1.0, fade)
        out[:fade] *= ramp[:, None]
        out[frames - fade :] *= ramp[::-1, None]
        peak = float(np.abs(out).max()) or 1.0
        return (out / peak * 0.5).astype(np.float32)

    def _postprocess(
        self, outputs: list[tuple[BedPlan, npt.NDArray[np.float32]]], requests: list[MusicRequest]
    ) -> list[AudioResult]:
        results = []
        for (plan, samples), request in zip(outputs, requests, strict=True):
            audio = Audio(samples, self.sample_rate)
            if request.sample_rate:  # resample() returns the audio as is at its own rate
                audio = resample(audio, request.sample_rate)
            segments = []
            for b in range(int(np.ceil(request.duration / plan.bar_seconds))):
                start = b * plan.bar_seconds
                segments.append(
                    Segment(
                        text=plan.chords[b % len(plan.chords)],
                        start=start,
                        end=min(request.duration, start + plan.bar_seconds),
                    )
                )
            provenance = self.provenance(
                request, mood=plan.mood, key=f"{plan.key} {plan.mode}", tempo=plan.tempo, chords=list(plan.chords)
            )
            results.append(AudioResult(audio=audio, segments=segments, provenance=provenance))
        return results


def _envelope(n: int, rate: int, *, attack: float, release: float) -> npt.NDArray[np.float64]:
    env = np.ones(n)
    a, r = min(n, round(attack * rate)), min(n, round(release * rate))
    env[:a] = np.linspace(0.0, 1.0, a)
    if r:
        env[n - r :] *= np.linspace(1.0, 0.0, r)
    return env


def _pulse(t: npt.NDArray[np.floating[Any]], tempo: float, freq: float) -> npt.NDArray[np.floating[Any]]:
    """Soft plucks on every eighth note."""
    step = 30.0 / tempo
    since = np.mod(t, step)
    pulse: npt.NDArray[np.floating[Any]] = np.sin(2 * np.pi * freq * t) * np.exp(-since * 18.0)
    return pulse
