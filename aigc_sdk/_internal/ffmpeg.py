"""Locating ffmpeg: ``AIGC_FFMPEG``, then the binary shipped by imageio-ffmpeg, then ``PATH``."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from aigc_sdk._internal.optional import is_available
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import MediaError, MissingDependencyError

try:  # POSIX only: pipes are widened where it exists
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class FFmpegInfo:
    """Where ffmpeg is and which version it reports.

    Example:
        >>> FFmpegInfo(path="/usr/bin/ffmpeg", version="6.1", source="PATH").source
        'PATH'
    """

    path: str
    version: str
    source: str


def find_ffmpeg() -> FFmpegInfo | None:
    """Find an ffmpeg executable, or ``None`` when there is none.

    Example:
        >>> info = find_ffmpeg()
        >>> info is None or bool(info.path)
        True
    """
    explicit = Settings.from_env().ffmpeg
    if explicit:
        return _probe(explicit, "AIGC_FFMPEG")
    if is_available("imageio_ffmpeg"):
        import imageio_ffmpeg

        try:
            return _probe(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg")
        except RuntimeError:
            pass  # imageio-ffmpeg without a usable binary for this platform: fall back to PATH
    on_path = shutil.which("ffmpeg")
    return _probe(on_path, "PATH") if on_path else None


def require_ffmpeg() -> FFmpegInfo:
    """Return ffmpeg's location or raise :class:`MissingDependencyError`.

    Example:
        >>> try:
        ...     require_ffmpeg().path != ""
        ... except MissingDependencyError:
        ...     True
        True
    """
    info = find_ffmpeg()
    if info is None:
        raise MissingDependencyError(package="imageio_ffmpeg", extra="video", feature="ffmpeg")
    return info


def run_ffmpeg(command: list[str], *, failure: str, cwd: str | Path | None = None) -> None:
    """Run one ffmpeg command to its end; on a non-zero exit, :class:`MediaError` ``"{failure} (exit N)"``.

    The error's hint is the end of ffmpeg's log (its last 800 characters), which says what went wrong.

    Example:
        >>> run_ffmpeg([require_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i", "anullsrc", "-t", "0.1",
        ...             "-f", "null", "-"], failure="ffmpeg failed to make silence")
        >>> try:
        ...     run_ffmpeg([require_ffmpeg().path, "-i", "no-such-file.wav"], failure="ffmpeg failed to read")
        ... except MediaError as exc:
        ...     exc.message.startswith("ffmpeg failed to read (exit"), "no-such-file.wav" in (exc.hint or "")
        (True, True)
    """
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, errors="replace", check=False)
    if done.returncode != 0:
        raise MediaError(f"{failure} (exit {done.returncode})", hint=done.stderr.strip()[-800:] or None)


@functools.lru_cache(maxsize=8)
def _probe(path: str, source: str) -> FFmpegInfo:
    out = subprocess.run(
        [path, "-hide_banner", "-version"], capture_output=True, text=True, errors="replace", timeout=30, check=True
    )
    match = re.search(r"ffmpeg version (\S+)", out.stdout)
    return FFmpegInfo(path=path, version=match.group(1) if match else "unknown", source=source)


def relay_frames(
    source: list[str],
    sink: list[str],
    frame_bytes: int,
    hook: Callable[[int, npt.NDArray[np.uint8]], None],
    *,
    cwd: str | Path | None = None,
    window: tuple[int, int] | None = None,
) -> int:
    """Pipe raw frames from one ffmpeg command to another, calling ``hook(index, frame)`` on each.

    ``source`` writes raw frames of ``frame_bytes`` to stdout; ``sink`` reads them from
    stdin. The hook may change the frame in place. Both processes run concurrently;
    if either fails, the other is stopped and :class:`MediaError` carries its log.

    ``window=(offset, length)``: the hook sees and changes only those bytes of each frame
    (a watermark in one chroma plane). On Linux the rest of the frame then goes from one
    ffmpeg to the other inside the kernel (``splice``) without being copied through Python.

    Returns:
        The number of frames relayed.

    Example:
        >>> import numpy as np
        >>> ff = require_ffmpeg().path
        >>> src = [ff, "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=16x16:d=0.2:r=10",
        ...        "-f", "rawvideo", "-pix_fmt", "gray", "-"]
        >>> seen = []
        >>> relay_frames(src, [ff, "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "16x16",
        ...                     "-i", "-", "-f", "null", "-"], 256, lambda i, f: seen.append(int(f[0])))
        2
        >>> seen
        [76, 76]
    """
    start, length = window if window is not None else (0, frame_bytes)
    if start < 0 or length <= 0 or start + length > frame_bytes:
        raise ValueError(f"window {window} is not inside a frame of {frame_bytes} bytes")
    with tempfile.TemporaryFile() as source_log, tempfile.TemporaryFile() as sink_log:
        reader = subprocess.Popen(source, stdout=subprocess.PIPE, stderr=source_log, stdin=subprocess.DEVNULL, cwd=cwd)
        writer = subprocess.Popen(sink, stdin=subprocess.PIPE, stderr=sink_log, stdout=subprocess.DEVNULL, cwd=cwd)
        assert isinstance(reader.stdout, io.BufferedReader)
        assert writer.stdin is not None
        stdout, stdin = reader.stdout, writer.stdin
        spliced = window is not None and hasattr(os, "splice")
        stopped = False
        try:
            if spliced:
                count, stopped = _relay_spliced(stdout.fileno(), stdin.fileno(), frame_bytes, (start, length), hook)
            else:
                count, stopped = _relay_threaded(stdout, stdin, frame_bytes, (start, length), hook)
        except BaseException:
            reader.kill()
            writer.kill()
            raise
        finally:
            if stopped:  # the sink quit early: the source is not needed
                reader.kill()
            with contextlib.suppress(BrokenPipeError):
                stdin.close()
            stdout.close()
            sink_code, source_code = writer.wait(), reader.wait()
        for name, code, log in (("sink", sink_code, sink_log), ("source", source_code, source_log)):
            if code != 0 and not (name == "source" and stopped):
                log.seek(0)
                text = log.read().decode("utf-8", "replace").strip()[-800:]
                raise MediaError(f"ffmpeg ({name}) failed with exit {code}", hint=text or None)
    return count


def _relay_threaded(
    stdout: io.BufferedReader,
    stdin: IO[bytes],
    frame_bytes: int,
    window: tuple[int, int],
    hook: Callable[[int, npt.NDArray[np.uint8]], None],
) -> tuple[int, bool]:
    """Whole frames through Python: frames read, the hook and writes overlap in three threads.

    Pipe I/O and numpy release the GIL; a few frames wait between the threads so neither ffmpeg
    waits on the other. Returns the frames relayed and whether the relay stopped early.
    """
    import numpy as np

    start, length = window
    fresh: queue.Queue[bytearray | None] = queue.Queue(maxsize=_RELAY_DEPTH)
    done: queue.Queue[bytearray | None] = queue.Queue(maxsize=_RELAY_DEPTH)
    stop = threading.Event()
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_read_frames, args=(stdout, frame_bytes, fresh, stop, errors), daemon=True),
        threading.Thread(target=_write_frames, args=(stdin, done, stop, errors), daemon=True),
    ]
    for thread in threads:
        thread.start()
    count = 0
    try:
        while (buffer := _get(fresh, stop)) is not None:
            hook(count, np.frombuffer(buffer, dtype=np.uint8)[start : start + length])
            if not _put(done, buffer, stop):
                break
            count += 1
    except BaseException:
        stop.set()
        raise
    finally:
        _put(done, None, stop)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return count, stop.is_set()


def _relay_spliced(
    source: int,
    sink: int,
    frame_bytes: int,
    window: tuple[int, int],
    hook: Callable[[int, npt.NDArray[np.uint8]], None],
) -> tuple[int, bool]:
    """Each frame's window read, hooked and written back; the bytes around it spliced pipe to pipe.

    Both pipes are widened (``F_SETPIPE_SZ``) so each ffmpeg runs ahead while the hook works.
    Returns the frames relayed and whether the sink stopped early.
    """
    import numpy as np

    start, length = window
    tail = frame_bytes - start - length
    for fd in (source, sink):
        with contextlib.suppress(OSError):  # a smaller pipe is slower, not wrong
            fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    buffer = bytearray(length)
    view = np.frombuffer(buffer, dtype=np.uint8)
    count = 0
    try:
        while True:
            moved = _splice(source, sink, start)
            got = _read_into(source, buffer) if moved == start else 0
            if moved == 0 and got == 0:
                return count, False  # the source ended between two frames
            if moved < start or got < length:
                raise MediaError(f"ffmpeg gave a partial frame ({moved + got} of {frame_bytes} bytes)")
            hook(count, view)
            _write_all(sink, buffer)
            if _splice(source, sink, tail) < tail:
                raise MediaError(f"ffmpeg gave a partial frame ({frame_bytes - tail} of {frame_bytes} bytes)")
            count += 1
    except BrokenPipeError:
        return count, True  # the sink stopped early: its exit status and log say why


def _splice(source: int, sink: int, count: int) -> int:
    """Move ``count`` bytes from one pipe to another in the kernel; fewer only at the source's end."""
    return _until(count, lambda done: os.splice(source, sink, count - done))


def _read_into(fd: int, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``fd``; fewer bytes only at the end of the stream."""
    view = memoryview(buffer)
    return _until(len(buffer), lambda done: os.readv(fd, [view[done:]]))


def _until(count: int, step: Callable[[int], int]) -> int:
    """Call ``step(bytes done so far)`` until ``count`` bytes are done or it gives none (the end); the bytes done."""
    done = 0
    while done < count:
        more = step(done)
        if more == 0:
            break
        done += more
    return done


def _write_all(fd: int, buffer: bytearray) -> None:
    view, sent = memoryview(buffer), 0
    while sent < len(buffer):
        sent += os.write(fd, view[sent:])


#: Linux's fcntl command to resize a pipe, and the size asked for (the default limit for unprivileged users).
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031) if fcntl is not None else 1031
_PIPE_BYTES = 1 << 20


_RELAY_DEPTH = 8


def _read_frames(
    stdout: io.BufferedReader,
    frame_bytes: int,
    fresh: queue.Queue[bytearray | None],
    stop: threading.Event,
    errors: list[BaseException],
) -> None:
    """Thread: read whole frames from the source into ``fresh``; None at the end."""
    try:
        while not stop.is_set():
            buffer = bytearray(frame_bytes)
            got = _read_full(stdout, buffer)
            if got == 0:
                break
            if got < frame_bytes:
                raise MediaError(f"ffmpeg gave a partial frame ({got} of {frame_bytes} bytes)")
            if not _put(fresh, buffer, stop):
                break
    except BaseException as exc:
        errors.append(exc)
        stop.set()
    finally:
        _put(fresh, None, stop)


def _write_frames(
    stdin: IO[bytes], done: queue.Queue[bytearray | None], stop: threading.Event, errors: list[BaseException]
) -> None:
    """Thread: write the frames of ``done`` to the sink, then close its stdin."""
    try:
        while (buffer := _get(done, stop)) is not None:
            stdin.write(buffer)
    except BrokenPipeError:
        stop.set()  # the sink stopped early: its exit status and log say why
    except BaseException as exc:
        errors.append(exc)
        stop.set()
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()


def _read_full(stream: io.BufferedReader, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``stream``; fewer bytes only at the end of the stream."""
    view, got = memoryview(buffer), 0
    while got < len(buffer):
        more = stream.readinto(view[got:])
        if not more:
            break
        got += more
    return got


def _put(channel: queue.Queue[bytearray | None], item: bytearray | None, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; whether it was put."""
    while True:
        try:
            channel.put(item, timeout=0.1)
            return True
        except queue.Full:
            if stop.is_set():
                return False


def _get(channel: queue.Queue[bytearray | None], stop: threading.Event) -> bytearray | None:
    """The next item, or None at the end or once ``stop`` is set and nothing is waiting."""
    while True:
        try:
            return channel.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return None
