"""Audio processing on :class:`~aigc_sdk.media.Audio` values: loudness, trim, resample, stretch, mix.

Example:
    >>> from aigc_sdk.audio import concatenate
    >>> from aigc_sdk.media import Audio
    >>> concatenate([Audio([0.1] * 800, 8000), Audio([0.2] * 800, 8000)]).duration
    0.2
"""

from aigc_sdk.audio.processing import (
    concatenate,
    duck,
    loudness,
    mix,
    normalize_loudness,
    resample,
    time_stretch,
    to_channels,
    trim_silence,
)

__all__ = [
    "concatenate",
    "duck",
    "loudness",
    "mix",
    "normalize_loudness",
    "resample",
    "time_stretch",
    "to_channels",
    "trim_silence",
]
