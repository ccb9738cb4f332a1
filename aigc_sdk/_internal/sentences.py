"""Sentence splitting for English and Chinese text (no model, no download)."""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e u.s u.k a.m p.m no jan feb mar apr jun jul aug sep sept oct "
    "nov dec inc ltd co corp gen gov rep sen".split()
)
# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace,
# or at a CJK terminator (。！？；) wherever it stands.
_LATIN_END = re.compile(r"([.!?…]+[\"'”’)\]]*)(\s+)")
_CJK_END = re.compile(r"([。！？!?；]+[”’」』）)]*)")
_ENDED = re.compile(r"[.!?…。！？；][\"'”’」』）)\]]*$")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; works for English, Chinese and mixed text.

    Paragraph breaks always end a sentence; common abbreviations ("Dr.", "U.S.")
    and decimal numbers do not.

    Example:
        >>> split_sentences("Dr. Ruiz spoke. The vote was 7 to 2! 会议结束。明天再议？")
        ['Dr. Ruiz spoke.', 'The vote was 7 to 2!', '会议结束。', '明天再议？']
    """
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        if not flat:
            continue
        for piece in _CJK_END.sub(lambda m: m.group(1) + "\n", flat).split("\n"):
            sentences.extend(_split_latin(piece))
    return [s for s in (s.strip() for s in sentences) if s]


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends as a sentence does (``.``, ``!``, ``?``, ``…``, ``。``, ``！``, ``？``, ``；``,
    optionally followed by closing quotes or brackets), not in the middle of one.

    Example:
        >>> ends_sentence('He said "yes."'), ends_sentence("会议结束。"), ends_sentence("in the next big storm if")
        (True, True, False)
    """
    return _ENDED.search(text.rstrip()) is not None


def _split_latin(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _LATIN_END.finditer(text):
        candidate = text[start : match.end(1)]
        last_word = candidate.rsplit(" ", 1)[-1].rstrip(".!?…\"'”’)]").lower()
        initial = len(last_word) == 1 and last_word.isalpha()
        if match.group(1).startswith(".") and (last_word in _ABBREVIATIONS or initial):
            continue
        out.append(candidate)
        start = match.end()
    out.append(text[start:])
    return out
