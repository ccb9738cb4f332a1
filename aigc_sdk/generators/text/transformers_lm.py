"""Causal language models through transformers: a hub id, a local folder, or a GGUF file.

Decoding is done here, not by ``model.generate``: every output row samples
from its own ``torch.Generator`` seeded from its request, so a request gives
the same tokens alone or inside a batch, on CPU or GPU. Prompts are left-padded
and positions counted per row, so padding does not change a row's logits.

A GGUF file is read once by transformers (``gguf_file=``), dequantised and
saved as safetensors under ``<cache>/gguf/<sha256>/``; later loads read that
folder. Install with ``pip install "aigc-studio[text]"``.

Spec options:

* ``chat_template`` (bool, default true): wrap prompts with the tokenizer's
  chat template when it has one (turn off for base models).
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aigc_sdk._internal.files import atomic_dir, atomic_path
from aigc_sdk._internal.hashing import sha256_file
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import AigcError, GenerationError, InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import MAX_SEED, TextRequest, TextResult

__all__ = ["TransformersTextGenerator", "convert_gguf"]


@dataclass
class _Row:
    """One output being generated: a request's prompt with its own random generator."""

    request_index: int
    request: TextRequest
    prompt_ids: list[int]
    seed: int
    generated: list[int] = field(default_factory=list)
    text: str = ""
    finish: str | None = None


@dataclass
class _Prepared:
    rows: list[_Row]
    prompt_tokens: list[int]


@dataclass(frozen=True)
class _Outputs:
    rows: list[_Row]
    prompt_tokens: list[int]
    seconds: float


def convert_gguf(gguf: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Convert a GGUF file to a transformers folder with safetensors weights, once.

    The folder is ``<cache_dir>/gguf/<sha256 of the file>/`` (``cache_dir``
    defaults to the SDK cache); it is written to a temporary folder and renamed
    into place, so a crash never leaves half a model. Later calls return it
    without reading the GGUF again.

    Raises:
        ModelLoadError: transformers cannot read the file.

    Example:
        >>> folder = convert_gguf("gemma-3-270m-Q4_K_M.gguf")  # doctest: +SKIP
        >>> sorted(p.name for p in folder.iterdir())[:2]  # doctest: +SKIP
        ['config.json', 'generation_config.json']
    """
    source = Path(gguf)
    if not source.is_file():
        raise ModelLoadError(f"GGUF file {source} not found")
    root = Path(cache_dir) if cache_dir is not None else Settings.from_env().cache_dir
    target = root / "gguf" / sha256_file(source)
    if (target / "config.json").is_file():
        return target
    transformers = require("transformers", extra="text", feature="GGUF models")
    require("gguf", extra="text", feature="GGUF models")
    require("accelerate", extra="text", feature="GGUF models")
    with (
        map_errors(f"could not convert GGUF file {source}", to=ModelLoadError),
        atomic_dir(target) as staging,
    ):
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
        # The tensors are dequantised already; drop the GGUF marker so the model saves as plain safetensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        del model
    return target


def _model_folder(path: Path) -> Path:
    """A transformers folder for ``path``: itself, or the converted GGUF it holds."""
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelLoadError(f"{path} is a file but not a .gguf; give a model folder or a GGUF file")
        return convert_gguf(path)
    if (path / "config.json").is_file():
        return path
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return convert_gguf(ggufs[0])
    raise ModelLoadError(f"{path} holds no config.json and {len(ggufs)} .gguf files; expected a model folder")


class TransformersTextGenerator(BaseGenerator[TextRequest, TextResult]):
    """Text from a causal language model (GPT-2, Llama, Gemma, Qwen …) with per-request seeds.

    Sampling honours ``temperature`` (0 is greedy), ``top_k``, ``top_p`` and
    ``repetition_penalty`` per request; generation ends at the end-of-sequence
    token, at a stop string (cut off, not returned) or after
    ``max_new_tokens``. Output ``j`` of a request with seed ``s`` samples with
    seed ``s + j``. :meth:`stream` yields text as it is generated.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> lm = ModelRegistry().create("gemma-3-270m")  # doctest: +SKIP
        >>> lm(prompt="The capital of France is", max_new_tokens=8, temperature=0, seed=1).text  # doctest: +SKIP
        ' Paris...'
    """

    request_type: ClassVar[type[TextRequest]] = TextRequest
    distributions: ClassVar[tuple[str, ...]] = ("transformers", "torch", "tokenizers", "gguf")

    def _load(self) -> None:
        transformers = require("transformers", extra="text", feature="transformers language models")
        torch = require("torch", extra="text", feature="transformers language models")
        if self.spec.trust_remote_code:
            raise ModelLoadError(f"{self.spec.id}: trust_remote_code is not supported by TransformersTextGenerator")
        folder = self._weights_folder()
        dtype = _torch_dtype(torch, self.spec.dtype, self.device)
        with map_errors(f"could not load language model {self.spec.id} from {folder}", to=ModelLoadError):
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(folder), dtype=dtype, use_safetensors=None if self.spec.allow_pickle else True
            )
            self._model = model.to(self.device).eval()
        config = self._model.config
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        self._max_positions: int | None = next(
            (
                int(v)
                for k in ("max_position_embeddings", "n_positions", "n_ctx")
                if isinstance(v := getattr(text_config, k, None), int)
            ),
            None,
        )
        params = inspect.signature(self._model.forward).parameters
        # transformers 5.x names the KV cache ``cache``; earlier versions ``past_key_values``.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._keep_last = "logits_to_keep" in params
        self._eos = _eos_ids(self._tokenizer, self._model)
        pad = self._tokenizer.pad_token_id
        self._pad = int(pad) if pad is not None else (min(self._eos) if self._eos else 0)
        self._use_chat = bool(self.spec.options.get("chat_template", True)) and bool(
            getattr(self._tokenizer, "chat_template", None)
        )

    def _weights_folder(self) -> Path:
        path = resolve_weights(self.spec)
        assemble = self.spec.options.get("gguf_assemble")
        if not isinstance(assemble, str):
            return _model_folder(path)
        # A GGUF shipped in chunks: a function of the package writes the whole file; convert it once, then drop it.
        root = Settings.from_env().cache_dir / "gguf"
        expected = self.spec.options.get("gguf_sha256")
        if isinstance(expected, str) and (root / expected / "config.json").is_file():
            return root / expected
        from aigc_sdk.registry.registry import import_backend

        writer = import_backend(assemble)
        with atomic_path(root / f"{self.spec.id}.gguf") as tmp:
            with map_errors(f"{self.spec.id}: could not assemble the GGUF file", to=ModelLoadError):
                writer(tmp, overwrite=True)
            gguf = root / f"{self.spec.id}.gguf"
        try:
            folder = convert_gguf(gguf, cache_dir=root.parent)
        finally:
            gguf.unlink(missing_ok=True)
        if isinstance(expected, str) and folder.name != expected:
            raise ModelLoadError(f"{self.spec.id}: the assembled GGUF's sha256 is {folder.name}, expected {expected}")
        return folder

    # -- BaseGenerator -----------------------------------------------------------------------------

    def _preprocess(self, requests: list[TextRequest]) -> _Prepared:
        rows: list[_Row] = []
        prompt_tokens: list[int] = []
        for index, request in enumerate(requests):
            ids = self._encode(request)
            if self._max_positions is not None and len(ids) + request.max_new_tokens > self._max_positions:
                raise InvalidRequestError(
                    f"prompt ({len(ids)} tokens) + max_new_tokens ({request.max_new_tokens}) is over "
                    f"{self.spec.id}'s context of {self._max_positions} tokens",
                    hint="shorten the prompt or lower max_new_tokens",
                )
            prompt_tokens.append(len(ids))
            base = request.seed if request.seed is not None else 0
            for j in range(request.num_outputs):
                rows.append(_Row(index, request, ids, (base + j) % (MAX_SEED + 1)))
        return _Prepared(rows, prompt_tokens)

    def _forward(self, inputs: _Prepared) -> _Outputs:
        t0 = time.perf_counter()
        for _ in self._decode(inputs.rows):
            pass
        return _Outputs(inputs.rows, inputs.prompt_tokens, time.perf_counter() - t0)

    def _postprocess(self, outputs: _Outputs, requests: list[TextRequest]) -> list[TextResult]:
        results: list[TextResult] = []
        generated = sum(len(r.generated) for r in outputs.rows)
        rate = round(generated / outputs.seconds, 3) if outputs.seconds > 0 else None
        for index, request in enumerate(requests):
            rows = [r for r in outputs.rows if r.request_index == index]
            results.append(
                TextResult(
                    texts=[r.text for r in rows],
                    prompt_tokens=outputs.prompt_tokens[index],
                    completion_tokens=[len(r.generated) for r in rows],
                    finish_reasons=[r.finish or "length" for r in rows],
                    provenance=self.provenance(
                        request,
                        chat_template=self._use_chat,
                        row_seeds=[r.seed for r in rows],
                        tokens_per_second=rate,
                    ),
                )
            )
        return results

    def _to(self, device: str) -> None:
        self._model.to(device)

    def _unload(self) -> None:
        del self._model
        del self._tokenizer

    # -- streaming ---------------------------------------------------------------------------------

    def stream(self, request: TextRequest | None = None, /, **fields: Any) -> Iterator[str]:
        """Yield the completion as text chunks while it is generated (first output only).

        Chunks never split a UTF-8 character and never show a stop string;
        joined, they equal ``self(request).text`` for the same seed.

        Example:
            >>> for chunk in lm.stream(prompt="Once upon a time", max_new_tokens=20, seed=3):  # doctest: +SKIP
            ...     print(chunk, end="", flush=True)
        """
        request = TextRequest.coerce(request, **fields)
        self._check_open()
        resolved = self._resolve(request)
        if resolved.num_outputs != 1:
            resolved = resolved.model_copy(update={"num_outputs": 1})
        prepared = self._preprocess([resolved])
        row = prepared.rows[0]
        sent = 0
        try:
            with self._inference_context():
                for _ in self._decode(prepared.rows):
                    ready = _stable_prefix(row.text, resolved.stop) if row.finish is None else len(row.text)
                    if ready > sent:
                        yield row.text[sent:ready]
                        sent = ready
        except (GeneratorExit, AigcError):
            raise
        except Exception as exc:
            raise GenerationError(f"{self.spec.id} failed while streaming: {exc}") from exc
        if len(row.text) > sent:
            yield row.text[sent:]

    # -- decoding ----------------------------------------------------------------------------------

    def _encode(self, request: TextRequest) -> list[int]:
        tokenizer = self._tokenizer
        if self._use_chat:
            messages = ([{"role": "system", "content": request.system}] if request.system else []) + [
                {"role": "user", "content": request.prompt}
            ]
            with map_errors(f"{self.spec.id}: the chat template failed", to=InvalidRequestError):
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        else:
            text = f"{request.system}\n\n{request.prompt}" if request.system else request.prompt
            ids = tokenizer(text, add_special_tokens=True)["input_ids"]
        if not ids:
            raise InvalidRequestError(f"prompt {request.prompt[:40]!r} encodes to no tokens")
        return [int(i) for i in ids]

    def _decode(self, rows: list[_Row]) -> Iterator[None]:
        """Generate all rows step by step (yields after each step); the only code that runs the model."""
        import torch

        device = self._model.device
        width = max(len(r.prompt_ids) for r in rows)
        ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row.prompt_ids) :] = torch.tensor(row.prompt_ids, dtype=torch.long)
            mask[i, width - len(row.prompt_ids) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        generators = [torch.Generator(device="cpu").manual_seed(row.seed) for row in rows]
        seen = [set(row.prompt_ids) for row in rows]
        ids, mask, positions = ids.to(device), mask.to(device), positions.to(device)
        past: Any = None
        step_ids = ids
        step_positions = positions
        limit = max(r.request.max_new_tokens for r in rows)
        for _step in range(limit):
            kwargs: dict[str, Any] = {self._cache_arg: past}
            if self._keep_last:
                kwargs["logits_to_keep"] = 1
            out = self._model(
                input_ids=step_ids, attention_mask=mask, position_ids=step_positions, use_cache=True, **kwargs
            )
            past = out[self._cache_arg]
            logits = out.logits[:, -1, :].float()
            chosen = self._choose(logits, rows, generators, seen)
            for i, row in enumerate(rows):
                if row.finish is not None:
                    continue
                token = chosen[i]
                if token in self._eos:
                    row.finish = "stop"
                    continue
                row.generated.append(token)
                seen[i].add(token)
                row.text = self._completion_text(row)
                cut = _first_stop(row.text, row.request.stop)
                if cut is not None:
                    row.text = row.text[:cut]
                    row.finish = "stop"
                elif len(row.generated) >= row.request.max_new_tokens:
                    row.finish = "length"
            yield
            if all(r.finish is not None for r in rows):
                break
            feed = [r.generated[-1] if r.finish is None and r.generated else self._pad for r in rows]
            step_ids = torch.tensor(feed, dtype=torch.long, device=device).unsqueeze(-1)
            mask = torch.cat([mask, torch.ones((len(rows), 1), dtype=mask.dtype, device=device)], dim=-1)
            step_positions = step_positions[:, -1:] + 1
        for row in rows:
            if row.finish is None:
                row.finish = "length"

    def _completion_text(self, row: _Row) -> str:
        """Decode the completion after the last prompt token, so a leading space survives (SentencePiece)."""
        anchor = row.prompt_ids[-1:]
        head = self._tokenizer.decode(anchor, skip_special_tokens=True)
        text: str = self._tokenizer.decode(anchor + row.generated, skip_special_tokens=True)
        if head and text.startswith(head):
            return text[len(head) :]
        plain: str = self._tokenizer.decode(row.generated, skip_special_tokens=True)
        return plain

    def _choose(self, logits: Any, rows: list[_Row], generators: list[Any], seen: list[set[int]]) -> list[int]:
        """Pick one token per row: repetition penalty, then greedy or temperature/top-k/top-p sampling."""
        import torch

        logits = logits.cpu()
        for i, row in enumerate(rows):
            penalty = row.request.repetition_penalty
            if penalty != 1.0 and seen[i]:
                index = torch.tensor(sorted(seen[i]), dtype=torch.long)
                values = logits[i, index]
                logits[i, index] = torch.where(values < 0, values * penalty, values / penalty)
        chosen: list[int] = []
        for i, row in enumerate(rows):
            request = row.request
            if row.finish is not None:
                chosen.append(self._pad)
                continue
            if request.temperature == 0.0:
                chosen.append(int(torch.argmax(logits[i]).item()))
                continue
            sorted_logits, order = torch.sort(logits[i] / request.temperature, descending=True)
            if request.top_k > 0:
                sorted_logits[request.top_k :] = float("-inf")
            probs = torch.softmax(sorted_logits, dim=-1)
            if request.top_p < 1.0:
                before = torch.cumsum(probs, dim=-1) - probs
                probs = torch.where(before >= request.top_p, torch.zeros_like(probs), probs)
            cumulative = torch.cumsum(probs, dim=-1)
            u = torch.rand((), generator=generators[i]).item() * float(cumulative[-1])
            pick = min(int(torch.searchsorted(cumulative, torch.tensor([u]), right=True).item()), probs.numel() - 1)
            while pick > 0 and probs[pick] == 0:  # never land on a removed token
                pick -= 1
            chosen.append(int(order[pick].item()))
        return chosen


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _stable_prefix(text: str, stops: tuple[str, ...]) -> int:
    """How much of ``text`` can be shown: hold back a partial character and any tail that may start a stop."""
    end = len(text)
    while end > 0 and text[end - 1] == "\ufffd":
        end -= 1
    hold = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, end), 0, -1):
            if text[:end].endswith(stop[:n]):
                hold = max(hold, n)
                break
    return end - hold


def _eos_ids(tokenizer: Any, model: Any) -> frozenset[int]:
    ids: set[int] = set()
    generation = getattr(model, "generation_config", None)
    for value in (getattr(generation, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return frozenset(ids)


def _torch_dtype(torch: Any, dtype: str, device: str) -> Any:
    explicit = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype in explicit:
        return explicit[dtype]
    return "auto" if device.startswith("cuda") else torch.float32
