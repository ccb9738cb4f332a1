from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from aigc_sdk.errors import GenerationError, InvalidRequestError, OutOfDeviceMemoryError
from aigc_sdk.generators.base import BaseGenerator, Generator
from aigc_sdk.registry import LocalSource, ModelSpec
from aigc_sdk.types import SpeechRequest, Task, TextRequest, TextResult


class NoiseText(BaseGenerator[TextRequest, TextResult]):
    """A real (tiny, numpy) generator: a random word list drawn per request from its own seed."""

    request_type: ClassVar[type[TextRequest]] = TextRequest
    words = ("alpha", "beta", "gamma", "delta", "epsilon")
    fail_with: Exception | None = None

    def _load(self) -> None:
        self.loaded = True
        self.calls: list[int] = []

    def _preprocess(self, requests: list[TextRequest]) -> list[np.random.Generator]:
        assert all(r.seed is not None for r in requests)
        return [np.random.default_rng(r.seed) for r in requests]

    def _forward(self, inputs: list[np.random.Generator]) -> list[str]:
        self.calls.append(len(inputs))
        if self.fail_with is not None:
            raise self.fail_with
        return [" ".join(rng.choice(self.words, size=4)) for rng in inputs]

    def _postprocess(self, outputs: list[str], requests: list[TextRequest]) -> list[TextResult]:
        return [TextResult(texts=[o], provenance=self.provenance(r)) for o, r in zip(outputs, requests, strict=True)]


class WrongCount(NoiseText):
    def _postprocess(self, outputs: list[str], requests: list[TextRequest]) -> list[TextResult]:
        return super()._postprocess(outputs, requests)[:-1]


SPEC = ModelSpec(
    id="noise", task="text-generation", backend="tests.generators.test_base.NoiseText",
    source=LocalSource(path="."), license="MIT", files={"w.bin": "ab" * 32},
)  # fmt: skip


def test_satisfies_the_protocol() -> None:
    gen = NoiseText(SPEC)
    assert isinstance(gen, Generator)
    assert gen.task.value == "text-generation"


def test_call_with_fields_or_request_and_provenance() -> None:
    gen = NoiseText(SPEC)
    result = gen(prompt="go", seed=11)
    assert result == gen(TextRequest(prompt="go", seed=11)).model_copy(update={"provenance": result.provenance})
    prov = result.provenance
    assert (prov.model_id, prov.seed, prov.license, prov.device) == ("noise", 11, "MIT", "cpu")
    assert prov.backend == "tests.generators.test_base.NoiseText"
    assert prov.model_hash == "ab" * 32
    assert prov.request["prompt"] == "go"
    assert set(prov.timings) >= {"preprocess_s", "forward_s", "postprocess_s", "total_s"}
    assert "aigc-studio" in prov.versions


def test_batch_equals_alone_and_seeds_are_drawn_and_recorded() -> None:
    gen = NoiseText(SPEC)
    requests = [TextRequest(prompt="p", seed=s) for s in (1, 2, 3)]
    batched = gen.batch(requests)
    alone = [gen(r) for r in requests]
    assert [r.text for r in batched] == [r.text for r in alone]
    assert gen.calls[0] == 3
    drawn = gen(prompt="p")
    assert drawn.provenance.seed is not None
    assert gen(prompt="p", seed=drawn.provenance.seed).text == drawn.text
    assert gen.batch([]) == []


def test_misuse_is_rejected() -> None:
    gen = NoiseText(SPEC)
    with pytest.raises(InvalidRequestError, match="takes TextRequest"):
        gen(SpeechRequest(prompt="x"))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="either"):
        gen(TextRequest(prompt="x"), seed=1)
    with pytest.raises(InvalidRequestError, match="prompt"):
        gen(prompt="")
    speech_spec = SPEC.model_copy(update={"task": Task.TEXT_TO_SPEECH})
    with pytest.raises(InvalidRequestError, match="does text-generation"):
        NoiseText(speech_spec)
    with pytest.raises(InvalidRequestError, match="cannot move"):
        gen.to("cuda:0")
    assert gen.to("cpu") is gen


def test_backend_errors_are_mapped_and_chained() -> None:
    gen = NoiseText(SPEC)
    gen.fail_with = RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
    with pytest.raises(OutOfDeviceMemoryError) as oom:
        gen(prompt="x")
    assert oom.value.retryable and isinstance(oom.value.__cause__, RuntimeError)
    gen.fail_with = ZeroDivisionError("boom")
    with pytest.raises(GenerationError, match="boom") as err:
        gen(prompt="x")
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_result_count_is_checked() -> None:
    with pytest.raises(GenerationError, match="returned 1 results for 2"):
        WrongCount(SPEC).batch([TextRequest(prompt="a"), TextRequest(prompt="b")])


def test_close_and_context_manager() -> None:
    with NoiseText(SPEC) as gen:
        assert gen(prompt="x").text
    with pytest.raises(GenerationError, match="closed"):
        gen(prompt="x")
    gen.close()  # idempotent


def test_unknown_spec_options_are_refused_before_loading() -> None:
    class Picky(NoiseText):
        known_options: ClassVar[tuple[str, ...] | None] = ("size",)

    assert Picky(SPEC.model_copy(update={"options": {"size": 3}})).loaded
    with pytest.raises(InvalidRequestError, match="no option 'colour'") as info:
        Picky(SPEC.model_copy(update={"options": {"size": 3, "colour": "red"}}))
    assert info.value.hint == "its options: size"
    assert NoiseText(SPEC.model_copy(update={"options": {"anything": 1}})).loaded  # None: not checked


class Composer(NoiseText):
    """Composes another model: asks its models handle for a sub-request per request."""

    def _forward(self, inputs: list[np.random.Generator]) -> list[str]:
        return [self.models.submit(TextRequest(prompt="inner", seed=1), model="noise").result().text for _ in inputs]


def test_composed_models_run_through_the_handle_they_are_given() -> None:
    from aigc_sdk.generators.base import DirectModels, Models, run_all
    from aigc_sdk.registry import LoadPolicy, ModelRegistry

    # SPEC's lock names a weights file this noise model never reads: skip the lock's check
    registry = ModelRegistry([SPEC], catalogs=False, policy=LoadPolicy(verify_hashes=False))
    with DirectModels(registry) as models:
        assert isinstance(models, Models)
        composer = Composer(SPEC).use_models(models)
        inner = NoiseText(SPEC)(TextRequest(prompt="inner", seed=1)).text
        assert composer(prompt="outer", seed=2).text == inner
        assert [r.text for r in run_all(models, [TextRequest(prompt="a", seed=1)] * 2)] == [inner, inner]
        failed = models.submit(TextRequest(prompt="x"), model="nope")
        assert failed.done() and isinstance(failed.exception(), KeyError)  # errors come back on the future
    own = Composer(SPEC)
    assert type(own.models).__name__ == "DirectModels" and own.models is own.models
    own.close()
