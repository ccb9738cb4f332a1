"""The frame-marking worker: ``python -m aigc_sdk.trust._marking`` relays and marks one stream of raw frames.

:func:`aigc_sdk.trust.watermark.mark_frames` starts it and writes the job to its stdin as JSON: the two
ffmpeg commands, their working folder, the frame size, which frames to mark (``null``: all) and the
parent's pid. It answers on stdout with ``{"frames": n}``, or ``{"error": ..., "hint": ...}`` and exit 1
when ffmpeg failed. It runs in an interpreter of its own so that marking never waits for the parent's
GIL; it dies with the thread that started it (Linux), so a killed server leaves no render running.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.ffmpeg import relay_frames
from aigc_sdk.errors import MediaError
from aigc_sdk.trust._scheme import FrameMarker

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the thread that started it ends; exit if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request above took effect
        sys.exit(1)


def run(job: dict[str, Any]) -> int:
    """Relay and mark the job's frames; the number of frames relayed."""
    marker = FrameMarker(job["width"], job["height"])
    marks: list[bool] | None = job["marks"]

    def mark(index: int, cb: npt.NDArray[np.uint8]) -> None:
        if marks is None or (index < len(marks) and marks[index]):
            marker.mark_window(cb)

    return relay_frames(job["source"], job["sink"], marker.frame_bytes, mark, cwd=job["cwd"], window=marker.window)


def main() -> int:
    job = json.load(sys.stdin)
    _die_with_parent(job["parent"])
    try:
        count = run(job)
    except MediaError as exc:
        json.dump({"error": exc.message, "hint": exc.hint}, sys.stdout)
        return 1
    json.dump({"frames": count}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
