from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.pipelines import Timeline, TimelineSegment, Visual
from aigc_sdk.pipelines.timeline import split_cues
from aigc_sdk.types import Cue, Motion, Segment


@pytest.fixture
def card(tmp_path: Path) -> Visual:
    path = tmp_path / "card.png"
    path.write_bytes(b"png")
    return Visual(path=path, kind="card", motion=Motion.static())


def test_from_speech_builds_cues_inside_each_narration(card: Visual) -> None:
    speech = [
        Segment(text="City council approves riverside park expansion.", start=0.0, end=3.0),
        Segment(
            text="The city council voted 7 to 2 on Tuesday evening to expand Millbrook Riverside Park by 14 hectares.",
            start=3.25,
            end=9.5,
        ),
        Segment(text="市图书馆将把周一至周五的闭馆时间从晚上八点推迟到十点。", start=9.75, end=14.0),
    ]
    tl = Timeline.from_speech(speech, [card] * 3, duration=14.2)
    cues = tl.cues
    assert all(len(c.text) <= 42 for c in cues)
    assert len(tl.segments[1].cues) >= 2
    assert all(len(c.text) <= 18 for c in tl.segments[2].cues)
    for before, after in itertools.pairwise(cues):
        assert before.end <= after.start + 1e-9
    for seg in tl.segments:
        assert seg.cues[0].start == seg.start and seg.cues[-1].end == seg.end
        assert "".join(c.text for c in seg.cues).replace(" ", "") == seg.text.replace(" ", "")
    durations = tl.slide_durations()
    assert sum(durations) == pytest.approx(14.2)
    assert durations[0] == pytest.approx(3.25)
    request = tl.to_video_request(width=320, height=180, fps=10)
    assert request.durations == durations
    assert request.cues == cues
    assert request.motions is not None and len(request.motions) == 3


@pytest.mark.parametrize(
    ("segments", "duration", "message"),
    [
        ([(0.0, 2.0), (1.5, 3.0)], 3.0, "inside the previous one"),
        ([(0.0, 1.0), (3.0, 4.0)], 4.0, "silence"),
        ([(2.0, 3.0)], 3.0, "silence"),
        ([(0.0, 5.0)], 3.0, "past the duration"),
    ],
)
def test_bad_timings_are_rejected(
    card: Visual, segments: list[tuple[float, float]], duration: float, message: str
) -> None:
    speech = [Segment(text=f"Sentence {i}.", start=a, end=b) for i, (a, b) in enumerate(segments)]
    with pytest.raises(InvalidRequestError, match=message):
        Timeline.from_speech(speech, [card] * len(speech), duration=duration)


def test_cues_must_stay_inside_their_segment(card: Visual) -> None:
    with pytest.raises(InvalidRequestError, match="outside its narration"):
        TimelineSegment(text="x", start=1.0, end=2.0, visual=card, cues=[Cue(text="x", start=0.5, end=1.5)])
    with pytest.raises(InvalidRequestError, match="overlap"):
        TimelineSegment(
            text="x y",
            start=0.0,
            end=2.0,
            visual=card,
            cues=[Cue(text="x", start=0.0, end=1.2), Cue(text="y", start=1.0, end=2.0)],
        )


def test_visuals_must_exist_and_split_is_balanced(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="path"):
        Visual(path=tmp_path / "missing.png", kind="photo")
    seg = Segment(text="word " * 30, start=0.0, end=6.0)
    pieces = split_cues(seg, max_chars=40)
    lengths = [len(c.text) for c in pieces]
    assert max(lengths) - min(lengths) <= 10


def test_visuals_without_a_move_get_the_one_the_renderer_would_draw(card: Visual) -> None:
    from aigc_sdk.generators.video.slideshow import ken_burns_motions

    steady = Motion(zoom_start=1.0, zoom_end=1.05)
    card = card.model_copy(update={"motion": None})
    speech = [Segment(text="One.", start=0.0, end=1.5), Segment(text="Two.", start=1.5, end=3.0)]
    fixed = card.model_copy(update={"motion": steady})
    request = Timeline.from_speech(speech, [fixed, card], duration=3.0).to_video_request(seed=4)
    unset = Timeline.from_speech(speech, [card, card], duration=3.0).to_video_request(seed=4)
    assert unset.motions is None  # nothing given: the renderer draws every move from the seed
    assert request.motions == (steady, ken_burns_motions(unset)[1])


def test_chinese_cues_never_break_inside_a_number_a_date_or_a_latin_word() -> None:
    sentences = [
        "2026年12月4日（星期五），上证指数上涨13.92点，涨幅百分之0.41，收于3,412.58点。",
        "据美国地质调查局消息，当地时间（协调世界时加8小时）2025年11月26日（星期三）凌晨4:07，"
        "台湾Hualien City东南偏东方向38公里处发生6.4级地震，震源深度21.5公里。",
    ]
    for sentence in sentences:
        cues = [c.text for c in split_cues(Segment(text=sentence, start=0.0, end=6.0))]
        assert "".join(cues).replace(" ", "") == sentence.replace(" ", "")
        for whole in re.findall(r"\d[\d,.:]*\d(?:[%日月年级点])?|[A-Za-z]+", sentence):  # 3,412.58  26日  Hualien
            assert any(whole in cue for cue in cues), (whole, cues)
        assert not any(cue[0] in "，。、；：！？）" for cue in cues), cues  # no cue opens with closing punctuation
        assert all(len(cue) <= 18 + 12 for cue in cues)
