"""Narration scripts from articles: extractive selection of whole sentences to a target duration.

The article (Markdown, plain text or HTML, English or Chinese, pasted from a
web page or a CMS as it comes: see :mod:`aigc_sdk.generators.text.article`)
is read into whole sentences, page furniture dropped. The headline is said
once: it is the article's title, or else its first sentence, which the
script then does not repeat. Each sentence is scored by how central it is to
the article (cosine to the mean sentence vector), with a small bonus for the
lead. The sentence vectors
are embeddings requested through the generator's models handle
(:meth:`~aigc_sdk.generators.base.BaseGenerator.use_models`: the Studio, so the
embedding model is on the scheduler's books): the registry's default embedder
for the article's language (all-MiniLM-L6-v2 for English, the multilingual E5
for Chinese). With ``scorer = "tfidf"``, or when no embedding model is
installed, TF-IDF vectors are used instead (provenance says which).
Sentences are then taken best-first while they fit, and returned in
article order. Duration is estimated from words per second (English) or
characters per second (Chinese). Every sentence of the script is a sentence of
the article, character for character, unless the optional LLM rewrite runs;
then provenance says ``rewritten: true`` and keeps the extractive sentences.

Spec options: ``scorer`` (``embeddings`` | ``tfidf``, default ``embeddings``),
``rewriter`` (a text-generation model id, run through the models handle, used
when a request sets ``rewrite``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk.errors import InvalidRequestError, MissingDependencyError, ModelNotAvailableError
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.generators.text.article import Article, parse_article
from aigc_sdk.generators.text.embeddings import embed_with
from aigc_sdk.generators.text.spoken import spoken_form
from aigc_sdk.types import ScriptRequest, StoryResult, TextRequest, TextResult

__all__ = ["ScriptWriter", "estimate_seconds", "parse_article"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
_STOPWORDS = frozenset(
    """a an the and or but of to in on at by for with from as is are was were be been it its this that these those
    he she they we you i his her their our your not no so if then than into over after before about said says""".split()
)
#: Share of the score given to position: the lead of a news article matters most.
LEAD_WEIGHT = 0.15
#: How far from the target a script may be.
TOLERANCE = 0.15


def estimate_seconds(
    sentence: str, language: str, *, words_per_second: float = 2.5, chars_per_second: float = 4.0
) -> float:
    """Seconds to read ``sentence`` aloud: words / rate for English, CJK characters / rate for Chinese.

    Latin words inside Chinese text count as one character each.

    Example:
        >>> estimate_seconds("The council voted seven to two.", "en")
        2.4
        >>> estimate_seconds("会议结束。", "zh")
        1.0
    """
    if language == "zh":
        units = len(_CJK.findall(sentence)) + len(_WORD.findall(sentence))
        return units / chars_per_second
    return len(_WORD.findall(sentence)) / words_per_second


def _tokens(sentence: str, language: str) -> list[str]:
    if language == "zh":
        chars = _CJK.findall(sentence)
        return ["".join(pair) for pair in itertools.pairwise(chars)] + [w.lower() for w in _WORD.findall(sentence)]
    return [w.lower() for w in _WORD.findall(sentence) if w.lower() not in _STOPWORDS]


def tfidf_vectors(sentences: list[str], language: str) -> npt.NDArray[np.float32]:
    """Unit-length TF-IDF vectors of sentences (words for English, character bigrams for Chinese).

    Example:
        >>> v = tfidf_vectors(["rain floods the street", "the street floods", "stocks rose"], "en")
        >>> bool(v[0] @ v[1] > v[0] @ v[2])
        True
    """
    docs = [Counter(_tokens(s, language)) for s in sentences]
    vocab = sorted({t for d in docs for t in d})
    index = {t: i for i, t in enumerate(vocab)}
    df = Counter(t for d in docs for t in d)
    n = len(sentences)
    matrix = np.zeros((n, max(len(vocab), 1)), dtype=np.float32)
    for row, doc in enumerate(docs):
        for token, count in doc.items():
            matrix[row, index[token]] = (1 + math.log(count)) * (math.log((1 + n) / (1 + df[token])) + 1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)


@dataclass(frozen=True)
class _Plan:
    request: ScriptRequest
    article: Article
    seconds: list[float]


@dataclass(frozen=True)
class _Chosen:
    plan: _Plan
    chosen: list[int]
    method: str
    rewritten: list[str] | None
    rewriter: str | None


class ScriptWriter(BaseGenerator[ScriptRequest, StoryResult]):
    """Extractive narration scripts from articles, to a target duration (±15 %).

    The result's headline is the article's title (or its first sentence) and
    its paragraphs hold the chosen sentences, grouped as in the article.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> writer = ModelRegistry().create("script-writer")
        >>> import pathlib
        >>> article = pathlib.Path("examples/data/article_en.md").read_text(encoding="utf-8")
        >>> script = writer(prompt=article, target_seconds=30, seed=1)
        >>> 25.5 <= script.provenance.extra["estimated_seconds"] <= 34.5
        True
    """

    request_type: ClassVar[type[ScriptRequest]] = ScriptRequest
    distributions: ClassVar[tuple[str, ...]] = ("numpy",)  # the embedding models record their own
    known_options: ClassVar[tuple[str, ...] | None] = ("scorer", "rewriter")

    def _load(self) -> None:
        self._scorer = str(self.spec.options.get("scorer", "embeddings"))
        if self._scorer not in ("embeddings", "tfidf"):
            raise InvalidRequestError(f"{self.spec.id}: option scorer must be 'embeddings' or 'tfidf'")
        rewriter = self.spec.options.get("rewriter")
        if rewriter is not None and (not isinstance(rewriter, str) or not rewriter.strip()):
            raise InvalidRequestError(f"{self.spec.id}: option rewriter must be a text-generation model id")
        self._rewriter: str | None = rewriter

    def _preprocess(self, requests: list[ScriptRequest]) -> list[_Plan]:
        plans = []
        for request in requests:
            article = _headed(parse_article(request.prompt, request.language))
            if article.language not in ("en", "zh"):
                raise InvalidRequestError(f"language {article.language!r} is not supported; use 'en' or 'zh'")
            if not article.sentences:
                raise InvalidRequestError("the article has no sentences")
            if request.rewrite and self._rewriter is None:
                raise InvalidRequestError(
                    "rewrite=True needs an LLM", hint="set the spec option 'rewriter' to a text-generation model id"
                )
            _check_rate_applies(request, article.language)
            seconds = [
                estimate_seconds(
                    s,
                    article.language,
                    words_per_second=request.words_per_second,
                    chars_per_second=request.chars_per_second,
                )
                for s in article.sentences
            ]
            plans.append(_Plan(request, article, seconds))
        return plans

    def _forward(self, inputs: list[_Plan]) -> list[_Chosen]:
        outputs = []
        for plan in inputs:
            vectors, method = self._vectors(plan.article)
            chosen = _select(vectors, plan.seconds, plan.request.target_seconds)
            rewritten, rewriter = self._rewrite(plan, chosen) if plan.request.rewrite else (None, None)
            outputs.append(_Chosen(plan, chosen, method, rewritten, rewriter))
        return outputs

    def _postprocess(self, outputs: list[_Chosen], requests: list[ScriptRequest]) -> list[StoryResult]:
        results = []
        for plan, chosen, method, rewritten, rewritten_by in (
            (o.plan, o.chosen, o.method, o.rewritten, o.rewriter) for o in outputs
        ):
            request, article = plan.request, plan.article
            sentences = article.sentences
            groups: list[list[str]] = []
            start = 0
            picked = set(chosen)
            for paragraph in article.paragraphs:
                group = [s for i, s in enumerate(paragraph, start) if i in picked]
                if group:
                    groups.append(group)
                start += len(paragraph)
            joiner = "" if article.language == "zh" else " "
            paragraphs = [joiner.join(g) for g in groups] if rewritten is None else rewritten
            total = sum(plan.seconds[i] for i in chosen)
            extra: dict[str, Any] = {
                "generator": "extractive",
                "scorer": method,
                "sentences": chosen,
                "estimated_seconds": round(total, 3),
                "article_seconds": round(sum(plan.seconds), 3),
                "rewritten": rewritten is not None,
            }
            if rewritten is not None:
                extra["extractive_paragraphs"] = [joiner.join(g) for g in groups]
                extra["rewriter"] = rewritten_by
            results.append(
                StoryResult(
                    headline=article.title or sentences[0],  # a one-sentence article without a title
                    paragraphs=tuple(spoken_form(p, article.language) for p in paragraphs),  # what a reader says
                    language=article.language,
                    provenance=self.provenance(request, **extra),
                )
            )
        return results

    def _to(self, device: str) -> None:
        """Scoring runs on the embedding models, which the scheduler places; nothing to move."""

    # -- helpers -----------------------------------------------------------------------------------

    def _vectors(self, article: Article) -> tuple[npt.NDArray[np.float32], str]:
        sentences = article.sentences
        if self._scorer == "embeddings":
            try:
                return embed_with(self.models, sentences, language=article.language), "embeddings"
            except (MissingDependencyError, ModelNotAvailableError):
                pass  # no embedding model installed for this language: TF-IDF, as documented
        return tfidf_vectors(sentences, article.language), "tfidf"

    def _rewrite(self, plan: _Plan, chosen: list[int]) -> tuple[list[str], str | None]:
        sentences = [plan.article.sentences[i] for i in chosen]
        words = sum(len(s.split()) for s in sentences)
        instruction = (
            "请把下面的新闻句子改写成流畅的播音稿，保留所有事实和数字：\n"
            if plan.article.language == "zh"
            else "Rewrite these news sentences as a smooth narration script. Keep every fact and number:\n"
        )
        request = TextRequest(
            prompt=instruction + "\n".join(sentences) + "\n\n",
            max_new_tokens=max(16, int(words * 2)),
            temperature=0.3,
            seed=plan.request.seed,
        )
        result: TextResult = self.models.submit(request, model=self._rewriter).result()
        text = result.text.strip()
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
        return paragraphs or [" ".join(sentences)], result.provenance.model_id


def _headed(article: Article) -> Article:
    """The article with a title: a title-less one's first sentence becomes it, and leaves the body.

    The narration says the headline first and says it once; an article of one sentence keeps it in the body.
    """
    sentences = article.sentences
    if article.title is not None or len(sentences) < 2:
        return article
    first, *rest = article.paragraphs
    paragraphs = ((first[1:],) if len(first) > 1 else ()) + tuple(rest)
    return Article(title=sentences[0], paragraphs=paragraphs, language=article.language)


def _select(vectors: npt.NDArray[np.float32], seconds: list[float], target: float) -> list[int]:
    """Indices of the sentences to keep, in article order."""
    n = len(seconds)
    centroid = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    centrality = vectors @ (centroid / norm) if norm > 0 else np.zeros(n, dtype=np.float32)
    lead = np.array([1.0 - i / max(n - 1, 1) for i in range(n)], dtype=np.float32)
    scores = (1 - LEAD_WEIGHT) * centrality + LEAD_WEIGHT * lead
    upper = target * (1 + TOLERANCE)
    if sum(seconds) <= upper:
        return list(range(n))
    if min(seconds) > upper:
        raise InvalidRequestError(
            f"target_seconds={target:g} is shorter than any sentence (the shortest takes {min(seconds):.1f} s)",
            hint="raise target_seconds",
        )
    chosen: list[int] = []
    total = 0.0
    for i in sorted(range(n), key=lambda k: (-float(scores[k]), k)):
        if total >= target:
            break
        if total + seconds[i] <= upper:
            chosen.append(i)
            total += seconds[i]
    return sorted(chosen)


def _check_rate_applies(request: ScriptRequest, language: str) -> None:
    """A speaking rate set for the other language would be silently ignored: refuse it."""
    unused = "words_per_second" if language == "zh" else "chars_per_second"
    if unused in request.model_fields_set:
        used = "chars_per_second" if language == "zh" else "words_per_second"
        raise InvalidRequestError(
            f"{unused} does not apply to a {'Chinese' if language == 'zh' else 'non-Chinese'} article",
            hint=f"set {used} instead (the article's language is {language!r})",
        )
