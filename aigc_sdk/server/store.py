"""The job store: one SQLite file (WAL mode) under the server's data folder.

Every state change is one transaction that names the states it may leave, so two
threads never both move a job (a job is claimed by exactly one worker). On start,
jobs left ``running`` by a killed server go back to ``queued``: their finished
stages are in the stage cache, so a rerun resumes instead of starting over.
Each claim counts up the job's ``attempt``; a worker's changes name its attempt, so a
worker whose job was re-queued and claimed again (a stale worker) can neither record
progress on it nor complete it: no job runs twice to completion.

Example:
    >>> import tempfile, pathlib
    >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "jobs.sqlite")
    >>> job, created = store.create({"aspect": "1:1"}, idempotency_key="k1")
    >>> (job.status, created, store.create({}, idempotency_key="k1")[0].id == job.id)
    ('queued', True, True)
    >>> store.claim_next().attempt
    1
    >>> store.close()
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from aigc_sdk.errors import AigcError, InvalidRequestError

__all__ = [
    "FINAL_STATES",
    "Job",
    "JobError",
    "JobEvent",
    "JobNotFoundError",
    "JobStateError",
    "JobStatus",
    "JobStore",
    "Publication",
    "QueueFullError",
    "StageProgress",
    "WebhookDelivery",
]

JobStatus = Literal["queued", "running", "review", "approved", "rejected", "failed", "cancelled"]
#: States a job never leaves by itself (``review`` waits for an editor).
FINAL_STATES: frozenset[str] = frozenset({"review", "approved", "rejected", "failed", "cancelled"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    progress TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    reason TEXT,
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events (job, seq);
CREATE TABLE IF NOT EXISTS publications (
    job TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    outbox INTEGER NOT NULL,
    approved REAL NOT NULL,
    published REAL,
    error TEXT,
    notice TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
    job TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    last_error TEXT,
    delivered REAL,
    PRIMARY KEY (job, url)
);
"""


class JobNotFoundError(InvalidRequestError):
    """No job has this id (HTTP 404).

    Example:
        >>> JobNotFoundError("no job 'x'").hint
        'list the jobs with GET /v1/clips'
    """

    default_hint = "list the jobs with GET /v1/clips"


class JobStateError(InvalidRequestError):
    """The job is not in a state that allows this (approve a queued job, cancel a finished one): HTTP 409.

    Example:
        >>> isinstance(JobStateError("job is queued"), InvalidRequestError)
        True
    """

    default_hint = "read the job's status with GET /v1/clips/{id} first"


class QueueFullError(AigcError):
    """Too many jobs wait already (HTTP 429 with Retry-After).

    Example:
        >>> QueueFullError("10 jobs queued").retryable
        True
    """

    default_hint = "retry after the Retry-After seconds, or raise the server's --max-queued"
    default_retryable = True


class StageProgress(BaseModel):
    """Where one stage of a job stands.

    Example:
        >>> StageProgress(status="done", fraction=1.0, seconds=2.5).status
        'done'
    """

    status: Literal["started", "cached", "progress", "done", "failed"]
    fraction: float = 0.0
    message: str = ""
    seconds: float | None = None


class JobError(BaseModel):
    """Why a job failed: the SDK error's type name, message and hint.

    Example:
        >>> JobError(code="PipelineError", message="step 'render' failed").hint is None
        True
    """

    code: str
    message: str
    hint: str | None = None


class JobEvent(BaseModel):
    """One recorded event of a job: a stage's progress, or its new status (``step`` is None then).

    Example:
        >>> JobEvent(seq=1, step=None, status="review").status
        'review'
    """

    seq: int
    step: str | None = None
    status: str
    fraction: float = 0.0
    message: str = ""
    seconds: float | None = None


class Job(BaseModel):
    """A job as stored: its status, options, per-stage progress, error, the names of its files and its claim.

    ``attempt`` counts the times a worker claimed it (0: never run): a worker's changes carry it.

    Example:
        >>> Job(id="a", status="queued", options={}, created=0.0, updated=0.0).files
        []
    """

    id: str
    status: JobStatus
    options: dict[str, Any]
    idempotency_key: str | None = None
    created: float
    updated: float
    progress: dict[str, StageProgress] = Field(default_factory=dict)
    error: JobError | None = None
    files: list[str] = Field(default_factory=list)
    reason: str | None = None
    attempt: int = 0


class WebhookDelivery(BaseModel):
    """One webhook notice of an approved job: pending (retried with back-off), delivered, or failed for good.

    Example:
        >>> WebhookDelivery(url="http://127.0.0.1:9/hook", status="pending", attempts=0).status
        'pending'
    """

    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None = None
    delivered: float | None = None


class Publication(BaseModel):
    """What approval published: the outbox copy (``pending`` until it is in place) and the webhook deliveries.

    Example:
        >>> Publication(job="a", status="published", outbox=True, approved=1.0).deliveries
        []
    """

    job: str
    status: Literal["pending", "published", "failed"]
    outbox: bool = Field(description="Whether the files are (to be) copied to OUTBOX/<job id>/.")
    approved: float
    published: float | None = None
    error: str | None = None
    deliveries: list[WebhookDelivery] = Field(default_factory=list)


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        status=row["status"],
        options=json.loads(row["options"]),
        idempotency_key=row["idempotency_key"],
        created=row["created"],
        updated=row["updated"],
        progress=json.loads(row["progress"]),
        error=json.loads(row["error"]) if row["error"] else None,
        files=json.loads(row["files"]),
        reason=row["reason"],
        attempt=row["attempt"],
    )


class JobStore:
    """Jobs in one SQLite file, shared by the API and the worker threads (one connection behind a lock).

    Args:
        path: The database file; its folder is created.

    Example:
        >>> import tempfile, pathlib
        >>> with JobStore(pathlib.Path(tempfile.mkdtemp()) / "jobs.sqlite") as store:
        ...     job, _ = store.create({})
        ...     store.cancel_queued(job.id).status
        'cancelled'
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = self._connect()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        columns = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
        if "attempt" not in columns:  # a store the first server release made: its jobs were never claimed twice
            db.execute("ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0")
        return db

    def open(self) -> None:
        """Open the connection again after :meth:`close` (an app whose lifespan starts again); no-op when open.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> store.close(); store.open(); store.count("queued")
            0
        """
        with self._lock:
            if self._closed:
                self._db, self._closed = self._connect(), False

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").close()
        """
        with self._lock:
            self._db.close()
            self._closed = True

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---------------------------------------------------------------------------------------- reading

    def get(self, job_id: str) -> Job:
        """The job with this id.

        Raises:
            JobNotFoundError: No such job.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> store.get(store.create({})[0].id).status
            'queued'
        """
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        return _job(row)

    def jobs(self, status: str | None = None, *, limit: int = 100) -> list[Job]:
        """Jobs, newest first, optionally only those in one state.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> _ = store.create({}); [j.status for j in store.jobs("queued")]
            ['queued']
        """
        if status is not None and status not in get_args(JobStatus):
            raise InvalidRequestError(f"unknown status {status!r}", hint=f"one of {', '.join(get_args(JobStatus))}")
        query = "SELECT * FROM jobs" + (" WHERE status = ?" if status else "") + " ORDER BY created DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*([status] if status else []), limit)).fetchall()
        return [_job(row) for row in rows]

    def by_key(self, idempotency_key: str) -> Job | None:
        """The job made for this idempotency key, or None.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").by_key("k") is None
            True
        """
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
        return None if row is None else _job(row)

    def count(self, status: str) -> int:
        """How many jobs are in this state.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").count("queued")
            0
        """
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0])

    def position(self, job: Job) -> int:
        """1 for the next queued job to run, 2 for the one after …; 0 when the job is not queued.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> store.position(store.create({})[0])
            1
        """
        if job.status != "queued":
            return 0
        # 1 + the queued jobs ahead of it: consistent with the snapshot even if a worker claimed it since
        query = "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND (created < ? OR (created = ? AND id < ?))"
        with self._lock:
            return 1 + int(self._db.execute(query, (job.created, job.created, job.id)).fetchone()[0])

    def events(self, job_id: str, after: int = 0) -> list[JobEvent]:
        """The job's recorded events with a sequence number above ``after``, oldest first.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> [e.status for e in store.events(store.create({})[0].id)]
            ['queued']
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, data FROM events WHERE job = ? AND seq > ? ORDER BY seq", (job_id, after)
            ).fetchall()
        return [JobEvent(seq=row["seq"], **json.loads(row["data"])) for row in rows]

    # ---------------------------------------------------------------------------------------- changing

    def create(
        self,
        options: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        max_queued: int | None = None,
        job_id: str | None = None,
    ) -> tuple[Job, bool]:
        """Queue a new job, or return the job already made for this idempotency key.

        Args:
            options: The job's options (JSON-serializable).
            idempotency_key: A client's key: the same key returns the same job.
            max_queued: Refuse a new job when this many wait already (checked in the same transaction).
            job_id: The new job's id (an upload was stored in its folder first); None: a fresh one.

        Returns:
            The job, and whether it was created now.

        Raises:
            QueueFullError: ``max_queued`` jobs are queued already.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> store.create({"seed": 1})[0].options
            {'seed': 1}
        """
        job_id, now = job_id or uuid.uuid4().hex, time.time()
        with self._tx() as db:
            if idempotency_key is not None:
                row = db.execute("SELECT * FROM jobs WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
                if row is not None:
                    return _job(row), False
            if max_queued is not None:
                queued = db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()[0]
                if queued >= max_queued:
                    raise QueueFullError(f"{queued} jobs are queued already (the most this server keeps)")
            db.execute(
                "INSERT INTO jobs (id, status, options, idempotency_key, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, "queued", json.dumps(options), idempotency_key, now, now),
            )
            self._event(db, job_id, {"step": None, "status": "queued"})
        return self.get(job_id), True

    def _event(self, db: sqlite3.Connection, job_id: str, data: dict[str, Any]) -> None:
        db.execute("INSERT INTO events (job, data) VALUES (?, ?)", (job_id, json.dumps(data)))

    def transition(
        self, job_id: str, to: JobStatus, *, allowed: Iterable[str], claim: int | None = None, **fields: Any
    ) -> Job:
        """Move a job to ``to`` if it is in one of the ``allowed`` states, in one transaction.

        Args:
            job_id: The job.
            to: Its new state.
            allowed: The states it may leave for ``to``.
            claim: A worker's attempt (:attr:`Job.attempt` as it claimed the job): the job must still be at it,
                so a stale worker cannot move a job that was re-queued and claimed again.
            **fields: Columns to set with it: ``error`` (a :class:`JobError`), ``files``, ``reason``.

        Raises:
            JobNotFoundError: No such job.
            JobStateError: The job is in another state, or was claimed again since ``claim``.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> job = store.create({})[0]
            >>> store.transition(job.id, "approved", allowed=["review"])
            Traceback (most recent call last):
            aigc_sdk.server.store.JobStateError: job ... is queued, not review (hint: ...)
        """
        with self._tx() as db:
            self._move(db, job_id, to, tuple(allowed), fields, claim)
        return self.get(job_id)

    def _move(
        self,
        db: sqlite3.Connection,
        job_id: str,
        to: str,
        allowed: tuple[str, ...],
        fields: Any,
        claim: int | None = None,
    ) -> None:
        columns: dict[str, Any] = {"status": to, "updated": time.time()}
        if "error" in fields:
            error = fields["error"]
            columns["error"] = error.model_dump_json() if error is not None else None
        if "files" in fields:
            columns["files"] = json.dumps(fields["files"])
        if "reason" in fields:
            columns["reason"] = fields["reason"]
        sets = ", ".join(f"{name} = ?" for name in columns)
        marks = ", ".join("?" for _ in allowed)
        row = db.execute("SELECT status, attempt FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        if row["status"] not in allowed:
            raise JobStateError(f"job {job_id} is {row['status']}, not {' or '.join(allowed)}")
        if claim is not None and row["attempt"] != claim:
            raise JobStateError(f"job {job_id} was claimed again (attempt {row['attempt']}, not {claim})")
        db.execute(
            f"UPDATE jobs SET {sets} WHERE id = ? AND status IN ({marks})",
            (*columns.values(), job_id, *allowed),
        )
        event: dict[str, Any] = {"step": None, "status": to}
        if fields.get("error") is not None:
            event["message"] = fields["error"].message
        self._event(db, job_id, event)

    def claim_next(self) -> Job | None:
        """Take the oldest queued job for a worker: it becomes ``running`` and its ``attempt`` counts up.

        Returns:
            The claimed job, or None when none waits.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").claim_next() is None
            True
        """
        with self._tx() as db:
            row = db.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created, id LIMIT 1").fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET status = 'running', attempt = attempt + 1, updated = ? WHERE id = ?",
                (time.time(), row["id"]),
            )
            self._event(db, row["id"], {"step": None, "status": "running"})
        return self.get(row["id"])

    def cancel_queued(self, job_id: str) -> Job:
        """Cancel a job that has not started.

        Raises:
            JobStateError: It is not queued (a running job is cancelled by its worker).

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> store.cancel_queued(store.create({})[0].id).status
            'cancelled'
        """
        return self.transition(job_id, "cancelled", allowed=["queued"])

    def record(self, job_id: str, step: str, progress: StageProgress, *, claim: int | None = None) -> bool:
        """Record a stage's progress: the job's per-stage table and its event log.

        Args:
            job_id: The job.
            step: The stage.
            progress: Where it stands.
            claim: A worker's attempt: record only while the job still runs under it.

        Returns:
            Whether it was recorded (False: the job runs no more under ``claim``; its worker should stop).

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> job = store.create({})[0]
            >>> store.record(job.id, "script", StageProgress(status="started"))
            True
            >>> store.get(job.id).progress["script"].status
            'started'
        """
        with self._tx() as db:
            row = db.execute("SELECT progress, status, attempt FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no job {job_id!r}")
            if claim is not None and (row["status"] != "running" or row["attempt"] != claim):
                return False
            table = json.loads(row["progress"])
            table[step] = progress.model_dump()
            db.execute(
                "UPDATE jobs SET progress = ?, updated = ? WHERE id = ?", (json.dumps(table), time.time(), job_id)
            )
            self._event(db, job_id, {"step": step, **progress.model_dump()})
        return True

    def requeue_running(self) -> int:
        """Put jobs left ``running`` (by a killed server) back in the queue; returns how many.

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> _ = store.create({}); _ = store.claim_next()
            >>> store.requeue_running()
            1
        """
        with self._tx() as db:
            rows = db.execute("SELECT id FROM jobs WHERE status = 'running'").fetchall()
            for row in rows:
                db.execute("UPDATE jobs SET status = 'queued', updated = ? WHERE id = ?", (time.time(), row["id"]))
                self._event(db, row["id"], {"step": None, "status": "queued", "message": "requeued after a restart"})
        return len(rows)

    def stage_seconds(self) -> list[tuple[str, float]]:
        """Every finished stage's (step, seconds), over all jobs (read at a metrics scrape).

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> _ = store.record(store.create({})[0].id, "script", StageProgress(status="done", seconds=1.5))
            >>> store.stage_seconds()
            [('script', 1.5)]
        """
        query = (
            "SELECT stage.key AS step, json_extract(stage.value, '$.seconds') AS seconds "
            "FROM jobs, json_each(jobs.progress) AS stage "
            "WHERE json_extract(stage.value, '$.status') = 'done' AND seconds IS NOT NULL"
        )
        with self._lock:
            return [(row["step"], float(row["seconds"])) for row in self._db.execute(query).fetchall()]

    # ---------------------------------------------------------------------------------------- publishing

    def approve(self, job_id: str, *, outbox: bool = False, webhooks: Sequence[str] = ()) -> Job:
        """Approve a job in review and, in the same transaction, record what is to be published.

        A publication row (``pending``) is recorded when there is an outbox or a webhook; each webhook gets a
        pending delivery. A publisher (:class:`~aigc_sdk.server.publish.Publisher`) does the work, durably: a
        server killed before it finished resumes it on the next start.

        Raises:
            JobNotFoundError: No such job.
            JobStateError: The job is not in review (so it is never published twice).

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> job = store.create({})[0]; _ = store.claim_next()
            >>> _ = store.transition(job.id, "review", allowed=["running"], files=["clip.mp4"])
            >>> store.approve(job.id, webhooks=["http://127.0.0.1:9/hook"]).status
            'approved'
            >>> store.publication(job.id).deliveries[0].status
            'pending'
        """
        now = time.time()
        with self._tx() as db:
            self._move(db, job_id, "approved", ("review",), {})
            if outbox or webhooks:
                db.execute(
                    "INSERT INTO publications (job, status, outbox, approved) VALUES (?, 'pending', ?, ?)",
                    (job_id, int(outbox), now),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO deliveries (job, url, status, next_try) VALUES (?, ?, 'pending', ?)",
                    [(job_id, url, now) for url in webhooks],
                )
        return self.get(job_id)

    def publication(self, job_id: str) -> Publication | None:
        """The job's publication and its webhook deliveries; None when approval published nothing.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").publication("nope") is None
            True
        """
        with self._lock:
            row = self._db.execute("SELECT * FROM publications WHERE job = ?", (job_id,)).fetchone()
            if row is None:
                return None
            rows = self._db.execute("SELECT * FROM deliveries WHERE job = ? ORDER BY rowid", (job_id,)).fetchall()
        deliveries = [
            WebhookDelivery(
                url=d["url"],
                status=d["status"],
                attempts=d["attempts"],
                last_error=d["last_error"],
                delivered=d["delivered"],
            )
            for d in rows
        ]
        return Publication(
            job=row["job"],
            status=row["status"],
            outbox=bool(row["outbox"]),
            approved=row["approved"],
            published=row["published"],
            error=row["error"],
            deliveries=deliveries,
        )

    def pending_publications(self) -> list[str]:
        """Ids of approved jobs whose outbox copy and notice are still to be made, oldest first.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").pending_publications()
            []
        """
        with self._lock:
            rows = self._db.execute("SELECT job FROM publications WHERE status = 'pending' ORDER BY approved")
            return [row["job"] for row in rows.fetchall()]

    def finish_publication(self, job_id: str, *, notice: dict[str, Any] | None, error: str | None = None) -> None:
        """Record a publication made (``notice``: the JSON the webhooks get) or failed (``error``; no webhook then).

        Example:
            >>> import tempfile, pathlib
            >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
            >>> store.finish_publication("nope", notice={})
        """
        status = "failed" if error is not None else "published"
        with self._tx() as db:
            db.execute(
                "UPDATE publications SET status = ?, published = ?, error = ?, notice = ? "
                "WHERE job = ? AND status = 'pending'",
                (status, time.time(), error, json.dumps(notice) if notice is not None else None, job_id),
            )
            if error is not None:
                db.execute(
                    "UPDATE deliveries SET status = 'failed', last_error = ? WHERE job = ? AND status = 'pending'",
                    (f"not sent: {error}", job_id),
                )

    def due_deliveries(self, now: float) -> list[tuple[str, str, int, dict[str, Any]]]:
        """Pending webhook deliveries of published jobs that are due: (job, url, attempts so far, notice).

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").due_deliveries(0.0)
            []
        """
        query = (
            "SELECT d.job, d.url, d.attempts, p.notice FROM deliveries AS d JOIN publications AS p ON p.job = d.job "
            "WHERE d.status = 'pending' AND p.status = 'published' AND d.next_try <= ? ORDER BY d.next_try"
        )
        with self._lock:
            rows = self._db.execute(query, (now,)).fetchall()
        return [(row["job"], row["url"], int(row["attempts"]), json.loads(row["notice"])) for row in rows]

    def next_delivery(self) -> float | None:
        """When the next pending delivery is due (a timestamp), or None when none waits.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").next_delivery() is None
            True
        """
        query = "SELECT MIN(next_try) FROM deliveries WHERE status = 'pending'"
        with self._lock:
            value = self._db.execute(query).fetchone()[0]
        return None if value is None else float(value)

    def record_delivery(
        self, job_id: str, url: str, *, delivered: bool, error: str | None = None, retry_at: float | None = None
    ) -> None:
        """Record one delivery attempt: delivered, to be retried at ``retry_at``, or (no ``retry_at``) failed.

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").record_delivery("a", "u", delivered=True)
        """
        now = time.time()
        status = "delivered" if delivered else ("pending" if retry_at is not None else "failed")
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, next_try = ?, "
                "delivered = ? WHERE job = ? AND url = ? AND status = 'pending'",
                (status, error, retry_at or now, now if delivered else None, job_id, url),
            )

    def delivery_counts(self) -> dict[str, int]:
        """Webhook deliveries by status (for ``/metrics``).

        Example:
            >>> import tempfile, pathlib
            >>> JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite").delivery_counts()
            {}
        """
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").fetchall()
        return {row["status"]: int(row["n"]) for row in rows}
