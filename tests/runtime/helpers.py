"""Real small generators for the scheduler tests.

The tiny GPT-2 generator lives in ``benchmarks/tiny_lm.py`` so the benchmark measures the same
code the tests check; ``benchmarks/`` goes on ``sys.path`` to import it as ``tiny_lm``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.append(str(BENCHMARKS))

from tiny_lm import TinyLM, save_tiny_lm, tiny_lm_spec  # noqa: E402

from aigc_sdk.generators.base import BaseGenerator  # noqa: E402
from aigc_sdk.registry import LocalSource, ModelSpec  # noqa: E402
from aigc_sdk.types import Request, TextRequest, TextResult  # noqa: E402

__all__ = [
    "WAIT",
    "BrokenLM",
    "Echo",
    "Failing",
    "Gate",
    "GatedLM",
    "OomAboveTwo",
    "OomOnBoom",
    "TinyLM",
    "echo_spec",
    "save_tiny_lm",
    "text_of",
    "tiny_lm_spec",
]

WAIT = 20.0  # seconds any test waits for a thread or a future before failing


class Gate:
    """Holds generators inside ``batch()`` until opened; records what they ran."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        self.prompts: list[str] = []
        self.batches: list[int] = []


class Echo(BaseGenerator[TextRequest, TextResult]):
    """Upper-cases prompts: a real BaseGenerator without a model; can be gated and moved."""

    request_type: ClassVar[type[Request]] = TextRequest

    def __init__(self, spec: ModelSpec, *, device: str = "cpu", gate: Gate | None = None) -> None:
        self.gate = gate
        self.moves: list[str] = []
        self.closed = False
        super().__init__(spec, device=device)

    def _load(self) -> None:
        pass

    def _to(self, device: str) -> None:
        self.moves.append(device)

    def _unload(self) -> None:
        self.closed = True

    def _preprocess(self, requests: list[TextRequest]) -> list[str]:
        return [r.prompt for r in requests]

    def _forward(self, inputs: list[str]) -> list[str]:
        if self.gate is not None:
            self.gate.prompts.extend(inputs)
            self.gate.batches.append(len(inputs))
            self.gate.entered.set()
            assert self.gate.open.wait(WAIT), "gate never opened"
        return [s.upper() for s in inputs]

    def _postprocess(self, outputs: list[str], requests: list[TextRequest]) -> list[TextResult]:
        return [TextResult(texts=[o], provenance=self.provenance(r)) for o, r in zip(outputs, requests, strict=True)]


class GatedLM(TinyLM):
    """The tiny LM, held inside ``batch()`` by a gate."""

    def __init__(self, spec: ModelSpec, *, device: str = "cpu", gate: Gate) -> None:
        self.gate = gate
        super().__init__(spec, device=device)

    def _forward(self, rows: Any) -> list[list[int]]:
        self.gate.batches.append(len(rows))
        self.gate.entered.set()
        assert self.gate.open.wait(WAIT), "gate never opened"
        return super()._forward(rows)


class OomAboveTwo(TinyLM):
    """Runs out of (CUDA) memory on batches of more than two rows."""

    def _forward(self, rows: Any) -> list[list[int]]:
        import torch

        if len(rows) > 2:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {len(rows)} GiB")
        return super()._forward(rows)


class OomOnBoom(TinyLM):
    """Runs out of memory whenever the batch holds a prompt containing 'boom', even alone."""

    def _preprocess(self, requests: list[TextRequest]) -> Any:
        self._boom = any("boom" in r.prompt for r in requests)
        return super()._preprocess(requests)

    def _forward(self, rows: Any) -> list[list[int]]:
        import torch

        if self._boom:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return super()._forward(rows)


class BrokenLM(TinyLM):
    """Fails while loading its weights."""

    loads = 0

    def _load(self) -> None:
        type(self).loads += 1
        raise OSError("model.safetensors is truncated")


class Failing(Echo):
    """Raises a plain bug while generating."""

    def _forward(self, inputs: list[str]) -> list[str]:
        raise ValueError("shape mismatch in layer 3")


def echo_spec(model_id: str, *, memory_bytes: int | None = 100, max_batch_size: int = 8) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        task="text-generation",
        backend="tests.runtime.helpers.Echo",
        source=LocalSource(path="."),
        memory_bytes=memory_bytes,
        batchable=max_batch_size > 1,
        max_batch_size=max_batch_size,
    )


def text_of(result: object) -> str:
    """The text of a TextResult (the scheduler's futures are typed with the Result base)."""
    assert isinstance(result, TextResult), result
    return result.text
