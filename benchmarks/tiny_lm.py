"""A GPT-2-shaped language model with random weights behind the ``Generator`` protocol.

Shared on purpose by ``benchmarks/bench_scheduler.py`` and ``tests/runtime`` (both put
``benchmarks/`` on ``sys.path`` and import ``tiny_lm``; a ``benchmarks`` package from
another distribution may shadow ``benchmarks.tiny_lm``), so the benchmark measures the
same generator the tests check. It is not part of the SDK.

Each row samples with its own ``torch.Generator`` seeded from its request, and rows
are left-padded with an attention mask and explicit position ids, so a request's
tokens depend only on its prompt, seed and sampling settings: batched or alone, the
text is the same. Tokens are bytes of the prompt modulo the vocabulary; generated
ids are shown as letters. ``temperature``, ``top_k``, ``max_new_tokens``,
``num_outputs`` and ``stop`` are honoured; other knobs are ignored.
"""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path
from typing import Any, ClassVar

from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.registry import LocalSource, ModelSpec
from aigc_sdk.types import MAX_SEED, Request, TextRequest, TextResult

__all__ = ["MEDIUM", "TINY", "TinyLM", "save_tiny_lm", "tiny_lm_spec"]

#: GPT-2 shapes: a toy for tests and CPU benchmarks, and GPT-2 medium.
TINY: dict[str, int] = {"n_layer": 2, "n_embd": 32, "n_head": 2, "vocab_size": 96, "n_positions": 128}
MEDIUM: dict[str, int] = {"n_layer": 24, "n_embd": 1024, "n_head": 16, "vocab_size": 50257, "n_positions": 1024}

_ALPHABET = string.ascii_lowercase + " .,!?"


def save_tiny_lm(path: Path, *, seed: int = 0, **shape: int) -> Path:
    """Build a GPT-2 with ``TINY`` shapes (overridden by ``shape``) from ``seed`` and save it to ``path``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(**{**TINY, **shape}, bos_token_id=None, eos_token_id=None))
    model.save_pretrained(path)
    return path


def tiny_lm_spec(
    model_id: str,
    path: Path | None = None,
    *,
    backend: str = "tiny_lm.TinyLM",
    memory_bytes: int | None = 50_000_000,
    max_batch_size: int = 8,
    dtype: Any = "float32",
    options: dict[str, str | int | float | bool] | None = None,
) -> ModelSpec:
    """A spec for :class:`TinyLM`: weights saved at ``path``, or random ones built from ``options``."""
    return ModelSpec(
        id=model_id,
        task="text-generation",
        backend=backend,
        source=LocalSource(path=path or Path(".")),
        dtype=dtype,
        memory_bytes=memory_bytes,
        batchable=max_batch_size > 1,
        max_batch_size=max_batch_size,
        options=options or {},
    )


@dataclasses.dataclass(frozen=True)
class _Row:
    tokens: list[int]
    seed: int
    temperature: float
    top_k: int
    max_new: int


class TinyLM(BaseGenerator[TextRequest, TextResult]):
    """GPT-2-shaped sampler; ``options={"random_init": True, "seed": 0, **shape}`` skips loading weights."""

    request_type: ClassVar[type[Request]] = TextRequest
    distributions: ClassVar[tuple[str, ...]] = ("torch", "transformers")

    def _load(self) -> None:
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        options = self.spec.options
        half = self.spec.dtype == "float16" and self.device != "cpu"
        self._dtype = torch.float16 if half else torch.float32
        if options.get("random_init"):
            shape = {k: int(v) for k, v in options.items() if k in TINY}
            torch.manual_seed(int(options.get("seed", 0)))
            model = GPT2LMHeadModel(GPT2Config(**{**TINY, **shape}, bos_token_id=None, eos_token_id=None))
        else:
            assert isinstance(self.spec.source, LocalSource)
            model = GPT2LMHeadModel.from_pretrained(self.spec.source.path)
        self.model: Any = model.to(device=self.device, dtype=self._dtype).eval()
        self.vocab = int(model.config.vocab_size)
        self.positions = int(model.config.n_positions)

    def _to(self, device: str) -> None:
        self.model = self.model.to(device)

    def _unload(self) -> None:
        self.model = None

    def _preprocess(self, requests: list[TextRequest]) -> list[_Row]:
        rows = []
        for request in requests:
            tokens = [b % self.vocab for b in request.prompt.encode("utf-8")][-(self.positions // 2) :]
            max_new = min(request.max_new_tokens, self.positions - len(tokens))
            assert request.seed is not None  # BaseGenerator.batch draws missing seeds
            for k in range(request.num_outputs):
                seed = (request.seed + k) % (MAX_SEED + 1)
                rows.append(_Row(tokens, seed, request.temperature, request.top_k, max_new))
        return rows

    def _forward(self, rows: list[_Row]) -> list[list[int]]:
        import torch

        width = max(len(r.tokens) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row.tokens) :] = torch.tensor(row.tokens)
            mask[i, width - len(row.tokens) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        generators = [torch.Generator().manual_seed(row.seed) for row in rows]
        outputs: list[list[int]] = [[] for _ in rows]
        cache = None
        for step in range(max(r.max_new for r in rows)):
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True)
            cache = out.cache
            logits = out.logits[:, -1, :].float().cpu()
            chosen = []
            for i, row in enumerate(rows):
                token = _sample(logits[i], row, generators[i]) if step < row.max_new else 0
                if step < row.max_new:
                    outputs[i].append(token)
                chosen.append(token)
            ids = torch.tensor(chosen, device=self.device)[:, None]
            mask = torch.cat([mask, torch.ones_like(ids)], dim=1)
            positions = positions[:, -1:] + 1
        return outputs

    def _postprocess(self, outputs: list[list[int]], requests: list[TextRequest]) -> list[TextResult]:
        results = []
        rows = iter(outputs)
        for request in requests:
            texts, counts, reasons = [], [], []
            for _ in range(request.num_outputs):
                tokens = next(rows)
                text = "".join(_ALPHABET[t % len(_ALPHABET)] for t in tokens)
                cut = min((text.find(s) for s in request.stop if s in text), default=-1)
                texts.append(text if cut < 0 else text[:cut])
                counts.append(len(tokens))
                reasons.append("stop" if cut >= 0 else "length")
            results.append(
                TextResult(
                    texts=texts,
                    prompt_tokens=len(request.prompt.encode("utf-8")),
                    completion_tokens=tuple(counts),
                    finish_reasons=tuple(reasons),  # type: ignore[arg-type]
                    provenance=self.provenance(request),
                )
            )
        return results


def _sample(logits: Any, row: _Row, generator: Any) -> int:
    import torch

    if row.temperature == 0.0:
        return int(torch.argmax(logits))
    scores = logits / row.temperature
    if row.top_k:
        values, indices = torch.topk(scores, min(row.top_k, scores.shape[-1]))
        pick = torch.multinomial(torch.softmax(values, dim=-1), 1, generator=generator)
        return int(indices[pick])
    return int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator))
