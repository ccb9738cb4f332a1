r"""Articles as they really arrive: Markdown, plain text or HTML, with page furniture, read into whole sentences.

Text copied from a web page or a CMS is hard-wrapped, has paragraphs broken in the middle of a sentence, and
carries page furniture. :func:`parse_article` reads it in four passes:

1. **Blocks.** HTML (a page saved from a browser, an RSS item's body; detected) is read with the stdlib
   parser, skipping scripts, navigation, figures and their captions and other non-story elements; Markdown
   and plain text are split at blank lines, with Markdown markup, images, code and tables dropped.
2. **Furniture.** Bylines ("By Jane Doe, Staff Writer", "记者 王明"), date lines, "Advertisement" and "广告"
   lines, photo captions and credits ("Photograph: … /Getty Images", "图片来源：…"), share prompts, "Read
   more" and "Sign up" links, editor and copyright lines are dropped, and a dateline that opens the lead
   ("MILLBROOK (AP) —", "本报讯（记者 王明）") is cut.
3. **Title.** The first Markdown heading or HTML ``<h1>``; in plain text, a short first line that is not a
   sentence. A paragraph or sentence that repeats the title is dropped, so the headline is said once.
4. **Sentences.** Hard-wrapped lines are joined (without a space between Chinese characters), a paragraph
   broken in the middle of a sentence is joined to the next, and only whole sentences are kept: fragments,
   crossheads and repeated sentences are dropped.

A clean article reads as it always did; the same article pasted from a page reads the same.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from aigc_sdk._internal.htmltext import looks_like_html, read_html
from aigc_sdk._internal.languages import primary_language
from aigc_sdk._internal.linebreak import is_cjk
from aigc_sdk._internal.sentences import ends_sentence, split_sentences

__all__ = ["Article", "Speaker", "is_furniture", "parse_article", "speaker_of"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))  # zero-width, BOM, soft hyphen
_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t]")
#: Words a sentence broken across lines or paragraphs can end on: what follows belongs to it.
_CONTINUES = frozenset(
    """a an the and or but nor of to in on at by for with from as into onto over under after before about
    than that which who whom whose where when while if because its their his her our your my this these those
    is are was were be been has have had will would could should can may might must not no said says""".split()
)
#: Longest title (words; characters for Chinese) taken from a plain-text first line.
MAX_TITLE_WORDS = 20
MAX_TITLE_CHARS = 40
#: Longest crosshead (words; characters for Chinese): a longer block that stops mid-sentence goes on in the next.
MAX_CROSSHEAD_WORDS = 8
MAX_CROSSHEAD_CHARS = 20
#: A line shorter than this share of its block's longest can end a paragraph (a hard-wrapped line is longer).
SHORT_LINE = 0.6
#: Widest line of hard-wrapped text; a wider one holds a whole paragraph.
MAX_WRAP_COLUMNS = 160
#: Longest line or block that can be furniture: a longer one is story.
MAX_FURNITURE_CHARS = 400


@dataclass(frozen=True)
class Article:
    r"""An article as title plus paragraphs of whole sentences.

    Example:
        >>> Article(title="Vote", paragraphs=(("The council voted.",),), language="en").title
        'Vote'
    """

    title: str | None
    paragraphs: tuple[tuple[str, ...], ...]
    language: str

    @functools.cached_property
    def sentences(self) -> list[str]:
        r"""Every sentence in order (built once).

        Example:
            >>> parse_article("One. Two.\n\nThree.").sentences
            ['One.', 'Two.', 'Three.']
        """
        return [s for p in self.paragraphs for s in p]

    def to_markdown(self) -> str:
        r"""The cleaned article as Markdown (``# title`` and one paragraph per block); it reads back the same.

        Example:
            >>> article = parse_article("<h1>Vote</h1><p>The council voted.</p><p>ADVERTISEMENT</p>")
            >>> article.to_markdown()
            '# Vote\n\nThe council voted.\n'
            >>> parse_article(article.to_markdown()) == article
            True
        """
        joiner = "" if self.language == "zh" else " "
        blocks = [f"# {self.title}"] if self.title else []
        blocks += [joiner.join(p) for p in self.paragraphs]
        return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class _Block:
    """A block of the source: its lines, and whether it is a heading."""

    lines: tuple[str, ...]
    heading: bool = False

    @property
    def text(self) -> str:
        return _join_lines(self.lines)


def parse_article(text: str, language: str | None = None) -> Article:
    r"""Read Markdown, plain text or HTML into a title and paragraphs of whole sentences, furniture dropped.

    The first ``#`` heading (HTML: ``<h1>``) is the title; in plain text a short first line that is not a
    sentence is. Other headings, code fences and Markdown markup are dropped.

    Example:
        >>> a = parse_article("# Vote\n\nThe council voted. Work starts soon.\n\n会议结束。明天再议？")
        >>> a.title, a.paragraphs
        ('Vote', (('The council voted.', 'Work starts soon.'), ('会议结束。', '明天再议？')))
        >>> pasted = (
        ...     "Council votes on park\n\nBy Jane Doe, Staff Writer\n\nThe council voted 7 to 2 on Tuesday to\n"
        ...     "expand the park, ending a long\n\nADVERTISEMENT\n\ndebate. Work starts soon.\n\nShare this article"
        ... )
        >>> b = parse_article(pasted)
        >>> b.title
        'Council votes on park'
        >>> b.sentences
        ['The council voted 7 to 2 on Tuesday to expand the park, ending a long debate.', 'Work starts soon.']
    """
    text = _SPACES.sub(" ", text.translate(_INVISIBLE)).replace("\r\n", "\n").replace("\r", "\n")
    if looks_like_html(text):
        page = read_html(text)
        title = page.title
        blocks = _without_furniture([_Block(tuple(b.text.split("\n")), heading=b.heading > 0) for b in page.blocks])
    else:
        title, blocks = _markdown_blocks(text)
        blocks = _without_furniture(_unwrapped(_without_furniture(blocks)))
    if title is None:
        title, blocks = _plain_title(blocks)
    paragraphs = _whole_sentences(_rejoin(blocks), title)
    body = " ".join(s for p in paragraphs for s in p)
    detected = language or _detect_language(f"{title or ''} {body}" if body or title else text)
    return Article(title=title, paragraphs=paragraphs, language=primary_language(detected))


# ------------------------------------------------------------------------------------------ blocks


def _markdown_blocks(text: str) -> tuple[str | None, list[_Block]]:
    """The title and the blocks of Markdown or plain text, markup dropped.

    The title is the first ``#`` heading, or the first heading of any level when no text comes before it (a
    ``##`` further down is a crosshead).
    """
    title: str | None = None
    blocks: list[_Block] = []
    current: list[str] = []
    fenced = False
    item = -2  # the number of the last line's list item: "3." after "2." is a list marker, not a wrapped "2024."

    def close() -> None:
        if current:
            blocks.append(_Block(tuple(current)))
            current.clear()

    for raw in text.split("\n"):
        if raw.strip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        atx = re.match(r"^\s{0,3}(#{1,6})\s+(.*)$", raw)
        heading, level = (atx.group(2), len(atx.group(1))) if atx else (None, 0)
        if re.match(r"^\s{0,3}(?:=+|-+)\s*$", raw) and len(current) == 1:  # setext heading underline
            heading, level = current.pop(), 1 if "=" in raw else 2
        if heading is not None or not raw.strip() or re.match(r"^\s{0,3}(?:[-*_]\s*){3,}$", raw):
            close()
            if heading is not None:
                name = _strip_markdown(heading).strip().rstrip("#").strip()
                if title is None and (level == 1 or not blocks):
                    title = name or None
                elif name:
                    blocks.append(_Block((name,), heading=True))
            continue
        if raw.lstrip().startswith("|") or re.match(r"^\s{0,3}\[[^\]]+\]:\s*\S", raw):
            continue  # table rows, link reference definitions
        number = re.match(r"\s{0,3}(\d+)[.)]\s", raw.strip())
        numbered = not current or ends_sentence(current[-1]) or bool(number and int(number.group(1)) == item + 1)
        item = int(number.group(1)) if number and numbered else -2
        line = _strip_markdown(raw.strip(), numbered=numbered)
        if line:
            current.append(line)
    close()
    return title, blocks


def _unwrapped(blocks: list[_Block]) -> list[_Block]:
    """Blocks split where a paragraph ends without a blank line after it.

    A block with a line wider than ``MAX_WRAP_COLUMNS`` is not hard-wrapped: each line is a paragraph
    (one broken mid-sentence is joined again later). In a hard-wrapped block, a line well shorter than the
    longest that ends a sentence, or that is no sentence and follows one (a title, a crosshead), ends a
    paragraph when the next line starts one: a hard-wrapped paragraph's lines are all about as long as its
    longest, but the last.
    """
    out: list[_Block] = []
    for block in blocks:
        lines = block.lines
        widest = max(_columns(line) for line in lines)
        start = 0
        for i, (line, following) in enumerate(itertools.pairwise(lines)):
            opens = following[:1].isupper() or is_cjk(following[0]) or following[0] in "\"'“‘"
            after_sentence = i == 0 or ends_sentence(lines[i - 1])
            short = _columns(line) < SHORT_LINE * widest and opens and (ends_sentence(line) or after_sentence)
            if widest > MAX_WRAP_COLUMNS or short:
                out.append(_Block(lines[start : i + 1], block.heading))
                start = i + 1
        out.append(_Block(lines[start:], block.heading))
    return out


def _columns(line: str) -> int:
    """Display width: a Chinese character is two columns wide."""
    return len(line) + len(_CJK.findall(line))


#: A list marker: a bullet, or a number with "." or ")" (one only after a sentence: "by the end of\n2024. Officials").
_LIST_MARKER = r"^\s{0,3}(?:[-*+]|\d+[.)])\s+"
_BULLET = r"^\s{0,3}[-*+]\s+"


def _strip_markdown(line: str, *, numbered: bool = True) -> str:
    """A line without Markdown markup; a leading "1." or "1)" is a list marker only when ``numbered``."""
    line = re.sub(r"<!--.*?-->", "", line)  # comments
    line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)  # images: a figure, not the story
    line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)  # links
    line = re.sub(r"</?[A-Za-z][^<>]*>", "", line)  # inline HTML tags
    line = re.sub(r"(\*\*|__|\*|`)(.+?)\1", r"\2", line)  # emphasis, code
    line = re.sub(_LIST_MARKER if numbered else _BULLET, "", line)  # list markers
    return re.sub(r"^\s{0,3}>\s?", "", line).strip()  # quotes


def _join_lines(lines: tuple[str, ...] | list[str]) -> str:
    """Hard-wrapped lines as one line.

    A space between words; none between Chinese characters, or after a compound word's hyphen ("two-" + "year").
    """
    out = ""
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if not out:
            out = line
        elif is_cjk(out[-1]) or is_cjk(line[0]) or (out[-1] == "-" and out[-2:-1].isalpha() and line[0].isalpha()):
            out += line
        else:
            out += " " + line
    return " ".join(out.split())


def _detect_language(text: str) -> str:
    cjk = len(_CJK.findall(text))
    words = len(_WORD.findall(text))
    return "zh" if cjk > words else "en"


# ------------------------------------------------------------------------------------------ furniture

_AFFIX = r"[\s\-–—|:：·•*_\[\]()（）【】]*"
_SHARE = (
    r"(?:share(?: (?:this|the) (?:article|story|page|post))?|share (?:on|via|to) \w+|tweet|e-?mail|print|copy link"
    r"|link copied|save(?: article)?|bookmark|comments?(?: \(\d+\))?|\d+ comments?|facebook|twitter|x|linkedin"
    r"|whatsapp|reddit|pinterest|telegram|messenger|flipboard|threads|bluesky|分享到?|微博|微信|朋友圈|qq空间|点击分享)"
)
#: Furniture that is dropped wherever a line of it stands, even inside a hard-wrapped paragraph.
_ANYWHERE = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # advertisements
        rf"^{_AFFIX}(?:advertisement|advertising|advert|ads?|sponsored(?: content)?|paid (?:content|post)|promoted"
        r"|(?:story|article) continues (?:below|after (?:this )?(?:ad|advertisement))(?: advertisement)?"
        r"|continue reading(?: (?:below|the main story|after the ad(?:vertisement)?))?"
        rf"|scroll to continue(?: with content)?|skip (?:advert|advertisement|ad)|广告|推广){_AFFIX}$",
        # share prompts and social buttons
        rf"^{_SHARE}(?:[\s|·•,/:：]+{_SHARE})*[\s|·•,/:：]*$",
    )
]
#: A line that is only a picture agency's credit ("Getty Images", "Image source, Reuters"): on a news page it
#: stands over or under a photo, next to the photo's caption.
_PICTURE_CREDIT = re.compile(
    r"^(?:image source,?\s*|photo:?\s*)?(?:getty images(?:/\w+)?|afp(?: via getty images)?|reuters|epa(?:-efe)?"
    r"|ap(?: photo)?|pa(?: media| wire| images)?|shutterstock|alamy|bloomberg(?: via getty images)?|xinhua|anadolu"
    r"|nurphoto|sopa images|eyevine|efe)\.?$",
    re.IGNORECASE,
)
#: Furniture wherever its line stands, even when the line ends as a sentence does ("… All rights reserved.").
_FURNITURE = [
    *_ANYWHERE,
    *(
        re.compile(pattern, re.IGNORECASE)
        for pattern in (
            # copyright and correction lines
            r"^(?:©|\(c\)\s|copyright\s*(?:©|\(c\)|\d{4})|版权所有|版权声明)|all rights reserved"
            r"|未经(?:授权|许可).{0,12}(?:转载|使用)",
            r"^this (?:article|story) (?:was|has been) (?:amended|updated|corrected)\b.{0,200}$",
            # a wire agency's funding and standards lines
            r"\bis solely responsible for all content\b",
            r"^our standards\s*:",
            # photo credits
            r"/\s*(?:getty images|afp|ap|reuters|epa|shutterstock|alamy|pa(?: images| wire)?|bloomberg|xinhua)"
            r"(?: via getty images)?\s*[)）]?\.?$",
            # Chinese editor lines, captions and bylines
            r"^(?:责任编辑|责编|编辑|校对|审核|审校|监制|主编|作者|来源|原标题|实习编辑)\s*[:：].{0,60}$",
            r"^(?:图片?来源|图片?|图|摄影|摄|视频|资料图)\s*[:：|｜]|^图为|[（(][^（()）]{0,40}\s*摄[）)]$|^[（(]?图片?来源",
            r"^[（(]?(?:本报|本台|本刊|新华社|中新社)?(?:特约|首席|实习|见习)?(?:记者|通讯员|实习生)\s*[:：]?\s*"
            r"[\u4e00-\u9fff·]{2,4}(?:\s*[、\s]\s*(?:(?:特约|实习|见习)?(?:记者|通讯员|实习生))?\s*[\u4e00-\u9fff·]{2,4})*"
            r"\s*[）)]?$",
            r"^文\s*[/／|｜]\s*\S{2,12}$",
        )
    ),
    _PICTURE_CREDIT,
]
#: Furniture only on a line that does not end a sentence: "Most popular among voters was the tax cut." is story.
_UNENDED_FURNITURE = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^(?:listen to (?:this )?article|\d+\s*min(?:ute)?s? read|reading time\b.{0,20})\W*$",
        # "Read more" links
        r"^(?:read more|read next|also read|more on this story|you may also like|most read|most popular)\b"
        r".{0,200}$",
        r"^(?:read also|see also|related(?: (?:articles?|stories|coverage|content|reading))?|recommended"
        r"|more from \w+(?: \w+)?|watch|listen)\s*[:：›»>|]",
        r"^(?:(?:点击)?阅读原文|(?:相关|延伸|推荐|热门)(?:阅读|新闻|文章|推荐)|更多精彩|查看更多|扫码关注|扫一扫"
        r"|关注我们|打开\s*app|下载\S{0,6}客户端).{0,60}$",
        # sign-up prompts
        r"^(?:sign up|signup|subscribe (?:to|now|for|today|here)|subscribe\W*$"
        r"|get (?:our|the) [\w ]{0,30}newsletter|join our|download (?:our|the) [\w ]{0,30}app|follow us\b"
        r"|follow [\w .@]{1,40} on (?:twitter|x|facebook"
        r"|instagram|tiktok|threads|bluesky|linkedin|youtube)\b|newsletter\s*[:：]).{0,200}$",
        # copyright and editor lines
        r"^copyright\b",
        r"^(?:(?:additional |with )?reporting by|editing by|compiled by|contributing\s*:)\b.{0,200}$",
        # photo captions and credits
        r"(?:^|[.!?。]\s+|[(（]\s*)(?:photo(?:graph)?s?|images?|pictures?|illustrations?|video|credit|photo credit"
        r"|photo illustration|image (?:source|caption|copyright)|media caption)\s*(?:by\s*)?[:：]",
        r"^(?:image|media) (?:caption|source|copyright)\b|^(?:AP|AFP|Reuters|EPA|Getty) photo\b",
        # "Follow AP's coverage of the storms at https://apnews.com/hub/weather"
        r"^(?:follow|find|read|see|watch|get)\b.{0,150}\b(?:at|on)\s+(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?$",
    )
]
_TAIL = r"(?:[A-Z0-9][\w'’.&:-]*,?|in|and|of|the|for|at)(?:\s+(?:[A-Z0-9][\w'’.&:-]*,?|in|and|of|the|for|at))*"
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|da|di|del|la|le|bin|al))*"
_BYLINE = re.compile(
    rf"^(?:By|BY|Written by|Words by|Story by|Reporting by)\s+{_NAME}(?:(?:\s*,\s*|\s+and\s+|\s*&\s*){_NAME})*"
    rf"(?:\s*(?:,|\||–|—|-|·|\bin\b)\s*{_TAIL})?$"
)
_ROLE = re.compile(
    rf"^(?:{_NAME}\s*[,|–—]\s*)?(?:[A-Z][\w&]*\s+(?:[a-z&]+\s+){{0,2}})?(?i:(?:(?:staff|senior|chief|political"
    r"|science|health|business|foreign|local|city|national|technology|environment|education|sports?|contributing)"
    rf"\s+)?(?:writer|reporter|correspondent|editor|columnist|contributor)s?)(?:\s*(?:,|\||–|—|-|·)\s*{_TAIL})?$"
)
_PERSON = rf"{_NAME}(?:\s+(?:in|from)\s+{_NAME})?"  # "Gene Johnson in Seattle"
_PEOPLE = rf"{_PERSON}(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*){_PERSON})*"
#: Contributor credits that end a wire story, sentence or not: "Associated Press writer Gene Johnson in Seattle
#: contributed to this report.", "Additional reporting by Ana Lopez in Lisbon; Editing by Tom Reed." Names are
#: capitalised, so "Additional reporting by the council found errors." stays story.
_WIRE_ROLE = rf"(?:The\s+)?{_NAME}\s+(?:staff\s+)?(?:writer|reporter|correspondent|photographer|journalist)s?\s+"
_CREDIT = re.compile(
    rf"^(?:{_WIRE_ROLE})?{_PEOPLE}\s+contributed(?:\s+to\s+this\s+(?:report|story|article)|\s+(?:additional\s+)?"
    rf"reporting)(?:\s+(?:from|in)\s+{_NAME})?\.?$"
    rf"|^{_WIRE_ROLE}{_PEOPLE}\s+contributed\.?$"  # bare "contributed." only after a role: "Everyone contributed."
    rf"|^(?:(?:Additional\s+)?[Rr]eporting|[Ww]riting|[Ee]diting|Compiled) by\s+{_PEOPLE}"
    rf"(?:\s*[;,]\s*(?:(?:[Aa]dditional\s+)?[Rr]eporting|[Ww]riting|[Ee]diting) by\s+{_PEOPLE})*\.?$"
)
_DATE_WORDS = frozenset(
    """published updated posted last modified first originally on at am pm a.m p.m gmt utc bst est edt cst cdt mst
    mdt pst pdt et ct mt pt cet cest eet jst hkt ist aest aedt ago hour hours hr hrs minute minutes min mins day days
    week weeks yesterday today now
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun""".split()
)
_MENU_ITEM = re.compile(r"[A-Za-z][\w&'’-]*(?: [\w&'’-]+)?|[\u4e00-\u9fff]{1,4}")
_STAMPED = re.compile(r"\s*(?:(?:last|first|originally)\s+)?(?:published|updated|posted|modified)\b", re.IGNORECASE)
_ZH_DATE = re.compile(
    r"^(?:(?:发布|更新|发表)?(?:时间|日期)\s*[:：]\s*)?\d{4}\s*[年/.-]\s*\d{1,2}\s*[月/.-]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?(?:\s*(?:星期|周)[一二三四五六日天])?(?:\s+(?:来源|作者|编辑)[:：].{0,40})?$"
)
_AGENCY = r"\((?:AP|Reuters|AFP|CNN|Bloomberg|UPI|dpa|EFE|Xinhua|PA)\)"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
#: A dateline that opens the lead: an ALL-CAPS place ("MILLBROOK", "NEW YORK"), then an optional ", Ore." or
#: ", Ukraine", an optional date (", Dec 7"), an optional agency, a dash (after an agency a hyphen too:
#: "LONDON, Dec 7 (Reuters) -"); or an agency and a dash ("(AP) —").
_LEAD_DATELINE = re.compile(
    rf"^(?:[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){{0,3}}(?:,\s*[A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+){{0,2}})?"
    rf"(?:,?\s*{_MONTH}\s+\d{{1,2}})?\s*(?:{_AGENCY}\s*(?:—|–|-|--)|—|–|--)\s+"
    rf"|{_AGENCY}\s*(?:—|–|-|--)\s+)"
    r"|^(?:(?:本报|本台|本刊)\S{0,12}?讯|(?:新华社|中新社|中新网|人民网|央视网)\S{0,20}?电)\s*(?:[（(][^）)]{0,40}[）)])?\s*"
    r"|^[（(]\s*(?:本报)?记者[^）)]{0,30}[）)]\s*"
)
_INLINE_CREDIT = re.compile(r"\s*[(（](?:photo|photograph|image|picture|credit|图片?来源|图)\s*[:：][^)）]*[)）]", re.I)


def is_furniture(line: str) -> bool:
    """Whether a line (or short block) of a pasted article is page furniture, not the story.

    Bylines, date lines, advertisement lines, photo captions and credits, share prompts, "Read more" and
    "Sign up" links, editor and copyright lines, in English and Chinese. Words that can also open a story
    sentence ("Copyright holders won …", "Most popular among voters …", "… (video: below) …") are furniture
    only on a line that does not end a sentence.

    Example:
        >>> [is_furniture(s) for s in ("By Jane Doe, Staff Writer", "ADVERTISEMENT", "责任编辑：王明")]
        [True, True, True]
        >>> is_furniture("The council voted 7 to 2 on Tuesday evening.")
        False
    """
    line = " ".join(line.split())
    if not line or len(line) > MAX_FURNITURE_CHARS:
        return False
    if any(p.search(line) for p in _FURNITURE) or _ZH_DATE.match(line) or _CREDIT.match(line):
        return True
    if not ends_sentence(line) and any(p.search(line) for p in _UNENDED_FURNITURE):
        return True
    if len(line) <= 120 and not line.endswith(".") and (_BYLINE.match(line) or _ROLE.match(line)):
        return True
    return _is_date_line(line)


def _is_date_line(line: str) -> bool:
    """A line made only of a date, a time and words like "Published" or "Updated"."""
    if len(line) > 80 or (re.search(r"[.!?]$", line) and not re.search(r"\b[ap]\.m\.$", line, re.IGNORECASE)):
        return False
    tokens = [t.lower().rstrip(".") for t in re.findall(r"[A-Za-z]+(?:\.[A-Za-z]+)*\.?|\d+", line)]
    dated = any(t.isdigit() or t in ("published", "updated", "posted", "modified", "ago") for t in tokens)
    return dated and all(t.isdigit() or t in _DATE_WORDS for t in tokens)


def _without_furniture(blocks: list[_Block]) -> list[_Block]:
    """Blocks with furniture lines and furniture blocks dropped, inline photo credits cut."""
    kept: list[_Block] = []
    for block in blocks:
        if not block.heading and (is_furniture(block.text) or _is_picture(block.lines) or _is_menu(block.lines)):
            continue  # a caption with its credit line, a byline with its date line, a photo, a site's menu
        lines = [_INLINE_CREDIT.sub("", line) for line in block.lines]
        if len(lines) > 1:
            lines = [line for line in lines if not _furniture_line(line)]
        if not lines or (not block.heading and is_furniture(_join_lines(lines))):
            continue
        kept.append(_Block(tuple(lines), block.heading))
    return kept


def _is_picture(lines: tuple[str, ...]) -> bool:
    """A photo's credit with its caption, as a page gives them ("Getty Images" over "Drivers will walk out …").

    A story paragraph never holds a line that is only an agency's name, so the lines beside it are the caption.
    """
    return len(lines) <= 3 and any(_PICTURE_CREDIT.match(" ".join(line.split())) for line in lines)


def _is_menu(lines: tuple[str, ...]) -> bool:
    """A site's navigation pasted with the story: three or more lines of a word or two, no punctuation.

    A Chinese menu item has up to four characters (a hard-wrapped Chinese paragraph's lines are longer).
    """
    return len(lines) >= 3 and all(_MENU_ITEM.fullmatch(line.strip()) for line in lines)


def _furniture_line(line: str) -> bool:
    """A furniture line inside a block.

    An advertisement or share line anywhere, and a time stamp ("Updated Dec. 7, 2026 6:45 p.m."); other
    furniture only when it does not end a sentence (a wrapped paragraph's last line "May 4, 2025." or
    "6:45 p.m." is story).
    """
    if any(p.search(line) for p in _ANYWHERE):
        return True
    return is_furniture(line) and (not ends_sentence(line) or _is_time_stamp(line))


def _is_time_stamp(line: str) -> bool:
    """A date line that says when the page was published or updated: no wrapped sentence opens that way."""
    return _STAMPED.match(line) is not None and _is_date_line(" ".join(line.split()))


# ------------------------------------------------------------------------------------------ title and sentences


def _plain_title(blocks: list[_Block]) -> tuple[str | None, list[_Block]]:
    """Plain text's title: the first short block that is not a sentence.

    A kicker of one or two words ("Local news"; Chinese: up to four characters) before a longer one is passed
    over.
    """
    leading = []
    for block in blocks:
        text = block.text
        if block.heading or ends_sentence(text) or _title_size(text) > _title_limit(text):
            break
        leading.append(text)
    if not leading or len(leading) == len(blocks):
        return None, blocks
    title = next((t for t in leading if _title_size(t) >= (5 if _CJK.search(t) else 3)), leading[0])
    index = leading.index(title)
    return title, blocks[:index] + blocks[index + 1 :]


def _title_size(text: str) -> int:
    return len(_CJK.findall(text)) if _CJK.search(text) else len(text.split())


def _title_limit(text: str) -> int:
    return MAX_TITLE_CHARS if _CJK.search(text) else MAX_TITLE_WORDS


def _rejoin(blocks: list[_Block]) -> list[str]:
    """Paragraphs: each block's lines joined, and a block that stops mid-sentence joined to the next.

    A heading ends a paragraph. Before the first sentence has ended (where a kicker or an unpunctuated
    standfirst stands) a block is joined to the next only when the break is plainly mid-sentence.
    """
    paragraphs: list[str] = []
    open_paragraph = False  # the last paragraph stops mid-sentence and may go on in the next block
    for block in blocks:
        text = block.text
        if block.heading:
            open_paragraph = False
            continue
        head = not any(ends_sentence(p) for p in paragraphs)
        if open_paragraph and _continues(paragraphs[-1], text, cautious=head):
            paragraphs[-1] = _join_lines([paragraphs[-1], text])
        else:
            paragraphs.append(text)
        open_paragraph = not ends_sentence(paragraphs[-1])
    if paragraphs:
        paragraphs[0] = _without_dateline(paragraphs[0])
    return paragraphs


def _without_dateline(lead: str) -> str:
    """The lead without the dateline that opens it; kept whole when a dash follows in its first sentence.

    A second dash makes the first one half of a pair around an aside ("NATO — which marks its 75th
    anniversary — will meet"), not a dateline's.
    """
    match = _LEAD_DATELINE.match(lead)
    if match is None:
        return lead
    rest = lead[match.end() :]
    first = next(iter(split_sentences(rest)), rest)
    return lead if re.search(r"—|–|--|\s-\s", first) else rest


def _continues(before: str, after: str, *, cautious: bool) -> bool:
    """Whether ``after`` goes on with the sentence ``before`` stops in the middle of.

    Plainly so when ``after`` starts in lower case or ``before`` ends on a comma or a word like "the";
    otherwise when ``before`` is longer than a crosshead (and, when ``cautious``, holds a whole sentence: it is
    no standfirst).
    """
    if not after or not before:
        return False
    story = len(before.split()) >= MAX_CROSSHEAD_WORDS and (not cautious or len(split_sentences(before)) > 1)
    if is_cjk(before[-1]):  # no letter case to go by: a Chinese crosshead or kicker is short
        ends_open = before.endswith(("，", "、", "：", "“", "（", "—"))
        return is_cjk(after[0]) and (ends_open or len(before) > MAX_CROSSHEAD_CHARS)
    last_word = before.rsplit(" ", 1)[-1].lower()
    plainly = after[0].islower() or before.endswith((",", ";", ":", "-", "–", "—", "(")) or last_word in _CONTINUES
    return plainly or story


def _whole_sentences(paragraphs: list[str], title: str | None) -> tuple[tuple[str, ...], ...]:
    """Paragraphs of whole sentences: fragments, repeats and sentences that repeat the title dropped.

    Text with no sentence ending at all is kept as it is (there is nothing better to say).
    """
    split = [split_sentences(p) for p in paragraphs]
    whole = any(ends_sentence(s) for p in split for s in p)
    seen = {_key(title)} if title else set()
    kept: list[tuple[str, ...]] = []
    for sentences in split:
        keep: list[str] = []
        for sentence in sentences:
            key = _key(sentence)
            if (whole and not ends_sentence(sentence)) or key in seen or not key:
                continue
            seen.add(key)
            keep.append(sentence)
        if keep:
            kept.append(tuple(keep))
    return tuple(kept)


def _key(text: str) -> str:
    """Text compared without case, spaces or punctuation (a title repeated with a full stop is a repeat)."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


# ------------------------------------------------------------------------------------------ who is quoted


@dataclass(frozen=True)
class Speaker:
    """Who a quote is attributed to, and their role when the sentence gives it.

    Example:
        >>> Speaker(name="Maria Lopez", role="The city's parks director").role
        "The city's parks director"
    """

    name: str
    role: str | None = None


_NAME_WORD = r"(?:[A-Z][\w'’-]*\.?|(?:de|da|del|van|von|der|la|le|bin|al)(?=\s+[A-Z]))"
_NAME = rf"(?P<name>[A-Z][\w'’-]*\.?(?:\s+{_NAME_WORD}){{0,5}})"
_SAID = r"(?:said|says|added|adds|told reporters|explained|warned)"
_QUOTE_END = r"[”\"]\s*"
#: "…," said council member Ana Ruiz, who … / "…," said Maria Lopez, the city's parks director.
_AFTER_SAID = re.compile(
    rf"{_QUOTE_END}[,.]?\s*{_SAID}\s+(?P<pre>(?:[a-z][\w'’-]*\s+){{0,4}}?){_NAME}(?:,\s*(?P<role>[^.;]+?))?[.!?]?$"
)
#: "…," Maria Lopez, the parks director, said. / "…," Sheriff Curtis Johnson said at a news conference.
_NAME_SAID = re.compile(
    rf"{_QUOTE_END}[,.]?\s*{_NAME}(?:,\s*(?P<role>[^,]+),)?\s+{_SAID}"
    r"(?:\s+(?:at|in|on|during|after|before|from|to|by|while|when|outside|late|early|last|this)\b[^\"“”]*)?[.!?]?$"
)
#: Maria Lopez, the parks director, said: "…"
_SAID_BEFORE = re.compile(rf"^{_NAME}(?:,\s*(?P<role>[^,]+),)?\s+{_SAID}[,:]?\s*[“\"]")
_PRONOUNS = frozenset({"He", "She", "They", "It", "We", "I", "You", "One", "Officials", "Police"})
#: A title written before a name ("said County Executive Priya Raman", "Gov. Gavin Newsom said"): words that
#: qualify an office, then the office (a word, or two that are one office); what follows is the name.
_OFFICE = (
    r"(?:County|Chief) Executive|(?:District|City|State|County) Attorney|(?:Attorney|Surgeon|Solicitor|Inspector) "
    r"General|Chief Justice|(?:Council|Board) Member|Director-General|Secretary-General|Mayor|Governor|Gov\.|"
    r"Senator|Sen\.|Representative|Rep\.|Congressman|Congresswoman|Assemblymember|President|Minister|Chancellor|"
    r"Premier|Secretary|Speaker|Ambassador|Chief|Sheriff|Judge|Justice|Councillor|Councilor|Councilman|"
    r"Councilwoman|Commissioner|Superintendent|Director|Administrator|Gen\.|Colonel|Col\.|Captain|Capt\.|Sergeant|"
    r"Sgt\.|Officer|Detective|Inspector|Constable|Trooper|Coach|Chair|Chairman|Chairwoman|Chairperson|Spokesperson|"
    r"Spokesman|Spokeswoman|Professor|Prof\.|Bishop|Pastor"
)
_QUALIFIER = (
    r"County|City|State|District|Deputy|Assistant|Acting|Interim|Vice|Former|Lt\.|Lieutenant|Police|Fire|Prime|"
    r"Foreign|Health|Finance|Education|Transport|Transportation|Interior|Defence|Defense|School|Army|Senior|Associate|"
    r"Managing|Majority|Minority"
)
_TITLED = re.compile(rf"^(?P<title>(?:(?:{_QUALIFIER})\s+)*(?:{_OFFICE}))\s+(?P<name>[A-Z].*)$")
#: The same after the office's place or body ("Boulder County Sheriff Curtis Johnson"): then the name must have
#: two words at least, so that a surname that is also an office ("Mike Judge") stays a name.
_PLACE_TITLED = re.compile(
    rf"^(?P<title>(?:[A-Z][\w'’.-]*\s+)+?(?:(?:{_QUALIFIER})\s+)*(?:{_OFFICE}))\s+(?P<name>[A-Z]\S*(?:\s+\S+)+)$"
)


def speaker_of(sentence: str) -> Speaker | None:
    """The person a quoted sentence is attributed to, and their role when given; None for any other sentence.

    Reads the common English attributions: ``"…," said NAME[, ROLE].``, ``"…," said ROLE-WORDS NAME``,
    ``"…," NAME[, ROLE,] said.`` and ``NAME[, ROLE,] said: "…"``. A pronoun is not a speaker; a
    relative clause ("who led the proposal") is not a role. A title written before the name ("Mayor",
    "County Executive", "Gov.") is the role, unless the sentence gives one after the name.

    Example:
        >>> speaker_of('"The wetland is a sponge," said council member Ana Ruiz, who led the proposal.')
        Speaker(name='Ana Ruiz', role='Council member')
        >>> speaker_of("“We will open in May,” said Maria Lopez, the city's parks director.")
        Speaker(name='Maria Lopez', role="The city's parks director")
        >>> speaker_of('"Nobody should be cold tonight," said County Executive Priya Raman.')
        Speaker(name='Priya Raman', role='County Executive')
        >>> speaker_of('"Not again," she said.') is None, speaker_of("The park opens in May.") is None
        (True, True)
    """
    text = " ".join(sentence.split())
    if not re.search(r"[“”\"]", text):
        return None
    found = _AFTER_SAID.search(text) or _NAME_SAID.search(text) or _SAID_BEFORE.search(text)
    if found is None:
        return None
    name = found.group("name").rstrip(".")
    titled = _TITLED.match(name) or _PLACE_TITLED.match(name)
    if titled is not None:
        name = titled.group("name")
    elif name.split()[0] in _PRONOUNS:
        return None
    role = (found.groupdict().get("role") or "").strip()
    if not role or role.startswith(("who ", "which ", "whose ", "when ", "after ", "as ", "adding ")):
        before = (found.groupdict().get("pre") or "").strip()
        role = " ".join(filter(None, [before, titled.group("title") if titled is not None else ""]))
    return Speaker(name=name, role=role[:1].upper() + role[1:] if role else None)
