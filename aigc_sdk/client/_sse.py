"""Server-Sent Events, decoded line by line as the HTML standard says (no I/O here: sync and async feed it lines).

Fields are ``event``, ``data`` (several lines joined with a newline), ``id`` and ``retry``; a line that starts
with ``:`` is a comment (the server's keep-alive pings); a blank line ends an event; an event without data is
not dispatched; one space after the colon is dropped.

Example:
    >>> decoder = SSEDecoder()
    >>> lines = ["event: stage", "id: 3", 'data: {"seq": 3}', "", ": ping", ""]
    >>> [event for line in lines if (event := decoder.feed(line)) is not None]
    [ServerSentEvent(event='stage', data='{"seq": 3}', id='3', retry=None)]
    >>> decoder.last_event_id
    '3'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]


@dataclass(frozen=True)
class ServerSentEvent:
    """One event of a stream: its type (``message`` when the server names none), data, id and retry.

    Example:
        >>> ServerSentEvent(data="x").event
        'message'
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    r"""Feed it the stream's lines (without their line ends); it returns an event at each blank line that ends one.

    :attr:`last_event_id` is the last id the stream set: send it as ``Last-Event-ID`` to resume after a drop.

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed("data: one"), decoder.feed("data: two"), decoder.feed("")
        (None, None, ServerSentEvent(event='message', data='one\ntwo', id=None, retry=None))
    """

    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self._event = ""
        self._data: list[str] = []
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line; the event it completes, if it is the blank line that ends one.

        Example:
            >>> SSEDecoder().feed("retry: 1000") is None
            True
        """
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event = None
        if self._data:
            data = "\n".join(self._data)
            event = ServerSentEvent(self._event or "message", data, self.last_event_id, self._retry)
        self._event, self._data, self._retry = "", [], None
        return event
