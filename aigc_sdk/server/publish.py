"""Publishing on approval: the job's files copied to an outbox folder, and a JSON notice POSTed to webhooks.

Approval records what is to be published in the job store, in the same transaction that
approves (:meth:`~aigc_sdk.server.store.JobStore.approve`); a :class:`Publisher` thread then
does it, durably:

1. **Outbox**: the job's files are copied into a hidden staging folder in the outbox and
   renamed to ``OUTBOX/<job id>/`` in one step, so a partly published folder never appears.
   A folder already there (the server was killed after the rename) is kept: a job is
   published once, never twice.
2. **Notice**: job id, approval time, each file's name, size and sha256, and a summary of the
   clip's manifest; recorded in the store, so every retry (and a restart) sends the same one.
3. **Webhooks**: the notice is POSTed to each configured URL, retried with exponential back-off
   (``backoff``, ``2 × backoff``, ``4 × backoff`` … seconds) up to ``attempts`` times. Every attempt is
   recorded; pending ones resume after a restart. Deliveries go only to URLs the server was
   started with (a delivery recorded for a URL no longer configured is dropped as failed), never
   follow redirects, and carry ``Idempotency-Key: <job id>`` so a receiver can drop the rare
   repeat (a server killed between a webhook's 2xx and its record sends it again).

Example:
    >>> import tempfile, pathlib
    >>> from aigc_sdk.server.store import JobStore
    >>> data = pathlib.Path(tempfile.mkdtemp())
    >>> publisher = Publisher(JobStore(data / "j.sqlite"), data / "jobs", outbox=data / "outbox")
    >>> publisher.start(); publisher.stop()
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aigc_sdk._internal.files import atomic_dir
from aigc_sdk._internal.hashing import sha256_file
from aigc_sdk._version import __version__
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.server.store import JobStore

__all__ = ["Publisher", "check_webhook", "manifest_summary"]

log = logging.getLogger(__name__)

#: A staging folder of :func:`~aigc_sdk._internal.files.atomic_dir` for a job id (``.<first 24 of the id>.<random>``).
_STAGING = re.compile(r"^\.[0-9a-f]{24}\.[A-Za-z0-9_]+$")
#: Manifest keys a notice repeats (the whole manifest is one of the files).
_SUMMARY_KEYS = ("name", "sdk_version", "credentials", "licenses", "license_warnings")


def check_webhook(url: str) -> str:
    """Check a webhook URL given to the server: ``http`` or ``https`` with a host; returns it.

    Raises:
        InvalidRequestError: Another scheme, or no host.

    Example:
        >>> check_webhook("https://desk.example/hooks/aigc")
        'https://desk.example/hooks/aigc'
        >>> check_webhook("file:///etc/passwd")
        Traceback (most recent call last):
        aigc_sdk.errors.InvalidRequestError: webhook 'file:///etc/passwd' is not an http(s) URL (hint: ...)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(f"webhook {url!r} is not an http(s) URL", hint="e.g. --webhook https://host/path")
    return url


def manifest_summary(path: Path) -> dict[str, Any]:
    """The parts of a clip's manifest a notice repeats: name, SDK version, credentials, licences and warnings.

    Example:
        >>> import tempfile, pathlib, json
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "clip.manifest.json"
        >>> _ = p.write_text(json.dumps({"name": "news-clip", "credentials": False, "steps": []}))
        >>> manifest_summary(p)
        {'name': 'news-clip', 'credentials': False}
    """
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(manifest, dict):
        return {}
    return {key: manifest[key] for key in _SUMMARY_KEYS if key in manifest}


class Publisher:
    """The thread that publishes approved jobs: outbox copies, notices and webhook deliveries with retries.

    Args:
        store: The job store (publications and deliveries are recorded there).
        jobs_dir: The folder of the jobs' folders (``DATA/jobs``).
        outbox: Where approved jobs' files go (``OUTBOX/<job id>/``); None: no copy.
        webhooks: The URLs a notice is POSTed to.
        attempts: Tries per webhook before its delivery is recorded as failed.
        backoff: Seconds before the first retry; each further retry waits twice as long.
        timeout: Seconds a webhook may take to answer.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.server.store import JobStore
        >>> data = pathlib.Path(tempfile.mkdtemp())
        >>> Publisher(JobStore(data / "j.sqlite"), data / "jobs", webhooks=["http://127.0.0.1:9/"]).webhooks
        ('http://127.0.0.1:9/',)
    """

    def __init__(
        self,
        store: JobStore,
        jobs_dir: Path,
        *,
        outbox: Path | None = None,
        webhooks: Sequence[str] = (),
        attempts: int = 6,
        backoff: float = 2.0,
        timeout: float = 10.0,
    ) -> None:
        if attempts < 1 or backoff < 0 or timeout <= 0:
            raise InvalidRequestError("webhook attempts must be >= 1, backoff >= 0 and timeout > 0")
        self.store = store
        self.jobs_dir = jobs_dir
        self.outbox = outbox
        self.webhooks = tuple(check_webhook(url) for url in webhooks)
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether approval publishes anything (an outbox or a webhook is configured).

        Example:
            >>> import tempfile, pathlib
            >>> from aigc_sdk.server.store import JobStore
            >>> data = pathlib.Path(tempfile.mkdtemp())
            >>> Publisher(JobStore(data / "j.sqlite"), data / "jobs").enabled
            False
        """
        return self.outbox is not None or bool(self.webhooks)

    def start(self) -> None:
        """Drop staging folders a killed server left in the outbox, then start the thread (it resumes pending work).

        Example:
            >>> Publisher.start.__name__
            'start'
        """
        self._stopping.clear()
        if self.outbox is not None:
            self.outbox.mkdir(parents=True, exist_ok=True)
            for leftover in self.outbox.glob(".*"):
                if leftover.is_dir() and _STAGING.match(leftover.name):
                    shutil.rmtree(leftover, ignore_errors=True)
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="aigc-serve-publisher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the thread; what is left pending is resumed by the next start.

        Example:
            >>> Publisher.stop.__name__
            'stop'
        """
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Tell the thread that a job was approved.

        Example:
            >>> Publisher.wake.__name__
            'wake'
        """
        with self._wake:
            self._wake.notify_all()

    def _loop(self) -> None:
        import httpx

        # trust_env=False: no proxy or netrc from the environment; no redirects: only the configured URLs
        with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
            while not self._stopping.is_set():
                try:
                    for job_id in self.store.pending_publications():
                        self.publish(job_id)
                    for job_id, url, attempts, notice in self.store.due_deliveries(time.time()):
                        if self._stopping.is_set():
                            break
                        self._deliver(client, job_id, url, attempts, notice)
                except Exception:  # the store or the disk failed: keep the thread alive, retry on the next round
                    log.exception("publishing failed")
                due = self.store.next_delivery()
                wait = 1.0 if due is None else min(1.0, max(0.0, due - time.time()))
                with self._wake:
                    if not self._stopping.is_set():
                        self._wake.wait(wait)

    def publish(self, job_id: str) -> None:
        """Copy the job's files to the outbox (if any) and record its notice; a missing file fails the publication.

        Example:
            >>> Publisher.publish.__name__
            'publish'
        """
        job = self.store.get(job_id)
        publication = self.store.publication(job_id)
        folder = self.jobs_dir / job_id
        files = [folder / name for name in job.files]
        missing = [path.name for path in files if not path.is_file()]
        if missing or publication is None:
            self.store.finish_publication(job_id, notice=None, error=f"missing files: {', '.join(missing)}")
            return
        if self.outbox is not None and publication.outbox:
            target = self.outbox / job_id
            if not target.is_dir():  # a folder already there was published before a crash: kept, not redone
                with atomic_dir(target) as staging:
                    for path in files:
                        shutil.copyfile(path, staging / path.name)
        manifests = [path for path in files if path.name.endswith(".manifest.json")]
        notice = {
            "event": "clip.approved",
            "id": job_id,
            "approved": datetime.fromtimestamp(publication.approved, UTC).isoformat(),
            "outbox": job_id if self.outbox is not None and publication.outbox else None,
            "files": [{"name": p.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files],
            "manifest": manifest_summary(manifests[0]) if manifests else {},
            "options": {key: value for key, value in job.options.items() if key != "article"},
        }
        self.store.finish_publication(job_id, notice=notice)
        log.info("job %s published", job_id)

    def _deliver(self, client: Any, job_id: str, url: str, attempts: int, notice: dict[str, Any]) -> None:
        import httpx

        if url not in self.webhooks:
            self.store.record_delivery(job_id, url, delivered=False, error="this URL is no longer configured")
            return
        headers = {"Idempotency-Key": job_id, "User-Agent": f"aigc-serve/{__version__}"}
        error: str | None = None
        try:
            response = client.post(url, json=notice, headers=headers)
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        tried = attempts + 1
        retry_at = time.time() + self.backoff * 2**attempts if error and tried < self.attempts else None
        self.store.record_delivery(job_id, url, delivered=error is None, error=error, retry_at=retry_at)
        if error:
            log.warning("webhook %s for job %s: %s (attempt %d of %d)", url, job_id, error, tried, self.attempts)
