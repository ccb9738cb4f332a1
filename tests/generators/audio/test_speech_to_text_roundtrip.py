"""Done-means check: the default voice speaks a paragraph and the bundled Whisper writes it back."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aigc_sdk.types import AudioResult, Segment, TranscriptResult
from tests.support import word_error_rate

PARAGRAPH = (
    "Good evening. The city council met on Tuesday to discuss a new park beside the river. "
    "Residents asked for more trees, a quiet path for cyclists, and better lighting at night. "
    "The mayor said that work could begin next spring if the budget is approved."
)


def test_word_error_rate_helper() -> None:
    assert word_error_rate("a b c d", "a x c") == 0.5
    assert word_error_rate("Hello, world.", "hello world") == 0.0


def _assert_monotonic_cover(segments: tuple[Segment, ...], duration: float, *, tolerance: float) -> None:
    assert segments
    for before, after in itertools.pairwise(segments):
        assert before.end <= after.start + 1e-9
    for seg in segments:
        assert seg.start <= seg.end
        for w1, w2 in itertools.pairwise(seg.words):
            assert w1.end <= w2.start + 1e-9
        for word in seg.words:
            assert seg.start - 1e-9 <= word.start <= word.end <= seg.end + 1e-9
    assert segments[0].start <= tolerance
    assert segments[-1].end == pytest.approx(duration, abs=tolerance)


@pytest.fixture(scope="module")
def spoken(joe: object) -> AudioResult:
    return joe(prompt=PARAGRAPH, language="en", seed=11)  # type: ignore[operator,no-any-return]


@pytest.fixture(scope="module")
def transcript(tiny_whisper: object, spoken: AudioResult) -> TranscriptResult:
    return tiny_whisper(audio=spoken.audio, language="en", seed=0)  # type: ignore[operator,no-any-return]


def test_default_voice_is_transcribed_with_low_word_error_rate(transcript: TranscriptResult) -> None:
    wer = word_error_rate(PARAGRAPH, transcript.text)
    assert wer <= 0.20, (wer, transcript.text)
    assert transcript.language == "en"
    assert transcript.provenance.model_id == "whisper-tiny-en"
    assert transcript.provenance.license == "MIT"


def test_speech_timestamps_are_monotonic_and_cover_the_audio(spoken: AudioResult) -> None:
    _assert_monotonic_cover(spoken.segments, spoken.audio.duration, tolerance=1e-6)
    assert len(spoken.segments) == 4
    words = [w for s in spoken.segments for w in s.words]
    assert [w.text for w in words] == PARAGRAPH.split()
    rate = spoken.audio.sample_rate
    for word in words:  # each word's span holds sound
        span = spoken.audio.samples[round(word.start * rate) : round(word.end * rate)]
        assert float(np.abs(span).max()) > 0.05, word.text


def test_transcript_timestamps_are_monotonic_and_cover_the_audio(
    transcript: TranscriptResult, spoken: AudioResult
) -> None:
    assert transcript.duration == pytest.approx(spoken.audio.duration, abs=0.01)
    _assert_monotonic_cover(transcript.segments, transcript.duration, tolerance=1.0)
    assert len(transcript.words) >= len(PARAGRAPH.split()) * 0.8
    # Whisper's word times agree with the voice's own word times (within Whisper's ~0.3 s precision).
    first_spoken = spoken.segments[1].words[0]
    match = next(w for w in transcript.words if w.text.lower().strip(".,") == "the")
    assert match.start == pytest.approx(first_spoken.start, abs=0.5)
