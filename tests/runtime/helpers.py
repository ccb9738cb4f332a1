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
from aigc_sdk.runtime import BatchStarted, GpuScheduler, ModelEvicted, ModelLoaded, SchedulerEvent  # noqa: E402
from aigc_sdk.types import Request, TextRequest, TextResult  # noqa: E402

__all__ = [
    "BENCHMARKS",
    "WAIT",
    "BrokenLM",
    "Echo",
    "Failing",
    "Gate",
    "GatedLM",
    "LruRun",
    "OomAboveTwo",
    "OomOnBoom",
    "TinyLM",
    "check_lru_eviction",
    "check_oom_split",
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
    """Runs out of (CUDA) memory on batches of more than two rows.

    On CUDA the error is real: each row allocates 40 % of the device memory that was free when the model
    loaded, so two rows fit and three do not. Elsewhere it is raised as torch raises it.
    """

    def _load(self) -> None:
        super()._load()
        if self.device.startswith("cuda"):
            import torch

            self.row_bytes = int(torch.cuda.mem_get_info(self.device)[0] * 0.4)

    def _forward(self, rows: Any) -> list[list[int]]:
        import torch

        if self.device.startswith("cuda"):
            scratch = torch.empty(len(rows) * self.row_bytes, dtype=torch.uint8, device=self.device)
            del scratch
        elif len(rows) > 2:
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


class FailingOnBad(Echo):
    """Fails any batch that holds a prompt starting with 'bad' (one job's broken input); counts its batches."""

    batches: ClassVar[list[list[str]]] = []

    def _forward(self, inputs: list[str]) -> list[str]:
        type(self).batches.append(list(inputs))
        if any(prompt.startswith("bad") for prompt in inputs):
            raise ValueError("cannot read the input of " + ", ".join(p for p in inputs if p.startswith("bad")))
        return super()._forward(inputs)


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


def check_oom_split(scheduler: GpuScheduler, spec: ModelSpec, events: list[SchedulerEvent]) -> None:
    """Eight requests on an :class:`OomAboveTwo` spec run as one batch that splits down to pairs, all answered.

    ``scheduler`` serves ``spec`` with a batching window long enough to gather all eight, and appends its
    events to ``events``; results must match the model's one-at-a-time answers.
    """
    requests = [TextRequest(prompt=f"prompt {i}", seed=100 + i, max_new_tokens=4) for i in range(8)]
    futures = [scheduler.submit(spec.id, r) for r in requests]  # 8 = max batch: runs at once
    results = [f.result(timeout=WAIT) for f in futures]
    reference = TinyLM(spec, device=results[0].provenance.device)
    assert [r.texts for r in results] == [reference(q).texts for q in requests]  # type: ignore[attr-defined]
    reference.close()
    metrics = scheduler.metrics()
    assert metrics.batch_sizes == {8: 1}
    assert metrics.oom_splits == 3  # 8 -> 4 + 4 -> 2 + 2 + 2 + 2
    assert metrics.completed == 8
    assert metrics.failed == 0
    assert [e.size for e in events if isinstance(e, BatchStarted)] == [8, 4, 2, 2, 4, 2, 2]


class LruRun:
    """What :func:`check_lru_eviction` saw: the scheduler's events and the probe's reading at each event."""

    def __init__(self, probe: Any = None) -> None:
        self.events: list[SchedulerEvent] = []
        self.readings: list[tuple[str, str, int]] = []  # (event type, model id, probe reading)
        self._probe = probe

    def __call__(self, event: SchedulerEvent) -> None:
        self.events.append(event)
        if self._probe is not None and isinstance(event, ModelEvicted | ModelLoaded):
            self.readings.append((type(event).__name__, event.model_id, int(self._probe())))


def check_lru_eviction(scheduler: GpuScheduler, run: LruRun, *, device: str, size: int) -> None:
    """Models a, b, c of ``size`` bytes each, with room for two: the least recently used idle one is evicted.

    ``scheduler`` serves specs ``a``, ``b`` and ``c`` on ``device`` with a budget between two and three
    models, and sends its events to ``run``.
    """
    request = TextRequest(prompt="hello", seed=1, max_new_tokens=3)
    scheduler.run("a", request, timeout=WAIT)
    scheduler.run("b", request, timeout=WAIT)
    scheduler.run("a", request, timeout=WAIT)  # a is now more recently used than b
    scheduler.run("c", request, timeout=WAIT)
    metrics = scheduler.metrics()
    assert metrics.loaded == {"a": device, "c": device}
    assert metrics.evictions == 1
    assert metrics.memory_used == {device: 2 * size}
    assert [e.model_id for e in run.events if isinstance(e, ModelEvicted)] == ["b"]
    scheduler.run("b", request, timeout=WAIT)  # b comes back; a is now the least recently used
    assert scheduler.metrics().loaded == {"b": device, "c": device}
    assert [e.model_id for e in run.events if isinstance(e, ModelLoaded)] == ["a", "b", "c", "b"]
