"""Audio processing: loudness normalisation, silence trim, resample, time-stretch, crossfades, ducking, mixing.

Every function takes and returns :class:`~aigc_sdk.media.Audio` (float32 samples)
and leaves its input untouched. The work is done by kept libraries: pyloudnorm
(ITU-R BS.1770 loudness), soxr (resampling), librosa (trim, phase-vocoder stretch);
crossfades, ducking and mixing are a few lines of numpy. Save the result in WAV,
FLAC, OGG or MP3 with :meth:`Audio.save <aigc_sdk.media.Audio.save>`.

Example:
    >>> import numpy as np
    >>> from aigc_sdk.media import Audio
    >>> tone = Audio(0.1 * np.sin(np.linspace(0, 2 * np.pi * 440, 16000)), 16000)
    >>> round(loudness(normalize_loudness(tone, -20.0)), 1)
    -20.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, map_errors
from aigc_sdk.media import Audio
from aigc_sdk.types import Segment, Word

__all__ = [
    "concatenate",
    "duck",
    "join_sentences",
    "loudness",
    "mix",
    "normalize_loudness",
    "resample",
    "time_stretch",
    "to_channels",
    "trim_silence",
]

_F32 = npt.NDArray[np.float32]
# pyloudnorm measures in 400 ms blocks: shorter audio has no defined loudness.
_MIN_LOUDNESS_SECONDS = 0.4


def _like(audio: Audio, samples: npt.ArrayLike, rate: int | None = None) -> Audio:
    return Audio(samples, rate or audio.sample_rate, audio.provenance)


def to_channels(audio: Audio, channels: int) -> Audio:
    """Convert to mono (average) or duplicate mono to ``channels``.

    Raises:
        InvalidRequestError: A conversion other than mono↔N channels was asked for.

    Example:
        >>> from aigc_sdk.media import Audio
        >>> to_channels(Audio([0.5, 0.5], 8000), 2).samples.shape
        (2, 2)
        >>> to_channels(Audio([[0.2, 0.4]], 8000), 1).samples.tolist()
        [0.30000001192092896]
    """
    if channels < 1:
        raise InvalidRequestError(f"channels must be at least 1, got {channels}")
    if audio.channels == channels:
        return audio
    if channels == 1:
        return _like(audio, audio.samples.mean(axis=1))
    if audio.channels == 1:
        return _like(audio, np.repeat(audio.samples[:, None], channels, axis=1))
    raise InvalidRequestError(f"cannot convert {audio.channels} channels to {channels}")


def resample(audio: Audio, rate: int) -> Audio:
    """Resample to ``rate`` Hz with soxr (high quality).

    Example:
        >>> from aigc_sdk.media import Audio
        >>> out = resample(Audio([0.0] * 22050, 22050), 16000)
        >>> out.sample_rate, out.samples.shape[0]
        (16000, 16000)
    """
    if rate <= 0:
        raise InvalidRequestError(f"sample rate must be positive, got {rate}")
    if rate == audio.sample_rate:
        return audio
    soxr: Any = require("soxr", extra="audio", feature="resampling")
    with map_errors("resampling failed"):
        samples = soxr.resample(audio.samples, audio.sample_rate, rate)
    return _like(audio, samples, rate)


def loudness(audio: Audio) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770, via pyloudnorm); ``-inf`` for silence.

    Raises:
        InvalidRequestError: The audio is shorter than 0.4 s (one measuring block).

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> round(loudness(Audio(0.5 * np.sin(np.linspace(0, 2 * np.pi * 1000, 48000)), 48000)))
        -9
    """
    if audio.duration < _MIN_LOUDNESS_SECONDS:
        raise InvalidRequestError(f"loudness needs at least {_MIN_LOUDNESS_SECONDS} s of audio, got {audio.duration} s")
    pyln = require("pyloudnorm", extra="audio", feature="loudness normalisation")
    with map_errors("loudness measurement failed"):
        return float(pyln.Meter(audio.sample_rate).integrated_loudness(audio.samples.astype(np.float64)))


def normalize_loudness(audio: Audio, target_lufs: float = -16.0, *, peak_limit: float = 0.99) -> Audio:
    """Scale to ``target_lufs`` integrated loudness (−16 LUFS suits spoken web/podcast audio, −23 broadcast).

    The gain is capped so that no sample exceeds ``peak_limit``; silence is returned unchanged.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> quiet = Audio(0.01 * np.sin(np.linspace(0, 2 * np.pi * 300, 16000)), 16000)
        >>> round(loudness(normalize_loudness(quiet, -23.0)), 1)
        -23.0
    """
    if not -70.0 <= target_lufs <= 0.0:
        raise InvalidRequestError(f"target loudness must be between -70 and 0 LUFS, got {target_lufs}")
    current = loudness(audio)
    if not np.isfinite(current):
        return audio
    gain = 10.0 ** ((target_lufs - current) / 20.0)
    peak = float(np.abs(audio.samples).max())
    if peak * gain > peak_limit:
        gain = peak_limit / peak
    return _like(audio, audio.samples * gain)


def trim_silence(audio: Audio, *, top_db: float = 40.0, keep: float = 0.05) -> Audio:
    """Cut leading and trailing silence (quieter than ``top_db`` below the peak), keeping ``keep`` s of margin.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> padded = np.concatenate([np.zeros(8000), 0.5 * np.sin(np.arange(8000) / 3), np.zeros(8000)])
        >>> 1.0 <= trim_silence(Audio(padded, 8000), keep=0.0).duration < 1.1
        True
    """
    if top_db <= 0 or keep < 0:
        raise InvalidRequestError("top_db must be positive and keep non-negative")
    librosa = require("librosa", extra="audio", feature="silence trimming")
    mono = audio.samples if audio.channels == 1 else audio.samples.mean(axis=1)
    if not np.any(mono):
        return _like(audio, audio.samples[:0])
    with map_errors("silence trimming failed"):
        _, (start, end) = librosa.effects.trim(mono, top_db=top_db, frame_length=512, hop_length=128)
    margin = round(keep * audio.sample_rate)
    start, end = max(0, int(start) - margin), min(mono.shape[0], int(end) + margin)
    return _like(audio, audio.samples[start:end])


def time_stretch(audio: Audio, duration: float) -> Audio:
    """Change the tempo (not the pitch) so the audio lasts ``duration`` seconds (librosa phase vocoder).

    Raises:
        InvalidRequestError: ``duration`` is not positive, or the change is more than 4× either way.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> speech = Audio(0.3 * np.sin(np.arange(16000) / 5), 16000)
        >>> round(time_stretch(speech, 0.8).duration, 2)
        0.8
    """
    if duration <= 0:
        raise InvalidRequestError(f"duration must be positive, got {duration}")
    rate = audio.duration / duration
    if not 0.25 <= rate <= 4.0:
        raise InvalidRequestError(f"stretching {audio.duration:.2f} s to {duration:.2f} s is more than 4× either way")
    librosa = require("librosa", extra="audio", feature="time-stretching")
    frames = round(duration * audio.sample_rate)
    with map_errors("time-stretching failed"):
        stretched = librosa.effects.time_stretch(audio.samples.T, rate=rate).T
        stretched = librosa.util.fix_length(stretched, size=frames, axis=0)
    return _like(audio, stretched)


def _match(tracks: Sequence[Audio]) -> list[Audio]:
    """Bring tracks to the first track's rate and the largest channel count."""
    if not tracks:
        raise InvalidRequestError("no audio given")
    rate = tracks[0].sample_rate
    channels = max(t.channels for t in tracks)
    return [to_channels(resample(t, rate), channels) for t in tracks]


def concatenate(tracks: Sequence[Audio], *, crossfade: float = 0.0, gap: float = 0.0) -> Audio:
    """Join tracks end to end, with an equal-power ``crossfade`` or a silent ``gap`` (seconds) between them.

    Tracks are resampled to the first one's rate; mono is widened to the largest channel count.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> a, b = Audio(np.ones(1000) * 0.5, 1000), Audio(np.ones(1000) * 0.5, 1000)
        >>> concatenate([a, b], crossfade=0.25).duration
        1.75
        >>> concatenate([a, b], gap=0.5).duration
        2.5
    """
    if crossfade < 0 or gap < 0:
        raise InvalidRequestError("crossfade and gap must not be negative")
    if crossfade and gap:
        raise InvalidRequestError("use either a crossfade or a gap, not both")
    matched = _match(tracks)
    rate = matched[0].sample_rate
    out = matched[0].samples
    fade = round(crossfade * rate)
    silence = np.zeros((round(gap * rate), *out.shape[1:]), dtype=np.float32)
    for track in matched[1:]:
        nxt = track.samples
        n = min(fade, out.shape[0], nxt.shape[0])
        if n:
            t = np.linspace(0.0, np.pi / 2, n, dtype=np.float32)
            shape = (n,) + (1,) * (out.ndim - 1)
            mixed = out[-n:] * np.cos(t).reshape(shape) + nxt[:n] * np.sin(t).reshape(shape)
            out = np.concatenate([out[:-n], mixed, nxt[n:]])
        else:
            out = np.concatenate([out, silence, nxt])
    return Audio(out, rate, matched[0].provenance)


def join_sentences(
    sentences: Sequence[tuple[str, Audio, Sequence[Word]]], *, silence: float = 0.0
) -> tuple[Audio, list[Segment]]:
    """Join sentences spoken one at a time, ``silence`` seconds apart, into one clip and its timeline.

    Each item is (text, audio, words) with word times counted from the start of that
    sentence's audio. The result has one :class:`~aigc_sdk.types.Segment` per sentence,
    timed in the joined clip, with its words shifted to match. Speech backends build their
    sentence timelines with it. The audio is mono at the first sentence's rate.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> from aigc_sdk.types import Word
        >>> one = ("Hello there.", Audio(np.full(8000, 0.1), 16000), [Word(text="there.", start=0.2, end=0.5)])
        >>> two = ("Bye.", Audio(np.full(4000, 0.1), 16000), [])
        >>> audio, segments = join_sentences([one, two], silence=0.25)
        >>> audio.duration, [(s.start, s.end) for s in segments], segments[0].words[0].end
        (1.0, [(0.0, 0.5), (0.75, 1.0)], 0.5)
    """
    if not sentences:
        raise InvalidRequestError("no sentences given")
    if silence < 0:
        raise InvalidRequestError("silence must not be negative")
    rate = sentences[0][1].sample_rate
    gap = np.zeros(round(silence * rate), dtype=np.float32)
    parts: list[_F32] = []
    segments: list[Segment] = []
    cursor = 0
    for text, audio, words in sentences:
        if parts:
            parts.append(gap)
            cursor += gap.size
        samples = to_channels(resample(audio, rate), 1).samples
        start = cursor / rate
        shifted = tuple(w.model_copy(update={"start": start + w.start, "end": start + w.end}) for w in words)
        cursor += samples.shape[0]
        segments.append(Segment(text=text, start=start, end=cursor / rate, words=shifted))
        parts.append(samples)
    return Audio(np.concatenate(parts), rate), segments


def _fit(samples: _F32, frames: int) -> _F32:
    if samples.shape[0] >= frames:
        return samples[:frames]
    pad = np.zeros((frames - samples.shape[0], *samples.shape[1:]), dtype=np.float32)
    return np.concatenate([samples, pad])


def mix(tracks: Sequence[Audio], *, gains_db: Sequence[float] | None = None, limit: float = 0.99) -> Audio:
    """Sum tracks (each with an optional gain in dB) into one as long as the longest.

    If the sum peaks above ``limit`` the whole mix is scaled down (no clipping).

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> voice, bed = Audio(np.full(800, 0.4), 8000), Audio(np.full(1600, 0.4), 8000)
        >>> out = mix([voice, bed], gains_db=[0.0, -6.0])
        >>> out.duration, round(float(out.samples[0]), 2), round(float(out.samples[-1]), 2)
        (0.2, 0.6, 0.2)
    """
    matched = _match(tracks)
    gains = list(gains_db) if gains_db is not None else [0.0] * len(matched)
    if len(gains) != len(matched):
        raise InvalidRequestError(f"{len(gains)} gains for {len(matched)} tracks")
    frames = max(t.samples.shape[0] for t in matched)
    total = np.zeros((frames, *matched[0].samples.shape[1:]), dtype=np.float32)
    for track, gain in zip(matched, gains, strict=True):
        total += _fit(track.samples, frames) * np.float32(10.0 ** (gain / 20.0))
    peak = float(np.abs(total).max()) if total.size else 0.0
    if peak > limit:
        total *= np.float32(limit / peak)
    return Audio(total, matched[0].sample_rate, matched[0].provenance)


def duck(
    music: Audio,
    speech: Audio,
    *,
    amount_db: float = -12.0,
    threshold_db: float = -40.0,
    attack: float = 0.05,
    release: float = 0.4,
    mix_speech: bool = True,
) -> Audio:
    """Lower ``music`` by ``amount_db`` wherever ``speech`` is active, with smooth attack/release ramps.

    Speech counts as active where its short-term level is above ``threshold_db`` (dBFS).
    Returns the ducked music, mixed with the speech when ``mix_speech`` (the usual "voice over bed").
    The result is as long as the music (speech past its end is kept when mixing).

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Audio
        >>> bed = Audio(np.full(16000, 0.2), 8000)
        >>> voice = Audio(np.concatenate([np.zeros(8000), 0.5 * np.sin(np.arange(8000))]), 8000)
        >>> out = duck(bed, voice, amount_db=-20.0, mix_speech=False)
        >>> round(float(out.samples[1000]), 2), round(float(out.samples[-1000]), 2)
        (0.2, 0.02)
    """
    if amount_db > 0 or attack < 0 or release < 0:
        raise InvalidRequestError("amount_db must be ≤ 0 and attack/release non-negative")
    speech_m = resample(speech, music.sample_rate)
    rate = music.sample_rate
    voice = to_channels(speech_m, 1).samples
    frames = music.samples.shape[0]
    hop = max(1, rate // 100)  # 10 ms
    padded = _fit(voice, max(frames, voice.shape[0]))
    n_blocks = -(-padded.shape[0] // hop)
    blocks = _fit(padded, n_blocks * hop).reshape(n_blocks, hop)
    rms = np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1))
    active = 20.0 * np.log10(np.maximum(rms, 1e-10)) > threshold_db
    floor = 10.0 ** (amount_db / 20.0)
    target = np.where(active, floor, 1.0)
    # One-pole smoothing: fast towards the floor (attack), slow back up (release).
    up = np.exp(-hop / max(release * rate, 1.0))
    down = np.exp(-hop / max(attack * rate, 1.0))
    gain_blocks = np.empty_like(target)
    g = 1.0
    for i, wanted in enumerate(target):
        coeff = down if wanted < g else up
        g = wanted + (g - wanted) * coeff
        gain_blocks[i] = g
    centres = np.arange(n_blocks) * hop + hop / 2
    gain = np.interp(np.arange(frames), centres, gain_blocks).astype(np.float32)
    shape = (frames,) + (1,) * (music.samples.ndim - 1)
    ducked = Audio(music.samples * gain.reshape(shape), rate, music.provenance)
    return mix([ducked, speech_m]) if mix_speech else ducked
