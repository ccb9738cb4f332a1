"""RSS and Atom feeds → news clips: one clip per new item, or one round-up of the newest items.

Read it top to bottom: :func:`read_feed` turns a feed file into :class:`FeedItem` values
(feedparser reads RSS 0.9x/1.0/2.0 and Atom; the item's id is its guid/id, else its link;
its text the HTML of ``content:encoded``/Atom ``content``, else its ``summary``; its
language the item's own, else the channel's). :func:`plan_feed_clips` decides what to
make, before any work: the items not yet done (a small state file in the output folder
remembers them, keyed by the feed's path), each written to the work folder as an HTML
article with its checked :class:`~aigc_sdk.pipelines.news_clip.NewsClipConfig`; or, with
``roundup=N``, one "Top stories" article of the newest N items (title and lead sentence
each). :func:`make_feed_clips` runs the normal news clip on each, records the item in the
clip's manifest (``"source"``) and remembers it at once, so an interrupted run goes on
where it stopped. :func:`news_clips_from_feed` does both.

Example:
    >>> from aigc_sdk.pipelines.feeds import news_clips_from_feed
    >>> made = news_clips_from_feed("examples/data/desk_feed.rss", "out/desk/", aspect="1:1")  # doctest: +SKIP
    >>> [c.clip.video.name for c in made]  # doctest: +SKIP
    ['desk-2025-11-27-park.mp4', 'desk-2025-11-28-ferry.mp4', 'desk-2025-11-28-library-zh.mp4']
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aigc_sdk._internal.files import atomic_write_bytes, atomic_write_json
from aigc_sdk._internal.htmltext import looks_like_html, read_html
from aigc_sdk._internal.languages import primary_language
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.text.article import parse_article
from aigc_sdk.generators.text.script_writer import estimate_seconds
from aigc_sdk.pipelines.base import PipelineEvent
from aigc_sdk.pipelines.news_clip import NewsClip, NewsClipConfig, news_clip
from aigc_sdk.studio import Studio
from aigc_sdk.types import normalize_language

__all__ = [
    "STATE_FILE",
    "Feed",
    "FeedClip",
    "FeedItem",
    "FeedJob",
    "FeedPlan",
    "make_feed_clips",
    "news_clips_from_feed",
    "plan_feed_clips",
    "read_feed",
]

#: The state file in the output folder: the items already made into clips, per feed.
STATE_FILE = ".aigc-feed-state.json"
#: The work folder (in the output folder) that holds each clip's article.
WORK_FOLDER = ".aigc-feed"
#: Headline of a round-up, per language.
ROUNDUP_HEADLINES = {"en": "Top stories", "zh": "要闻速览"}
#: Options a feed decides itself (per clip) or that only data feeds take.
_NOT_FOR_FEEDS = {
    "input": "each clip's input is its item's article",
    "output": "each clip is named after its item in the output folder",
    "template": "only for data feeds (.geojson/.csv/.json); an RSS/Atom item is an article",
    "timezone": "only for data feeds (.geojson/.csv/.json); an RSS/Atom item is an article",
}


class FeedItem(FrozenModel):
    """One item of a feed: its id, headline, link, language, date and HTML body.

    Example:
        >>> item = FeedItem(id="urn:x:1", title="Vote", body="<p>The council voted.</p>")
        >>> item.lead, item.slug
        ('The council voted.', 'urn-x-1-8a526707')
    """

    id: str
    title: str
    link: str | None = None
    language: str | None = None
    published: datetime | None = None
    body: str

    @property
    def lead(self) -> str:
        """The first story sentence of the item's article, as the article reader reads it ("" for an empty body).

        Bylines, datelines, captions and the headline said again are not the lead.

        Example:
            >>> FeedItem(id="a", title="Vote", body="<h2>Vote</h2><p>It passed. Work starts.</p>").lead
            'It passed.'
            >>> FeedItem(id="a", title="Vote", body="<p>By Jane Doe, Staff Writer</p><p>It passed.</p>").lead
            'It passed.'
        """
        article = parse_article(self.body, language=self.language)  # HTML, or a plain-text summary
        title = _words(self.title)
        return next((s for s in article.sentences if _words(s) != title), "")

    @property
    def slug(self) -> str:
        """A file name from the item's id: lowercase letters, digits and dashes, then a short hash of the whole id.

        The hash keeps ids apart that read alike once lowercased and cut (``urn:x:1``, ``URN:X:1``, ``urn-x-1``,
        or two long links that differ only near their end).

        Example:
            >>> FeedItem(id="https://news.example.org/2025/park?x=1", title="t", body="b").slug
            'news-example-org-2025-park-x-1-...'
            >>> FeedItem(id="新闻", title="t", body="b").slug
            'item-...'
        """
        text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", self.id.lower())
        slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64].strip("-")
        return f"{slug or 'item'}-{hashlib.sha256(self.id.encode()).hexdigest()[:8]}"


class Feed(FrozenModel):
    """A feed read from a file: its title, language and items (in the feed's order).

    Example:
        >>> feed = read_feed("examples/data/desk_feed.rss")
        >>> feed.title, feed.language, len(feed.items)
        ('City Desk (sample)', 'en', 3)
    """

    path: Path
    title: str | None = None
    language: str | None = None
    items: list[FeedItem]

    def newest(self, count: int) -> list[FeedItem]:
        """The ``count`` newest items, newest first (undated items after dated ones, in feed order).

        Example:
            >>> [i.id for i in read_feed("examples/data/desk_feed.rss").newest(2)]
            ['desk-2025-11-28-library-zh', 'desk-2025-11-28-ferry']
        """
        oldest = datetime.min.replace(tzinfo=UTC)
        ranked = sorted(self.items, key=lambda item: item.published or oldest, reverse=True)  # stable
        return ranked[:count]


def read_feed(path: str | Path) -> Feed:
    """Read an RSS or Atom file (never the network) into a :class:`Feed`.

    Raises:
        InvalidRequestError: The file cannot be read, is not a feed (not XML, or no items to be found in it),
            or names an item without a title.
        MissingDependencyError: feedparser is not installed (the ``news`` extra).

    Example:
        >>> [item.language for item in read_feed("examples/data/desk_feed.atom").items]
        ['en', 'en', 'zh']
    """
    feedparser: Any = require("feedparser", extra="news", feature="RSS/Atom feeds")
    path = Path(path)
    try:
        data = path.read_bytes()  # bytes, so feedparser never takes the argument for a URL
    except OSError as exc:
        raise InvalidRequestError(f"cannot read the feed {path}: {exc}") from exc
    parsed = feedparser.parse(data)
    if not parsed.entries:
        why = f"not a well-formed feed ({parsed.get('bozo_exception')})" if parsed.bozo else "a feed with no items"
        raise InvalidRequestError(
            f"{path} is {why}", hint="give an RSS or Atom file (a saved feed, not a web page) with at least one item"
        )
    channel = parsed.feed
    language = _language(channel.get("language") or channel.get("title_detail", {}).get("language"))
    items: dict[str, FeedItem] = {}
    for number, entry in enumerate(parsed.entries, start=1):
        item = _item(entry, language)
        if item is None:
            raise InvalidRequestError(f"item {number} of the feed {path} has no title", hint="fix the feed")
        items.setdefault(item.id, item)  # an id twice: the first wins
    return Feed(path=path, title=channel.get("title"), language=language, items=list(items.values()))


# ------------------------------------------------------------------------------------------ the plan


class FeedJob(BaseModel):
    """One clip to make: the items it tells (one, or the round-up's), its headline and its checked config."""

    items: list[FeedItem]
    title: str
    roundup: bool
    config: NewsClipConfig


class FeedPlan(BaseModel):
    """What a feed run will do: the clips to make, the items done before, the items left out (and why).

    Example:
        >>> FeedPlan.model_fields["done_before"].annotation
        list[str]
    """

    feed: Feed
    out_dir: Path
    jobs: list[FeedJob]
    done_before: list[str]
    left_out: dict[str, str]


class FeedClip(BaseModel):
    """A clip made from a feed: the item ids it tells and the clip.

    Example:
        >>> FeedClip.model_fields["item_ids"].annotation
        list[str]
    """

    item_ids: list[str]
    title: str
    clip: NewsClip


def plan_feed_clips(
    path: str | Path, out_dir: str | Path, *, roundup: int | None = None, **clip_options: Any
) -> FeedPlan:
    """Decide what to make from a feed, before any work: each new item's clip, or one round-up of the newest.

    Each clip's article is written to ``out_dir/.aigc-feed/`` (HTML for an item, Markdown for a round-up) and its
    :class:`~aigc_sdk.pipelines.news_clip.NewsClipConfig` checked, so a bad option fails here, before any clip.

    Args:
        path: The RSS or Atom file.
        out_dir: The folder for the clips (``<slug of item id>.mp4`` + SRT/VTT/manifest) and the state file.
        roundup: Make one round-up clip of the newest ``roundup`` items instead of one clip per item.
        **clip_options: Any other :class:`~aigc_sdk.pipelines.news_clip.NewsClipConfig` option, for every clip
            (``language`` overrides the items' own; ``target_seconds`` is each clip's length, or the round-up's).

    Raises:
        InvalidRequestError: A malformed feed (naming the file), an option that does not apply, an output folder
            that is a file, a state file that is not ours.

    Example:
        >>> import tempfile
        >>> plan = plan_feed_clips("examples/data/desk_feed.rss", tempfile.mkdtemp(), roundup=3)
        >>> [job.title for job in plan.jobs], plan.left_out
        (['Top stories'], {'desk-2025-11-28-library-zh': "in 'zh', and the round-up is in 'en'"})
    """
    for name, why in _NOT_FOR_FEEDS.items():
        if clip_options.get(name) is not None:
            raise InvalidRequestError(f"{name}={clip_options[name]!r} does not apply to an RSS/Atom feed: {why}")
    if roundup is not None and roundup < 1:
        raise InvalidRequestError(f"roundup={roundup}: a round-up needs at least one item", hint="use 1 or more")
    feed = read_feed(path)
    folder = _output_folder(out_dir)
    done = _State(folder).done(feed.path, "roundups" if roundup else "items")
    if roundup:
        return _plan_roundup(feed, folder, roundup, done, clip_options)
    new: list[FeedItem] = []
    done_before: list[str] = []
    left_out: dict[str, str] = {}
    for item in feed.items:
        if item.id in done:
            done_before.append(item.id)
        elif not _html_text(item.body):
            left_out[item.id] = "has no text (no content and no summary)"
        else:
            new.append(item)
    _refuse_shared_names([(item.id, item.slug) for item in new])  # before any article is written
    jobs: list[FeedJob] = []
    for item in new:
        language = clip_options.get("language") or item.language or feed.language
        article = _write(folder / WORK_FOLDER / f"{item.slug}.html", _item_html(item, language))
        options = {**clip_options, "input": article, "output": folder / f"{item.slug}.mp4", "language": language}
        jobs.append(FeedJob(items=[item], title=item.title, roundup=False, config=NewsClipConfig(**options)))
    return FeedPlan(feed=feed, out_dir=folder, jobs=jobs, done_before=done_before, left_out=left_out)


def _refuse_shared_names(named: list[tuple[str, str]]) -> None:
    """Refuse a plan in which two items would share a file name: one clip would overwrite the other's story."""
    first: dict[str, str] = {}
    for ident, name in named:
        if name in first:
            raise InvalidRequestError(
                f"feed items {first[name]!r} and {ident!r} would both be written as {name!r}: one would overwrite"
                " the other",
                hint="give the feed's items distinct ids (guid or link)",
            )
        first[name] = ident


def make_feed_clips(
    plan: FeedPlan,
    *,
    studio: Studio | None = None,
    on_event: Callable[[PipelineEvent], None] | None = None,
    on_job: Callable[[int, FeedJob], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[FeedClip]:
    """Make the planned clips with one Studio; record each item in its manifest and remember it at once.

    Args:
        plan: From :func:`plan_feed_clips`.
        studio: The Studio to share; None: one for this run.
        on_event: Progress of each clip's stages.
        on_job: Called with the job's index and the job before each clip starts.
        cancel: Set to stop; clips made so far stay made and remembered.

    Example:
        >>> import tempfile
        >>> plan = plan_feed_clips("examples/data/desk_feed.rss", tempfile.mkdtemp(), aspect="1:1")
        >>> made = make_feed_clips(plan)  # doctest: +SKIP
        >>> len(made), len(plan_feed_clips(plan.feed.path, plan.out_dir).jobs)  # doctest: +SKIP
        (3, 0)
    """
    own = studio is None
    studio = studio or Studio()
    state = _State(plan.out_dir)
    made: list[FeedClip] = []
    try:
        for index, job in enumerate(plan.jobs):
            if on_job is not None:
                on_job(index, job)
            clip = news_clip(job.config, studio=studio, on_event=on_event, cancel=cancel)
            _record_source(clip.manifest, plan.feed.path, job)
            ids = [item.id for item in job.items]
            state.remember(plan.feed.path, "roundups" if job.roundup else "items", ids, clip.video.name)
            made.append(FeedClip(item_ids=ids, title=job.title, clip=clip))
    finally:
        if own:
            studio.close()
    return made


def news_clips_from_feed(
    path: str | Path,
    out_dir: str | Path,
    *,
    roundup: int | None = None,
    studio: Studio | None = None,
    on_event: Callable[[PipelineEvent], None] | None = None,
    cancel: threading.Event | None = None,
    **clip_options: Any,
) -> list[FeedClip]:
    """One clip per new item of an RSS/Atom feed (or one round-up of the newest ``roundup``); [] when none is new.

    :func:`plan_feed_clips` then :func:`make_feed_clips`: see them for the arguments and errors.

    Example:
        >>> made = news_clips_from_feed("examples/data/desk_feed.atom", "out/desk", music=False)  # doctest: +SKIP
        >>> news_clips_from_feed("examples/data/desk_feed.atom", "out/desk", music=False)  # doctest: +SKIP
        []
    """
    plan = plan_feed_clips(path, out_dir, roundup=roundup, **clip_options)
    return make_feed_clips(plan, studio=studio, on_event=on_event, cancel=cancel)


# ------------------------------------------------------------------------------------------ the round-up


def _plan_roundup(feed: Feed, folder: Path, count: int, done: set[str], clip_options: dict[str, Any]) -> FeedPlan:
    """The newest ``count`` items in the round-up's language that fit its length; none when all were told."""
    language = _roundup_language(feed, clip_options.get("language"))
    budget = float(clip_options.get("target_seconds", 60.0))
    left_out: dict[str, str] = {}
    chosen: list[tuple[FeedItem, str]] = []
    spent = estimate_seconds(ROUNDUP_HEADLINES[language], language)
    for item in feed.newest(len(feed.items)):
        if len(chosen) == count:
            break
        if primary_language(item.language or language) != language:
            left_out[item.id] = f"in {item.language!r}, and the round-up is in {language!r}"
            continue
        if not item.lead:
            left_out[item.id] = "has no text (no content and no summary)"
            continue
        paragraph = _roundup_paragraph(item, language)
        seconds = estimate_seconds(paragraph, language)
        if chosen and spent + seconds > budget * 1.15:
            left_out[item.id] = f"does not fit the round-up's {budget:g} s"
            continue
        chosen.append((item, paragraph))
        spent += seconds
    items = [item for item, _ in chosen]
    if all(item.id in done for item in items):
        return FeedPlan(feed=feed, out_dir=folder, jobs=[], done_before=[i.id for i in items], left_out=left_out)
    headline = ROUNDUP_HEADLINES[language]
    text = f"# {headline}\n\n" + "\n\n".join(paragraph for _, paragraph in chosen) + "\n"
    told = "\n".join(item.id for item in items)  # a later round-up of other items gets another name
    name = f"roundup-{hashlib.sha256(told.encode()).hexdigest()[:12]}"
    options = {
        **clip_options,
        "input": _write(folder / WORK_FOLDER / f"{name}.md", text),
        "output": folder / f"{name}.mp4",
        "language": language,
        "target_seconds": min(600.0, max(5.0, spent)),  # the items were fitted here: the script keeps them all
    }
    job = FeedJob(items=items, title=headline, roundup=True, config=NewsClipConfig(**options))
    return FeedPlan(feed=feed, out_dir=folder, jobs=[job], done_before=[], left_out=left_out)


def _roundup_language(feed: Feed, asked: str | None) -> str:
    """The language asked for, else the channel's, else the items' most common; 'en' or 'zh'."""
    spoken = [item.language for item in feed.items if item.language]
    tag = asked or feed.language or (Counter(spoken).most_common(1)[0][0] if spoken else "en")
    language = primary_language(tag)
    if language not in ROUNDUP_HEADLINES:
        raise InvalidRequestError(
            f"a round-up in {tag!r} is not supported", hint=f"use --language {' or '.join(ROUNDUP_HEADLINES)}"
        )
    return language


def _roundup_paragraph(item: FeedItem, language: str) -> str:
    """The item's headline as a sentence, then its lead sentence."""
    stops = "。！？" if language == "zh" else ".!?"
    title = item.title.rstrip()
    title += "" if title.endswith(tuple(stops)) else stops[0]
    return ("" if language == "zh" else " ").join(part for part in (title, item.lead) if part)


# ------------------------------------------------------------------------------------------ the state file


class _State:
    """The items already made into clips, per feed (its resolved path) and kind (items, roundups)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_FILE

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"version": 1, "feeds": {}}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidRequestError(
                f"cannot read the feed state {self.path}: {exc}",
                hint="delete it to make clips again for every item",
            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("feeds"), dict):
            raise InvalidRequestError(f"{self.path} is not an aigc feed state", hint="delete it or use another folder")
        return data

    def done(self, feed: Path, kind: str) -> set[str]:
        return set(self._read()["feeds"].get(_feed_key(feed), {}).get(kind, {}))

    def remember(self, feed: Path, kind: str, ids: list[str], clip: str) -> None:
        data = self._read()
        record = {"clip": clip, "made": datetime.now(UTC).isoformat(timespec="seconds")}
        done = data["feeds"].setdefault(_feed_key(feed), {}).setdefault(kind, {})
        done.update(dict.fromkeys(ids, record))
        atomic_write_json(self.path, data)


def _feed_key(feed: Path) -> str:
    return str(feed.expanduser().resolve())


# ------------------------------------------------------------------------------------------ helpers


def _html_text(html: str) -> str:
    r"""The text of an HTML fragment, one paragraph per block (blank lines between): the article reader's blocks.

    Example:
        >>> _html_text("<p>One &amp; two.</p><p>Three.<script>x()</script></p>")
        'One & two.\n\nThree.'
    """
    return "\n\n".join(" ".join(block.text.split()) for block in read_html(html).blocks if block.text.strip())


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _language(tag: Any) -> str | None:
    """A feed's language tag normalised, or None when there is none or it is not a language tag."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    try:
        return normalize_language(tag)
    except InvalidRequestError:
        return None


def _item(entry: Any, channel_language: str | None) -> FeedItem | None:
    """A feedparser entry as a FeedItem (None without a title): content, else summary; its language, else the feed's."""
    title = " ".join(str(entry.get("title") or "").split())
    if not title:
        return None
    contents = entry.get("content") or []
    body = contents[0].get("value", "") if contents else ""
    body = body if _html_text(body) else str(entry.get("summary") or "")
    detail = (contents[0] if contents else None) or entry.get("title_detail") or {}
    language = _language(entry.get("language") or detail.get("language")) or channel_language
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    ident = entry.get("id") or entry.get("link") or "sha256:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    return FeedItem(
        id=str(ident),
        title=title,
        link=entry.get("link"),
        language=language,
        published=datetime(*when[:6]).replace(tzinfo=UTC) if when else None,
        body=body,
    )


def _item_html(item: FeedItem, language: str | None) -> str:
    """The item as an HTML article: its headline, then its body as the feed gave it, one block per paragraph.

    An article fragment, as an RSS item's body is (no page around it); a blank line after each block, which
    HTML ignores, keeps the blocks apart for a reader that reads lines.
    """
    lang = f' lang="{escape(language)}"' if language else ""
    if looks_like_html(item.body):
        body = re.sub(r"(</(?:p|h[1-6]|li|ul|ol|blockquote|div|figure|table|pre)>)\s*", "\\1\n\n", item.body.strip())
    else:  # a plain-text summary: its paragraphs become blocks, its text stays text
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", item.body) if p.strip()]
        body = "\n\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"<article{lang}>\n<h1>{escape(item.title)}</h1>\n\n{body.strip()}\n</article>\n"


def _write(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _output_folder(out_dir: str | Path) -> Path:
    folder = Path(out_dir).expanduser().absolute()
    if folder.suffix.lower() == ".mp4" or folder.is_file():
        raise InvalidRequestError(
            f"{out_dir} is not a folder: a feed makes one clip per item, each named after its item",
            hint="give a folder, e.g. -o out/desk/",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot create the output folder {folder}: {exc}") from exc
    return folder


def _record_source(manifest: Path, feed: Path, job: FeedJob) -> None:
    """Add the feed and the item(s) the clip tells to its manifest (feed named, not located, under privacy)."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    private = job.config.privacy
    records: list[dict[str, str | None]] = [
        {"item_id": item.id, "title": item.title, "link": item.link} for item in job.items
    ]
    if private:  # the id is usually the story's URL: it locates the source as the link does
        for record in records:
            record.update({k: "sha256:" + hashlib.sha256(v.encode()).hexdigest() for k, v in record.items() if v})
    source: dict[str, Any] = {"feed": feed.name if private else str(feed.expanduser().absolute())}
    source.update({"items": records} if job.roundup else records[0])
    data["source"] = source
    atomic_write_json(manifest, data)
