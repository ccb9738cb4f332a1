"""CLI commands for audio: ``aigc speak``, ``aigc music`` and ``aigc transcribe`` (through the Studio)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_sdk.cli._common import check_output, cli_errors, console, print_json, read_text, write_text
from aigc_sdk.errors import InvalidRequestError

SPEAK_HELP = """Speak text with a voice and save it (WAV, FLAC, OGG or MP3) with provenance.

Without --model, the voice is the default one, or the best installed voice for --language.

Example: aigc speak "Good evening. Here is the news." -o news.wav --seed 1

Example: aigc speak --file article_zh.md --language zh -o zh.mp3 --subtitles zh.srt"""

MUSIC_HELP = """Generate background music and save it with provenance.

Example: aigc music "calm piano news bed" --duration 20 --tempo 80 --key "A minor" -o bed.wav"""

TRANSCRIBE_HELP = """Transcribe speech to text, with word timestamps.

Example: aigc transcribe news.wav --srt news.srt

Example: aigc transcribe interview.mp3 --model whisper-base --language zh --json"""


def _write_subtitles(path: Path, segments: Sequence[Any]) -> None:
    """One cue per segment, as WebVTT for a ``.vtt`` path and SubRip otherwise (the one writer, pysubs2)."""
    from aigc_sdk._internal.subtitles import subtitle_text

    write_text(path, subtitle_text(segments, "vtt" if path.suffix.lower() == ".vtt" else "srt"))


def _print_json(result: Any, **extra: Any) -> None:
    print_json({**result.model_dump(mode="json", exclude={"audio"}), **extra})


def speak(
    text: Annotated[str | None, typer.Argument(help="Text to speak (or use --file).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Audio file: .wav, .flac, .ogg or .mp3.")] = Path(
        "speech.wav"
    ),
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the text from this file.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Voice model id.")] = None,
    voice: Annotated[str | None, typer.Option("--voice", help="Speaker of a multi-speaker model.")] = None,
    language: Annotated[str | None, typer.Option("--language", "-l", help="Language of the text (ISO 639).")] = None,
    speed: Annotated[float, typer.Option("--speed", help="Speaking rate; 1 is normal.")] = 1.0,
    volume: Annotated[float, typer.Option("--volume", help="Gain on the voice.")] = 1.0,
    speaker_wav: Annotated[
        Path | None, typer.Option("--speaker-wav", help="Reference recording to clone (XTTS models).")
    ] = None,
    sample_rate: Annotated[int | None, typer.Option("--sample-rate", help="Resample to this rate.")] = None,
    loudness: Annotated[
        float | None, typer.Option("--loudness", help="Normalise to this loudness in LUFS, e.g. -16.")
    ] = None,
    subtitles: Annotated[Path | None, typer.Option("--subtitles", help="Also write subtitles (.srt, or .vtt).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded in provenance).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print segments and provenance as JSON.")] = False,
) -> None:
    """Speak text through the Studio and save the audio."""
    from aigc_sdk.media import AUDIO_FORMATS
    from aigc_sdk.studio import Studio
    from aigc_sdk.types import SpeechRequest

    with cli_errors():
        check_output(output, AUDIO_FORMATS, "audio")
        if (text is None) == (file is None):
            raise InvalidRequestError(
                "give the text or --file, not both or neither", hint='aigc speak "Hello." -o hi.wav'
            )
        if file is not None:
            text = read_text(file)
        request = SpeechRequest(
            prompt=text or "",
            voice=voice,
            language=language,
            speed=speed,
            volume=volume,
            speaker_wav=speaker_wav,
            sample_rate=sample_rate,
            seed=seed,
        )
        with Studio() as studio:  # without --model, the voice is the default one for the request's language
            result = studio.speech(request, model=model)
        if loudness is not None:
            from aigc_sdk.audio import normalize_loudness

            result = result.model_copy(update={"audio": normalize_loudness(result.audio, loudness)})
        path = result.save(output)
        if subtitles is not None:
            _write_subtitles(subtitles, result.segments)
    if as_json:
        _print_json(result, output=str(path))
    else:
        console.print(
            f"saved {path} ({result.audio.duration:.2f} s, {len(result.segments)} sentence(s), "
            f"voice {result.provenance.model_id})",
            highlight=False,
        )


def music(
    prompt: Annotated[str, typer.Argument(help="Description: genre, instruments, mood.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Audio file: .wav, .flac, .ogg or .mp3.")] = Path(
        "music.wav"
    ),
    duration: Annotated[float, typer.Option("--duration", "-d", help="Seconds of music.")] = 10.0,
    tempo: Annotated[float | None, typer.Option("--tempo", help="Beats per minute.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Key, e.g. 'C' or 'F# minor'.")] = None,
    mood: Annotated[str | None, typer.Option("--mood", help="calm, warm, upbeat, sad, serious or urgent.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Music model id (default: music-bed).")] = None,
    sample_rate: Annotated[int | None, typer.Option("--sample-rate", help="Resample to this rate.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded in provenance).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print segments and provenance as JSON.")] = False,
) -> None:
    """Generate music through the Studio and save it."""
    from aigc_sdk.media import AUDIO_FORMATS
    from aigc_sdk.studio import Studio
    from aigc_sdk.types import MusicRequest

    with cli_errors():
        check_output(output, AUDIO_FORMATS, "audio")
        request = MusicRequest(
            prompt=prompt, duration=duration, tempo=tempo, key=key, mood=mood, sample_rate=sample_rate, seed=seed
        )
        with Studio() as studio:
            result = studio.music(request, model=model)
        path = result.save(output)
    if as_json:
        _print_json(result, output=str(path))
    else:
        console.print(f"saved {path} ({result.audio.duration:.2f} s, {result.provenance.model_id})", highlight=False)


def transcribe(
    audio: Annotated[Path, typer.Argument(help="Audio file (WAV, FLAC, OGG, MP3).")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model id (default: one for --language; whisper-tiny-en).")
    ] = None,
    language: Annotated[str | None, typer.Option("--language", "-l", help="Spoken language; default: detect.")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Names and spellings to expect.")] = None,
    words: Annotated[bool, typer.Option("--words/--no-words", help="Word timestamps.")] = True,
    srt_path: Annotated[Path | None, typer.Option("--srt", help="Also write subtitles (.srt, or .vtt).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the text to this file.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded in provenance).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print segments, words and provenance as JSON.")] = False,
) -> None:
    """Transcribe a recording through the Studio."""
    from aigc_sdk.studio import Studio
    from aigc_sdk.types import TranscribeRequest

    with cli_errors():
        request = TranscribeRequest(audio=audio, language=language, prompt=prompt, word_timestamps=words, seed=seed)
        with Studio() as studio:  # without --model, the registry picks a model for the language
            result = studio.transcribe(request, model=model)
        if srt_path is not None:
            _write_subtitles(srt_path, result.segments)
        if output is not None:
            write_text(output, result.text + "\n")
    if as_json:
        _print_json(result)
    else:
        sys.stdout.write(result.text + "\n")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app.

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
    app.command(name="speak", help=SPEAK_HELP)(speak)
    app.command(name="music", help=MUSIC_HELP)(music)
    app.command(name="transcribe", help=TRANSCRIBE_HELP)(transcribe)
