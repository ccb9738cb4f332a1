"""Atomic file writes: a temp file in the target folder, fsync, then rename."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import MediaError


@functools.cache
def _file_mode() -> int:
    """The mode a new file gets (0o666 less the umask); read once, on the first write, not at import."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, replace: bool = False) -> Iterator[Path]:
    """Yield a fresh folder beside ``path``; on success it becomes ``path`` in one rename.

    When another thread or process made ``path`` first, theirs is kept and ours dropped;
    with ``replace=True`` an existing ``path`` is moved aside and removed instead.
    On any exception the folder is removed and ``path`` is left untouched.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "model"
        >>> with atomic_dir(d) as staging:
        ...     _ = (staging / "weights.bin").write_bytes(b"w")
        >>> sorted(p.name for p in d.iterdir())
        ['weights.bin']
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:24]}.", dir=target.parent))
    try:
        yield staging
        if replace and target.exists():
            old = target.with_name(f".{target.name[:24]}.old-{uuid.uuid4().hex}")
            os.rename(target, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not a finished twin from another writer: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temp file keeps the target's suffix (encoders pick the format from it).
    On any exception the temp file is removed and ``path`` is left untouched.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_path(d / "a.txt") as tmp:
        ...     _ = tmp.write_text("hi")
        >>> (d / "a.txt").read_text()
        'hi'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OSError(f"nothing was written to {target}")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes 0600 files; give the result the mode a plain open() would (or the replaced file's)
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else _file_mode())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    Example:
        >>> import tempfile, pathlib
        >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "b.bin", b"x")
        >>> p.read_bytes()
        b'x'
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as pretty UTF-8 JSON to ``path`` atomically.

    Example:
        >>> import tempfile, pathlib
        >>> p = atomic_write_json(pathlib.Path(tempfile.mkdtemp()) / "c.json", {"a": 1})
        >>> p.read_text().strip().startswith("{")
        True
    """
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Copy ``source`` to ``target`` through a temp file and a rename: ``target`` is never half-written.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "a.srt").write_text("1")
        >>> atomic_copy(d / "a.srt", d / "b.srt").read_text()
        '1'
    """
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return Path(target)


def render_target(output: Path | None) -> Path:
    """Where a renderer writes its MP4: ``output``, or a fresh name in the cache's ``renders`` folder; folder made.

    Raises:
        MediaError: The folder cannot be made, or is not writable.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> render_target(folder / "new" / "clip.mp4").parent.is_dir()
        True
    """
    target = (
        output.expanduser().absolute()
        if output is not None
        else (Settings.from_env().cache_dir / "renders" / f"{uuid.uuid4().hex}.mp4")
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot create the output folder {target.parent}: {exc}") from exc
    if not os.access(target.parent, os.W_OK):
        raise MediaError(f"the output folder {target.parent} is not writable")
    return target
