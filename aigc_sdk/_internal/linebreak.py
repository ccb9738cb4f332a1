"""Where text may break into lines: one rule for card text and burned-in subtitles.

Latin-script words (and Korean, which spaces its words) break at spaces; Chinese and
Japanese break between any two characters, with kinsoku: closing punctuation never
starts a line, opening punctuation never ends one.
"""

from __future__ import annotations

__all__ = ["is_cjk", "line_atoms"]

# No line may start with these (closing punctuation, small kana) or end with these (opening punctuation).
_NO_START = frozenset(
    "，。、！？；：）」』】》〉〕］｝”’…‥・ー〜～%‰.,!?;:)]}>°℃ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々"
)
_NO_END = frozenset("（「『【《〈〔［｛“‘([{<$£¥€#")


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a Chinese or Japanese character or CJK punctuation (lines may break around it).

    Example:
        >>> is_cjk("中"), is_cjk("か"), is_cjk("。"), is_cjk("a"), is_cjk("한")
        (True, True, True, False, False)
    """
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x2FA1F
    )


def line_atoms(text: str) -> list[tuple[str, bool]]:
    """Unbreakable pieces ``(text, space_before)``: words, or single CJK characters with their punctuation.

    Example:
        >>> line_atoms("Hello, world")
        [('Hello,', False), ('world', True)]
        >>> line_atoms("「你好」。OK")
        [('「你', False), ('好」。', False), ('OK', False)]
    """
    atoms: list[list[str | bool]] = []
    pending_space = False
    glue = False  # the previous character opens a bracket: keep the next one with it
    for ch in text:
        if ch.isspace():
            pending_space, glue = True, False
            continue
        joins = (
            bool(atoms)
            and not pending_space
            and (glue or ch in _NO_START or (not is_cjk(ch) and not is_cjk(str(atoms[-1][0])[-1])))
        )
        if joins:
            atoms[-1][0] = str(atoms[-1][0]) + ch
        else:
            atoms.append([ch, pending_space])
        pending_space = False
        glue = ch in _NO_END
    return [(str(t), bool(sp)) for t, sp in atoms]
