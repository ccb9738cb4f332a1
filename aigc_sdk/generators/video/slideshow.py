"""Slideshow videos from stills, rendered by one ffmpeg process (the fast path).

Python does the cheap, once-per-item work: stills are decoded and fitted to the
frame with Pillow (a little above the output size, so ``zoompan`` works on small
frames), subtitle cues become transparent PNG bands, the logo is scaled and faded.
One ffmpeg filter graph then does the per-frame work: Ken Burns motion
(``zoompan`` at the output rate), crossfades (``xfade`` on the few overlapping
frames only, everything else is passed through ``concat``), subtitle and logo
overlays, the narration with a music bed ducked under it (``sidechaincompress``),
H.264 + AAC encoding (yuv420p, ``+faststart``) and the provenance comment tag.

Frames that carry the invisible watermark (``VideoRequest.watermark``; by default
those of stills made by aigc_sdk) take a second path: the filter graph writes raw
4:2:0 frames, Python marks them in their chroma plane (:mod:`aigc_sdk.trust.watermark`),
and a second ffmpeg mixes the audio and encodes, the three overlapping.

The MP4 is written to a temporary file and renamed when ffmpeg succeeds, so a
failed render never leaves a partial file. SRT and WebVTT sidecars (pysubs2) and
a ``.provenance.json`` sidecar are written beside it.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aigc_sdk._internal.ffmpeg import relay_frames, require_ffmpeg
from aigc_sdk._internal.files import atomic_path, atomic_write_bytes
from aigc_sdk._internal.fonts import FontInfo, find_font, read_font
from aigc_sdk._internal.linebreak import line_atoms
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import InvalidRequestError, MediaError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.media import Audio, Image, Video, sidecar_path, write_sidecar
from aigc_sdk.provenance import Provenance
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import Cue, Motion, SubtitleStyle, VideoRequest, VideoResult

if TYPE_CHECKING:
    import PIL.Image
    import PIL.ImageFont

__all__ = ["SlideshowVideoGenerator", "ken_burns_motions", "wrap_text"]

#: Stills that move are fitted at this multiple of the frame size before ``zoompan`` crops and scales them.
DEFAULT_PRESCALE = 1.5
_FONT_PREFERENCE = ("DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK KR")


@dataclass
class _Plan:
    """Everything one render needs, prepared before ffmpeg runs."""

    request: VideoRequest
    workdir: Path
    target: Path
    total: float
    frames: int
    cues: tuple[Cue, ...]
    provenance: Provenance
    command: list[str] = field(default_factory=list)
    producer: list[str] = field(default_factory=list)  # writes raw frames when frames are marked
    marks: tuple[bool, ...] = ()  # per frame: carries the invisible watermark


class SlideshowVideoGenerator(BaseGenerator[VideoRequest, VideoResult]):
    """Stills (plus narration, cues, music and a logo) to an MP4, in one ffmpeg pass.

    No weights: the spec's source is the aigc_sdk package. Spec options:

    * ``prescale`` (default 1.5): moving stills are fitted at this multiple of the
      frame size; higher is smoother and slower;
    * ``threads`` (default 0: ffmpeg decides): encoder threads.

    The request's ``preset``/``crf`` choose the x264 speed and quality; ``watermark``
    which frames carry the invisible mark (None: those of stills with provenance). Ken Burns
    moves are drawn from the request's seed unless ``motions`` gives one per slide.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from aigc_sdk.media import Image
        >>> from aigc_sdk.registry import ModelRegistry
        >>> from aigc_sdk.types import Cue
        >>> video = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))
        >>> slides = [Image.from_array(np.full((90, 160, 3), v, dtype=np.uint8)) for v in (40, 200)]
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
        >>> result = video(images=slides, durations=[1.0, 1.0], width=160, height=90, fps=10, output=out,
        ...                cues=[Cue(text="Hello", start=0.2, end=1.6)], seed=1)
        >>> result.video.info.width, result.video.info.duration, result.subtitles.suffix
        (160, 2.0, '.srt')
    """

    request_type = VideoRequest
    distributions = ("imageio-ffmpeg", "Pillow", "pysubs2")

    def _load(self) -> None:
        resolve_weights(self.spec)  # the package itself: checks the spec points at an installed aigc_sdk
        self._ffmpeg = require_ffmpeg()
        self._prescale = float(self.spec.options.get("prescale", DEFAULT_PRESCALE))
        self._threads = int(self.spec.options.get("threads", 0))
        if not 1.0 <= self._prescale <= 4.0:
            raise InvalidRequestError(f"spec option prescale must be in [1, 4], got {self._prescale}")

    # -- preprocess: validate and prepare inputs, build the ffmpeg command --------------------------------

    def _preprocess(self, requests: list[VideoRequest]) -> list[_Plan]:
        plans: list[_Plan] = []
        try:
            for request in requests:
                plans.append(self._plan(request))
        except BaseException:
            for plan in plans:
                shutil.rmtree(plan.workdir, ignore_errors=True)
            raise
        return plans

    def _plan(self, request: VideoRequest) -> _Plan:
        workdir = Path(tempfile.mkdtemp(prefix="aigc-video-"))
        try:
            return self._plan_in(request, workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    def _plan_in(self, request: VideoRequest, workdir: Path) -> _Plan:
        width, height, fps = request.width, request.height, request.fps
        narration: tuple[Path, float] | None = None
        if request.audio is not None:
            narration = self._audio_file(request.audio, workdir / "narration.wav")
            total = narration[1] if request.durations is None else float(sum(request.durations))
            if abs(total - narration[1]) > 0.1:
                raise InvalidRequestError(
                    f"the slides last {total:.2f} s but the audio lasts {narration[1]:.2f} s",
                    hint="make the durations add up to the audio's length, or leave durations out to spread them",
                )
        else:
            total = float(request.total_duration or 0.0)
        request.check_timing(total)
        cues = self._cues(request, total)
        target = self._target(request)

        # Frame bookkeeping: slide i owns frames [bounds[i], bounds[i + 1]); crossfades are centred on the cuts.
        durations = request.slide_durations(total)
        starts = np.concatenate([[0.0], np.cumsum(durations)])
        bounds = [round(float(t) * fps) for t in starts]
        frames = bounds[-1]
        fade = round(request.transition_duration * fps) if request.transition == "crossfade" else 0
        fade = fade if len(durations) > 1 else 0
        if fade and min(b - a for a, b in itertools.pairwise(bounds)) <= fade:
            raise InvalidRequestError(
                f"slides of {min(durations):.3g} s are too short for {request.transition_duration:g} s crossfades "
                f"at {fps} fps",
                hint="lower transition_duration or use longer slides",
            )

        motions = ken_burns_motions(request)
        inputs: list[str] = []
        graph: list[str] = []
        pil_image = require("PIL.Image", extra="image", feature="slideshows")
        n = len(motions)
        # Frames per slide: its span, plus half of each crossfade it takes part in.
        lengths = [
            bounds[i + 1] - bounds[i] + (fade // 2 if i > 0 else 0) + (fade - fade // 2 if i < n - 1 else 0)
            for i in range(n)
        ]
        for i, (source, motion, length) in enumerate(zip(request.images, motions, lengths, strict=True)):
            still = _open_still(source, pil_image)
            path = workdir / f"still{i}.bmp"
            if motion.is_static:
                frame = _fit(
                    still, width, height, request, zoom=motion.zoom_start, centre=(motion.x_start, motion.y_start)
                )
                frame.save(path)
                inputs += ["-framerate", str(fps), "-i", path.name]
                graph.append(
                    f"[{i}:v]format=yuv420p,loop=loop={length - 1}:size=1:start=0,setpts=N/({fps}*TB),setsar=1[z{i}]"
                )
            else:
                pw, ph = _even(width * self._prescale), _even(height * self._prescale)
                _fit(still, pw, ph, request).save(path)
                inputs += ["-framerate", str(fps), "-i", path.name]
                graph.append(f"[{i}:v]format=yuv420p,{_zoompan(motion, length, width, height, fps)},setsar=1[z{i}]")
            still.close()

        # Crossfades touch only the overlapping frames: split each slide into head | body | tail,
        # blend tail(i) with head(i + 1), and concatenate the rest untouched.
        pieces: list[str] = []
        for i, length in enumerate(lengths):
            if not fade:
                pieces.append(f"[z{i}]")
                continue
            has_head, has_tail = i > 0, i < n - 1
            names = (["h"] if has_head else []) + ["b"] + (["t"] if has_tail else [])
            graph.append(f"[z{i}]split={len(names)}" + "".join(f"[{k}{i}in]" for k in names))
            body_start = fade if has_head else 0
            body_end = length - fade if has_tail else length
            if has_head:
                graph.append(f"[h{i}in]trim=end_frame={fade},setpts=PTS-STARTPTS[h{i}]")
            graph.append(f"[b{i}in]trim=start_frame={body_start}:end_frame={body_end},setpts=PTS-STARTPTS[b{i}]")
            if has_tail:
                graph.append(f"[t{i}in]trim=start_frame={length - fade},setpts=PTS-STARTPTS[t{i}]")
            pieces.append(f"[b{i}]")
            if has_tail:
                pieces.append(f"[x{i}]")
        if fade:
            for i in range(n - 1):
                graph.append(f"[t{i}][h{i + 1}]xfade=transition=fade:duration={fade / fps:.6f}:offset=0[x{i}]")
        graph.append("".join(pieces) + f"concat=n={len(pieces)}:v=1:a=0[slides]")
        video_label = "slides"
        next_input = n

        fonts: list[str] = []
        if cues and request.burn_subtitles:
            concat_file, band_y, fonts = _subtitle_band(cues, total, request, workdir)
            inputs += ["-f", "concat", "-safe", "0", "-i", concat_file.name]
            graph.append(f"[{next_input}:v]format=yuva420p[subs]")
            graph.append(f"[{video_label}][subs]overlay=x=0:y={band_y}:eof_action=repeat:format=yuv420[subbed]")
            video_label = "subbed"
            next_input += 1
        if request.logo is not None:
            logo_path, (lx, ly) = _logo(request, workdir, pil_image)
            inputs += ["-i", logo_path.name]
            graph.append(
                f"[{video_label}][{next_input}:v]overlay=x={lx}:y={ly}:eof_action=repeat:format=yuv420[logoed]"
            )
            video_label = "logoed"
            next_input += 1
        graph.append(f"[{video_label}]format=yuv420p[vout]")

        marks = self._marks(request, bounds, width, height)
        # Marking frames: this ffmpeg writes raw frames, Python marks them, a second ffmpeg encodes.
        audio_base = 1 if marks else next_input
        audio_label: str | None = None
        audio_inputs: list[str] = []
        audio_graph: list[str] = []
        rate = request.sample_rate or 48_000
        fmt = f"aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo"
        if narration is not None:
            audio_inputs += ["-i", narration[0].name]
            audio_graph.append(f"[{audio_base}:a]{fmt},apad,atrim=end={total:.6f}[voice]")
            audio_label = "voice"
            audio_base += 1
        if request.music is not None:
            music_path, _ = self._audio_file(request.music, workdir / "music.wav")
            audio_inputs += ["-stream_loop", "-1", "-i", music_path.name]
            fade_out = min(2.0, total / 4)
            audio_graph.append(
                f"[{audio_base}:a]{fmt},atrim=end={total:.6f},volume={request.music_volume:.4f},"
                f"afade=t=in:d={min(0.5, total / 4):.3f},afade=t=out:st={total - fade_out:.3f}:d={fade_out:.3f}[music]"
            )
            audio_base += 1
            if audio_label is None:
                audio_label = "music"
            else:
                if request.duck:
                    audio_graph.append("[voice]asplit=2[voice_mix][voice_key]")
                    audio_graph.append(
                        "[music][voice_key]sidechaincompress=threshold=0.015:ratio=8:attack=20:release=400[bed]"
                    )
                    audio_graph.append("[voice_mix][bed]amix=inputs=2:duration=first:normalize=0[mixed]")
                else:
                    audio_graph.append("[voice][music]amix=inputs=2:duration=first:normalize=0[mixed]")
                audio_graph.append("[mixed]alimiter=limit=0.97:level=0[mix]")
                audio_label = "mix"

        extra: dict[str, Any] = {}
        if marks:
            from aigc_sdk.trust.watermark import METHOD, PAYLOAD

            extra["watermark"] = {"method": METHOD, "payload": PAYLOAD.decode("ascii"), "frames": sum(marks)}
        provenance = self.provenance(
            request,
            renderer="ffmpeg",
            ffmpeg=self._ffmpeg.version,
            duration=round(frames / fps, 6),
            frames=frames,
            motions=[m.model_dump() for m in motions],
            subtitle_fonts=fonts,
            **extra,
        )
        ffmpeg = [self._ffmpeg.path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        encode = ["-c:v", "libx264", "-preset", request.preset, "-crf", str(request.crf), "-pix_fmt", "yuv420p"]
        encode += ["-r", str(fps), "-frames:v", str(frames), "-movflags", "+faststart"]
        if audio_label is not None:
            encode += ["-map", f"[{audio_label}]", "-c:a", "aac", "-b:a", "160k", "-ar", str(rate)]
        if self._threads:
            encode += ["-threads", str(self._threads)]
        encode += ["-metadata", f"comment={provenance.to_json()}"]
        if request.prompt:
            encode += ["-metadata", f"title={request.prompt}"]
        producer: list[str] = []
        if marks:
            producer = [*ffmpeg, *inputs, "-filter_complex", ";".join(graph), "-map", "[vout]",
                      "-frames:v", str(frames), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]  # fmt: skip
            raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]
            mix = ["-filter_complex", ";".join(audio_graph)] if audio_graph else []
            command = [*ffmpeg, *raw, *audio_inputs, *mix, "-map", "0:v", *encode]
        else:
            filters = ";".join(graph + audio_graph)
            command = [*ffmpeg, *inputs, *audio_inputs, "-filter_complex", filters, "-map", "[vout]", *encode]
        return _Plan(request, workdir, target, total, frames, cues, provenance, command, producer, marks)

    @staticmethod
    def _marks(request: VideoRequest, bounds: list[int], width: int, height: int) -> tuple[bool, ...]:
        """Which frames carry the invisible watermark (empty: none).

        ``watermark=None`` marks the frames of stills made by aigc_sdk (with provenance),
        not the user's own pictures, when the frame is big enough to hold the mark.
        """
        if request.watermark is False:
            return ()
        from aigc_sdk.trust.watermark import MIN_SIDE

        if request.watermark is None:
            if min(width, height) < MIN_SIDE:
                return ()
            made = [
                image.provenance is not None if isinstance(image, Image) else sidecar_path(Path(image)).is_file()
                for image in request.images
            ]
        else:
            if min(width, height) < MIN_SIDE:
                raise InvalidRequestError(
                    f"a watermark needs frames of at least {MIN_SIDE}x{MIN_SIDE}, got {width}x{height}",
                    hint="use watermark=None to mark only frames that can hold it",
                )
            made = [True] * len(request.images)
        marks = tuple(m for i, m in enumerate(made) for _ in range(bounds[i + 1] - bounds[i]))
        return marks if any(marks) else ()

    def _audio_file(self, value: Audio | Path, path: Path) -> tuple[Path, float]:
        """An audio input as a file ffmpeg can read, with its duration in seconds."""
        if isinstance(value, Audio):
            _write_wav(value, path)
            return path, value.duration
        source = Path(value)
        done = subprocess.run(
            [self._ffmpeg.path, "-hide_banner", "-nostdin", "-i", str(source)],
            capture_output=True,
            text=True,
            errors="replace",  # metadata tags print cut at a byte count, which can split a character
            timeout=60,
        )
        found = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", done.stderr)
        if found is None or "Audio:" not in done.stderr:
            last = (done.stderr.strip().splitlines() or [""])[-1]
            raise MediaError(f"{source} is not a readable audio file", hint=last or None)
        h, m, s = found.groups()
        link = path.with_suffix(source.suffix.lower() or ".audio")
        with contextlib.suppress(FileExistsError):
            os.symlink(source.resolve(), link)
        return link, int(h) * 3600 + int(m) * 60 + float(s)

    def _cues(self, request: VideoRequest, total: float) -> tuple[Cue, ...]:
        cues = request.cues
        if request.subtitles is not None:
            pysubs2: Any = require("pysubs2", extra="video", feature="subtitle files")
            with map_errors(f"could not read subtitles {request.subtitles}", to=InvalidRequestError):
                events = pysubs2.load(str(request.subtitles)).events
                cues = tuple(
                    Cue(text=e.plaintext.strip(), start=e.start / 1000, end=e.end / 1000)
                    for e in sorted(events, key=lambda e: e.start)
                    if not e.is_comment and e.plaintext.strip() and e.end > e.start
                )
            for before, after in itertools.pairwise(cues):
                if after.start < before.end - 1e-6:
                    raise InvalidRequestError(f"{request.subtitles}: cue {after.text!r} overlaps the one before")
            if cues and cues[-1].end > total + 0.05:
                raise InvalidRequestError(f"{request.subtitles}: cues run past the video's end ({total:g} s)")
        kept = (c for c in cues if c.start < total)
        return tuple(c if c.end <= total else Cue(text=c.text, start=c.start, end=total) for c in kept)

    def _target(self, request: VideoRequest) -> Path:
        if request.output is not None:
            target = request.output.expanduser().absolute()
        else:
            target = Settings.from_env().cache_dir / "renders" / f"{uuid.uuid4().hex}.mp4"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaError(f"cannot create the output folder {target.parent}: {exc}") from exc
        if not os.access(target.parent, os.W_OK):
            raise MediaError(f"the output folder {target.parent} is not writable")
        return target

    # -- forward: run ffmpeg -----------------------------------------------------------------------------

    def _forward(self, plans: list[_Plan]) -> list[_Plan]:
        try:
            for plan in plans:
                with map_errors(f"could not write {plan.target}", to=MediaError), atomic_path(plan.target) as tmp:
                    if plan.marks:
                        self._relay(plan, tmp)
                    else:
                        self._encode(plan, tmp)
        finally:
            for plan in plans:
                shutil.rmtree(plan.workdir, ignore_errors=True)
        return plans

    @staticmethod
    def _encode(plan: _Plan, tmp: Path) -> None:
        """Render and encode in one ffmpeg process (no frame is marked)."""
        done = subprocess.run(
            [*plan.command, str(tmp)], cwd=plan.workdir, capture_output=True, text=True, errors="replace", check=False
        )
        if done.returncode != 0:
            raise MediaError(
                f"ffmpeg failed to render {plan.target.name} (exit {done.returncode})",
                hint=done.stderr.strip()[-800:] or None,
            )

    @staticmethod
    def _relay(plan: _Plan, tmp: Path) -> None:
        """Render raw frames, mark the ones ``plan.marks`` says, encode: two ffmpeg processes joined by Python."""
        from aigc_sdk.trust.watermark import FrameMarker

        marker = FrameMarker(plan.request.width, plan.request.height)

        def mark(index: int, frame: np.ndarray[Any, np.dtype[np.uint8]]) -> None:
            if index < len(plan.marks) and plan.marks[index]:
                marker.mark(frame)

        try:
            relay_frames(plan.producer, [*plan.command, str(tmp)], marker.frame_bytes, mark, cwd=plan.workdir)
        except MediaError as exc:
            raise MediaError(f"ffmpeg failed to render {plan.target.name}: {exc.message}", hint=exc.hint) from exc

    # -- postprocess: sidecars and results ---------------------------------------------------------------

    def _postprocess(self, outputs: list[_Plan], requests: list[VideoRequest]) -> list[VideoResult]:
        results = []
        for plan in outputs:
            srt = vtt = None
            if plan.cues:
                srt, vtt = write_subtitle_files(plan.cues, plan.target)
            write_sidecar(plan.target, plan.provenance)
            video = Video(plan.target, provenance=plan.provenance)
            results.append(
                VideoResult(video=video, subtitles=srt, subtitles_vtt=vtt, cues=plan.cues, provenance=plan.provenance)
            )
        return results


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def ken_burns_motions(request: VideoRequest) -> list[Motion]:
    """The camera move of every slide: ``request.motions``, none, or drawn from ``request.seed``.

    The same seed always gives the same moves: a zoom in, a zoom out or a pan per slide,
    10–22 % deep, kept inside the still.

    Example:
        >>> import numpy as np
        >>> from aigc_sdk.media import Image
        >>> frame = Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8))
        >>> request = VideoRequest(images=[frame] * 3, seed=7)
        >>> ken_burns_motions(request) == ken_burns_motions(request)
        True
        >>> ken_burns_motions(request.model_copy(update={"motion": "none"}))[0].is_static
        True
    """
    n = len(request.images)
    if request.motions is not None:
        return list(request.motions)
    if request.motion == "none":
        return [Motion.static()] * n
    rng = random.Random(request.seed if request.seed is not None else 0)
    motions = []
    for _ in range(n):
        far = 1.0 + rng.uniform(0.10, 0.22)
        half = 0.5 / far
        kind = rng.choice(("in", "out", "pan"))
        x, y = rng.uniform(half, 1.0 - half), rng.uniform(half, 1.0 - half)
        if kind == "in":
            motion = Motion(zoom_start=1.0, zoom_end=far, x_end=round(x, 4), y_end=round(y, 4))
        elif kind == "out":
            motion = Motion(zoom_start=far, zoom_end=1.0, x_start=round(x, 4), y_start=round(y, 4))
        else:
            left, right = round(half, 4), round(1.0 - half, 4)
            x0, x1 = (left, right) if rng.random() < 0.5 else (right, left)
            yc = round(y, 4)
            motion = Motion(zoom_start=far, zoom_end=far, x_start=x0, x_end=x1, y_start=yc, y_end=yc)
        motions.append(motion)
    return motions


def wrap_text(text: str, max_width: float, measure: Any) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` (greedy), breaking between words or CJK characters.

    Closing punctuation (``，。！？）`` …) never starts a line; a word wider than a line is cut.

    Args:
        text: The text.
        max_width: Widest line, in the units ``measure`` returns.
        measure: Width of a string, e.g. ``font.getlength`` of a Pillow font.

    Example:
        >>> wrap_text("The council voted seven to two", 12, len)
        ['The council', 'voted seven', 'to two']
        >>> wrap_text("市议会周二以七比二通过了预算。", 6, len)
        ['市议会周二以', '七比二通过了', '预算。']
    """
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        candidate = line + token
        if line.strip() and measure(candidate.rstrip()) > max_width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
        while len(line.rstrip()) > 1 and measure(line.rstrip()) > max_width:
            cut = max(1, max(k for k in range(1, len(line) + 1) if k == 1 or measure(line[:k]) <= max_width))
            lines.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """The text's unbreakable pieces, each carrying the space that follows it."""
    atoms = line_atoms(text)
    spaced = [space for _, space in atoms[1:]] + [False]
    return [atom + (" " if space else "") for (atom, _), space in zip(atoms, spaced, strict=True)]


def _balanced(text: str, max_width: float, measure: Any) -> list[str]:
    """Greedy wrap, then the narrowest width that keeps the line count (even line lengths)."""
    lines = wrap_text(text, max_width, measure)
    if len(lines) < 2:
        return lines
    low, high, best = max_width / 2, max_width, lines
    for _ in range(10):
        middle = (low + high) / 2
        trial = wrap_text(text, middle, measure)
        if len(trial) <= len(lines):
            best, high = trial, middle
        else:
            low = middle
    return best


def write_subtitle_files(cues: tuple[Cue, ...] | list[Cue], video_path: str | Path) -> tuple[Path, Path]:
    """Write ``cues`` as SRT and WebVTT beside ``video_path`` (``clip.srt``, ``clip.vtt``), atomically.

    Example:
        >>> import tempfile, pathlib
        >>> srt, vtt = write_subtitle_files([Cue(text="Hello", start=0.5, end=1.25)],
        ...                                 pathlib.Path(tempfile.mkdtemp()) / "clip.mp4")
        >>> print(srt.read_text().strip())
        1
        00:00:00,500 --> 00:00:01,250
        Hello
        >>> vtt.read_text().startswith("WEBVTT")
        True
    """
    pysubs2: Any = require("pysubs2", extra="video", feature="SRT/VTT subtitles")
    subs = pysubs2.SSAFile()
    for cue in cues:
        event = pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000))
        event.plaintext = cue.text
        subs.append(event)
    target = Path(video_path)
    srt, vtt = target.with_suffix(".srt"), target.with_suffix(".vtt")
    atomic_write_bytes(srt, subs.to_string("srt").encode("utf-8"))
    atomic_write_bytes(vtt, subs.to_string("vtt").encode("utf-8"))
    return srt, vtt


def _zoompan(motion: Motion, length: int, width: int, height: int, fps: int) -> str:
    p = f"(on/{max(length - 1, 1)})"
    zoom = f"{motion.zoom_start:.6f}{motion.zoom_end - motion.zoom_start:+.6f}*{p}"
    x = f"({motion.x_start:.6f}{motion.x_end - motion.x_start:+.6f}*{p})*iw-iw/zoom/2"
    y = f"({motion.y_start:.6f}{motion.y_end - motion.y_start:+.6f}*{p})*ih-ih/zoom/2"
    return f"zoompan=z='{zoom}':x='{x}':y='{y}':d={length}:s={width}x{height}:fps={fps}"


def _open_still(source: Image | Path, pil_image: Any) -> PIL.Image.Image:
    if isinstance(source, Image):
        copy: PIL.Image.Image = source.pil.convert("RGB")
        return copy
    image_ops = require("PIL.ImageOps", extra="image", feature="slideshows")
    try:
        with pil_image.open(source) as opened:
            opened.draft("RGB", (2 * 3840, 2 * 2160))  # JPEG: decode at a reduced scale when the file is huge
            still: PIL.Image.Image = image_ops.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(f"{source} is not a readable image: {exc}") from exc
    return still


def _fit(
    still: PIL.Image.Image,
    width: int,
    height: int,
    request: VideoRequest,
    *,
    zoom: float = 1.0,
    centre: tuple[float, float] = (0.5, 0.5),
) -> PIL.Image.Image:
    """The still fitted to ``width`` x ``height`` (cover, contain or blur), optionally zoomed at ``centre``."""
    pil_image = require("PIL.Image", extra="image", feature="slideshows")
    lanczos = pil_image.Resampling.LANCZOS
    iw, ih = still.size
    if request.fit == "cover":
        scale = max(width / iw, height / ih) * zoom
        cw, ch = width / scale, height / scale
        box = _crop_box(centre, cw, ch, iw, ih)
        fitted: PIL.Image.Image = still.resize((width, height), lanczos, box=box, reducing_gap=3.0)
        return fitted
    scale = min(width / iw, height / ih)
    inner = still.resize((max(1, round(iw * scale)), max(1, round(ih * scale))), lanczos, reducing_gap=3.0)
    if request.fit == "blur":
        image_filter = require("PIL.ImageFilter", extra="image", feature="slideshows")
        small = _fit(still, max(2, width // 12), max(2, height // 12), request.model_copy(update={"fit": "cover"}))
        canvas = small.filter(image_filter.GaussianBlur(2)).resize((width, height), pil_image.Resampling.BILINEAR)
        canvas = pil_image.eval(canvas, lambda v: int(v * 0.55))
    else:
        canvas = pil_image.new("RGB", (width, height), request.background[:7])
    canvas.paste(inner, ((width - inner.width) // 2, (height - inner.height) // 2))
    if zoom > 1.0:
        box = _crop_box(centre, width / zoom, height / zoom, width, height)
        canvas = canvas.resize((width, height), lanczos, box=box)
    result: PIL.Image.Image = canvas
    return result


def _crop_box(
    centre: tuple[float, float], cw: float, ch: float, width: int, height: int
) -> tuple[float, float, float, float]:
    """A ``cw`` x ``ch`` crop of a ``width`` x ``height`` picture about ``centre`` (fractions), kept inside it.

    The centre is moved in so the crop fits; the box is clamped too, because rounding can
    push a full-width crop a hair outside the picture.
    """
    cx = min(max(centre[0] * width, cw / 2), width - cw / 2)
    cy = min(max(centre[1] * height, ch / 2), height - ch / 2)
    return max(0.0, cx - cw / 2), max(0.0, cy - ch / 2), min(float(width), cx + cw / 2), min(float(height), cy + ch / 2)


def _write_wav(audio: Audio, path: Path) -> None:
    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(audio.channels)
        fh.setsampwidth(2)
        fh.setframerate(audio.sample_rate)
        fh.writeframes(pcm.tobytes())


def _rgba(colour: str) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    alpha = int(value[6:8], 16) if len(value) == 8 else 255
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha)


def _face_for(text: str, style: SubtitleStyle) -> FontInfo:
    if style.font is not None:
        faces = read_font(style.font)
        return next((f for f in faces if f.covers(text)), faces[0])
    face = find_font(text, prefer=_FONT_PREFERENCE)
    if face is None:
        missing = sorted({ch for ch in text if not ch.isspace() and find_font(ch, prefer=_FONT_PREFERENCE) is None})
        raise MediaError(
            f"no installed font has glyphs for {''.join(missing[:20])!r}",
            hint='pip install "aigc-sdk[image]" (Noto CJK fonts), or point AIGC_FONT_DIRS at a folder of fonts',
        )
    return face


def _truetype(face: FontInfo, size: int, cache: dict[tuple[Path, int, int], Any]) -> PIL.ImageFont.FreeTypeFont:
    key = (face.path, face.index, size)
    if key not in cache:
        image_font = require("PIL.ImageFont", extra="image", feature="subtitles")
        font = image_font.truetype(str(face.path), size=size, index=face.index)
        with contextlib.suppress(OSError, AttributeError):
            # Variable fonts (Noto CJK VF) default to their lightest weight: pick a bold one for legibility.
            axes = font.get_variation_axes()
            font.set_variation_by_axes([min(max(700, a["minimum"]), a["maximum"]) for a in axes])
        cache[key] = font
    font_out: PIL.ImageFont.FreeTypeFont = cache[key]
    return font_out


def _subtitle_band(
    cues: tuple[Cue, ...], total: float, request: VideoRequest, workdir: Path
) -> tuple[Path, int, list[str]]:
    """Render each cue to a transparent band PNG; return an ffconcat playlist, the band's y and the fonts used."""
    pil_image = require("PIL.Image", extra="image", feature="subtitles")
    image_draw = require("PIL.ImageDraw", extra="image", feature="subtitles")
    style = request.subtitle_style
    width, height = request.width, request.height
    margin_x, margin_y = round(style.margin * width), round(style.margin * height)
    base = max(8, round(style.font_size * min(width, height)))
    pad_x, pad_y = round(base * 0.45), round(base * 0.25)
    max_text = max(base, width - 2 * margin_x - 2 * pad_x)
    cache: dict[tuple[Path, int, int], Any] = {}
    layouts = []
    fonts: dict[str, None] = {}
    for cue in cues:
        face = _face_for(cue.text, style)
        fonts[f"{face.path}#{face.index}"] = None
        for scale in (1.0, 0.9, 0.8, 0.7):
            font = _truetype(face, max(8, round(base * scale)), cache)
            lines = _balanced(cue.text, max_text, font.getlength)
            if len(lines) <= style.max_lines:
                break
        ascent, descent = font.getmetrics()
        line_height = math.ceil((ascent + descent) * 1.08)
        layouts.append((font, lines, line_height))
    band = max(len(lines) * lh + 2 * pad_y for _, lines, lh in layouts)
    band = min(_even(band + 1), _even(height - 2 * margin_y) if height > 2 * margin_y + 2 else height)
    band_y = {"bottom": height - margin_y - band, "top": margin_y, "center": (height - band) // 2}[style.position]
    band_y = max(0, min(height - band, band_y))

    colour, outline, background = _rgba(style.color), _rgba(style.outline_color), style.background
    blank = pil_image.new("RGBA", (width, band), (0, 0, 0, 0))
    blank.save(workdir / "blank.png", compress_level=1)
    playlist = ["ffconcat version 1.0"]
    cursor = 0.0
    for k, (cue, (font, lines, line_height)) in enumerate(zip(cues, layouts, strict=True)):
        text_w = max(font.getlength(line) for line in lines)
        box_w, box_h = text_w + 2 * pad_x, len(lines) * line_height + 2 * pad_y
        x0 = (width - box_w) / 2
        y0 = {"bottom": band - box_h, "top": 0, "center": (band - box_h) / 2}[style.position]
        y0 = max(0.0, y0)
        layer = blank.copy()
        if background is not None:
            image_draw.Draw(layer).rounded_rectangle(
                (x0, y0, x0 + box_w, y0 + box_h), radius=pad_y, fill=_rgba(background)
            )
        text_layer = pil_image.new("RGBA", (width, band), (0, 0, 0, 0))
        draw = image_draw.Draw(text_layer)
        stroke = round(style.outline * font.size)
        for j, line in enumerate(lines):
            draw.text(
                (width / 2, y0 + pad_y + j * line_height),
                line,
                font=font,
                fill=colour,
                anchor="ma",
                stroke_width=stroke,
                stroke_fill=outline,
            )
        pil_image.alpha_composite(layer, text_layer).save(workdir / f"cue{k}.png", compress_level=1)
        if cue.start - cursor > 1e-3:
            playlist += ["file blank.png", f"duration {cue.start - cursor:.6f}"]
        playlist += [f"file cue{k}.png", f"duration {cue.end - cue.start:.6f}"]
        cursor = cue.end
    playlist += ["file blank.png", f"duration {max(total - cursor, 1.0 / request.fps) + 1.0:.6f}", "file blank.png"]
    path = workdir / "subtitles.ffconcat"
    path.write_text("\n".join(playlist) + "\n", encoding="utf-8")
    return path, band_y, list(fonts)


def _logo(request: VideoRequest, workdir: Path, pil_image: Any) -> tuple[Path, tuple[int, int]]:
    source = request.logo
    if isinstance(source, Image):
        logo = source.pil.convert("RGBA")
    else:
        try:
            with pil_image.open(source) as opened:
                logo = opened.convert("RGBA")
        except (OSError, ValueError) as exc:
            raise InvalidRequestError(f"logo {source} is not a readable image: {exc}") from exc
    width, height = request.width, request.height
    short = min(width, height)
    lw = max(2, round(request.logo_size * short))
    lh = max(2, round(lw * logo.height / logo.width))
    logo = logo.resize((lw, lh), pil_image.Resampling.LANCZOS)
    alpha = logo.getchannel("A").point(lambda v: round(v * request.logo_opacity))
    logo.putalpha(alpha)
    mx, my = round(request.subtitle_style.margin * width), round(request.subtitle_style.margin * height)
    x = mx if request.logo_position.endswith("left") else width - mx - lw
    y = my if request.logo_position.startswith("top") else height - my - lh
    path = workdir / "logo.png"
    logo.save(path)
    return path, (max(0, x), max(0, y))
