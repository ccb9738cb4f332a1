"""Slideshow videos from stills, rendered by one ffmpeg process (the fast path).

Python does the cheap, once-per-item work: stills are decoded and fitted to the
frame with Pillow (a little above the output size, so ``zoompan`` works on small
frames), subtitle cues become transparent PNG bands, the logo is scaled and faded.
One ffmpeg filter graph then does the per-frame work: Ken Burns motion
(``zoompan`` at the output rate), crossfades (``xfade`` on the few overlapping
frames only, everything else is passed through ``concat``), subtitle and logo
overlays, and H.264 encoding (yuv420p). Beside it, a second ffmpeg mixes the narration with a
music bed ducked under it (``sidechaincompress``) and encodes the soundtrack as AAC; a last, quick
ffmpeg copies both into the MP4 with the provenance comment tag and chapters (``+faststart``). A
soundtrack is encoded once per mix: renders of the same narration and music (a story's aspects)
share it, so their audio streams are the same bytes.

The plan is built by the small builders of ``aigc_sdk.generators.video.ffgraph`` (slide timing and
video graph, audio mix, commands); burned-in subtitles are drawn by ``aigc_sdk.generators.video.captions``.

Frames that carry the invisible watermark (``VideoEncoding.watermark``; by default
those of stills made by aigc_sdk) take a second path: the filter graph writes raw
4:2:0 frames, a worker process marks them in their chroma plane
(:func:`aigc_sdk.trust.watermark.mark_frames`), and a second ffmpeg encodes them, the three overlapping.

The MP4 is written to a temporary file and renamed when ffmpeg succeeds, so a
failed render never leaves a partial file. SRT and WebVTT sidecars (pysubs2) and
a ``.provenance.json`` sidecar are written beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import random
import shutil
import tempfile
import threading
import wave
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aigc_sdk._internal.ffmpeg import require_ffmpeg, run_ffmpeg
from aigc_sdk._internal.files import atomic_path, render_target
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.probe import probe_media
from aigc_sdk._internal.settings import Settings
from aigc_sdk._internal.subtitles import read_subtitles, write_subtitles
from aigc_sdk.errors import InvalidRequestError, MediaError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.generators.video.captions import subtitle_band
from aigc_sdk.generators.video.ffgraph import (
    Dip,
    Encoding,
    Overlay,
    Slide,
    audio_mix,
    chapter_metadata,
    ffmpeg_commands,
    mux_command,
    slide_timing,
    soundtrack_command,
    timed_overlay,
    video_graph,
)
from aigc_sdk.media import Audio, Image, Video, sidecar_path, write_sidecar
from aigc_sdk.provenance import Provenance
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import Cue, Motion, TimedOverlay, VideoRequest, VideoResult

if TYPE_CHECKING:
    import PIL.Image
    import PIL.ImageFont

__all__ = ["SlideshowVideoGenerator", "ken_burns_motions"]

#: Stills that move are fitted at this multiple of the frame size before ``zoompan`` crops and scales them.
DEFAULT_PRESCALE = 1.25

#: A render's files in its work folder: the encoded picture, and the soundtrack muxed with it.
_PICTURE, _SOUNDTRACK = "picture.mp4", "soundtrack.m4a"


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
    command: list[str] = field(default_factory=list)  # encodes the picture
    producer: list[str] = field(default_factory=list)  # writes raw frames when frames are marked
    marks: tuple[bool, ...] = ()  # per frame: carries the invisible watermark
    soundtrack: list[str] | None = None  # mixes and encodes the sound (None: a silent video)
    mux: list[str] = field(default_factory=list)  # the picture and the soundtrack into the MP4


class _Soundtracks:
    """Encoded soundtracks by what goes into them: the renders of one mix (a story's aspects) encode it once.

    A render asks for its mix (the soundtrack command, its input files read for the key); the first one
    encodes it on a thread of its own, beside its picture, and every render of the same mix, meanwhile or
    later, gets the same bytes. The newest ``keep`` are kept (a minute of sound is about 1.2 MB); a failed
    encode is tried again by the next render that asks.

    Example:
        >>> import pathlib, tempfile, wave
        >>> from aigc_sdk._internal.ffmpeg import require_ffmpeg
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with wave.open(str(folder / "n.wav"), "wb") as fh:
        ...     fh.setnchannels(1); fh.setsampwidth(2); fh.setframerate(16000); fh.writeframes(bytes(16000))
        >>> a = audio_mix(first_input=0, total=1.0, rate=48000, narration="n.wav")
        >>> enc = Encoding(width=16, height=16, fps=10, frames=10, preset="veryfast", crf=23, rate=48000)
        >>> soundtracks = _Soundtracks(require_ffmpeg().version)
        >>> command = soundtrack_command(require_ffmpeg().path, a, enc)
        >>> first = soundtracks.encode(command, folder)
        >>> soundtracks.encode(command, folder) is first, first.result()[4:8]
        (True, b'ftyp')
        >>> soundtracks.close()
    """

    def __init__(self, ffmpeg_version: str, keep: int = 8) -> None:
        self._version = ffmpeg_version
        self._keep = keep
        self._lock = threading.Lock()
        self._made: OrderedDict[str, Future[bytes]] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aigc-soundtrack")

    def encode(self, command: list[str], cwd: Path) -> Future[bytes]:
        """The encoded soundtrack of ``command`` (its inputs named relative to ``cwd``): made, making or to make."""
        key = self._key(command, cwd)
        with self._lock:
            future = self._made.get(key)
            if future is None or (future.done() and future.exception() is not None):
                future = self._pool.submit(_encode_soundtrack, command, cwd)
                self._made[key] = future
            self._made.move_to_end(key)
            while len(self._made) > self._keep:
                self._made.popitem(last=False)  # a render still waiting on it keeps its future
        return future

    def close(self) -> None:
        """Forget the soundtracks; encodes under way finish for the renders waiting on them."""
        self._pool.shutdown(wait=False)
        with self._lock:
            self._made.clear()

    def _key(self, command: list[str], cwd: Path) -> str:
        """The command with every input file replaced by the digest of its bytes, and ffmpeg's version."""
        digest = hashlib.sha256(self._version.encode())
        for before, arg in zip(["", *command], command, strict=False):
            if before == "-i":
                with open(cwd / arg, "rb") as fh:
                    arg = hashlib.file_digest(fh, "sha256").hexdigest()
            digest.update(arg.encode() + b"\0")
        return digest.hexdigest()


def _encode_soundtrack(command: list[str], cwd: Path) -> bytes:
    """Run a soundtrack command in ``cwd``: the AAC file's bytes, or MediaError with ffmpeg's last words."""
    out = cwd / f".{_SOUNDTRACK}"
    try:
        run_ffmpeg([*command, str(out)], cwd=cwd, failure="ffmpeg failed to encode the soundtrack")
        return out.read_bytes()
    finally:
        out.unlink(missing_ok=True)


class SlideshowVideoGenerator(BaseGenerator[VideoRequest, VideoResult]):
    """Stills (plus narration, cues, music and a logo) to an MP4: picture and sound encoded side by side, then muxed.

    A batch's requests (the scheduler coalesces renders queued together, of any size) render side by side:
    one render leaves the cores idle part of the time (on 2 cores, three 60 s renders took 24.4 s at once
    against 29.3 s one after another).

    No weights: the spec's source is the aigc_sdk package. Spec options:

    * ``prescale`` (default 1.25): moving stills are fitted at this multiple of the
      frame size, so that ``zoompan`` scales down for moves up to 1.25x; higher is smoother and slower.
      A still already at the frame's size (the cards, charts and maps the SDK draws) is not
      upscaled: it moves on its own pixels;
    * ``threads`` (default ``AIGC_THREADS``, else 0: ffmpeg decides): encoder threads.

    The request's ``encoding`` (:class:`~aigc_sdk.types.VideoEncoding`): ``preset``/``crf`` choose the x264
    speed and quality, ``watermark`` which frames carry the invisible mark (None: those of stills with
    provenance). Ken Burns moves are drawn from the request's seed unless ``motions`` gives one per slide.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from aigc_sdk.media import Image
        >>> from aigc_sdk.registry import ModelRegistry
        >>> from aigc_sdk.types import Cue, VideoEncoding
        >>> video = SlideshowVideoGenerator(ModelRegistry().get("slideshow"))
        >>> slides = [Image.from_array(np.full((90, 160, 3), v, dtype=np.uint8)) for v in (40, 200)]
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
        >>> result = video(images=slides, durations=[1.0, 1.0], width=160, height=90, fps=10,
        ...                cues=[Cue(text="Hello", start=0.2, end=1.6)], seed=1, encoding=VideoEncoding(output=out))
        >>> result.video.info.width, result.video.info.duration, result.subtitles.suffix
        (160, 2.0, '.srt')
    """

    request_type = VideoRequest
    distributions = ("imageio-ffmpeg", "Pillow", "pysubs2")

    def _load(self) -> None:
        resolve_weights(self.spec)  # the package itself: checks the spec points at an installed aigc_sdk
        self._ffmpeg = require_ffmpeg()
        self._prescale = float(self.spec.options.get("prescale", DEFAULT_PRESCALE))
        self._threads = int(self.spec.options.get("threads", Settings.from_env().threads))
        if not 1.0 <= self._prescale <= 4.0:
            raise InvalidRequestError(f"spec option prescale must be in [1, 4], got {self._prescale}")
        self._soundtracks = _Soundtracks(self._ffmpeg.version)

    def _unload(self) -> None:
        self._soundtracks.close()

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
        """Prepare the files and build the ffmpeg plan: timing, stills, overlays, graphs, provenance, command."""
        encoding = request.encoding
        width, height, fps = request.width, request.height, request.fps
        narration, total = self._narration(request, workdir)
        request.check_timing(total)
        cues = self._cues(request, total)
        target = render_target(request.encoding.output)
        crossfade = request.transition_duration if request.transition == "crossfade" else 0.0
        timing = slide_timing(request.slide_durations(total), fps=fps, crossfade=crossfade)
        motions = ken_burns_motions(request)
        slides, frames = self._stills(request, motions, timing.lengths, workdir)
        dips = [
            _dip(i, frames[i], frames[i + 1], workdir) if timing.fade and _meet(motions[i], motions[i + 1]) else None
            for i in range(len(frames) - 1)
        ]
        overlays, fonts = self._overlays(request, cues, total, workdir)
        video = video_graph(slides, fade=timing.fade, width=width, height=height, fps=fps, overlays=overlays,
                            dips=dips)  # fmt: skip
        marks = self._marks(request, list(timing.bounds), width, height)
        music = None if request.music is None else self._audio_file(request.music, workdir / "music.wav")[0].name
        rate = request.sample_rate or 48_000
        audio = audio_mix(
            first_input=0,
            total=total,
            rate=rate,
            narration=None if narration is None else narration.name,
            music=music,
            music_volume=request.music_volume,
            duck=request.duck,
        )
        extra: dict[str, Any] = {}
        if marks:
            from aigc_sdk.trust.watermark import METHOD, PAYLOAD

            extra["watermark"] = {"method": METHOD, "payload": PAYLOAD.decode("ascii"), "frames": sum(marks)}
        provenance = self.provenance(
            request,
            renderer="ffmpeg",
            ffmpeg=self._ffmpeg.version,
            duration=round(timing.frames / fps, 6),
            frames=timing.frames,
            motions=[m.model_dump() for m in motions],
            transitions=[("dip" if dip else "fade") for dip in dips] if timing.fade else [],
            subtitle_fonts=fonts,
            **extra,
        )
        metadata = [("comment", provenance.to_json())] + ([("title", request.prompt)] if request.prompt else [])
        chapters = _chapters_file(request, total, workdir)
        settings = Encoding(width=width, height=height, fps=fps, frames=timing.frames, preset=encoding.preset,
                            crf=encoding.crf, rate=rate, threads=self._threads, metadata=tuple(metadata),
                            chapters=chapters)  # fmt: skip
        command, producer = ffmpeg_commands(self._ffmpeg.path, video, settings, marked=bool(marks))
        soundtrack = soundtrack_command(self._ffmpeg.path, audio, settings)
        mux = mux_command(self._ffmpeg.path, _PICTURE, None if soundtrack is None else _SOUNDTRACK, settings)
        return _Plan(request, workdir, target, total, timing.frames, cues, provenance, command, producer, marks,
                     soundtrack, mux)  # fmt: skip

    def _narration(self, request: VideoRequest, workdir: Path) -> tuple[Path | None, float]:
        """The narration as a file ffmpeg reads (None: no audio), and the video's length in seconds."""
        if request.audio is None:
            return None, float(request.total_duration or 0.0)
        path, seconds = self._audio_file(request.audio, workdir / "narration.wav")
        total = seconds if request.durations is None else float(sum(request.durations))
        if abs(total - seconds) > 0.1:
            raise InvalidRequestError(
                f"the slides last {total:.2f} s but the audio lasts {seconds:.2f} s",
                hint="make the durations add up to the audio's length, or leave durations out to spread them",
            )
        return path, total

    def _stills(
        self, request: VideoRequest, motions: list[Motion], lengths: tuple[int, ...], workdir: Path
    ) -> tuple[list[Slide], list[np.ndarray | None]]:
        """Fit each still to the frame (moving ones at ``prescale`` × the frame) and save it for ffmpeg.

        Also returns the pixels of each still drawn at the frame's size (a card, a chart; None for others),
        so that crossfades between slides on one ground can dip.
        """
        width, height = request.width, request.height
        pil_image = require("PIL.Image", extra="image", feature="slideshows")
        slides = []
        frames: list[np.ndarray | None] = []
        clips = request.clips or (None,) * len(request.images)
        for i, (source, motion, length) in enumerate(zip(request.images, motions, lengths, strict=True)):
            if clips[i] is not None:  # moving footage plays instead of the still
                slides.append(Slide(str(Path(str(clips[i])).absolute()), length, None, footage=True))
                frames.append(None)
                continue
            still = _open_still(source, pil_image)
            path = workdir / f"still{i}.bmp"
            if motion.is_static:
                centre = (motion.x_start, motion.y_start)
                fitted = _fit(still, width, height, request, zoom=motion.zoom_start, centre=centre)
            else:  # a still drawn at the frame's size (a card, chart or map) moves on its own pixels
                scale = 1.0 if still.size == (width, height) else self._prescale
                fitted = _fit(still, _even(width * scale), _even(height * scale), request)
            fitted.save(path)
            on_frame = still.size == (width, height) and fitted.size == (width, height)
            frames.append(np.asarray(fitted.convert("RGB")) if on_frame else None)
            still.close()
            slides.append(Slide(path.name, length, None if motion.is_static else motion))
        return slides, frames

    @staticmethod
    def _overlays(
        request: VideoRequest, cues: tuple[Cue, ...], total: float, workdir: Path
    ) -> tuple[list[Overlay], list[str]]:
        """The burned-in subtitle band, the timed overlays (lower thirds …) and the logo; and the subtitle fonts."""
        overlays: list[Overlay] = []
        fonts: list[str] = []
        if cues and request.burn_subtitles:
            playlist, band_y, fonts = subtitle_band(cues, total, request, workdir)
            args = ("-f", "concat", "-safe", "0", "-i", playlist.name)
            overlays.append(Overlay("subbed", args, x=0, y=band_y, convert="format=yuva420p", stream="subs"))
        for index, timed in enumerate(request.overlays):
            overlays.append(_timed_overlay(index, timed, request.fps, workdir))
        if request.logo is not None:
            pil_image = require("PIL.Image", extra="image", feature="slideshows")
            logo_path, (lx, ly) = _logo(request, workdir, pil_image)
            overlays.append(Overlay("logoed", ("-i", logo_path.name), x=lx, y=ly))
        return overlays, fonts

    @staticmethod
    def _marks(request: VideoRequest, bounds: list[int], width: int, height: int) -> tuple[bool, ...]:
        """Which frames carry the invisible watermark (empty: none).

        ``watermark=None`` marks the frames of stills made by aigc_sdk (with provenance),
        not the user's own pictures, when the frame is big enough to hold the mark.
        """
        if request.encoding.watermark is False:
            return ()
        from aigc_sdk.trust.watermark import MIN_SIDE

        if request.encoding.watermark is None:
            if min(width, height) < MIN_SIDE:
                return ()
            clips = request.clips or (None,) * len(request.images)
            made = [
                clip is not None  # footage from a video model
                or (image.provenance is not None if isinstance(image, Image) else sidecar_path(Path(image)).is_file())
                for image, clip in zip(request.images, clips, strict=True)
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

    @staticmethod
    def _audio_file(value: Audio | Path, path: Path) -> tuple[Path, float]:
        """An audio input as a file ffmpeg can read, with its duration in seconds (PyAV's probe)."""
        if isinstance(value, Audio):
            _write_wav(value, path)
            return path, value.duration
        source = Path(value)
        probe = probe_media(source, need="audio")
        link = path.with_suffix(source.suffix.lower() or ".audio")
        with contextlib.suppress(FileExistsError):
            os.symlink(source.resolve(), link)
        return link, probe.duration

    def _cues(self, request: VideoRequest, total: float) -> tuple[Cue, ...]:
        cues = request.cues
        if request.subtitles is not None:
            with map_errors(f"could not read subtitles {request.subtitles}", to=InvalidRequestError):
                read = read_subtitles(request.subtitles)
            cues = tuple(Cue(text=text, start=start, end=end) for text, start, end in read)
            for before, after in itertools.pairwise(cues):
                if after.start < before.end - 1e-6:
                    raise InvalidRequestError(f"{request.subtitles}: cue {after.text!r} overlaps the one before")
            if cues and cues[-1].end > total + 0.05:
                raise InvalidRequestError(f"{request.subtitles}: cues run past the video's end ({total:g} s)")
        kept = (c for c in cues if c.start < total)
        return tuple(c if c.end <= total else Cue(text=c.text, start=c.start, end=total) for c in kept)

    # -- forward: run ffmpeg -----------------------------------------------------------------------------

    def _forward(self, plans: list[_Plan]) -> list[_Plan]:
        """Render each plan; a batch's plans side by side (one render leaves the cores idle part of the time)."""
        try:
            if len(plans) == 1:
                self._write(plans[0])
            else:
                with ThreadPoolExecutor(len(plans), thread_name_prefix="aigc-render") as pool:
                    renders = [pool.submit(self._write, plan) for plan in plans]
                for render in renders:  # every render has stopped: the first failure, if any
                    render.result()
        finally:
            for plan in plans:
                shutil.rmtree(plan.workdir, ignore_errors=True)
        return plans

    def _write(self, plan: _Plan) -> None:
        with map_errors(f"could not write {plan.target}", to=MediaError), atomic_path(plan.target) as tmp:
            self._render(plan, tmp)

    def _render(self, plan: _Plan, tmp: Path) -> None:
        """The picture (marked or not) while the soundtrack encodes, then both muxed into ``tmp``."""
        sound = None if plan.soundtrack is None else self._soundtracks.encode(plan.soundtrack, plan.workdir)
        try:
            if plan.marks:
                self._relay(plan, plan.workdir / _PICTURE)
            else:
                failure = f"ffmpeg failed to render {plan.target.name}"
                run_ffmpeg([*plan.command, _PICTURE], cwd=plan.workdir, failure=failure)
        finally:
            if sound is not None:
                wait_for([sound])  # it may read its inputs from this render's folder
        if sound is not None:
            (plan.workdir / _SOUNDTRACK).write_bytes(sound.result())
        run_ffmpeg([*plan.mux, str(tmp)], cwd=plan.workdir, failure=f"ffmpeg failed to write {plan.target.name}")

    @staticmethod
    def _relay(plan: _Plan, picture: Path) -> None:
        """Render raw frames, mark the ones ``plan.marks`` says, encode: two ffmpeg processes and a marking worker."""
        from aigc_sdk.trust.watermark import mark_frames

        try:
            mark_frames(plan.producer, [*plan.command, str(picture)], plan.request.width, plan.request.height,
                        marks=plan.marks, cwd=plan.workdir)  # fmt: skip
        except MediaError as exc:
            raise MediaError(f"ffmpeg failed to render {plan.target.name}: {exc.message}", hint=exc.hint) from exc

    # -- postprocess: sidecars and results ---------------------------------------------------------------

    def _postprocess(self, outputs: list[_Plan], requests: list[VideoRequest]) -> list[VideoResult]:
        results = []
        for plan in outputs:
            srt = vtt = None
            if plan.cues:
                srt, vtt = write_subtitles(plan.cues, plan.target.with_suffix(".srt"), plan.target.with_suffix(".vtt"))
            write_sidecar(plan.target, plan.provenance)
            video = Video(plan.target, provenance=plan.provenance)
            results.append(
                VideoResult(video=video, subtitles=srt, subtitles_vtt=vtt, cues=plan.cues, provenance=plan.provenance)
            )
        return results


def _chapters_file(request: VideoRequest, total: float, workdir: Path) -> str | None:
    """The request's chapter marks as an FFMETADATA file in ``workdir`` (its name), or None without chapters."""
    if not request.chapters:
        return None
    path = workdir / "chapters.txt"
    path.write_text(chapter_metadata(request.chapters, total), encoding="utf-8")
    return path.name


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


_BLOCK = 8  # the dip's mask and ground are worked out on blocks of 8 × 8 pixels


def _meet(before: Motion, after: Motion) -> bool:
    """Whether a slide's move ends where the next one's starts (a dip's shared headline then holds still).

    Example:
        >>> _meet(Motion(zoom_start=1.0, zoom_end=1.08), Motion(zoom_start=1.08, zoom_end=1.0))
        True
        >>> _meet(Motion(zoom_start=1.0, zoom_end=1.08), Motion(zoom_start=1.0, zoom_end=1.08))
        False
    """
    ends = (before.zoom_end, before.x_end, before.y_end)
    starts = (after.zoom_start, after.x_start, after.y_start)
    return all(abs(a - b) < 1e-3 for a, b in zip(ends, starts, strict=True))


def _dip(i: int, a: np.ndarray | None, b: np.ndarray | None, workdir: Path) -> Dip | None:
    """The dip of the crossfade between two frame-sized stills on one ground (cards, charts), else None.

    Where the stills differ (their own text, a chart's line), grown by a block each way, the ground is
    filled in from the blocks around (a smooth gradient) over each still; elsewhere the stills are
    left as they are. Stills that differ over half the frame (photos) cross-fade as before. Writes
    ``before{i}.bmp`` and ``after{i}.bmp`` (the two covered stills) into ``workdir``.

    Example:
        >>> import tempfile, PIL.Image
        >>> ground = np.zeros((240, 320, 3), np.uint8) + (np.arange(240) // 8).astype(np.uint8)[:, None, None]
        >>> card_a, card_b = ground.copy(), ground.copy()
        >>> card_a[40:44, 16:300], card_b[160:164, 16:300] = 240, 240  # two lines of light text
        >>> work = Path(tempfile.mkdtemp())
        >>> dip = _dip(0, card_a, card_b, work)
        >>> covered = [np.asarray(PIL.Image.open(work / name)).astype(int) for name in (dip.before, dip.after)]
        >>> [int(np.abs(c - ground).max()) <= 2 for c in covered]  # both lines gone: the gradient under them
        [True, True]
        >>> _dip(0, card_a, np.random.default_rng(0).integers(0, 255, card_a.shape, np.uint8), Path("."))
    """
    if a is None or b is None or a.shape != b.shape:
        return None
    pil_image = require("PIL.Image", extra="image", feature="slideshows")
    image_chops = require("PIL.ImageChops", extra="image", feature="slideshows")
    image_filter = require("PIL.ImageFilter", extra="image", feature="slideshows")
    picture, other = pil_image.fromarray(a), pil_image.fromarray(b)
    differ = image_chops.difference(picture, other).convert("L").point(lambda v: 255 if v > 2 else 0)
    own = np.asarray(differ.reduce(_BLOCK)) > 0  # blocks with any pixel of their own
    if (np.asarray(differ) > 0).mean() > 0.5:
        return None
    h, w = a.shape[:2]
    rows, cols = own.shape
    # close the gaps (a map's sea that matches the ground by chance is the map's), then grow a block each way
    wide = _grown(~_grown(~_grown(own, 4), 4), 1)
    blocks = _fill_ground(np.asarray(picture.reduce(_BLOCK), np.float32), ~wide)  # from each block's mean colour
    if blocks is None:
        return None
    size, box = (cols * _BLOCK, rows * _BLOCK), (0, 0, w, h)
    filled = pil_image.fromarray(blocks.round().clip(0, 255).astype(np.uint8))
    under = filled.resize(size, pil_image.Resampling.BILINEAR).crop(box)
    mask = pil_image.fromarray(wide.astype(np.uint8) * 255).resize(size, pil_image.Resampling.NEAREST).crop(box)
    mask = mask.filter(image_filter.BoxBlur(3))  # a soft edge; the text, 8 px inside it, stays fully covered
    before, after = workdir / f"before{i}.bmp", workdir / f"after{i}.bmp"
    pil_image.composite(under, picture, mask).save(before)
    pil_image.composite(under, other, mask).save(after)
    return Dip(before.name, after.name)


def _fill_ground(means: np.ndarray, known: np.ndarray) -> np.ndarray | None:
    """Block colours with the unknown blocks filled in from the known ground around them; None if too little is known.

    A smooth surface is fitted to the ground (a card's gradient is nearly quadratic), leaving out known blocks
    that are not ground (an accent bar, a chip); what it misses is spread from the ground into the rest.

    Example:
        >>> means = np.zeros((20, 20, 3), np.float32) + np.arange(20, dtype=np.float32)[:, None, None]
        >>> known = np.ones((20, 20), bool)
        >>> known[5:15, 5:15] = False
        >>> means[5:15, 5:15] = 255  # text, to be replaced
        >>> bool(np.abs(_fill_ground(means, known)[:, :, 0] - np.arange(20)[:, None]).max() < 0.5)
        True
    """
    rows, cols = known.shape
    ys, xs = np.mgrid[0:rows, 0:cols] / np.float32(max(rows, cols))
    basis = np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1)
    ground = known.copy()
    for _ in range(3):
        if ground.sum() < 6:
            return None
        coef = np.linalg.lstsq(basis[ground], means[ground], rcond=None)[0]
        fit = basis @ coef
        ground = known & (np.abs(means - fit).max(axis=2) < 6)
    rest = np.where(ground[..., None], means - fit, 0.0)
    for _ in range(48):
        edged = np.pad(rest, ((1, 1), (1, 1), (0, 0)), mode="edge")
        around = (edged[:-2, 1:-1] + edged[2:, 1:-1] + edged[1:-1, :-2] + edged[1:-1, 2:]) / 4
        rest = np.where(ground[..., None], means - fit, around)
    filled: np.ndarray = fit + rest
    return filled


def _grown(blocks: np.ndarray, steps: int) -> np.ndarray:
    """``blocks`` (a boolean grid) grown by ``steps`` blocks in every direction, diagonals included.

    Example:
        >>> _grown(np.eye(3, dtype=bool)[:1], 1).astype(int).tolist()
        [[1, 1, 0]]
    """
    grown = blocks.copy()
    for _ in range(steps):
        rows = grown.copy()
        rows[1:] |= grown[:-1]
        rows[:-1] |= grown[1:]
        grown = rows.copy()
        grown[:, 1:] |= rows[:, :-1]
        grown[:, :-1] |= rows[:, 1:]
    return grown


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


def _logo(request: VideoRequest, workdir: Path, pil_image: Any) -> tuple[Path, tuple[int, int]]:
    assert request.logo is not None
    logo = _open_rgba(request.logo, pil_image, what="logo")
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


def _timed_overlay(index: int, timed: TimedOverlay, fps: int, workdir: Path) -> Overlay:
    """Save a timed overlay's picture cropped to its visible pixels (a small overlay is cheap) and place it."""
    pil_image = require("PIL.Image", extra="image", feature="slideshows")
    picture = _open_rgba(timed.image, pil_image, what="overlay")
    box = picture.getchannel("A").getbbox() or (0, 0, 2, 2)
    x0, y0 = box[0] // 2 * 2, box[1] // 2 * 2  # even offsets keep the 4:2:0 chroma aligned
    picture = picture.crop((x0, y0, box[2], box[3]))
    path = workdir / f"overlay{index}.png"
    picture.save(path, compress_level=1)
    return timed_overlay(index, path.name, start=timed.start, end=timed.end, x=timed.x + x0, y=timed.y + y0,
                         width=picture.width, animation=timed.animation, ramp=timed.ramp, fps=fps)  # fmt: skip


def _open_rgba(source: Image | Path, pil_image: Any, *, what: str) -> PIL.Image.Image:
    """A picture input as RGBA (transparency kept); an unreadable file is the request's error."""
    if isinstance(source, Image):
        converted: PIL.Image.Image = source.pil.convert("RGBA")
        return converted
    try:
        with pil_image.open(source) as opened:
            picture: PIL.Image.Image = opened.convert("RGBA")
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(f"{what} {source} is not a readable image: {exc}") from exc
    return picture
