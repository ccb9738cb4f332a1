"""Progress displays for pipeline runs: a tqdm bar per stage (notebooks and terminals)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aigc_sdk._internal.optional import require
from aigc_sdk.pipelines.base import PipelineEvent

__all__ = ["tqdm_progress"]


def tqdm_progress(*, leave: bool = True) -> Callable[[PipelineEvent], None]:
    """An ``on_event`` callback drawing one tqdm bar per stage (``tqdm.auto``: widgets in Jupyter).

    Example:
        >>> from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
        >>> on_event = tqdm_progress()
        >>> on_event(PipelineEvent(step="script", status="done", fraction=1.0))
        >>> clip = news_clip(NewsClipConfig(input="a.md", output="a.mp4"), on_event=on_event)  # doctest: +SKIP
    """
    tqdm_auto: Any = require("tqdm.auto", extra="video", feature="notebook progress bars")
    bars: dict[str, Any] = {}
    lock = threading.Lock()

    def on_event(event: PipelineEvent) -> None:
        with lock:
            bar = bars.get(event.step)
            if bar is None:
                bar = bars[event.step] = tqdm_auto.tqdm(
                    total=100, desc=f"{event.step:<10}", leave=leave, bar_format="{desc} {bar} {postfix}"
                )
            bar.n = round(event.fraction * 100)
            bar.set_postfix_str(event.message or event.status, refresh=False)
            bar.refresh()
            if event.status in ("done", "cached", "failed"):
                bar.close()

    return on_event
