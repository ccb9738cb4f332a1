"""Worker threads: take queued jobs from the store and run ``news_clip`` on one shared Studio.

Each job's article and outputs live under ``DATA/jobs/<id>/``; every job shares the stage
cache under ``DATA/cache``, so a job re-queued after a crash resumes from its finished
stages. A job's file names are recorded only once ``news_clip`` has published them
(atomically), so no half-written file is ever listed or served. A worker records and
moves its job only under its own claim (the job's ``attempt``), so a worker whose job
went back to the queue stops and never completes it: a job runs to completion once.

Example:
    >>> import tempfile, pathlib
    >>> from aigc_sdk.server.store import JobStore
    >>> data = pathlib.Path(tempfile.mkdtemp())
    >>> runner = JobRunner(data, JobStore(data / "jobs.sqlite"), concurrency=0)
    >>> runner.start(); runner.stop()
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aigc_sdk._internal.files import atomic_write_bytes
from aigc_sdk.errors import AigcError, InvalidRequestError, PipelineCancelledError
from aigc_sdk.generators.text.template import feed_templates
from aigc_sdk.pipelines import PipelineEvent
from aigc_sdk.pipelines.news_clip import ARTICLE_SUFFIXES, SYNDICATION_SUFFIXES, NewsClipConfig, news_clip
from aigc_sdk.server.store import Job, JobError, JobStateError, JobStatus, JobStore, StageProgress
from aigc_sdk.studio import Studio

__all__ = ["DEFAULT_ROUNDUP", "JobRunner", "clip_config", "upload_suffixes"]

log = logging.getLogger(__name__)

#: Items in the round-up clip of an RSS/Atom upload when the request names no ``roundup``.
DEFAULT_ROUNDUP = 5


@functools.cache
def upload_suffixes() -> tuple[str, ...]:
    """The file suffixes a clip can be made from.

    Articles, data feeds (``.json`` and the suffixes the story templates declare) and RSS/Atom feeds (a round-up).

    Example:
        >>> [s for s in (".md", ".geojson", ".csv", ".rss", ".exe") if s in upload_suffixes()]
        ['.md', '.geojson', '.csv', '.rss']
    """
    feeds = tuple(suffix for suffix in feed_templates() if suffix != ".json")
    return (*ARTICLE_SUFFIXES, ".json", *feeds, *SYNDICATION_SUFFIXES)


def _stored_input(name: object) -> bool:
    """Whether a job's ``input`` option is an upload's generated name: ``input`` and an allowed extension."""
    return isinstance(name, str) and name.startswith("input.") and name[len("input") :] in upload_suffixes()


def clip_config(
    folder: Path, options: Mapping[str, Any], cache_dir: Path, *, brand: Path | None = None
) -> NewsClipConfig:
    """The checked config of a job's clip, with its output ``clip.mp4`` in the job's folder.

    Its input is the uploaded ``input<ext>``, or the JSON request's article written as ``article.md``;
    ``brand`` is the server's brand kit (``aigc serve --brand``), the same for every job.

    An RSS/Atom upload makes one round-up clip of its newest ``roundup`` items (the round-up's article is written
    under ``folder/.aigc-feed/``). The app calls this before it queues a job, so bad options fail the request, not
    the job.

    Raises:
        InvalidRequestError: An option that does not apply to the input (``template`` for an article, ``roundup``
            for anything but an RSS/Atom feed), a feed with nothing to tell, a stored name not ours.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> config = clip_config(folder, {"article": "A park opened.", "aspect": "1:1"}, folder / "cache")
        >>> config.input.name, config.output.name, config.aspect
        ('article.md', 'clip.mp4', '1:1')
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = options.get("input")
    if name is None:
        source = folder / "article.md"
        if not source.exists():
            atomic_write_bytes(source, str(options.get("article", "")).encode())
    elif _stored_input(name):
        source = folder / str(name)
    else:
        raise InvalidRequestError(f"a job's input must be a stored upload, not {name!r}")
    settings: dict[str, Any] = {
        "cache_dir": cache_dir,
        "language": options.get("language"),
        "voice": options.get("voice"),
        "aspect": options.get("aspect", "16:9"),
        "target_seconds": options.get("duration", 60.0),
        "music": options.get("music", True),
        "seed": options.get("seed", 0),
        "subtitles": options.get("subtitles", True),
        "template": options.get("template"),
        "captions": options.get("captions"),
        "brand": brand,
    }
    if source.suffix in SYNDICATION_SUFFIXES:
        from aigc_sdk.pipelines.feeds import plan_feed_clips

        plan = plan_feed_clips(source, folder, roundup=options.get("roundup") or DEFAULT_ROUNDUP, **settings)
        if not plan.jobs:
            raise InvalidRequestError(f"the feed has no item to tell: {plan.left_out}", hint="send a feed with items")
        return plan.jobs[0].config.model_copy(update={"output": folder / "clip.mp4"})
    if options.get("roundup") is not None:
        raise InvalidRequestError("roundup applies only to an RSS/Atom feed", hint="leave it out for this file")
    return NewsClipConfig(input=source, output=folder / "clip.mp4", **settings)


class JobRunner:
    """``concurrency`` worker threads over one job store and one Studio.

    Args:
        data_dir: The server's data folder (jobs under ``jobs/``, the stage cache under ``cache/``).
        store: The job store.
        studio: The Studio every job shares; None: one is made on the first job and closed by :meth:`stop`.
        concurrency: Worker threads (0: jobs are queued but none runs, e.g. a read-only replica or a test).
        brand: The brand kit file every job's clip wears (None: the built-in theme).

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.server.store import JobStore
        >>> data = pathlib.Path(tempfile.mkdtemp())
        >>> JobRunner(data, JobStore(data / "j.sqlite"), concurrency=0).job_dir("abc").name
        'abc'
    """

    def __init__(
        self,
        data_dir: Path,
        store: JobStore,
        *,
        studio: Studio | None = None,
        concurrency: int = 1,
        brand: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.brand = brand
        self.store = store
        self.concurrency = concurrency
        self._studio = studio
        self._own_studio = studio is None
        self._lock = threading.Lock()
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._cancels: dict[str, threading.Event] = {}
        self._claims: dict[str, int] = {}  # running job → the attempt this runner claimed it at
        self._threads: list[threading.Thread] = []

    @property
    def studio(self) -> Studio:
        """The shared Studio, made on first use.

        Example:
            >>> import tempfile, pathlib
            >>> from aigc_sdk.server.store import JobStore
            >>> data = pathlib.Path(tempfile.mkdtemp())
            >>> runner = JobRunner(data, JobStore(data / "j.sqlite"), concurrency=0)
            >>> runner.studio is runner.studio
            True
            >>> runner.stop()
        """
        with self._lock:
            if self._studio is None:
                self._studio = Studio()
            return self._studio

    @property
    def started_studio(self) -> Studio | None:
        """The shared Studio if one is made (given, or made by a job); None before: reading it makes none.

        Example:
            >>> import tempfile, pathlib
            >>> from aigc_sdk.server.store import JobStore
            >>> data = pathlib.Path(tempfile.mkdtemp())
            >>> JobRunner(data, JobStore(data / "j.sqlite"), concurrency=0).started_studio is None
            True
        """
        with self._lock:
            return self._studio

    def job_dir(self, job_id: str) -> Path:
        """The folder of a job's article and files.

        Example:
            >>> import tempfile, pathlib
            >>> from aigc_sdk.server.store import JobStore
            >>> data = pathlib.Path(tempfile.mkdtemp())
            >>> runner = JobRunner(data, JobStore(data / "j.sqlite"), concurrency=0)
            >>> runner.job_dir("abc").relative_to(data).as_posix()
            'jobs/abc'
            >>> runner.stop()
        """
        return self.data_dir / "jobs" / job_id

    @property
    def alive(self) -> bool:
        """Whether every worker thread runs (and the runner is not stopping).

        Example:
            >>> import tempfile, pathlib
            >>> from aigc_sdk.server.store import JobStore
            >>> data = pathlib.Path(tempfile.mkdtemp())
            >>> JobRunner(data, JobStore(data / "j.sqlite"), concurrency=0).alive
            True
        """
        return not self._stopping.is_set() and all(thread.is_alive() for thread in self._threads)

    def start(self) -> None:
        """Re-queue the jobs a killed server left running, then start the workers.

        Example:
            >>> JobRunner.start.__name__
            'start'
        """
        self._stopping.clear()  # a runner stopped before may start again (an app's lifespan started anew)
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        requeued = self.store.requeue_running()
        if requeued:
            log.info("re-queued %d job(s) left running", requeued)
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._loop, name=f"aigc-serve-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers within ``timeout`` seconds in all: running jobs are cancelled at their next checkpoint.

        A cancelled job goes back to the queue (one whose last stage finishes first goes to review). A job
        still running at the deadline is re-queued here; its worker can then neither record nor complete it.
        So no job is left ``running``, and the next start resumes it from its finished stages.

        Example:
            >>> JobRunner.stop.__name__
            'stop'
        """
        self._stopping.set()
        with self._lock:
            for event in self._cancels.values():
                event.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            stuck = dict(self._claims)
        for job_id, attempt in stuck.items():
            with contextlib.suppress(JobStateError):  # it finished or moved on in the meantime
                self.store.transition(job_id, "queued", allowed=["running"], claim=attempt)
                log.warning("job %s still ran after %.0f s: re-queued", job_id, timeout)
        busy = any(thread.is_alive() for thread in self._threads)
        with self._lock:
            if self._own_studio and self._studio is not None and not busy:  # close() would wait for the stuck
                self._studio.close()
                self._studio = None

    def wake(self) -> None:
        """Tell idle workers that a job was queued.

        Example:
            >>> JobRunner.wake.__name__
            'wake'
        """
        with self._wake:
            self._wake.notify_all()

    def cancel(self, job_id: str) -> bool:
        """Ask the worker running this job to stop it; False when no worker runs it.

        Example:
            >>> JobRunner.cancel.__name__
            'cancel'
        """
        with self._lock:
            event = self._cancels.get(job_id)
        if event is None:
            return False
        event.set()
        return True

    def _loop(self) -> None:
        while not self._stopping.is_set():
            job = self.store.claim_next()
            if job is None:
                with self._wake:
                    self._wake.wait(0.5)
                continue
            try:
                self._run(job)
            except Exception:  # the store itself failed: keep the worker alive, the job stays as it is
                log.exception("job %s: unexpected failure", job.id)

    def _run(self, job: Job) -> None:
        cancel = threading.Event()
        with self._lock:
            self._cancels[job.id], self._claims[job.id] = cancel, job.attempt
        if self._stopping.is_set():
            cancel.set()

        def on_event(event: PipelineEvent) -> None:
            progress = StageProgress(
                status=event.status, fraction=event.fraction, message=event.message, seconds=event.seconds
            )
            if not self.store.record(job.id, event.step, progress, claim=job.attempt):
                cancel.set()  # the job went back to the queue (or to another worker): stop at the next checkpoint

        try:
            config = clip_config(self.job_dir(job.id), job.options, self.data_dir / "cache", brand=self.brand)
            clip = news_clip(config, studio=self.studio, on_event=on_event, cancel=cancel)
            files = [path.name for path in clip.files if path.is_file()]
        except PipelineCancelledError as error:
            if self._stopping.is_set():  # a shutdown, not the client: run it again on the next start
                self._move(job, "queued")
            else:
                self._move(job, "cancelled", error=_error(error))
            return
        except AigcError as error:
            self._move(job, "failed", error=_error(error))
            return
        except Exception as error:  # a bug, not bad input: recorded without a traceback, logged with one
            log.exception("job %s failed", job.id)
            failure = JobError(code="InternalError", message=f"{type(error).__name__}: {error}", hint="see the log")
            self._move(job, "failed", error=failure)
            return
        finally:
            with self._lock:
                self._cancels.pop(job.id, None)
                self._claims.pop(job.id, None)
        self._move(job, "review", files=files)

    def _move(self, job: Job, to: JobStatus, **fields: Any) -> None:
        """Move this worker's job on, only while it still holds the claim it ran under."""
        try:
            self.store.transition(job.id, to, allowed=["running"], claim=job.attempt, **fields)
        except JobStateError as error:  # re-queued by a stop that timed out, or claimed again: not ours now
            log.warning("job %s (attempt %d) not moved to %s: %s", job.id, job.attempt, to, error.message)


def _error(error: AigcError) -> JobError:
    return JobError(code=type(error).__name__, message=error.message, hint=error.hint)
