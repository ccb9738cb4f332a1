"""Spoken form: the words a newsreader says for a written text, so voices read it right and captions say it verbatim.

A voice reads what it is given: ``"38 km ESE of Hualien City"`` comes out letter by letter
("K M E S E"), and captions that show the written form show words nobody said.
:func:`spoken_form` rewrites a text into what a reader would say, in English or Chinese:

* distances and bearings: ``38 km ESE of`` → ``38 kilometres east-southeast of``
  (``38公里`` and ``东南偏东`` in Chinese, the place first: ``台湾Hualien City东南偏东方向38公里处``);
* units and signs: ``km``, ``km/h``, ``mph``, ``mm``, ``°C``, ``%`` in full; ``-0.42`` → ``minus 0.42``;
  British and American copy as it is written: ``30C``/``-5C``/``86F`` (not ``Flat 12C``), ``5ft 11in``, ``30kg``,
  ``1,200 sq km``, ``40 mins``; a measure as a modifier, ``a 10km stretch`` → ``a 10-kilometre stretch``;
* money: ``£1.5m`` → ``1.5 million pounds``, ``US$4.5bn`` → ``4.5 billion US dollars``, ``$2.50`` →
  ``2 dollars 50``, ``a £3m deal`` → ``a 3 million pound deal``; a bare ``1.5m`` only where the next words
  tell metres (``1.5m (5ft) of water``, ``2m high``) from millions (``2m people``), else it stays;
* offsets: ``UTC+8`` → ``UTC plus eight``, ``UTC+5:45`` → ``UTC plus five forty-five``,
  ``UTC+5:05`` → ``UTC plus five oh five`` (``:00`` is not said);
* abbreviations: a US state in a USGS place (``12 km NNW of Ridgecrest, CA`` → ``…, California``;
  ``Ottawa, CA`` in free text stays), a magnitude ``M 6.4`` → ``magnitude 6.4`` (``the M25`` stays),
  ``Dr.``/``St.``/``Mt.`` (``Doctor``/``Saint``/``Mount`` before a name, ``Drive``/``Street`` after
  a street's name, the period kept where it also ends a sentence), ``vs.``, ``e.g.``, ``i.e.``, ``&``;
* 24-hour clock times read as said: ``14:05`` → ``2:05 PM``, ``4:00 AM`` → ``4 AM`` (``7:30 tonight``
  and ``John 3:16`` stay); scores ``3–1`` → ``3 to 1`` (a spaced dash sets words apart);
* Chinese signs: ``-5°C`` → ``零下5摄氏度``, ``-0.42%`` → ``负百分之0.42``.

Decimals, years, ordinals and grouped numbers stay digits: the voices read them well
(checked with the en-joe voice and Whisper). The function is idempotent: spoken text
stays as it is.

Example:
    >>> spoken_form("M 6.4 - 38 km ESE of Hualien City, Taiwan", "en")
    'magnitude 6.4 - 38 kilometres east-southeast of Hualien City, Taiwan'
    >>> spoken_form("12 km NNW of Ridgecrest, CA at 14:05 (UTC-7)", "en")
    '12 kilometres north-northwest of Ridgecrest, California at 2:05 PM (UTC minus seven)'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aigc_sdk._internal.languages import primary_language
from aigc_sdk.errors import InvalidRequestError

__all__ = ["COMPASS_WORDS", "US_STATES", "number_words", "speaking_seconds", "spoken_form"]

#: The 16 compass points in words, English and Chinese.
COMPASS_WORDS: dict[str, tuple[str, str]] = {
    "N": ("north", "北"), "NNE": ("north-northeast", "东北偏北"), "NE": ("northeast", "东北"),
    "ENE": ("east-northeast", "东北偏东"), "E": ("east", "东"), "ESE": ("east-southeast", "东南偏东"),
    "SE": ("southeast", "东南"), "SSE": ("south-southeast", "东南偏南"), "S": ("south", "南"),
    "SSW": ("south-southwest", "西南偏南"), "SW": ("southwest", "西南"), "WSW": ("west-southwest", "西南偏西"),
    "W": ("west", "西"), "WNW": ("west-northwest", "西北偏西"), "NW": ("northwest", "西北"),
    "NNW": ("north-northwest", "西北偏北"),
}  # fmt: skip

_STATES = (
    "AL=Alabama AK=Alaska AZ=Arizona AR=Arkansas CA=California CO=Colorado CT=Connecticut DE=Delaware "
    "FL=Florida GA=Georgia HI=Hawaii ID=Idaho IL=Illinois IN=Indiana IA=Iowa KS=Kansas KY=Kentucky "
    "LA=Louisiana ME=Maine MD=Maryland MA=Massachusetts MI=Michigan MN=Minnesota MS=Mississippi "
    "MO=Missouri MT=Montana NE=Nebraska NV=Nevada NH=New_Hampshire NJ=New_Jersey NM=New_Mexico "
    "NY=New_York NC=North_Carolina ND=North_Dakota OH=Ohio OK=Oklahoma OR=Oregon PA=Pennsylvania "
    "RI=Rhode_Island SC=South_Carolina SD=South_Dakota TN=Tennessee TX=Texas UT=Utah VT=Vermont "
    "VA=Virginia WA=Washington WV=West_Virginia WI=Wisconsin WY=Wyoming PR=Puerto_Rico"
)
#: US state and territory codes as USGS writes them after a town ("Ridgecrest, CA").
US_STATES: dict[str, str] = {
    code: name.replace("_", " ") for code, name in (item.split("=") for item in _STATES.split())
}
#: Regions as USGS names them, in Chinese (the zh voices skip Latin letters).
_ZH_REGIONS = dict(
    item.split("=")
    for item in (
        "Taiwan=台湾 Japan=日本 China=中国 Chile=智利 Peru=秘鲁 Mexico=墨西哥 Afghanistan=阿富汗 Nepal=尼泊尔 "
        "India=印度 Pakistan=巴基斯坦 Iran=伊朗 Turkey=土耳其 Türkiye=土耳其 Greece=希腊 Italy=意大利 "
        "Indonesia=印度尼西亚 Philippines=菲律宾 Myanmar=缅甸 Vanuatu=瓦努阿图 Tonga=汤加 Fiji=斐济 "
        "Russia=俄罗斯 Alaska=阿拉斯加 California=加利福尼亚州 CA=加利福尼亚州 Ecuador=厄瓜多尔 "
        "Colombia=哥伦比亚 Argentina=阿根廷 Guatemala=危地马拉 Poland=波兰 Slovakia=斯洛伐克 "
        "Morocco=摩洛哥 Algeria=阿尔及利亚 Tajikistan=塔吉克斯坦 Kyrgyzstan=吉尔吉斯斯坦"
    ).split()
)

_MONTHS = {m[:3]: m for m in "January February March April August September October November December".split()}
_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(number: int) -> str:
    """An integer from 0 to 99 in English words (offsets and minutes are said this way).

    Raises:
        InvalidRequestError: The number is outside 0–99.

    Example:
        >>> number_words(8), number_words(45), number_words(30)
        ('eight', 'forty-five', 'thirty')
    """
    if not 0 <= number <= 99:
        raise InvalidRequestError(f"number_words() says 0 to 99, got {number}")
    if number < 20:
        return _ONES[number]
    tens, ones = divmod(number, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _sub(pattern: str, repl: str | Callable[[re.Match[str]], str], flags: int = 0) -> Callable[[str], str]:
    compiled = re.compile(pattern, flags)
    return lambda text: compiled.sub(repl, text)


_COMPASS = "|".join(sorted(COMPASS_WORDS, key=len, reverse=True))
_NUM = r"\d+(?:[.,]\d+)*"


def _offset_en(match: re.Match[str]) -> str:
    sign = "plus" if match.group(1) == "+" else "minus"
    said = int(match.group(3) or 0)  # ":00" is not said; ":05" is "oh five"
    minutes = f" {'oh ' if said < 10 else ''}{number_words(said)}" if said else ""
    return f"UTC {sign} {number_words(int(match.group(2)))}{minutes}"


def _clock_24h(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), match.group(2)
    return f"{hour % 12 or 12}:{minute} {'AM' if hour < 12 else 'PM'}"


def _signed(match: re.Match[str]) -> str:
    return f"{match.group(1)}{'plus' if match.group(2) == '+' else 'minus'} {match.group(3)}"


#: Currency signs and the currency said (plural): ``US$`` before ``$``.
_CURRENCIES = {
    "US$": "US dollars", "A$": "Australian dollars", "C$": "Canadian dollars", "NZ$": "New Zealand dollars",
    "HK$": "Hong Kong dollars", "$": "dollars", "£": "pounds", "€": "euros", "¥": "yen",
}  # fmt: skip
#: Scale suffixes of amounts (``£1.5m``, ``$2bn``, ``€30k``).
_SCALES = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion", "b": "billion", "tn": "trillion",
           "trn": "trillion", "million": "million", "billion": "billion", "trillion": "trillion"}  # fmt: skip
#: Words after "a £3m …" / "a 10km …" that do not make the amount a modifier ("a £3m of …" is not said).
_NOT_A_NOUN = (
    "of|from|for|to|in|on|at|by|and|or|off|per|away|into|above|below|a|an|the|was|is|were|are|has|have|had|"
    "will|would|could|can|long|wide|high|deep|tall|north|south|east|west|inland|offshore"
)
#: Units said in full, singular and plural, and how a modifier says them ("a 10km stretch": "a 10-kilometre stretch").
_UNITS = {"km": ("kilometre", "kilometres"), "mi": ("mile", "miles"), "m": ("metre", "metres"),
          "cm": ("centimetre", "centimetres"), "mm": ("millimetre", "millimetres"), "ft": ("foot", "feet"),
          "kg": ("kilogram", "kilograms"), "lb": ("pound", "pounds"), "lbs": ("pound", "pounds")}  # fmt: skip
#: Bare "1.5m" is metres before these words ("1.5m of water", "2m high") and millions before those ("2m people").
_METRES_NEXT = (
    r"\s*\(\s*\d[\d.,]*\s?(?:ft|feet|in)\b"
    r"|\s+(?:high|tall|deep|long|wide|away|above|below|under|of (?:water|snow|rain|floodwater|mud))\b"
)
_MILLIONS_NEXT = (
    r"\s+(?:people|residents|homes|households|properties|viewers|listeners|users|customers|visitors|voters|jobs|"
    r"children|adults|patients|passengers|tonnes|tons|barrels|workers|members|subscribers|followers|copies|"
    r"vehicles|cars|doses|tickets|trees|animals|refugees|migrants|pupils|students|staff|employees|years)\b"
)


def _money(match: re.Match[str]) -> str:
    article, sign, amount, scale, nxt = match.group(1, 2, 3, 4, 5)
    currency = _CURRENCIES[sign]
    modifier = bool(article) and nxt is not None and not re.fullmatch(_NOT_A_NOUN, nxt)
    if scale:  # "£1.5m" → "1.5 million pounds"; "a £3m deal" → "a 3 million pound deal"
        unit = currency[:-1] if modifier and currency.endswith("s") else currency
        return f"{article or ''}{amount} {_SCALES[scale.lower()]} {unit}"
    whole, _, cents = amount.partition(".")
    if len(cents) == 2 and currency in ("dollars", "pounds", "euros"):  # "$2.50" → "2 dollars 50"
        if whole == "0":
            return f"{article or ''}{int(cents)} {'pence' if currency == 'pounds' else 'cents'}"
        unit = currency[:-1] if whole == "1" else currency
        return f"{article or ''}{whole} {unit}" + (f" {int(cents)}" if int(cents) else "")
    unit = currency[:-1] if (amount == "1" or modifier) and currency.endswith("s") else currency
    return f"{article or ''}{amount} {unit}"


def _said(words: str) -> Callable[[re.Match[str]], str]:
    r"""A replacement saying ``group(1)`` and ``words``, singular after exactly 1 ("1 degree Celsius").

    Example:
        >>> import re
        >>> [re.sub(r"(\d+)°C", _said("degrees Celsius"), t) for t in ("1°C", "21°C")]
        ['1 degree Celsius', '21 degrees Celsius']
        >>> _said("square kilometres")(re.match(r"(\d+)", "1"))
        '1 square kilometre'
    """
    parts = words.split(" ")
    plural = next(i for i, part in enumerate(parts) if part.endswith("s"))  # degrees, kilometres (per hour)
    one = " ".join(part.removesuffix("s") if i == plural else part for i, part in enumerate(parts))
    return lambda m: f"{m.group(1)} {one if m.group(1) == '1' else words}"


def _unit(match: re.Match[str]) -> str:
    number, unit, inches = match.group(1), match.group(2), match.group(3) if match.re.groups >= 3 else None
    singular, plural = _UNITS[unit]
    said = f"{number} {singular if number == '1' else plural}"
    if inches:  # "5ft 11in" → "5 feet 11 inches"
        said += f" {inches} inch{'' if inches == '1' else 'es'}"
    return said


def _modifier(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}-{_UNITS[match.group(3)][0]}{match.group(4)}"


#: Words before "12C" that make it a name, not a temperature ("Flat 12C", "Gate 4F").
_NAMED_BY_NUMBER = re.compile(
    r"\b(?:flat|room|unit|gate|seat|row|block|suite|apartment|platform|floor|level|form)\s*$", re.I
)


def _temperature(match: re.Match[str]) -> str:
    number, scale = match.group(1), match.group(2)
    too_hot = scale == "C" and float(number) >= 100  # "101C" is a room; a hot oven is written "220°C"
    if too_hot or _NAMED_BY_NUMBER.search(match.string[: match.start()]):
        return match.group(0)
    return f"{number}°{scale}"


#: Street-side abbreviations: (after a street's name, before a person's or a saint's name).
_NAME_ABBREVIATIONS = {"St": ("Street", "Saint"), "Dr": ("Drive", "Doctor"), "Ave": ("Avenue", ""), "Mt": ("", "Mount")}
#: A street's name just before the abbreviation: a capitalised word or an ordinal, not the first of a sentence.
_STREET_NAME = re.compile(r"(?<![.!?])\s(?:[A-Z][\w'-]*|\d+(?:st|nd|rd|th))\s+$")


def _street_or_title(match: re.Match[str]) -> str:
    street, title = _NAME_ABBREVIATIONS[match.group(1)]
    before, name_next = match.string[: match.start()], match.group(2) is not None
    after_word = re.search(r"[a-z]\s+$", before) is not None
    if street and after_word and (not name_next or not title or _STREET_NAME.search(before)):
        ends = name_next or match.end() == len(match.string.rstrip())  # the period also ends the sentence
        return street + ("." if ends else "") + (match.group(2) or "")
    return f"{title} " if name_next and title else match.group(0)


_EN_RULES: tuple[Callable[[str], str], ...] = (
    _sub(r"\bM\s?(\d\.\d{1,2})(?![\d.]|\s(?:thousand|million|billion|trillion)\b)", r"magnitude \1"),  # not "M25"
    _sub(
        rf"\b({_NUM}\s*(?:km|mi|m)?\s+)({_COMPASS})\s+of\b", lambda m: f"{m.group(1)}{COMPASS_WORDS[m.group(2)][0]} of"
    ),
    _sub(rf"({_NUM})\s*(?:km/h|kph)\b", _said("kilometres per hour")),
    _sub(rf"({_NUM})\s*mph\b", _said("miles per hour")),
    _sub(  # money: "£1.5m" → "1.5 million pounds", "$2.50" → "2 dollars 50", "a £3m deal" → "a 3 million pound deal"
        r"(\b(?:[Aa]n?|[Tt]he)\s+)?(?<![A-Za-z])(US\$|A\$|C\$|NZ\$|HK\$|[$£€¥])\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
        r"(?:\s?(bn|mn|trn|tn|million|billion|trillion|[kmbKMB])(?!\w))?(?=(?:\s+([a-z]+))?)",
        _money,
    ),
    _sub(rf"\b({_NUM})\s?(?:bn)\b", r"\1 billion"),
    _sub(rf"\b({_NUM})\s?(?:tn|trn)\b", r"\1 trillion"),
    _sub(rf"\b({_NUM})m(?={_MILLIONS_NEXT})", r"\1 million"),  # "2m people"
    _sub(rf"\b({_NUM})m(?={_METRES_NEXT})", r"\1 metres"),  # "1.5m (5ft) of water", "2m high"
    _sub(  # a measure as a modifier: "a 10km stretch" → "a 10-kilometre stretch", "a 3m-high wall"
        rf"\b((?:[Aa]n?|[Tt]he)\s+)({_NUM})\s?(km|mi|cm|mm|ft|kg|m(?=-)|(?<=\s)m(?= ))"
        rf"(-|\s+(?!(?:{_NOT_A_NOUN})\b)(?=[a-z]))",
        _modifier,
    ),
    _sub(rf"\b({_NUM})\s?(?:sq\.?\s?km|km²|km2)(?![\w-])", _said("square kilometres")),
    _sub(rf"\b({_NUM})\s?(?:sq\.?\s?(?:mi|miles))(?![\w-])", _said("square miles")),
    _sub(rf"\b({_NUM})\s*km\b", _said("kilometres")),
    _sub(rf"\b({_NUM})\s*mm\b", _said("millimetres")),
    _sub(rf"\b({_NUM})\s*mi\b", _said("miles")),
    _sub(rf"\b({_NUM})\s?(ft)\b(?:\s?(\d{{1,2}})\s?in\b)?", _unit),  # "5ft 11in" → "5 feet 11 inches"
    _sub(rf"\b({_NUM})\s?(cm|kg|lbs?)\b", _unit),
    _sub(rf"(?<![$€£¥])\b({_NUM})\s+m\b(?![.']\w)", _said("metres")),
    _sub(r"(?<![\w.])(\d{1,3}(?:\.\d)?)([CF])\b(?![\w'’])", _temperature),  # "30C", "-5C", "86F"
    _sub(rf"\b({_NUM})\s?mins?\b(?!\.\w)", _said("minutes")),
    _sub(rf"\b({_NUM})\s?hrs?\b(?!\.\w)", _said("hours")),
    _sub(rf"\b({_NUM})\s?secs?\b(?!\.\w)", _said("seconds")),
    _sub(r"\b(Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec)\.(?=\s+\d)", lambda m: _MONTHS[m.group(1)[:3]]),
    _sub(rf"({_NUM})\s*°\s*C\b", _said("degrees Celsius")),
    _sub(rf"({_NUM})\s*°\s*F\b", _said("degrees Fahrenheit")),
    _sub(rf"({_NUM})\s*°", _said("degrees")),
    _sub(rf"({_NUM})\s*%", r"\1 percent"),
    _sub(r"(\d)\^([+\-−]?\d+)\b", lambda m: f"{m.group(1)} to the power of {m.group(2).replace('−', '-')}"),
    _sub(r"\bUTC\s*([+\-−])\s*(\d{1,2})(?::(\d{2}))?\b", _offset_en),
    _sub(r"(^|[\s(])([+\-−])(\d)", _signed),
    _sub(r"\b(\d{1,2})–(\d{1,2})\b", r"\1 to \2"),  # a score; a spaced dash sets words apart
    _sub(r"(?<![\d:])(0\d|1[3-9]|2[0-3]):([0-5]\d)(?!\s*(?:AM|PM|am|pm|a\.m\.|p\.m\.))(?![\d:])", _clock_24h),
    _sub(r"\b(\d{1,2}):00(\s*(?:AM|PM|am|pm|a\.m\.|p\.m\.))", r"\1\2"),
    _sub(  # a state only in a USGS place ("12 kilometres north of Ridgecrest, CA"), not "Ottawa, CA" in free text
        r"(\d kilometres? [a-z-]+ of [^,;()]+?),\s*([A-Z]{2})\b(?![.\w])",
        lambda m: f"{m.group(1)}, {US_STATES.get(m.group(2), m.group(2))}",
    ),
    _sub(r"\b(St|Dr|Ave|Mt)\.(\s+(?=[A-Z]))?", _street_or_title),
    _sub(r"\bNo\.\s*(?=\d)", "number "),
    _sub(r"\bvs\.?(?=\s)", "versus"),
    _sub(r"\be\.g\.,?", "for example,"),
    _sub(r"\bi\.e\.,?", "that is,"),
    _sub(r"(?<=\s)&(?=\s)", "and"),
)


def _place_zh(match: re.Match[str]) -> str:
    town, region = match.group(3), (match.group(4) or "").strip()
    where = f"{_ZH_REGIONS.get(region, region)}{town}" if region else town
    return f"{where}{COMPASS_WORDS[match.group(2)][1]}方向{match.group(1)}公里处"


def _offset_zh(match: re.Match[str]) -> str:
    sign = "加" if match.group(1) == "+" else "减"
    minutes = f"{int(match.group(3))}分" if int(match.group(3) or 0) else ""
    return f"协调世界时{sign}{int(match.group(2))}小时{minutes}"


_ZH_RULES: tuple[Callable[[str], str], ...] = (
    _sub(r"(\d)\^([+\-−]?)(\d+)(?!\d)", lambda m: f"{m.group(1)}的{'负' if m.group(2) else ''}{m.group(3)}次方"),
    _sub(
        rf"({_NUM})\s*km\s+({_COMPASS})\s+of\s+([^,，。]+?)(?:,\s*([A-Za-z][\w .-]*?))?(?=$|[，。；、）(（]|发生)",
        _place_zh,
    ),
    _sub(r"\bM\s?(\d\.\d{1,2})(?![\d.])", r"\1级"),  # "M 6.4", not "M25高速"
    _sub(rf"(?<![A-Za-z0-9.])[-−]\s?({_NUM}\s*°\s*C)\b", r"零下\1"),  # a temperature below zero
    _sub(r"(?<![A-Za-z0-9.\-−])[-−](?=\d)", "负"),  # any other negative number
    _sub(rf"({_NUM})\s*km/h", r"\1公里每小时"),
    _sub(rf"({_NUM})\s*km\b", r"\1公里"),
    _sub(rf"({_NUM})\s*mm\b", r"\1毫米"),
    _sub(rf"({_NUM})\s*°\s*C\b", r"\1摄氏度"),
    _sub(rf"({_NUM})\s*%", r"百分之\1"),
    _sub(r"\bUTC\s*([+\-−])\s*(\d{1,2})(?::(\d{2}))?\b", _offset_zh),
    _sub(r"\bUTC\b", "协调世界时"),
    _sub(r"公里/小时", "公里每小时"),
)


def spoken_form(text: str, language: str) -> str:
    """The text as a newsreader says it: abbreviations, units, bearings and offsets in words, in ``language``.

    Args:
        text: Written text (a headline, a paragraph, a script sentence).
        language: ``en`` or ``zh`` (a tag such as ``en-GB`` or ``zh-Hans`` reads its primary subtag);
            other languages come back unchanged.

    Example:
        >>> spoken_form("The index fell -0.42% (UTC+5:30).", "en")
        'The index fell minus 0.42 percent (UTC plus five thirty).'
        >>> spoken_form("38 km ESE of Hualien City, Taiwan发生6.4级地震，当地时间（UTC+8）", "zh")
        '台湾Hualien City东南偏东方向38公里处发生6.4级地震，当地时间（协调世界时加8小时）'
    """
    base = primary_language(language)
    rules = _EN_RULES if base == "en" else _ZH_RULES if base == "zh" else ()
    for rule in rules:
        text = rule(text)
    return text


#: Speaking rates of the default voices (en-joe measured with Whisper timings; a digit is said as about 4 letters).
_LETTERS_PER_SECOND = 16.0
_HANZI_PER_SECOND = 4.0
_SENTENCE_PAUSE = 0.3


def speaking_seconds(text: str, language: str) -> float:
    """About how long the default voice takes to say ``text`` (already in spoken form), pauses included.

    Example:
        >>> round(speaking_seconds("A magnitude 6.4 earthquake struck.", "en"), 1)
        2.8
        >>> speaking_seconds("地震。", "zh")
        0.8
    """
    sentences = max(1, len(re.findall(r"[.!?。！？]+(?:\s|$)", text)))
    if primary_language(language) == "zh":
        hanzi = len(re.findall(r"[\u4e00-\u9fff\d]", text))
        return hanzi / _HANZI_PER_SECOND + sentences * _SENTENCE_PAUSE
    digits = sum(ch.isdigit() for ch in text)
    return (len(text) + 3 * digits) / _LETTERS_PER_SECOND + sentences * _SENTENCE_PAUSE
