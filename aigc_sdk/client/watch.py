"""Watch mode for desks: new files in folders, and new items of RSS/Atom feeds, become jobs of ``aigc serve``.

Each poll looks at every source: a folder (its article files, ``.md``/``.txt``/``.html``, sent as text; its data
feeds, ``.geojson``/``.json``/``.csv``, uploaded; the items of its RSS/Atom files), an RSS/Atom file, or a feed's
``http(s)://`` URL (fetched by this process, never by the server). A folder's file is one item, known by its name
and the hash of its content (an edited file is new); a feed item is known by its id (guid, else link).

Every item is submitted with an ``Idempotency-Key`` derived from what it is known by, so the server never makes
two jobs of one item, even when the state file is lost; the state file (written atomically after each job)
keeps a restarted watcher from asking at all. Items the server refuses (a bad article) are reported once per
run; a full queue or an unreachable server ends the poll early, and the next poll goes on from there.

Example:
    >>> from aigc_sdk.client import Client
    >>> from aigc_sdk.client.watch import Watcher
    >>> watcher = Watcher(Client("http://127.0.0.1:8000"), ["desk/"], state="watch-state.json")  # doctest: +SKIP
    >>> [s.job_id for s in watcher.poll().submitted]  # doctest: +SKIP
    ['4f0c…', '9a1e…']
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aigc_sdk._internal.files import atomic_write_json
from aigc_sdk._internal.htmltext import looks_like_html, read_html
from aigc_sdk.client._base import ClipKwargs, check_options
from aigc_sdk.client._errors import ServerBusyError, ServerConnectionError, ServerError
from aigc_sdk.client._sync import Client
from aigc_sdk.errors import AigcError, InvalidRequestError

__all__ = ["FEED_SUFFIXES", "PollReport", "Submission", "WatchItem", "WatchState", "Watcher", "idempotency_key"]

#: RSS/Atom files: each item is a job.
FEED_SUFFIXES = (".rss", ".atom", ".xml")
#: Data feeds: the file is uploaded (its story template is chosen by suffix, or by the ``template`` option).
UPLOAD_SUFFIXES = (".geojson", ".json", ".csv")
#: Names a folder's writer uses while a file is not complete yet.
_PARTIAL = (".tmp", ".part", ".partial", ".crdownload", ".swp", "~")
#: The most a feed URL may send.
MAX_FEED_BYTES = 20 * 2**20


def idempotency_key(kind: Literal["file", "item"], ident: str) -> str:
    """The ``Idempotency-Key`` of an item: a hash of what it is known by (a file's name and content hash, an item id).

    Example:
        >>> idempotency_key("item", "urn:desk:1")
        'aigc-watch-1eecc4fe5fcbb11bcdfec27e35a675df448502a24102ef7a'
    """
    return "aigc-watch-" + hashlib.sha256(f"{kind}\0{ident}".encode()).hexdigest()[:48]


class WatchItem(BaseModel):
    """One thing to make a clip of: its key, where it came from, and its article text or the file to upload.

    Example:
        >>> WatchItem(key="k", source="desk/", name="park.md", article="# Park").file is None
        True
    """

    key: str
    source: str
    name: str
    article: str | None = None
    file: Path | None = None
    language: str | None = None


class Submission(BaseModel):
    """What became of an item: its job, or why the server refused it.

    Example:
        >>> Submission(source="desk/", name="park.md", job_id="a1").refused is None
        True
    """

    source: str
    name: str
    job_id: str | None = None
    refused: str | None = None


class PollReport(BaseModel):
    """One poll: jobs made, items refused or known before, sources unread, and why it stopped early, if it did.

    Example:
        >>> PollReport().ok
        True
    """

    submitted: list[Submission] = Field(default_factory=list)
    refused: list[Submission] = Field(default_factory=list)
    known: int = 0
    problems: dict[str, str] = Field(default_factory=dict)
    stopped: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """Whether every source was read and every new item reached the server.

        Example:
            >>> PollReport(stopped="no answer").ok
            False
        """
        return self.stopped is None and not self.problems


class WatchState:
    """The items already made into jobs, in a JSON file written atomically (``{"version": 1, "items": {key: …}}``).

    Args:
        path: The state file; created on the first job.

    Raises:
        InvalidRequestError: The file is there but is not a watch state.

    Example:
        >>> import tempfile, pathlib
        >>> state = WatchState(pathlib.Path(tempfile.mkdtemp()) / "state.json")
        >>> state.remember("k1", job_id="a1", source="desk/", name="park.md")
        >>> "k1" in state, "k2" in state
        (True, False)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.items: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = WatchStateFile.model_validate_json(self.path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise InvalidRequestError(
                f"{self.path} is not an aigc watch state: {str(exc).splitlines()[0]}",
                hint="give another --state file, or delete it (the server's idempotency keys still stop repeats)",
            ) from None
        return data.items

    def __contains__(self, key: object) -> bool:
        return key in self.items

    def remember(self, key: str, *, job_id: str, source: str, name: str) -> None:
        """Record an item's job and write the state file (atomically).

        Example:
            >>> WatchState.remember.__name__
            'remember'
        """
        made = datetime.now(UTC).isoformat(timespec="seconds")
        self.items[key] = {"job": job_id, "source": source, "name": name, "submitted": made}
        atomic_write_json(self.path, WatchStateFile(items=self.items).model_dump())


class WatchStateFile(BaseModel):
    """The state file's layout.

    Example:
        >>> WatchStateFile().version
        1
    """

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    items: dict[str, dict[str, Any]] = Field(default_factory=dict)


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def check_sources(sources: Iterable[str | Path]) -> list[str]:
    """The sources to watch, checked before any poll: folders, RSS/Atom files or feed URLs.

    Raises:
        InvalidRequestError: A source that does not exist, or a file that is not an RSS/Atom feed.

    Example:
        >>> check_sources(["examples/data/desk_feed.rss", "https://news.example.org/feed.xml"])
        ['examples/data/desk_feed.rss', 'https://news.example.org/feed.xml']
        >>> check_sources(["examples/data/article_en.md"])
        Traceback (most recent call last):
        aigc_sdk.errors.InvalidRequestError: examples/data/article_en.md: watch a folder, an RSS/Atom file ...
    """
    checked = [str(source) for source in sources]
    if not checked:
        raise InvalidRequestError("nothing to watch", hint="give folders, RSS/Atom files or feed URLs")
    for source in checked:
        path = Path(source)
        if _is_url(source) or path.is_dir() or (path.is_file() and path.suffix.lower() in FEED_SUFFIXES):
            continue
        why = "no such file or folder" if not path.exists() else "watch a folder, an RSS/Atom file or a feed URL"
        raise InvalidRequestError(f"{source}: {why}", hint="e.g. aigc watch desk/ feeds/city.rss --server URL")
    return checked


class Watcher:
    """Polls folders and feeds, and makes a job of each new item on the server.

    Args:
        client: The server's client.
        sources: Folders, RSS/Atom files and feed URLs (checked now).
        state: The state file.
        options: Every job's clip options (``aspect``, ``duration``, ``music`` …), checked now.
        settle: Seconds a folder's file must be left unchanged before it is taken (a copy may be in progress).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> watcher = Watcher(Client("http://127.0.0.1:8000"), [folder], state=folder / ".state.json")
        >>> watcher.scan()
        []
    """

    def __init__(
        self,
        client: Client,
        sources: Sequence[str | Path],
        *,
        state: str | Path,
        options: ClipKwargs | None = None,
        settle: float = 1.0,
    ) -> None:
        self.client = client
        self.sources = check_sources(sources)
        self.state = WatchState(state)
        self.options: ClipKwargs = options or {}
        check_options(self.options)
        self.settle = settle
        self._refused: set[str] = set()
        self._problems: dict[str, str] = {}

    def scan(self) -> list[WatchItem]:
        """Every item the sources hold now (known or not); a source that cannot be read is noted, not raised.

        Example:
            >>> Watcher.scan.__name__
            'scan'
        """
        self._problems = {}
        found: list[WatchItem] = []
        for source in self.sources:
            try:
                found.extend(self._read_source(source))
            except AigcError as error:
                self._problems[source] = error.message
            except OSError as error:  # a folder that cannot be listed
                self._problems[source] = f"cannot read it: {error}"
        return found

    def poll(self) -> PollReport:
        """Scan the sources and make a job of each new item; see the module for what stops a poll early.

        Raises:
            UnauthorizedError: The server refused the API key (no poll can succeed).

        Example:
            >>> Watcher.poll.__name__
            'poll'
        """
        items = self.scan()
        report = PollReport(problems=dict(self._problems))
        for item in items:
            if item.key in self.state or item.key in self._refused:
                report.known += 1
                continue
            try:
                job = self._submit(item)
            except InvalidRequestError as error:  # the server's 4xx (BadRequestError), or this side's check
                self._refused.add(item.key)
                report.refused.append(Submission(source=item.source, name=item.name, refused=str(error)))
                continue
            except (ServerBusyError, ServerConnectionError) as error:
                report.stopped, report.retry_after = error.message, getattr(error, "retry_after", None)
                break
            except ServerError as error:
                if error.status < 500:
                    raise
                report.stopped = str(error)
                break
            self.state.remember(item.key, job_id=job, source=item.source, name=item.name)
            report.submitted.append(Submission(source=item.source, name=item.name, job_id=job))
        return report

    def _submit(self, item: WatchItem) -> str:
        options: ClipKwargs = {**self.options}
        if item.language and not options.get("language"):
            options["language"] = item.language
        view = self.client.clips.create(item.article, file=item.file, idempotency_key=item.key, **options)
        return view.id

    def _read_source(self, source: str) -> list[WatchItem]:
        if _is_url(source):
            return _feed_url_items(source)
        path = Path(source)
        if path.is_file():
            return _feed_items(path, source)
        if not path.is_dir():
            raise InvalidRequestError(f"{source} is gone")
        return self._folder_items(path, source)

    def _folder_items(self, folder: Path, source: str) -> list[WatchItem]:
        """The items of a folder's settled files; a file that cannot be read is noted (by its path), not raised."""
        from aigc_sdk.pipelines.news_clip import ARTICLE_SUFFIXES

        taken = (*ARTICLE_SUFFIXES, *FEED_SUFFIXES, *UPLOAD_SUFFIXES)
        items: list[WatchItem] = []
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in taken or path.name.startswith(".") or path.name.endswith(_PARTIAL):
                continue
            try:
                if path.absolute() == self.state.path.absolute() or not path.is_file():
                    continue
                if time.time() - path.stat().st_mtime < self.settle:
                    continue  # still being written, perhaps: the next poll takes it
                items.extend(_file_items(path, source, article=path.suffix.lower() in ARTICLE_SUFFIXES))
            except OSError as error:
                self._problems[str(path)] = f"cannot read it: {error}"
            except AigcError as error:
                self._problems[str(path)] = error.message
        return items


def _file_items(path: Path, source: str, *, article: bool) -> list[WatchItem]:
    """A folder's file as items: a feed's items, an article's text, or a data feed to upload."""
    if path.suffix.lower() in FEED_SUFFIXES:
        return _feed_items(path, source)
    content = path.read_bytes()
    key = idempotency_key("file", f"{path.name}\0{hashlib.sha256(content).hexdigest()}")
    if article:
        return [WatchItem(key=key, source=source, name=path.name, article=_text(content, path))]
    return [WatchItem(key=key, source=source, name=path.name, file=path)]


def _text(content: bytes, path: Path) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"{path} is not UTF-8 text: {exc}", hint="save the article as UTF-8") from exc


def _feed_items(path: Path, source: str) -> list[WatchItem]:
    """The items of an RSS/Atom file with text (an item without any is left out), each as an article."""
    from aigc_sdk.pipelines.feeds import read_feed

    feed = read_feed(path)
    items = []
    for item in feed.items:
        article = _article(item.title, item.body.strip())
        if article is not None:
            key = idempotency_key("item", item.id)
            language = item.language or feed.language
            items.append(WatchItem(key=key, source=source, name=item.id, article=article, language=language))
    return items


def _article(title: str, body: str) -> str | None:
    r"""A feed item as an article: HTML with its headline, or Markdown for a plain-text summary; None without text.

    Example:
        >>> _article("Vote", "<p>It passed.</p>")
        '<article>\n<h1>Vote</h1>\n<p>It passed.</p>\n</article>\n'
        >>> _article("Vote", "It passed."), _article("Vote", "<p> </p>")
        ('# Vote\n\nIt passed.\n', None)
    """
    if looks_like_html(body):
        if not any(block.text.strip() for block in read_html(body).blocks):
            return None
        return f"<article>\n<h1>{escape(title)}</h1>\n{body}\n</article>\n"
    return f"# {title}\n\n{body}\n" if body else None


def _feed_url_items(url: str) -> list[WatchItem]:
    """A feed's items, fetched from its URL into a temp file (at most :data:`MAX_FEED_BYTES`)."""
    with tempfile.TemporaryDirectory(prefix="aigc-watch-") as scratch:
        path = Path(scratch) / "feed.xml"
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=30) as response, path.open("wb") as out:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    if out.tell() > MAX_FEED_BYTES:
                        raise InvalidRequestError(f"{url} sent more than {MAX_FEED_BYTES // 2**20} MiB")
        except httpx.HTTPError as exc:
            raise InvalidRequestError(f"cannot fetch {url}: {exc}", hint="check the feed's address") from exc
        return _feed_items(path, url)
