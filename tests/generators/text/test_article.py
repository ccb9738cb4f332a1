"""Articles as they really arrive: hard-wrapped, broken mid-sentence, with page furniture, or as HTML."""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest

from aigc_sdk._internal.htmltext import looks_like_html, read_html
from aigc_sdk.generators.text.article import is_furniture, parse_article
from aigc_sdk.generators.text.script_writer import ScriptWriter
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import ScriptRequest

HERE = Path(__file__).with_name("data")
#: Each pasted variant and the clean article it is a copy of.
VARIANTS = [
    ("article_en.md", "article_en_pasted.txt"),  # hard-wrapped at 70, broken mid-sentence, byline, ads, caption
    ("article_en.md", "article_en_page.html"),  # the page saved from a browser
    ("article_zh.md", "article_zh_pasted.txt"),
    ("article_zh.md", "article_zh_page.html"),
]
EN_FURNITURE = [
    "By Jane Doe, Staff Writer",
    "BY JOHN SMITH AND ANA LOPEZ | The Millbrook Herald",
    "By Jane Doe in Millbrook",
    "Jane Doe, Senior Reporter",
    "Published 6:42 PM EST, Tue December 2, 2025",
    "Updated 2 hours ago",
    "Updated 6:45 PM ET, Sun December 7, 2026",
    "Updated Dec. 7, 2026 6:45 p.m.",
    "Getty Images",
    "Image source, Reuters",
    "Transport correspondent",
    "Associated Press writer Colleen Slevin contributed to this report from Denver.",
    "Tuesday 2 December 2025 18.42 GMT",
    "ADVERTISEMENT",
    "- Advertisement -",
    "Story continues below advertisement",
    "(Photo: John Smith/AP)",
    "Flooded basements on Carver Street. Photograph: Tom Reed/Getty Images",
    "Tom Reed/Getty Images",
    "Image caption, Residents at the council meeting",
    "Share this article",
    "Share Facebook Twitter Email",
    "Read more: Council delays vote on rail yard housing",
    "Related: Rents rise again",
    "Sign up for our daily newsletter",
    "Follow Jane Doe on Twitter",
    "© 2025 The Millbrook Herald. All rights reserved.",
    "Reporting by Jane Doe; Editing by John Smith",
    "Listen to this article",
    "4 min read",
    "Associated Press writer Gene Johnson in Seattle contributed to this report.",
    "AP writers Gene Johnson in Seattle and Sam Metz in Salt Lake City contributed.",
    "Staff writer Ana Lopez contributed reporting.",
    "Additional reporting by Ana Lopez in Lisbon; Editing by Tom Reed.",
    "Follow AP's coverage of the storms at https://apnews.com/hub/weather",
    "The Associated Press receives support from private foundations. The AP is solely responsible for all content.",
]
ZH_FURNITURE = [
    "记者 王明",
    "本报记者 王明 通讯员 李华",
    "（记者 王明）",
    "文/王明",
    "2025年12月1日 10:32 来源：晚报",
    "发布时间：2025-12-01 10:32",
    "广告",
    "图片来源：视觉中国",
    "（图片来源：视觉中国）",
    "图为市图书馆阅览室夜景。张三 摄",
    "责任编辑：赵敏",
    "分享到：微博 微信",
    "相关阅读：市图书馆新馆明年开工",
    "版权所有 © 晚报网 未经授权禁止转载",
]
STORY_LINES = [
    "The council voted 7 to 2 on Tuesday evening.",
    "By Tuesday, the council had agreed to",  # a wrapped line of a paragraph, not a byline
    "Reporters gathered outside the",
    "The photo was taken in May.",
    "May 4, 2025.",  # the last line of a wrapped paragraph
    "Read the full report online.",
    "Additional reporting by the council found errors in the plan.",
    "Three volunteers contributed to the cleanup on Saturday.",
    "Everyone contributed.",
    "worked as a reporter",  # a wrapped line of "… Ana Ruiz, who\nworked as a reporter\nfor the Herald, …"
    "more — about 38 million dollars — than",
    "Registered voters can comment until Friday.",
    "记者了解到，该馆将",
    "图书馆馆长李静说，夜间开放的额外成本约为每年一百二十万元。",
]


@pytest.fixture(scope="module")
def writer() -> ScriptWriter:
    return ModelRegistry().create("script-writer")  # type: ignore[no-any-return]


@pytest.mark.parametrize(("clean", "variant"), VARIANTS)
def test_a_pasted_or_saved_article_reads_as_the_clean_one(data_dir: Path, clean: str, variant: str) -> None:
    expected = parse_article((data_dir / clean).read_text(encoding="utf-8"))
    article = parse_article((HERE / variant).read_text(encoding="utf-8"))
    assert article == expected
    assert parse_article(article.to_markdown()) == article


@pytest.mark.parametrize(("clean", "variant"), VARIANTS)
def test_a_pasted_or_saved_article_gives_the_same_script(
    writer: ScriptWriter, data_dir: Path, clean: str, variant: str
) -> None:
    target = 25.0 if "zh" in clean else 30.0
    expected = writer(ScriptRequest(prompt=(data_dir / clean).read_text(encoding="utf-8"), target_seconds=target))
    script = writer(ScriptRequest(prompt=(HERE / variant).read_text(encoding="utf-8"), target_seconds=target))
    assert script.provenance.extra["scorer"] == "embeddings"
    assert (script.headline, script.paragraphs, script.language) == (
        expected.headline,
        expected.paragraphs,
        expected.language,
    )
    assert script.provenance.extra["sentences"] == expected.provenance.extra["sentences"]


def _paste(paragraphs: list[str], seed: int, width: int, *, chinese: bool) -> str:
    """The article as a CMS or a web page gives it: hard-wrapped at ``width``, one paragraph of each two broken
    mid-sentence across a blank line, furniture between paragraphs and an advertisement line inside one."""
    rng = random.Random(seed)
    furniture = ZH_FURNITURE if chinese else EN_FURNITURE

    def wrap(text: str) -> list[str]:
        if chinese:
            return [text[i : i + width] for i in range(0, len(text), width)]
        return textwrap.wrap(text, width)

    blocks: list[list[str]] = []
    for index, paragraph in enumerate(paragraphs):
        pieces = [paragraph]
        if index % 2 == seed % 2:
            pieces = _break_mid_sentence(paragraph, rng, chinese=chinese, first=index == 0)
        for piece in pieces:
            lines = wrap(piece)
            if rng.random() < 0.3 and len(lines) > 2:
                lines.insert(rng.randrange(1, len(lines)), "广告" if chinese else "Advertisement")
            blocks.append(lines)
            if rng.random() < 0.5:
                blocks.append([rng.choice(furniture)])
    title = "市图书馆延长夜间开放时间" if chinese else "City council approves riverside park expansion"
    head = [[title], [rng.choice(furniture)], [rng.choice(furniture)]]
    return "\n\n".join("\n".join(lines) for lines in head + blocks) + "\n"


def _break_mid_sentence(paragraph: str, rng: random.Random, *, chinese: bool, first: bool) -> list[str]:
    """Two pieces of ``paragraph``, cut inside a sentence where a reader can tell the sentence goes on.

    English: before a word in lower case, or anywhere after the eighth word (the first paragraph, which a
    standfirst could precede, only before a lower-case word). Chinese: after a comma, or after the 20th
    character.
    """
    if chinese:
        cuts = [i for i in range(1, len(paragraph) - 1) if paragraph[i - 1] not in "。！？" and (
            paragraph[i - 1] == "，" or i > 20)]  # fmt: skip
        cut = rng.choice(cuts)
        return [paragraph[:cut], paragraph[cut:]]
    words = paragraph.split(" ")
    cuts = [
        i
        for i in range(1, len(words))
        if not words[i - 1].endswith(".") and (words[i][0].islower() or (i >= 8 and not first))
    ]
    cut = rng.choice(cuts)
    return [" ".join(words[:cut]), " ".join(words[cut:])]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("article", "width"), [("article_en.md", 50), ("article_en.md", 72), ("article_zh.md", 18)])
def test_any_hard_wrap_break_and_furniture_reads_as_the_clean_article(
    data_dir: Path, article: str, width: int, seed: int
) -> None:
    clean = parse_article((data_dir / article).read_text(encoding="utf-8"))
    joiner = "" if clean.language == "zh" else " "
    pasted = _paste([joiner.join(p) for p in clean.paragraphs], seed, width, chinese=clean.language == "zh")
    assert parse_article(pasted) == clean, pasted


@pytest.mark.parametrize("line", EN_FURNITURE + ZH_FURNITURE)
def test_furniture_is_recognised(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize("line", STORY_LINES)
def test_story_lines_are_not_furniture(line: str) -> None:
    assert not is_furniture(line)


def test_a_news_page_pasted_whole_reads_as_its_story() -> None:
    # as a browser copies a broadcaster's page: menu, headline, time, buttons, byline, photo credit and caption,
    # story, topics; the caption does not end a sentence and must not run into the lead
    pasted = (
        "Home\nNews\nSport\n\nTrain drivers to strike over pay next month\n\n2 hours ago\n\nShare\n\nSave\n\n"
        "Alex Smith\nTransport correspondent\n\nGetty Images\n"
        "Drivers at 14 train companies will walk out on 12 January, the union said\n\n"
        "Train drivers at 14 rail companies will strike next month, the union has announced.\n\n"
        "The walkout is expected to halt most services.\n\nRelated topics\nRail strikes\n\n___\n\n"
        "Associated Press writer Colleen Slevin contributed to this report from Denver."
    )
    article = parse_article(pasted)
    assert article.title == "Train drivers to strike over pay next month"
    assert article.sentences == [
        "Train drivers at 14 rail companies will strike next month, the union has announced.",
        "The walkout is expected to halt most services.",
    ]


def test_a_time_stamp_under_the_headline_is_not_read_as_part_of_it() -> None:
    # a CMS page pasted as text: headline, byline and time stamp in one block, no blank lines between them
    pasted = (
        "Storm knocks out power to 40,000 homes\nBy Maria Lopez, Staff Writer\nUpdated Dec. 7, 2026 6:45 p.m.\n\n"
        "Crews worked through the night. The meeting starts at\n6:45 p.m.\n\nSchools stay closed."
    )
    article = parse_article(pasted)
    assert article.title == "Storm knocks out power to 40,000 homes"
    # a wrapped sentence that ends on a time keeps it: only a line that says "Updated" (or the like) is a stamp
    assert article.sentences == [
        "Crews worked through the night.",
        "The meeting starts at 6:45 p.m.",
        "Schools stay closed.",
    ]


def test_the_headline_is_said_once_and_only_whole_sentences_are_kept() -> None:
    repeated = parse_article("# Park expansion approved\n\nPark expansion approved\n\nThe council voted. Work starts.")
    assert repeated.title == "Park expansion approved" and repeated.sentences == ["The council voted.", "Work starts."]
    # plain text: the first short line that is no sentence is the title, past a kicker
    plain = parse_article("Local news\n\nPark expansion approved\n\nPark expansion approved.\n\nThe council voted.")
    assert plain.title == "Park expansion approved" and plain.sentences == ["The council voted."]
    # a truncated paste, a crosshead and an unpunctuated standfirst are no sentences
    cut = parse_article(
        "# Storm\n\nThe standfirst that sums it all up without a full stop\n\nThe river rose. Pumps were tested.\n\n"
        "What comes next\n\nCrews will stay in the next big storm if"
    )
    assert cut.sentences == ["The river rose.", "Pumps were tested."]
    assert parse_article("no punctuation at all here").sentences == ["no punctuation at all here"]
    dated = parse_article("MILLBROOK, Ore. (AP) — The council voted. Work starts.\n\nThe council voted.")
    assert dated.sentences == ["The council voted.", "Work starts."]  # dateline cut, repeat dropped
    # a wire dateline with its date and a hyphen, and the wire's standards line under the story
    wire = parse_article(
        "Oil prices climb\n\nLONDON, Dec 7 (Reuters) - Oil prices rose about 2% on Sunday.\n\n"
        "Reporting by Ana Lopez; Editing by Tom Reed\n\nOur Standards: The Thomson Reuters Trust Principles."
    )
    assert wire.sentences == ["Oil prices rose about 2% on Sunday."]
    # an aside between two dashes is no dateline
    assert parse_article("NASA - the agency - said it would fly. It flew.").sentences[0].startswith("NASA - the")


def test_paragraphs_one_per_line_and_a_title_line_without_a_blank_line(data_dir: Path) -> None:
    clean = parse_article((data_dir / "article_en.md").read_text(encoding="utf-8"))
    assert clean.title is not None
    lines = [clean.title, "By Jane Doe, Staff Writer", *(" ".join(p) for p in clean.paragraphs), "ADVERTISEMENT"]
    assert parse_article("\n".join(lines)) == clean
    zh = parse_article((data_dir / "article_zh.md").read_text(encoding="utf-8"))
    assert zh.title is not None
    assert parse_article("\n".join([zh.title, "记者 王明", *("".join(p) for p in zh.paragraphs)])) == zh


def test_html_fragments_and_detection() -> None:
    rss_body = (
        "<p>Rain fell all night.<br><br>The river rose two metres, and<br>schools closed.</p><p>Advertisement</p>"
    )
    assert looks_like_html(rss_body)
    article = parse_article("<h1>Flood</h1>" + rss_body)
    assert article.title == "Flood"
    assert article.paragraphs == (("Rain fell all night.",), ("The river rose two metres, and schools closed.",))
    assert not looks_like_html("# Flood\n\nRain fell <em>all</em> night.\n\nThe river rose.")
    page = read_html(
        "<html><head><title>Flood - Millbrook Herald</title><style>p{}</style></head><body>"
        "<ul class='menu'><li><a href='/'>Home</a></li></ul><p>Rain <b>fell</b>.</p>"
        "<p><a href='/x'>Storm warnings issued for the coast</a> and more</p>"
        "<div hidden>Secret.</div><div aria-hidden='true'>Icons.</div><script>var x = '<p>no</p>';</script>"
        "<p>市图书馆将把闭馆时间从晚上八点\n推迟到十点。</p></body></html>"
    )
    assert page.title == "Flood"
    assert [b.text for b in page.blocks] == ["Rain fell.", "市图书馆将把闭馆时间从晚上八点推迟到十点。"]


def test_markdown_furniture_and_markup() -> None:
    article = parse_article(
        "Park expansion\n==============\n\n![The rail yard](yard.jpg)\n*The rail yard. Photo: Tom Reed*\n\n"
        "The council voted 7 to 2.\n\n| a | b |\n|---|---|\n\n---\n\n[Read more](http://x): other news\n\n"
        "Work starts in two-\nyear stages."
    )
    assert article.title == "Park expansion"
    assert article.sentences == ["The council voted 7 to 2.", "Work starts in two-year stages."]
    crosshead = parse_article("Park expansion approved\n\nThe council voted.\n\n## What comes next\n\nWork starts.")
    assert crosshead.title == "Park expansion approved"  # a heading below the text is a crosshead, not the title
    assert crosshead.paragraphs == (("The council voted.",), ("Work starts.",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an aside between two dashes is no dateline, nor is a title and name before one
        (
            "NATO — which marks its 75th anniversary — will meet in July. Leaders agreed.",
            ["NATO — which marks its 75th anniversary — will meet in July.", "Leaders agreed."],
        ),
        (
            "US President Joe Biden — speaking in Ohio — said the plan works.",
            ["US President Joe Biden — speaking in Ohio — said the plan works."],
        ),
        (
            "US President Joe Biden — speaking in Ohio, said it.",
            ["US President Joe Biden — speaking in Ohio, said it."],
        ),
        # place-style datelines are cut
        ("KYIV, Ukraine — Drones struck overnight. Two died.", ["Drones struck overnight.", "Two died."]),
        ("NEW YORK (Reuters) — Stocks rose. Oil fell.", ["Stocks rose.", "Oil fell."]),
    ],
)
def test_only_a_place_dateline_is_cut_from_the_lead(text: str, expected: list[str]) -> None:
    assert parse_article(text).sentences == expected


def test_a_wrapped_line_starting_with_a_number_keeps_it() -> None:
    wrapped = parse_article("The plant will close by the end of\n2024. Officials said 300 jobs would go.")
    assert wrapped.sentences == ["The plant will close by the end of 2024.", "Officials said 300 jobs would go."]
    listed = parse_article("Steps:\n\n1. Apples are red.\n2. Pears are\n3. Plums are ripe.")
    assert listed.sentences == ["Apples are red.", "Pears are Plums are ripe."]  # 3. follows 2.: a list marker


@pytest.mark.parametrize(
    "line",
    [
        "Copyright holders won a major ruling on Tuesday, the court said.",
        "Most popular among voters was the tax cut, the poll found.",
        "Police released the footage (video: below) on Tuesday. Two men were arrested.",
        "Sign up sheets were posted on Friday.",
    ],
)
def test_a_sentence_opening_with_furniture_words_is_story(line: str) -> None:
    assert not is_furniture(line)
    assert " ".join(parse_article(line).sentences) == line


def test_layout_classes_are_not_furniture_and_hidden_elements_are() -> None:
    page = read_html(
        '<div class="overflow-hidden"><p>Rain fell.</p></div><div class="embed-responsive"><p>Wind rose.</p></div>'
        '<div hidden>Secret.</div><div aria-hidden="true">Icons.</div>'
    )
    assert [b.text for b in page.blocks] == ["Rain fell.", "Wind rose."]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<p class="credit">Photo: AP<p>The council voted.<p>Work starts.', ["The council voted.", "Work starts."]),
        ('<div><p class="credit">Photo: AP</div><p>Rents rose.</p>', ["Rents rose."]),
        ('<ul><li class="related">Other news<li>Rain fell.</ul><p>Then.</p>', ["Rain fell.", "Then."]),
        ('<ul><li class="related">Other<ul><li>Older</li></ul><li>Rain fell.</li></ul>', ["Rain fell."]),
    ],
)
def test_a_skipped_paragraph_left_open_ends_where_html_ends_it(html: str, expected: list[str]) -> None:
    assert [b.text for b in read_html(html).blocks] == expected


def test_a_superscript_exponent_is_not_run_into_its_base() -> None:
    article = parse_article("<p>About 10<sup>6</sup> cells and 10<sup>-3</sup> grams. It was the 1<sup>st</sup>.</p>")
    assert article.sentences == ["About 10^6 cells and 10^-3 grams.", "It was the 1st."]
