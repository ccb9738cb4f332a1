"""TransformersTextGenerator on a tiny random GPT-2 (built from config, tokenizer trained offline), and the
default model's path on a tiny random Gemma 3 written as a chunked GGUF (assembled, converted, cached)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aigc_sdk._internal.hashing import sha256_file
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.generators.text.transformers_lm import TransformersTextGenerator, convert_gguf
from aigc_sdk.registry import LocalSource, ModelRegistry, ModelSpec
from aigc_sdk.types import TextRequest
from tests.generators.text import tiny_gguf
from tests.support import require_module

require_module("transformers")


def _spec(path: Path, **extra: object) -> ModelSpec:
    return ModelSpec(
        id="tiny-gpt2",
        task="text-generation",
        backend="aigc_sdk.generators.text.transformers_lm.TransformersTextGenerator",
        source=LocalSource(path=path),
        batchable=True,
        max_batch_size=8,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def lm(tiny_lm_dir: Path) -> TransformersTextGenerator:
    return ModelRegistry(catalogs=False).create(_spec(tiny_lm_dir))  # type: ignore[no-any-return]


def test_seeded_sampling_is_reproducible_and_seed_sensitive(lm: TransformersTextGenerator) -> None:
    request = TextRequest(prompt="The council voted", max_new_tokens=12, temperature=1.0, seed=7)
    first, again = lm(request), lm(request)
    assert first.texts == again.texts
    assert first.completion_tokens[0] >= 1
    other = lm(request.with_seed(8))
    assert other.text != first.text
    assert first.prompt_tokens is not None and first.prompt_tokens >= 2
    assert first.provenance.seed == 7
    assert first.provenance.extra["row_seeds"] == [7]
    assert first.provenance.timings["batch_size"] == 1.0


def test_batched_equals_alone_with_per_request_seeds(lm: TransformersTextGenerator) -> None:
    requests = [
        TextRequest(prompt="Heavy rain flooded Carver Street and", max_new_tokens=10, seed=1),
        TextRequest(prompt="Stocks", max_new_tokens=14, temperature=0.8, top_k=20, seed=2),
        TextRequest(prompt="A magnitude 6.1 earthquake", max_new_tokens=6, top_p=0.9, repetition_penalty=1.3, seed=3),
        TextRequest(prompt="The home team", max_new_tokens=8, temperature=0.0, seed=4),
    ]
    alone = [lm(r) for r in requests]
    together = lm.batch(requests)
    for a, b in zip(alone, together, strict=True):
        assert a.texts == b.texts
        assert a.completion_tokens == b.completion_tokens
        assert a.finish_reasons == b.finish_reasons
        assert a.prompt_tokens == b.prompt_tokens
    assert together[0].provenance.timings["batch_size"] == 4.0


def test_num_outputs_use_consecutive_seeds(lm: TransformersTextGenerator) -> None:
    many = lm(prompt="Forecasters expect", max_new_tokens=8, num_outputs=3, seed=10)
    assert len(many.texts) == 3 == len(many.completion_tokens) == len(many.finish_reasons)
    assert many.provenance.extra["row_seeds"] == [10, 11, 12]
    for j in range(3):
        assert lm(prompt="Forecasters expect", max_new_tokens=8, seed=10 + j).text == many.texts[j]


def test_greedy_ignores_the_seed_and_length_is_reported(lm: TransformersTextGenerator) -> None:
    a = lm(prompt="The bridge", max_new_tokens=5, temperature=0.0, seed=1)
    b = lm(prompt="The bridge", max_new_tokens=5, temperature=0.0, seed=999)
    assert a.text == b.text
    if a.finish_reasons[0] == "length":
        assert a.completion_tokens == (5,)


def test_stop_strings_cut_the_text_before_the_stop(lm: TransformersTextGenerator) -> None:
    base = TextRequest(prompt="The council voted", max_new_tokens=30, seed=5)
    full = lm(base).text
    assert len(full) > 6
    stop = full[3:5]
    cut = full.find(stop)
    stopped = lm(base.model_copy(update={"stop": (stop,)}))
    assert stopped.text == full[:cut]
    assert stopped.finish_reasons == ("stop",)
    assert stop not in stopped.text


def test_stream_yields_chunks_that_join_to_the_completion(lm: TransformersTextGenerator) -> None:
    request = TextRequest(prompt="Heavy rain", max_new_tokens=16, seed=3)
    chunks = list(lm.stream(request))
    assert len(chunks) > 1
    assert "".join(chunks) == lm(request).text
    full = lm(request).text
    stop = full[4:6]
    streamed = "".join(lm.stream(prompt="Heavy rain", max_new_tokens=16, seed=3, stop=[stop]))
    assert streamed == full[: full.find(stop)]


def test_prompt_longer_than_the_context_is_rejected(lm: TransformersTextGenerator) -> None:
    with pytest.raises(InvalidRequestError, match="context of 128"):
        lm(prompt="rain " * 50, max_new_tokens=100)


def test_chat_template_wraps_the_prompt(tiny_lm_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "chat"
    shutil.copytree(tiny_lm_dir, folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    config_path.write_text(json.dumps(config))
    chat = TransformersTextGenerator(_spec(folder))
    plain = TransformersTextGenerator(_spec(folder, options={"chat_template": False}))
    a = chat(prompt="Stocks rose", system="Be brief.", max_new_tokens=3, seed=1)
    b = plain(prompt="Stocks rose", max_new_tokens=3, seed=1)
    assert a.provenance.extra["chat_template"] is True
    assert b.provenance.extra["chat_template"] is False
    assert a.prompt_tokens is not None and b.prompt_tokens is not None
    assert a.prompt_tokens > b.prompt_tokens + 5


def test_missing_and_broken_weights_give_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError):
        TransformersTextGenerator(_spec(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"config\.json"):
        TransformersTextGenerator(_spec(tmp_path / "empty"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(ModelLoadError, match="GGUF"):
        convert_gguf(bad, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache" / "gguf").iterdir())  # nothing half-written


def test_gemma_catalog_entry_is_marked_non_commercial() -> None:
    spec = ModelRegistry().get("gemma-3-270m")
    assert spec.backend.endswith("TransformersTextGenerator")
    assert spec.commercial_use is False and spec.default is True
    assert spec.options["chat_template"] is False
    assert len(str(spec.options["gguf_sha256"])) == 64


# -- the default model's path: a chunked GGUF assembled by its package's function, converted once, then cached --


@pytest.fixture(scope="module")
def gemma_gguf(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, str]:
    """The tiny Gemma 3, its GGUF cut into chunks (in a folder the spec points at) and the GGUF's sha256."""
    folder = tmp_path_factory.mktemp("tiny-gemma3-gguf")
    model = tiny_gguf.build_tiny_gemma3()
    whole = tiny_gguf.write_gguf(model, folder / "whole.gguf")
    tiny_gguf.split(whole, folder / "chunks")
    digest = sha256_file(whole)
    whole.unlink()
    return model, folder / "chunks", digest


def _gguf_spec(chunks: Path, sha256: str) -> ModelSpec:
    """A spec shaped like the catalog's gemma-3-270m entry, pointing at the tiny chunks."""
    return _spec(
        chunks,
        options={
            "chat_template": False,
            "gguf_assemble": "tests.generators.text.tiny_gguf.assemble",
            "gguf_sha256": sha256,
        },
    ).model_copy(update={"id": "tiny-gemma3"})


def _greedy(model: object, ids: list[int], steps: int, eos: int) -> list[int]:
    import torch

    out: list[int] = []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([ids + out])).logits  # type: ignore[operator]
            token = int(logits[0, -1].argmax())
            if token == eos:
                break
            out.append(token)
    return out


def test_a_chunked_gguf_is_assembled_converted_and_generates_like_its_source(
    gemma_gguf: tuple[object, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, chunks, digest = gemma_gguf
    monkeypatch.setenv(tiny_gguf.CHUNKS_ENV, str(chunks))
    spec = _gguf_spec(chunks, digest)
    assert set(spec.options) == set(ModelRegistry().get("gemma-3-270m").options)  # the same kind of entry
    with ModelRegistry(catalogs=False).create(spec) as lm:
        result = lm(prompt="the council voted", max_new_tokens=12, temperature=0.0, seed=1)
    cache = Settings.from_env().cache_dir / "gguf"
    assert sorted(p.name for p in cache.iterdir()) == [digest]  # converted once, under the GGUF's sha256
    assert (cache / digest / "model.safetensors").is_file()  # the assembled .gguf itself was dropped
    tokenizer = require_module("transformers").AutoTokenizer.from_pretrained(str(cache / digest))
    prompt = tokenizer("the council voted")["input_ids"]
    assert prompt[0] == 2  # the GGUF's add_bos_token flag is honoured
    expected = _greedy(source, prompt, 12, eos=1)
    assert result.completion_tokens[0] == len(expected) > 0
    assert result.text == tokenizer.decode(expected)  # the GGUF path reproduces the model it was written from
    assert result.provenance.model_id == "tiny-gemma3"


def test_a_converted_gguf_is_reused_without_assembling_again(
    gemma_gguf: tuple[object, Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, chunks, digest = gemma_gguf
    monkeypatch.setenv(tiny_gguf.CHUNKS_ENV, str(chunks))
    spec = _gguf_spec(chunks, digest)
    with ModelRegistry(catalogs=False).create(spec) as lm:
        first = lm(prompt="rain today", max_new_tokens=6, seed=3).text
    empty = tmp_path / "no-chunks"
    empty.mkdir()
    monkeypatch.setenv(tiny_gguf.CHUNKS_ENV, str(empty))  # assembling again would fail: nothing to join
    with ModelRegistry(catalogs=False).create(spec) as lm:
        assert lm(prompt="rain today", max_new_tokens=6, seed=3).text == first


def test_an_assembled_gguf_with_another_sha256_is_refused(
    gemma_gguf: tuple[object, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, chunks, digest = gemma_gguf
    monkeypatch.setenv(tiny_gguf.CHUNKS_ENV, str(chunks))
    with pytest.raises(ModelLoadError, match=f"sha256 is {digest}, expected 0000"):
        ModelRegistry(catalogs=False).create(_gguf_spec(chunks, "0" * 64))
    monkeypatch.setenv(tiny_gguf.CHUNKS_ENV, str(chunks / "missing"))
    with pytest.raises(ModelLoadError, match="could not assemble"):
        ModelRegistry(catalogs=False).create(_gguf_spec(chunks, "1" * 64))
