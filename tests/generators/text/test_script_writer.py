"""ScriptWriter: target duration ±15 %, sentences verbatim from the article, typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_sdk._internal.sentences import split_sentences
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.text.script_writer import ScriptWriter, estimate_seconds, parse_article
from aigc_sdk.registry import LocalSource, ModelRegistry, ModelSpec
from aigc_sdk.types import ScriptRequest


@pytest.fixture(scope="module")
def writer() -> ScriptWriter:
    return ModelRegistry().create("script-writer")  # type: ignore[no-any-return]


def _article_sentences(text: str) -> set[str]:
    return {s for s in split_sentences(text)}


@pytest.mark.parametrize(
    ("article", "language", "target"),
    [("article_en.md", "en", 30.0), ("article_en.md", "en", 50.0), ("article_zh.md", "zh", 25.0)],
)
def test_script_meets_the_target_with_verbatim_sentences(
    writer: ScriptWriter, data_dir: Path, article: str, language: str, target: float
) -> None:
    text = (data_dir / article).read_text(encoding="utf-8")
    script = writer(ScriptRequest(prompt=text, target_seconds=target, seed=1))
    extra = script.provenance.extra
    assert script.language == language
    assert extra["rewritten"] is False and extra["generator"] == "extractive"
    assert extra["scorer"] == "embeddings"  # MiniLM for English, multilingual E5 for Chinese
    chosen = [s for p in script.paragraphs for s in split_sentences(p)]
    known = _article_sentences(text)
    assert chosen and all(s in known for s in chosen)
    total = sum(estimate_seconds(s, language) for s in chosen)
    assert total == pytest.approx(extra["estimated_seconds"], abs=1e-3)
    assert target * 0.85 <= total <= target * 1.15
    assert script.headline == text.splitlines()[0].lstrip("# ").strip()
    # the lead sentence of a news article is always kept at these lengths
    assert chosen[0] == split_sentences(text)[1]


def test_tfidf_scorer_and_short_articles(data_dir: Path) -> None:
    spec = ModelRegistry().get("script-writer").model_copy(update={"options": {"scorer": "tfidf"}})
    writer = ScriptWriter(spec)
    text = (data_dir / "article_en.md").read_text()
    script = writer(prompt=text, target_seconds=40, seed=1)
    assert script.provenance.extra["scorer"] == "tfidf"
    assert 34 <= script.provenance.extra["estimated_seconds"] <= 46
    whole = writer(prompt="Rain fell. The river rose.", target_seconds=60, seed=1)
    # shorter than the target: all of it; with no title the first sentence is the headline, said once
    assert (whole.headline, whole.paragraphs) == ("Rain fell.", ("The river rose.",))
    alone = writer(prompt="Rain fell.", target_seconds=60, seed=1)
    assert (alone.headline, alone.paragraphs) == ("Rain fell.", ("Rain fell.",))  # nothing else to say


def test_markdown_is_cleaned_and_errors_are_typed(writer: ScriptWriter) -> None:
    article = parse_article(
        "# **Big** news\n\n- A [link](http://x) here. Done.\n\n```\ncode. block.\n```\n\n## Sub\n\nEnd."
    )
    assert article.title == "Big news"
    assert article.sentences == ["A link here.", "Done.", "End."]
    with pytest.raises(InvalidRequestError, match="shorter than any sentence"):
        writer(prompt="This sentence has quite a few words in it, honestly.", target_seconds=0.5)
    with pytest.raises(InvalidRequestError, match="no sentences"):
        writer(prompt="# Only a title")
    with pytest.raises(InvalidRequestError, match="not supported"):
        writer(prompt="Bonjour.", language="fr")
    with pytest.raises(InvalidRequestError, match="needs an LLM"):
        writer(prompt="Rain fell. The river rose.", rewrite=True)
    with pytest.raises(InvalidRequestError):
        ScriptRequest(prompt="x", target_seconds=0)


def test_rewrite_step_runs_through_the_studio_and_is_marked(tiny_lm_dir: Path) -> None:
    from aigc_sdk import Studio

    registry = ModelRegistry()
    registry.register(
        ModelSpec(
            id="tiny-gpt2",
            task="text-generation",
            backend="aigc_sdk.generators.text.transformers_lm.TransformersTextGenerator",
            source=LocalSource(path=tiny_lm_dir),
        )
    )
    rewriting = registry.get("script-writer").model_copy(
        update={"id": "rewriting-writer", "default": False, "options": {"scorer": "tfidf", "rewriter": "tiny-gpt2"}}
    )
    registry.register(rewriting)
    text = "Rain fell all night. The river rose two metres. Schools closed."
    with Studio(registry) as studio:
        script = studio.run(
            ScriptRequest(prompt=text, target_seconds=5, rewrite=True, seed=3), model="rewriting-writer"
        )
        loaded = set(studio.scheduler.metrics().loaded)
    metrics = studio.scheduler.metrics()  # after close: every request is counted
    extra = script.provenance.extra
    assert extra["rewritten"] is True and extra["rewriter"] == "tiny-gpt2"
    assert extra["extractive_paragraphs"]
    assert all(s in _article_sentences(text) for p in extra["extractive_paragraphs"] for s in split_sentences(p))
    # the rewriter LLM is on the scheduler's books, loaded once beside the writer
    assert loaded == {"rewriting-writer", "tiny-gpt2"} and metrics.loads == 2
    assert metrics.completed == 2


def test_studio_routes_script_requests_and_runs_the_embedder_on_its_scheduler(data_dir: Path) -> None:
    from aigc_sdk import Studio

    text = (data_dir / "article_en.md").read_text(encoding="utf-8")
    request = ScriptRequest(prompt=text, target_seconds=30, seed=1)
    with Studio() as studio:
        assert studio.model_for(ScriptRequest.task, language="en").id == "script-writer"
        script = studio.run(request)  # no model named: the script writer, by the request's type
        loaded = set(studio.scheduler.metrics().loaded)
    metrics = studio.scheduler.metrics()  # after close: every request is counted
    sentences = len(parse_article(text).sentences)
    assert script.provenance.model_id == "script-writer" and script.provenance.extra["scorer"] == "embeddings"
    assert loaded == {"script-writer", "all-minilm-l6-v2"}
    assert metrics.loads == 2 and metrics.completed == 1 + sentences  # one embedding request per sentence
    # the same script as a writer made without a Studio (which loads its embedder through the registry)
    alone = ModelRegistry().create("script-writer")(request)
    assert alone.paragraphs == script.paragraphs and alone.plan.kicker_for("en") == "NEWS"


def test_options_that_do_not_apply_are_refused(writer: ScriptWriter) -> None:
    with pytest.raises(InvalidRequestError, match="words_per_second does not apply"):
        writer(prompt="会议结束。明天再议。", words_per_second=3.0)
    with pytest.raises(InvalidRequestError, match="chars_per_second does not apply"):
        writer(prompt="Rain fell. The river rose.", chars_per_second=5.0)
    spec = ModelRegistry().get("script-writer")
    with pytest.raises(InvalidRequestError, match="no option 'scorrer'"):
        ScriptWriter(spec.model_copy(update={"options": {"scorrer": "tfidf"}}))
    with pytest.raises(InvalidRequestError, match="rewriter must be"):
        ScriptWriter(spec.model_copy(update={"options": {"rewriter": 3}}))
