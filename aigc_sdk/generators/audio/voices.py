"""Choosing a text-to-speech model for a language from the registry.

Example:
    >>> from aigc_sdk.registry import ModelRegistry
    >>> voice_for_language(ModelRegistry(), "zh").id
    'espeak-zh'
"""

from __future__ import annotations

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.registry import ModelRegistry, ModelSpec
from aigc_sdk.registry.weights import is_available_offline
from aigc_sdk.types import Task, normalize_language

__all__ = ["voice_for_language"]

#: Backends that speak many languages badly: used only when no dedicated voice exists.
FALLBACK_BACKENDS = ("aigc_sdk.generators.audio.espeak.EspeakSpeechGenerator",)


def _primary(tag: str) -> str:
    code = tag.split("-")[0].lower()
    return "zh" if code == "cmn" else code


def voice_for_language(registry: ModelRegistry, language: str) -> ModelSpec:
    """The best installed text-to-speech model for ``language``.

    Order: the task's default if it speaks the language; then models listing the
    language among only a few (dedicated voices, neural before eSpeak); then any
    multi-language fallback (eSpeak). Only models whose weights are on disk count.

    Raises:
        InvalidRequestError: No installed voice speaks the language.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> reg = ModelRegistry()
        >>> voice_for_language(reg, "en-US").id, voice_for_language(reg, "de").id
        ('en-joe', 'espeak')
    """
    wanted = _primary(normalize_language(language))
    candidates = [
        spec
        for spec in registry.list(Task.TEXT_TO_SPEECH)
        if any(_primary(lang) == wanted for lang in spec.languages) and is_available_offline(spec)
    ]
    if not candidates:
        raise InvalidRequestError(
            f"no installed voice speaks {language!r}",
            hint="install the audio extra of aigc-sdk for eSpeak voices in about 100 languages, or add a voice",
        )

    def rank(spec: ModelSpec) -> tuple[int, int, int, str]:
        fallback = spec.backend in FALLBACK_BACKENDS
        return (0 if spec.default else 1, 1 if fallback else 0, len(spec.languages), spec.id)

    return min(candidates, key=rank)
