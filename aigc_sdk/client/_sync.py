"""The blocking client: :class:`Client` and its :class:`Clips`.

Example:
    >>> with Client("http://127.0.0.1:8000", api_key="k1") as client:
    ...     client.base_url
    'http://127.0.0.1:8000'
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from typing_extensions import Unpack

from aigc_sdk.client._base import (
    Call,
    ClipKwargs,
    Waiter,
    check,
    checked_url,
    client_headers,
    connection_errors,
    create_call,
    event_of,
    events_call,
    file_name,
    folder,
    mp4_of,
    saving,
    view_of,
    views_of,
)
from aigc_sdk.client._errors import ServerConnectionError
from aigc_sdk.client._sse import SSEDecoder
from aigc_sdk.server.models import ClipView
from aigc_sdk.server.store import JobEvent

__all__ = ["Client", "Clips"]


class Clips:
    """The news-clip jobs of a server (``/v1/clips``); reach it as ``client.clips``.

    Example:
        >>> Client("http://127.0.0.1:8000").clips.create("")
        Traceback (most recent call last):
        aigc_sdk.errors.InvalidRequestError: bad clip options: article: String should have at least 1 character ...
    """

    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self._http = http
        self._url = base_url

    def _send(self, call: Call) -> httpx.Response:
        with connection_errors(self._url):
            return check(self._http.request(call.method, call.path, **call.kwargs()))

    def create(
        self,
        article: str | None = None,
        *,
        file: str | Path | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[ClipKwargs],
    ) -> ClipView:
        """Queue a clip: from ``article`` text (JSON), or by uploading ``file`` (an article or a feed, multipart).

        Args:
            article: The article, Markdown, plain text or HTML.
            file: An article or feed file to upload instead.
            idempotency_key: The same key returns the same job (a retry never makes a second one).
            **options: The clip's options (:class:`ClipKwargs`): ``aspect``, ``duration``, ``music``, ``seed`` …

        Raises:
            InvalidRequestError: A bad option, checked before anything is sent.
            BadRequestError: The server refused the request (its code and hint say why).
            ServerBusyError: The queue is full; ``retry_after`` says when to try again.

        Example:
            >>> client = Client("http://127.0.0.1:8000")
            >>> job = client.clips.create("A park opened.", aspect="1:1", duration=8)  # doctest: +SKIP
            >>> job.status, job.position  # doctest: +SKIP
            ('queued', 1)
        """
        return view_of(self._send(create_call(article, file, options, idempotency_key=idempotency_key)))

    def get(self, job_id: str) -> ClipView:
        """A job: its status, per-stage progress, files and error.

        Example:
            >>> Client("http://127.0.0.1:8000").clips.get("0123").status  # doctest: +SKIP
            'running'
        """
        return view_of(self._send(Call("GET", f"/v1/clips/{job_id}")))

    def list(self, status: str | None = None, *, limit: int = 100) -> builtins.list[ClipView]:
        """The jobs, newest first; ``status`` keeps one state (``review``, ``failed`` …).

        Example:
            >>> [job.id for job in Client("http://127.0.0.1:8000").clips.list("review")]  # doctest: +SKIP
            ['0123']
        """
        params: dict[str, str | int] = {"limit": limit} | ({"status": status} if status else {})
        return views_of(self._send(Call("GET", "/v1/clips", params=params)))

    def approve(self, job_id: str) -> ClipView:
        """Approve a clip in review (the server publishes it).

        Example:
            >>> Client("http://127.0.0.1:8000").clips.approve("0123").status  # doctest: +SKIP
            'approved'
        """
        return view_of(self._send(Call("POST", f"/v1/clips/{job_id}/approve")))

    def reject(self, job_id: str, reason: str = "") -> ClipView:
        """Reject a clip in review, saying why.

        Example:
            >>> Client("http://127.0.0.1:8000").clips.reject("0123", "wrong figures").reason  # doctest: +SKIP
            'wrong figures'
        """
        return view_of(self._send(Call("POST", f"/v1/clips/{job_id}/reject", json={"reason": reason})))

    def cancel(self, job_id: str) -> ClipView:
        """Cancel a queued job at once, or a running one at its next checkpoint.

        Example:
            >>> Client("http://127.0.0.1:8000").clips.cancel("0123").status  # doctest: +SKIP
            'cancelled'
        """
        return view_of(self._send(Call("DELETE", f"/v1/clips/{job_id}")))

    def events(self, job_id: str, *, after: int = 0, read_timeout: float | None = None) -> Iterator[JobEvent]:
        """The job's events (stages started, progressing, done; its states), from the start or after event ``after``.

        The stream ends once the job is in a final state (review, approved, rejected, failed, cancelled).

        Example:
            >>> for event in Client("http://127.0.0.1:8000").clips.events("0123"):  # doctest: +SKIP
            ...     print(event.step or "status", event.status)
            status queued
            script started
        """
        call, kwargs = events_call(job_id, after=after, connect=self._http.timeout.connect, read=read_timeout)
        with connection_errors(self._url), self._http.stream(call.method, call.path, **kwargs) as response:
            if response.status_code >= 400:
                response.read()
            check(response)
            decoder = SSEDecoder()
            for line in response.iter_lines():
                sse = decoder.feed(line)
                if sse is not None:
                    yield event_of(sse)

    def wait(
        self, job_id: str, *, on_event: Callable[[JobEvent], None] | None = None, timeout: float | None = None
    ) -> ClipView:
        """Follow the job's events until it is in a final state, and return it (a failed job too: see ``.error``).

        A dropped connection is resumed where it broke (``Last-Event-ID``): ``on_event`` sees each event once.

        Raises:
            WaitTimeoutError: ``timeout`` seconds passed first (the job goes on).

        Example:
            >>> job = Client("http://127.0.0.1:8000").clips.wait("0123", on_event=print)  # doctest: +SKIP
            >>> job.status, job.files  # doctest: +SKIP
            ('review', ['clip.mp4', 'clip.srt', 'clip.vtt', 'clip.manifest.json'])
        """
        waiter = Waiter(job_id, on_event, timeout)
        while True:
            try:
                for event in self.events(job_id, after=waiter.last_seq, read_timeout=waiter.read_timeout()):
                    waiter.seen(event)
                error = ServerConnectionError(f"the event stream of job {job_id} ended before the job did")
            except ServerConnectionError as dropped:
                error = dropped
            view = self.get(job_id)
            if waiter.finished(view):
                return view
            time.sleep(waiter.dropped(error))

    def download(self, job_id: str, name: str | None = None, *, to: str | Path = ".") -> Path:
        """Save one of the job's files (None: its MP4) into the folder ``to``, streamed, atomically, size checked.

        Raises:
            InvalidRequestError: No clip yet, a name that is not a plain file name, ``to`` is a file.
            NotFoundError: The job has no such file.
            ServerConnectionError: The download broke off; nothing is left behind.

        Example:
            >>> Client("http://127.0.0.1:8000").clips.download("0123", to="out/")  # doctest: +SKIP
            PosixPath('out/clip.mp4')
        """
        name = file_name(name if name is not None else mp4_of(self.get(job_id)))
        target = folder(to) / name
        with connection_errors(self._url), self._http.stream("GET", f"/v1/clips/{job_id}/files/{name}") as response:
            if response.status_code >= 400:
                response.read()
            size = check(response).headers.get("content-length")
            with saving(target, int(size) if size else None) as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        return target

    def download_all(self, job_id: str, *, to: str | Path = ".") -> builtins.list[Path]:
        """Save every file of the job (MP4, SRT, VTT, manifest …) into the folder ``to``.

        Example:
            >>> client = Client("http://127.0.0.1:8000")
            >>> [p.name for p in client.clips.download_all("0123", to="out/")]  # doctest: +SKIP
            ['clip.mp4', 'clip.srt', 'clip.vtt', 'clip.manifest.json']
        """
        return [self.download(job_id, name, to=to) for name in self.get(job_id).files]


class Client:
    """A typed client of ``aigc serve`` (blocking; :class:`AsyncClient` has the same surface for asyncio).

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:8000``.
        api_key: Sent as ``Authorization: Bearer <key>``; None: no key.
        timeout: Seconds for each request (an event stream's reads wait longer); None: no limit.
        transport: An httpx transport to use instead of the network (a test's, a proxy's).

    Example:
        >>> client = Client("http://127.0.0.1:8000", timeout=5)
        >>> client.clips.list()  # doctest: +SKIP
        []
        >>> client.close()
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float | None = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = checked_url(base_url)
        self._http = httpx.Client(
            base_url=self.base_url, headers=client_headers(api_key), timeout=timeout, transport=transport
        )
        self.clips = Clips(self._http, self.base_url)

    def health(self) -> dict[str, Any]:
        """``GET /readyz``: the server's queue and workers (its error when it is not ready).

        Example:
            >>> Client("http://127.0.0.1:8000").health()  # doctest: +SKIP
            {'status': 'ready', 'queued': 0, 'running': 0, 'workers': 1}
        """
        with connection_errors(self.base_url):
            answer: dict[str, Any] = check(self._http.get("/readyz")).json()
        return answer

    def close(self) -> None:
        """Close the connections.

        Example:
            >>> Client("http://127.0.0.1:8000").close()
        """
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
