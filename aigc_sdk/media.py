"""Media values: :class:`Image`, :class:`Audio` and :class:`Video`.

Values stay values: each saves atomically (temp file + rename) and writes its
provenance into the file's metadata where the format allows (PNG text chunk,
JPEG comment, WAV/FLAC/OGG/MP3 comment, MP4 comment tag), loads back with that
provenance (from the tag, else from a ``<file>.provenance.json`` sidecar), and
shows itself in a notebook. Publishing (the sidecar, privacy redaction and
signed C2PA content credentials) is :func:`aigc_sdk.trust.publish`'s job, which
results' ``save`` call; this module never imports ``aigc_sdk.trust``.
"""

from __future__ import annotations

import base64
import html
import io
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk._internal.files import atomic_path, atomic_write_json
from aigc_sdk._internal.hashing import sha256_file
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.probe import probe_media
from aigc_sdk.errors import InvalidRequestError, MediaError, map_errors
from aigc_sdk.provenance import METADATA_KEY, Provenance

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["Audio", "Image", "Video", "VideoInfo", "read_sidecar", "sidecar_path", "write_sidecar"]

IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}
VIDEO_FORMATS = (".mp4", ".mov", ".mkv", ".webm")
_INLINE_VIDEO_LIMIT = 20 * 1024 * 1024


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar that holds a file's provenance.

    Example:
        >>> sidecar_path("out/clip.mp4").name
        'clip.mp4.provenance.json'
    """
    p = Path(path)
    return p.with_name(p.name + ".provenance.json")


def _check_suffix(path: Path, allowed: Any, kind: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InvalidRequestError(
            f"cannot save {kind} as {suffix or 'a file without suffix'!r}",
            hint=f"use one of {', '.join(sorted(allowed))}",
        )
    return suffix


def write_sidecar(path: str | Path, provenance: Provenance | None) -> None:
    """Write ``provenance`` to ``path``'s ``.provenance.json`` sidecar, atomically (nothing when it is None).

    Example:
        >>> import tempfile, pathlib
        >>> clip = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
        >>> write_sidecar(clip, Provenance(model_id="m", task="t", backend="b"))
        >>> read_sidecar(clip).model_id
        'm'
    """
    if provenance is not None:
        atomic_write_json(sidecar_path(path), provenance.to_dict())


def read_sidecar(path: str | Path) -> Provenance | None:
    """The provenance in ``path``'s ``.provenance.json`` sidecar, or None when it has none.

    Example:
        >>> read_sidecar("no/such/file.png") is None
        True
    """
    side = sidecar_path(path)
    if not side.exists():
        return None
    with map_errors(f"unreadable provenance sidecar {side}", to=MediaError):
        return Provenance.from_json(side.read_bytes())


def _parse_embedded(text: str | None) -> Provenance | None:
    if not text:
        return None
    try:
        return Provenance.from_json(text)
    except ValueError:
        return None  # a comment written by another tool, not our provenance


class Image:
    """A generated or loaded image (wraps a ``PIL.Image.Image``).

    Args:
        pil: The Pillow image.
        provenance: How it was made, if known.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> img = Image.from_array(np.zeros((8, 16, 3), dtype=np.uint8))
        >>> img.size
        (16, 8)
        >>> path = img.save(pathlib.Path(tempfile.mkdtemp()) / "black.png")
        >>> Image.load(path).size
        (16, 8)
    """

    def __init__(self, pil: PIL.Image.Image, provenance: Provenance | None = None) -> None:
        self.pil = pil
        self.provenance = provenance

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels.

        Example:
            >>> import numpy as np
            >>> Image.from_array(np.zeros((2, 3, 3), dtype=np.uint8)).size
            (3, 2)
        """
        w, h = self.pil.size
        return (w, h)

    @classmethod
    def from_array(cls, array: npt.ArrayLike, provenance: Provenance | None = None) -> Image:
        """Build from an ``HxW``, ``HxWx3`` or ``HxWx4`` array (uint8, or floats in [0, 1]).

        Example:
            >>> import numpy as np
            >>> Image.from_array(np.ones((4, 4, 3))).to_array().max()
            np.uint8(255)
        """
        pil_image = require("PIL.Image", extra="image", feature="images")
        arr = np.asarray(array)
        if arr.dtype != np.uint8:
            if not np.isfinite(arr).all():
                raise InvalidRequestError("image array contains NaN or infinity")
            arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise InvalidRequestError(f"image array must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        return cls(pil_image.fromarray(arr), provenance)

    def to_array(self) -> npt.NDArray[np.uint8]:
        """Pixels as a uint8 array (``HxWxC``).

        Example:
            >>> import numpy as np
            >>> Image.from_array(np.zeros((2, 2, 3), dtype=np.uint8)).to_array().shape
            (2, 2, 3)
        """
        return np.asarray(self.pil, dtype=np.uint8)

    def save(self, path: str | Path, *, provenance: Provenance | None = None) -> Path:
        """Save atomically as PNG/JPEG/WebP, with provenance in the PNG text chunk or JPEG comment.

        Only the file is written (WebP carries no provenance of its own). To publish it with a
        ``.provenance.json`` sidecar and signed content credentials, use :func:`aigc_sdk.trust.publish`.

        Args:
            path: Where to write; the suffix picks the format.
            provenance: What to record in the file; None: the image's own.

        Example:
            >>> import numpy as np, tempfile, pathlib
            >>> p = Image.from_array(np.zeros((4, 4, 3), dtype=np.uint8)).save(
            ...     pathlib.Path(tempfile.mkdtemp()) / "x.jpg")
            >>> p.suffix, sidecar_path(p).exists()
            ('.jpg', False)
        """
        target = Path(path)
        fmt = IMAGE_FORMATS[_check_suffix(target, IMAGE_FORMATS, "an image")]
        prov = provenance or self.provenance
        image = self.pil
        kwargs: dict[str, Any] = {}
        if fmt == "PNG":
            png_plugin = require("PIL.PngImagePlugin", extra="image", feature="PNG metadata")
            info = png_plugin.PngInfo()
            if prov is not None:
                info.add_itxt(METADATA_KEY, prov.to_json())
            kwargs["pnginfo"] = info
        else:
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            kwargs["quality"] = 92
            if prov is not None and fmt == "JPEG":
                kwargs["comment"] = prov.to_json().encode("utf-8")
        with map_errors(f"could not save image to {target}", to=MediaError), atomic_path(target) as tmp:
            image.save(tmp, format=fmt, **kwargs)
        return target

    @classmethod
    def load(cls, path: str | Path) -> Image:
        """Load an image and the provenance stored in it (or in its sidecar).

        Example:
            >>> import numpy as np, tempfile, pathlib
            >>> from aigc_sdk.provenance import Provenance
            >>> prov = Provenance(model_id="m", task="text-to-image", backend="b")
            >>> p = Image.from_array(np.zeros((4, 4, 3), dtype=np.uint8), prov).save(
            ...     pathlib.Path(tempfile.mkdtemp()) / "x.png")
            >>> Image.load(p).provenance.model_id
            'm'
        """
        pil_image = require("PIL.Image", extra="image", feature="images")
        source = Path(path)
        with map_errors(f"could not read image {source}", to=MediaError), pil_image.open(source) as opened:
            opened.load()
            pil = opened.copy()
            embedded = opened.info.get(METADATA_KEY) or opened.info.get("comment")
        if isinstance(embedded, bytes):
            embedded = embedded.decode("utf-8", "replace")
        prov = _parse_embedded(embedded if isinstance(embedded, str) else None) or read_sidecar(source)
        return cls(pil, prov)

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.pil.save(buf, format="PNG")
        return buf.getvalue()

    def _repr_html_(self) -> str:
        data = base64.b64encode(self._repr_png_()).decode("ascii")
        w, h = self.size
        return f'<img src="data:image/png;base64,{data}" width="{w}" height="{h}" alt="generated image"/>'

    def __repr__(self) -> str:
        w, h = self.size
        return f"Image({w}x{h}, mode={self.pil.mode!r})"


class Audio:
    """Audio samples (float32, ``(frames,)`` mono or ``(frames, channels)``) and a sample rate.

    Args:
        samples: The samples; converted to float32.
        sample_rate: Samples per second.
        provenance: How it was made, if known.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> tone = Audio(np.sin(np.linspace(0, 440 * 2 * np.pi, 22050)), 22050)
        >>> round(tone.duration, 2)
        1.0
        >>> back = Audio.load(tone.save(pathlib.Path(tempfile.mkdtemp()) / "tone.flac"))
        >>> back.sample_rate, back.samples.shape
        (22050, (22050,))
    """

    def __init__(self, samples: npt.ArrayLike, sample_rate: int, provenance: Provenance | None = None) -> None:
        arr = np.asarray(samples, dtype=np.float32)
        if arr.ndim not in (1, 2):
            raise InvalidRequestError(f"audio samples must be 1-D or 2-D (frames, channels), got {arr.shape}")
        if sample_rate <= 0:
            raise InvalidRequestError(f"sample_rate must be positive, got {sample_rate}")
        if not np.isfinite(arr).all():
            raise InvalidRequestError("audio samples contain NaN or infinity")
        self.samples = arr
        self.sample_rate = int(sample_rate)
        self.provenance = provenance

    @property
    def duration(self) -> float:
        """Length in seconds.

        Example:
            >>> Audio([0.0] * 8000, 16000).duration
            0.5
        """
        return float(self.samples.shape[0]) / self.sample_rate

    @property
    def channels(self) -> int:
        """Number of channels.

        Example:
            >>> Audio([[0.0, 0.0]], 8000).channels
            2
        """
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[1])

    def save(self, path: str | Path, *, provenance: Provenance | None = None) -> Path:
        """Save atomically as WAV/FLAC/OGG/MP3, with provenance in the comment tag.

        Only the file is written; :func:`aigc_sdk.trust.publish` adds the sidecar and content credentials.

        Args:
            path: Where to write; the suffix picks the format.
            provenance: What to record in the file; None: the audio's own.

        Example:
            >>> import tempfile, pathlib
            >>> Audio([0.0, 0.1], 8000).save(pathlib.Path(tempfile.mkdtemp()) / "a.wav").suffix
            '.wav'
        """
        sf = require("soundfile", extra="audio", feature="audio files")
        target = Path(path)
        fmt = AUDIO_FORMATS[_check_suffix(target, AUDIO_FORMATS, "audio")]
        prov = provenance or self.provenance
        subtype = "PCM_16" if fmt == "WAV" else None
        with (
            map_errors(f"could not save audio to {target}", to=MediaError),
            atomic_path(target) as tmp,
            sf.SoundFile(
                tmp, "w", samplerate=self.sample_rate, channels=self.channels, format=fmt, subtype=subtype
            ) as fh,
        ):
            if prov is not None:
                fh.comment = prov.to_json()
                fh.software = "aigc_sdk"
            fh.write(np.clip(self.samples, -1.0, 1.0))
        return target

    @classmethod
    def load(cls, path: str | Path) -> Audio:
        """Load a WAV/FLAC/OGG/MP3 file as float32 with its provenance.

        Example:
            >>> import tempfile, pathlib
            >>> p = Audio([0.0, 0.5], 8000).save(pathlib.Path(tempfile.mkdtemp()) / "a.wav")
            >>> Audio.load(p).sample_rate
            8000
        """
        sf = require("soundfile", extra="audio", feature="audio files")
        source = Path(path)
        with map_errors(f"could not read audio {source}", to=MediaError), sf.SoundFile(source) as fh:
            samples = fh.read(dtype="float32", always_2d=False)
            rate = fh.samplerate
            comment = fh.comment
        prov = _parse_embedded(comment) or read_sidecar(source)
        return cls(samples, rate, prov)

    def to_wav_bytes(self) -> bytes:
        """The audio as 16-bit WAV bytes (for players and uploads).

        Example:
            >>> Audio([0.0] * 10, 8000).to_wav_bytes()[:4]
            b'RIFF'
        """
        sf = require("soundfile", extra="audio", feature="audio files")
        buf = io.BytesIO()
        sf.write(buf, np.clip(self.samples, -1.0, 1.0), self.sample_rate, format="WAV", subtype="PCM_16")
        return buf.getvalue()

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.to_wav_bytes()).decode("ascii")
        return f'<audio controls src="data:audio/wav;base64,{data}"></audio>'

    def __repr__(self) -> str:
        return f"Audio({self.duration:.2f} s, {self.sample_rate} Hz, {self.channels} ch)"


@dataclass(frozen=True)
class VideoInfo:
    """What a video file's container says (probed with PyAV): length, size, rate, audio, metadata tags.

    Example:
        >>> VideoInfo(duration=2.0, fps=25.0, width=640, height=360, has_audio=True).width
        640
    """

    duration: float
    fps: float
    width: int
    height: int
    has_audio: bool
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)


class Video:
    """A video file on disk with its probed :class:`VideoInfo`.

    Args:
        path: The file.
        provenance: How it was made, if known.

    Example:
        >>> clip = Video.load("out/clip.mp4")  # doctest: +SKIP
        >>> clip.info.width, clip.info.fps, clip.provenance.model_id  # doctest: +SKIP
        (1280, 25.0, 'news-clip')
    """

    def __init__(self, path: str | Path, provenance: Provenance | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise MediaError(f"no video file at {self.path}")
        self.provenance = provenance
        self.info, embedded = _probe_video(self.path)
        if self.provenance is None:
            self.provenance = _parse_embedded(embedded) or read_sidecar(self.path)

    @classmethod
    def load(cls, path: str | Path) -> Video:
        """Open a video file and read its provenance (MP4 tag or sidecar).

        Example:
            >>> try:
            ...     Video.load("missing.mp4")
            ... except MediaError:
            ...     "missing"
            'missing'
        """
        return cls(path)

    def save(self, path: str | Path, *, provenance: Provenance | None = None) -> Path:
        """Copy to ``path`` atomically (no re-encode), with provenance in the comment tag.

        Only the file is written; :func:`aigc_sdk.trust.publish` adds the sidecar and content credentials.

        Args:
            path: Where to write (MP4, MOV, MKV or WebM).
            provenance: What to record in the file; None: the video's own.

        Example:
            >>> Video.load("render.mp4").save("final.mp4", provenance=prov)  # doctest: +SKIP
            PosixPath('final.mp4')
        """
        target = Path(path)
        suffix = _check_suffix(target, VIDEO_FORMATS, "a video")
        prov = provenance or self.provenance
        ffmpeg = require_ffmpeg()
        cmd = [ffmpeg.path, "-hide_banner", "-loglevel", "error", "-y", "-i", str(self.path), "-map", "0", "-c", "copy"]
        if prov is not None:
            cmd += ["-metadata", f"comment={prov.to_json()}"]
        if suffix in (".mp4", ".mov"):
            cmd += ["-movflags", "+faststart"]
            if _has_chapters(self.path):  # their text track is a data stream: the muxer writes it again from them
                cmd += ["-map", "-0:d"]
        with atomic_path(target) as tmp:
            done = subprocess.run([*cmd, str(tmp)], capture_output=True, text=True, errors="replace", timeout=600)
            if done.returncode != 0:
                raise MediaError(f"ffmpeg could not write {target}: {done.stderr.strip()[-500:]}")
        return target

    @property
    def sha256(self) -> str:
        """sha256 of the file's bytes.

        Example:
            >>> len(Video.load("clip.mp4").sha256)  # doctest: +SKIP
            64
        """
        return sha256_file(self.path)

    def _repr_html_(self) -> str:
        if self.path.stat().st_size <= _INLINE_VIDEO_LIMIT:
            data = base64.b64encode(self.path.read_bytes()).decode("ascii")
            src = f"data:video/mp4;base64,{data}"
        else:
            src = html.escape(str(self.path))
        return f'<video controls width="{min(self.info.width, 720)}" src="{src}"></video>'

    def __repr__(self) -> str:
        i = self.info
        return f"Video({self.path.name!r}, {i.width}x{i.height}, {i.fps:g} fps, {i.duration:.2f} s)"


def _has_chapters(path: Path) -> bool:
    av: Any = require("av", extra="video", feature="video chapters")
    with map_errors(f"could not read {path}", to=MediaError), av.open(str(path)) as container:
        return bool(container.chapters())


def _probe_video(path: Path) -> tuple[VideoInfo, str | None]:
    probe = probe_media(path, need="video")
    info = VideoInfo(
        duration=probe.duration,
        fps=probe.fps,
        width=probe.width,
        height=probe.height,
        has_audio=probe.has_audio,
        tags=probe.tags,
    )
    return info, probe.tags.get("comment")
