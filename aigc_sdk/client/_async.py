"""The asyncio client: :class:`AsyncClient` and its :class:`AsyncClips`, the blocking client's surface awaited.

Example:
    >>> import asyncio
    >>> async def main() -> str:
    ...     async with AsyncClient("http://127.0.0.1:8000", api_key="k1") as client:
    ...         return client.base_url
    >>> asyncio.run(main())
    'http://127.0.0.1:8000'
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable
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

__all__ = ["AsyncClient", "AsyncClips"]


class AsyncClips:
    """The news-clip jobs of a server, awaited; reach it as ``client.clips`` (see :class:`~aigc_sdk.client.Clips`).

    Example:
        >>> import asyncio
        >>> asyncio.run(AsyncClient("http://127.0.0.1:8000").clips.create(file="no/such/article.md"))
        Traceback (most recent call last):
        aigc_sdk.errors.InvalidRequestError: cannot read no/such/article.md: ...
    """

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._url = base_url

    async def _send(self, call: Call) -> httpx.Response:
        with connection_errors(self._url):
            return check(await self._http.request(call.method, call.path, **call.kwargs()))

    async def create(
        self,
        article: str | None = None,
        *,
        file: str | Path | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[ClipKwargs],
    ) -> ClipView:
        """Queue a clip from ``article`` text, or by uploading ``file``; see :meth:`Clips.create`.

        Example:
            >>> job = await AsyncClient("http://127.0.0.1:8000").clips.create("A park opened.")  # doctest: +SKIP
        """
        return view_of(await self._send(create_call(article, file, options, idempotency_key=idempotency_key)))

    async def get(self, job_id: str) -> ClipView:
        """A job: its status, per-stage progress, files and error.

        Example:
            >>> job = await AsyncClient("http://127.0.0.1:8000").clips.get("0123")  # doctest: +SKIP
        """
        return view_of(await self._send(Call("GET", f"/v1/clips/{job_id}")))

    async def list(self, status: str | None = None, *, limit: int = 100) -> builtins.list[ClipView]:
        """The jobs, newest first; ``status`` keeps one state.

        Example:
            >>> jobs = await AsyncClient("http://127.0.0.1:8000").clips.list("review")  # doctest: +SKIP
        """
        params: dict[str, str | int] = {"limit": limit} | ({"status": status} if status else {})
        return views_of(await self._send(Call("GET", "/v1/clips", params=params)))

    async def approve(self, job_id: str) -> ClipView:
        """Approve a clip in review.

        Example:
            >>> job = await AsyncClient("http://127.0.0.1:8000").clips.approve("0123")  # doctest: +SKIP
        """
        return view_of(await self._send(Call("POST", f"/v1/clips/{job_id}/approve")))

    async def reject(self, job_id: str, reason: str = "") -> ClipView:
        """Reject a clip in review, saying why.

        Example:
            >>> job = await AsyncClient("http://127.0.0.1:8000").clips.reject("0123", "late")  # doctest: +SKIP
        """
        return view_of(await self._send(Call("POST", f"/v1/clips/{job_id}/reject", json={"reason": reason})))

    async def cancel(self, job_id: str) -> ClipView:
        """Cancel a queued or running job.

        Example:
            >>> job = await AsyncClient("http://127.0.0.1:8000").clips.cancel("0123")  # doctest: +SKIP
        """
        return view_of(await self._send(Call("DELETE", f"/v1/clips/{job_id}")))

    async def events(
        self, job_id: str, *, after: int = 0, read_timeout: float | None = None
    ) -> AsyncIterator[JobEvent]:
        """The job's events, from the start or after event ``after``, until it is in a final state.

        Example:
            >>> async for event in AsyncClient("http://127.0.0.1:8000").clips.events("0123"):  # doctest: +SKIP
            ...     print(event.step or "status", event.status)
        """
        call, kwargs = events_call(job_id, after=after, connect=self._http.timeout.connect, read=read_timeout)
        with connection_errors(self._url):
            async with self._http.stream(call.method, call.path, **kwargs) as response:
                if response.status_code >= 400:
                    await response.aread()
                check(response)
                decoder = SSEDecoder()
                async for line in response.aiter_lines():
                    sse = decoder.feed(line)
                    if sse is not None:
                        yield event_of(sse)

    async def wait(
        self, job_id: str, *, on_event: Callable[[JobEvent], None] | None = None, timeout: float | None = None
    ) -> ClipView:
        """Follow the job until it is in a final state and return it, resuming a dropped stream; see :meth:`Clips.wait`.

        Example:
            >>> job = await AsyncClient("http://127.0.0.1:8000").clips.wait("0123", timeout=600)  # doctest: +SKIP
        """
        waiter = Waiter(job_id, on_event, timeout)
        while True:
            try:
                async for event in self.events(job_id, after=waiter.last_seq, read_timeout=waiter.read_timeout()):
                    waiter.seen(event)
                error = ServerConnectionError(f"the event stream of job {job_id} ended before the job did")
            except ServerConnectionError as dropped:
                error = dropped
            view = await self.get(job_id)
            if waiter.finished(view):
                return view
            await asyncio.sleep(waiter.dropped(error))

    async def download(self, job_id: str, name: str | None = None, *, to: str | Path = ".") -> Path:
        """Save one of the job's files (None: its MP4) into ``to``, atomically; see :meth:`Clips.download`.

        Example:
            >>> path = await AsyncClient("http://127.0.0.1:8000").clips.download("0123", to="out/")  # doctest: +SKIP
        """
        name = file_name(name if name is not None else mp4_of(await self.get(job_id)))
        target = folder(to) / name
        with connection_errors(self._url):
            async with self._http.stream("GET", f"/v1/clips/{job_id}/files/{name}") as response:
                if response.status_code >= 400:
                    await response.aread()
                size = check(response).headers.get("content-length")
                with saving(target, int(size) if size else None) as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
        return target

    async def download_all(self, job_id: str, *, to: str | Path = ".") -> builtins.list[Path]:
        """Save every file of the job into the folder ``to``.

        Example:
            >>> client = AsyncClient("http://127.0.0.1:8000")
            >>> paths = await client.clips.download_all("0123", to="out/")  # doctest: +SKIP
        """
        return [await self.download(job_id, name, to=to) for name in (await self.get(job_id)).files]


class AsyncClient:
    """A typed asyncio client of ``aigc serve``: the arguments of :class:`~aigc_sdk.client.Client`.

    ``transport=httpx.ASGITransport(app)`` runs it against an app in the same process (no network).

    Example:
        >>> import asyncio
        >>> asyncio.run(AsyncClient("http://127.0.0.1:8000", timeout=5).aclose())
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float | None = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = checked_url(base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=client_headers(api_key), timeout=timeout, transport=transport
        )
        self.clips = AsyncClips(self._http, self.base_url)

    async def health(self) -> dict[str, Any]:
        """``GET /readyz``: the server's queue and workers.

        Example:
            >>> ready = await AsyncClient("http://127.0.0.1:8000").health()  # doctest: +SKIP
        """
        with connection_errors(self.base_url):
            answer: dict[str, Any] = check(await self._http.get("/readyz")).json()
        return answer

    async def aclose(self) -> None:
        """Close the connections.

        Example:
            >>> import asyncio
            >>> asyncio.run(AsyncClient("http://127.0.0.1:8000").aclose())
        """
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
