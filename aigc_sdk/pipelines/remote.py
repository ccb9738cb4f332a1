"""News-clip jobs on a Ray cluster: each job's pipeline runs as a Ray task beside a replica.

``news_clip(config, studio=cluster_studio)`` (and so ``aigc serve --cluster``) calls
:func:`run_on_cluster`: the job becomes one Ray task asking for :data:`~aigc_sdk.runtime.cluster.JOB_CPUS`
CPUs, placed by Ray on a node with room. The task opens a Studio on the same replicas
(:meth:`~aigc_sdk.studio.Studio.handle`), so its CPU stages (cards, charts, the timeline,
publishing) run in the task's process and every model request (the script writer, the voice,
the music, the render) goes to a replica, preferably the one on the task's own node. The stage
cache and the outputs are files on the cluster's shared filesystem, exactly as a local run
writes them.

The task streams the pipeline's events back as it runs (a Ray generator); the caller's
``on_event`` sees them as from a local run, and its ``cancel`` stops the task at the next
checkpoint. A worker process or node that dies mid-job costs a bounded retry: the job runs
again on whichever node Ray picks and resumes from its stage cache, so finished stages are not
made again and the outputs are published once, atomically. Ray's own task retry is off (like
the replicas', the retry is ours), so a job never runs twice at once.

Example:
    >>> from aigc_sdk.pipelines.remote import runs_on_cluster
    >>> from aigc_sdk import Studio
    >>> runs_on_cluster(Studio(cluster="local"))
    False
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import AigcError, PipelineCancelledError, PipelineError, SchedulerError
from aigc_sdk.pipelines.base import PipelineEvent
from aigc_sdk.pipelines.news_clip import NewsClip, NewsClipConfig, news_clip
from aigc_sdk.runtime.cluster import JOB_CPUS, ClusterScheduler
from aigc_sdk.studio import Studio, StudioHandle

__all__ = ["JOB_RETRIES", "JobAttemptLost", "run_on_cluster", "runs_on_cluster"]

log = logging.getLogger(__name__)

#: Times a job runs again after the worker (or node) running it died.
JOB_RETRIES = 2
#: Seconds between two looks at the caller's ``cancel`` while the job's task runs.
_POLL_S = 0.2


class JobAttemptLost(SchedulerError):
    """The process (or node) running a job's task died; the job runs again from its stage cache if retries are left.

    Example:
        >>> JobAttemptLost("the worker died").retryable
        True
    """

    default_retryable = True
    default_hint = "run the job again: it resumes from its stage cache"


def runs_on_cluster(studio: Studio) -> bool:
    """Whether a job given ``studio`` runs as a Ray task: the Studio is on a cluster and owns its replicas.

    A Studio opened inside a job's task (attached to another Studio's replicas) runs its pipeline in place.

    Example:
        >>> runs_on_cluster(Studio(cluster="local"))
        False
    """
    scheduler = studio.scheduler
    return isinstance(scheduler, ClusterScheduler) and not scheduler.attached


def run_on_cluster(
    config: NewsClipConfig,
    *,
    studio: Studio,
    on_event: Callable[[PipelineEvent], None] | None = None,
    cancel: threading.Event | None = None,
    retries: int = JOB_RETRIES,
) -> NewsClip:
    """Make the clip in a Ray task on ``studio``'s cluster; the same outputs as :func:`news_clip` here.

    Paths are made absolute here and the stage cache defaults to this process's, so every node reads
    and writes the same files (they must be on a filesystem the nodes share).

    Raises:
        SchedulerError: ``studio`` is not on a cluster, or the nodes leave no CPUs for jobs.
        JobAttemptLost: The job's worker died more than ``retries`` times.
        PipelineCancelledError: ``cancel`` was set; finished stages stay cached.
        AigcError: What :func:`news_clip` raises, as itself.

    Example:
        >>> with Studio(cluster="auto") as studio:  # doctest: +SKIP
        ...     clip = run_on_cluster(NewsClipConfig(input="article.md", output="/shared/out/a.mp4"), studio=studio)
    """
    if not runs_on_cluster(studio):
        raise SchedulerError("run_on_cluster needs a Studio on a cluster", hint='use Studio(cluster="auto")')
    scheduler = studio.scheduler
    assert isinstance(scheduler, ClusterScheduler)
    if scheduler.job_cpus < JOB_CPUS:
        raise SchedulerError(
            f"the replicas leave {scheduler.job_cpus:g} CPUs per node for jobs; a job needs {JOB_CPUS:g}",
            hint="start the cluster's Studio with job_cpus >= 0.5 (docs/cluster.md)",
        )
    config = _shared(config)
    handle = studio.handle()
    cancel = cancel or threading.Event()
    lost: JobAttemptLost | None = None
    for attempt in range(retries + 1):
        if attempt:
            log.warning("job for %s: %s; resuming from its stage cache (attempt %d)", config.output, lost, attempt + 1)
        try:
            return _attempt(config, handle, on_event, cancel)
        except JobAttemptLost as exc:
            lost = exc
    assert lost is not None
    raise lost


def _shared(config: NewsClipConfig) -> NewsClipConfig:
    """The config with absolute paths and an explicit stage cache: a task on another node reads the same files."""
    cache = config.cache_dir or Settings.from_env().cache_dir / "pipelines"
    paths = {name: Path(os.path.abspath(value)) for name, value in config if isinstance(value, Path)}
    return config.model_copy(update={**paths, "cache_dir": Path(os.path.abspath(cache))})


def _attempt(
    config: NewsClipConfig,
    handle: StudioHandle,
    on_event: Callable[[PipelineEvent], None] | None,
    cancel: threading.Event,
) -> NewsClip:
    """One run of the job's task: relay its events, pass on a cancel, return its clip or raise its error."""
    import ray

    stream = _task().remote(config, handle)
    cancelled = False
    try:
        while True:
            if cancel.is_set() and not cancelled:
                ray.cancel(stream)  # the task sets its own cancel: the pipeline stops at its next checkpoint
                cancelled = True
            ready, _ = ray.wait([stream], timeout=_POLL_S)
            if not ready:
                continue
            kind, value = ray.get(next(stream))
            if kind == "event":
                if on_event is not None:
                    on_event(value)
            elif kind == "clip":
                return value  # type: ignore[no-any-return]
            else:
                raise value
    except StopIteration:  # the task ended without a clip (cancelled before it reported)
        raise PipelineCancelledError("the job was cancelled") from None
    except ray.exceptions.TaskCancelledError:
        raise PipelineCancelledError("the job was cancelled") from None
    except ray.exceptions.RayTaskError as exc:  # a bug in the task, not a typed error
        raise PipelineError(f"the job's task failed: {exc}") from exc
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.RayActorError) as exc:
        raise JobAttemptLost(f"the worker running the job died: {type(exc).__name__}") from exc
    except ray.exceptions.RayError as exc:  # an object or its owner lost with the node
        if cancelled:
            raise PipelineCancelledError("the job was cancelled") from exc
        raise JobAttemptLost(f"the job's task was lost: {type(exc).__name__}: {exc}") from exc


@functools.cache
def _task() -> Any:
    import ray

    return ray.remote(num_cpus=JOB_CPUS, max_retries=0)(_job).options(name="aigc-news-clip-job")


def _job(config: NewsClipConfig, handle: StudioHandle) -> Iterator[tuple[str, Any]]:
    """The task's body (a Ray generator): ``("event", e)`` per event, then ``("clip", clip)`` or ``("error", e)``.

    The pipeline runs on a thread of the task; Ray's cancel (a ``KeyboardInterrupt`` here) sets its
    cancel flag and the task waits for it to stop at its next checkpoint.
    """
    out: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            with handle.open() as studio:
                clip = news_clip(config, studio=studio, on_event=lambda e: out.put(("event", e)), cancel=stop)
            out.put(("clip", clip))
        except AigcError as exc:  # typed errors travel as values: the caller raises the very error
            out.put(("error", exc))
        except BaseException as exc:  # a bug: the caller gets it with its message
            out.put(("error", PipelineError(f"{type(exc).__name__}: {exc}")))

    worker = threading.Thread(target=run, name="aigc-job", daemon=True)
    worker.start()
    while True:
        try:
            kind, value = out.get()
        except KeyboardInterrupt:  # ray.cancel
            stop.set()
            worker.join()
            return
        yield kind, value
        if kind != "event":
            return
