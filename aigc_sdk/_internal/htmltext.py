"""The readable text of an HTML page or fragment, block by block (stdlib :mod:`html.parser`, no download).

Scripts, styles, navigation, headers and footers of the site, asides, forms, figures and their captions,
hidden elements and elements whose class or id names page furniture (``share``, ``ad``, ``byline``,
``caption``, ``related``, ``newsletter`` ...) are skipped; blocks made mostly of link text (menus, lists of
related stories) are dropped. When the page has ``<article>`` or ``<main>`` elements, only the one holding
the most text is kept. The title is the first ``<h1>``, else ``og:title``, else ``<title>`` without the site
name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from aigc_sdk._internal.linebreak import is_cjk

__all__ = ["HtmlBlock", "HtmlDocument", "looks_like_html", "read_html"]

_SKIP_TAGS = frozenset(
    "script style noscript template head nav footer aside figure figcaption form button select textarea "
    "svg iframe object video audio canvas picture menu dialog".split()
)
_VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_BLOCK_TAGS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote section article main header pre table tr td th "
    "address hr center details summary".split()
)
_CONTAINERS = frozenset({"article", "main"})
#: Elements whose class names describe the page layout, not furniture ("page sidebar-left").
_NEVER_SKIPPED = frozenset({"html", "body", "main", "article"})
#: Class or id words that mark page furniture (matched as whole words of the attribute).
_FURNITURE_WORDS = frozenset(
    """ad ads adv advert adverts advertisement advertising sponsored promo promoted share sharing social byline
    author caption credit credits related recommended newsletter subscribe signup comments comment sidebar nav
    navigation menu breadcrumb breadcrumbs cookie cookies footer masthead toolbar tags popup modal outbrain
    taboola tweet dateline timestamp date meta""".split()
)
#: Tags whose start closes an open <p> (HTML's implied end tags): a skipped <p> ends at them.
_CLOSES_P = frozenset(
    "address article aside blockquote details div dl fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr main menu nav ol p pre section table ul".split()
)
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alert"})
_HTML_START = re.compile(
    r"\s*(?:<!--.*?-->\s*)*<(?:!doctype|html|head|body|article|main|div|p|section|h[1-6]|figure|header|ul|ol|"
    r"table|span|a|img|blockquote|br)\b",
    re.IGNORECASE | re.DOTALL,
)
_HTML_CLOSE = re.compile(r"</(?:p|div|h[1-6]|li|article|section|blockquote)\s*>", re.IGNORECASE)
_SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]+$")
#: Share of a block's text that may be link text before the block is taken for a menu.
MAX_LINK_SHARE = 0.5


@dataclass(frozen=True)
class HtmlBlock:
    r"""One block of text: a paragraph, list item or heading; ``<br>`` line breaks kept as ``\n``.

    Example:
        >>> HtmlBlock("Rain fell.", heading=0).heading
        0
    """

    text: str
    heading: int = 0  # 1 to 6 for <h1> to <h6>


@dataclass(frozen=True)
class HtmlDocument:
    """A page's title and its readable blocks, in document order.

    Example:
        >>> read_html("<h1>Vote</h1><p>The council voted.</p>").title
        'Vote'
    """

    title: str | None
    blocks: tuple[HtmlBlock, ...]


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is HTML (a page or an RSS item's body) rather than Markdown or plain text.

    Example:
        >>> looks_like_html("<p>Rain fell.</p>"), looks_like_html("# Title\\n\\nRain fell. <br> The end.")
        (True, False)
    """
    return _HTML_START.match(text) is not None or len(_HTML_CLOSE.findall(text)) >= 2


def read_html(text: str) -> HtmlDocument:
    """The title and readable blocks of an HTML page or fragment.

    Example:
        >>> page = (
        ...     "<html><head><title>Vote | The Herald</title></head><body><nav><a href='/'>Home</a></nav>"
        ...     "<article><p>The council voted.<br>Work starts soon.</p>"
        ...     "<figure><img src='a.jpg'><figcaption>The site. Photo: J. Roe</figcaption></figure>"
        ...     "<div class='share-tools'>Share this article</div><p>Rents rose.</p></article></body></html>"
        ... )
        >>> doc = read_html(page)
        >>> doc.title, [b.text for b in doc.blocks]
        ('Vote', ['The council voted.\\nWork starts soon.', 'Rents rose.'])
    """
    parser = _BlockParser()
    parser.feed(text)
    parser.close()
    return HtmlDocument(title=parser.title(), blocks=tuple(parser.content()))


@dataclass
class _Pending:
    """The block being collected, with its link text and the container (article/main) it is in."""

    parts: list[str] = field(default_factory=list)
    link_chars: int = 0
    heading: int = 0


@dataclass(frozen=True)
class _Collected:
    block: HtmlBlock
    container: int | None


class _BlockParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._skip: str | None = None  # the tag that opened the subtree being skipped
        self._skip_depth = 0  # how many of that tag are open
        self._skip_lists = 0  # lists open inside a skipped <li> (a <li> in them is theirs)
        self._sup = False  # inside <sup>
        self._links = 0
        self._containers: list[int] = []
        self._container_count = 0
        self._pending = _Pending()
        self._collected: list[_Collected] = []
        self._h1: str | None = None
        self._og_title: str | None = None
        self._title_parts: list[str] | None = None
        self._page_title = ""

    # -- parser callbacks ------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and values.get("property", values.get("name", "")).lower() == "og:title":
            self._og_title = " ".join(values.get("content", "").split()) or None
        if tag == "title":
            self._title_parts = []
        if self._skip is not None and not self._closes_skipped(tag, start=True):
            self._skip_depth += tag == self._skip
            self._skip_lists += tag in ("ul", "ol")
            return
        self._skip = None
        if tag not in _VOID_TAGS and (tag in _SKIP_TAGS or (tag not in _NEVER_SKIPPED and _is_furniture(values))):
            self._flush()
            self._skip, self._skip_depth, self._skip_lists = tag, 1, 0
            return
        if tag in _BLOCK_TAGS:
            self._flush()
            if tag in _CONTAINERS:
                self._container_count += 1
                self._containers.append(self._container_count)
            if re.fullmatch(r"h[1-6]", tag):
                self._pending.heading = int(tag[1])
        elif tag == "br":
            self._pending.parts.append("\n")
        elif tag == "a":
            self._links += 1
        elif tag == "sup":
            self._sup = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title_parts is not None:
            self._page_title = " ".join("".join(self._title_parts).split())
            self._title_parts = None
        if self._skip is not None and not self._closes_skipped(tag, start=False):
            self._skip_depth -= tag == self._skip
            self._skip_lists -= tag in ("ul", "ol") and self._skip_lists > 0
            if self._skip_depth == 0:
                self._skip = None
            return
        self._skip = None
        if tag in _BLOCK_TAGS:
            self._flush()
            if tag in _CONTAINERS and self._containers:
                self._containers.pop()
        elif tag == "a" and self._links:
            self._links -= 1
        elif tag == "sup":
            self._sup = False

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None:
            self._title_parts.append(data)
        if self._skip is not None:
            return
        text = _collapse(data)
        if self._sup and re.fullmatch(r"[-−]?\d+", text) and "".join(self._pending.parts)[-1:].isdigit():
            text = "^" + text  # an exponent: 10<sup>6</sup> is 10^6, not 106
        self._pending.parts.append(text)
        if self._links:
            self._pending.link_chars += len(text.strip())

    def _closes_skipped(self, tag: str, *, start: bool) -> bool:
        """Whether ``tag`` ends a skipped <p> or <li> left open (valid HTML: ``<p class="credit">AP<p>Story``).

        A block tag's start, or a parent's end tag, ends a <p>; the next <li> or the end of its list ends a <li>.
        """
        if self._skip == "p":
            return tag in _CLOSES_P if start else tag in _BLOCK_TAGS and tag != "p"
        if self._skip == "li" and self._skip_lists == 0:
            return tag == "li" if start else tag in ("ul", "ol")
        return False

    # -- results ---------------------------------------------------------------------------------

    def title(self) -> str | None:
        """The first <h1>, else og:title, else <title> without the site name."""
        if self._h1:
            return self._h1
        if self._og_title:
            return self._og_title
        return _SITE_SUFFIX.sub("", self._page_title) or None

    def content(self) -> list[HtmlBlock]:
        """The blocks of the container with the most text (or every block when there is none)."""
        self._flush()
        sizes: dict[int, int] = {}
        for item in self._collected:
            if item.container is not None:
                sizes[item.container] = sizes.get(item.container, 0) + len(item.block.text)
        if not sizes:
            return [item.block for item in self._collected]
        best = max(sizes, key=lambda c: (sizes[c], -c))
        return [item.block for item in self._collected if item.container == best]

    def _flush(self) -> None:
        pending, self._pending = self._pending, _Pending()
        lines = [line.strip() for line in "".join(pending.parts).split("\n")]
        text = "\n".join(lines).strip()
        if not text:
            return
        if pending.heading == 1 and self._h1 is None:
            self._h1 = " ".join(text.split())
            return
        if pending.link_chars > MAX_LINK_SHARE * len(text.replace("\n", "")):
            return  # a menu or a list of links
        container = self._containers[-1] if self._containers else None
        for piece in re.split(r"\n\s*\n", text):  # <br><br> separates paragraphs
            self._collected.append(_Collected(HtmlBlock(piece.strip(), pending.heading), container))


def _is_furniture(attrs: dict[str, str]) -> bool:
    """An element whose class, id, role or hidden state says it is not the story."""
    if "hidden" in attrs or attrs.get("aria-hidden", "").lower() == "true":
        return True
    if attrs.get("role", "").lower() in _FURNITURE_ROLES:
        return True
    words = re.split(r"[\s_-]+", f"{attrs.get('class', '')} {attrs.get('id', '')}".lower())
    return any(word in _FURNITURE_WORDS for word in words)


def _collapse(data: str) -> str:
    """HTML whitespace: a run is one space, none where a source line break falls between CJK characters."""

    def space(match: re.Match[str]) -> str:
        before = data[match.start() - 1] if match.start() else ""
        after = data[match.end()] if match.end() < len(data) else ""
        between_cjk = bool(before and after) and is_cjk(before) and is_cjk(after)
        return "" if between_cjk and "\n" in match.group() else " "

    return re.sub(r"\s+", space, data)
