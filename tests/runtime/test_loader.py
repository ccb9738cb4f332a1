"""A scheduler used directly loads models through the registry's one loader, with its safety policy."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_sdk.errors import ModelIntegrityError, UnsafeModelError
from aigc_sdk.registry import LocalSource, ModelSpec
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.types import TextRequest
from tests.runtime.helpers import WAIT, echo_spec, text_of


def _weights(folder: Path, name: str, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder


def _echo_at(folder: Path, model_id: str = "e", **fields: object) -> ModelSpec:
    return echo_spec(model_id).model_copy(update={"source": LocalSource(path=folder), **fields})


@pytest.mark.parametrize(
    ("name", "content"),
    [("pytorch_model.bin", pickle.dumps({"w": [1.0]})), ("model.pt", b"PK\x03\x04rest-of-a-torch-save")],
)
def test_the_default_loader_refuses_pickle_weights_without_allow_pickle(
    scheduler_factory: Callable[..., GpuScheduler], tmp_path: Path, name: str, content: bytes
) -> None:
    folder = _weights(tmp_path / "p", name, content)
    scheduler = scheduler_factory([_echo_at(folder), _echo_at(folder, "trusted", allow_pickle=True)])
    queued = [scheduler.submit("e", TextRequest(prompt="hi")) for _ in range(2)]
    for future in queued:
        with pytest.raises(UnsafeModelError, match="pickle"):
            future.result(timeout=WAIT)
    with pytest.raises(UnsafeModelError):
        scheduler.run("e", TextRequest(prompt="again"), timeout=WAIT)
    with pytest.raises(UnsafeModelError), scheduler.lease("e"):
        pass
    metrics = scheduler.metrics()
    assert (metrics.loads, metrics.load_failures, metrics.loaded) == (0, 3, {})
    assert text_of(scheduler.run("trusted", TextRequest(prompt="ok"), timeout=WAIT)) == "OK"  # the spec opted in


def test_the_default_loader_checks_locked_hashes(
    scheduler_factory: Callable[..., GpuScheduler], tmp_path: Path
) -> None:
    folder = _weights(tmp_path / "m", "model.safetensors", b"weights")
    locked = {"model.safetensors": hashlib.sha256(b"weights").hexdigest()}
    scheduler = scheduler_factory([_echo_at(folder, files=locked)])
    assert text_of(scheduler.run("e", TextRequest(prompt="ok"), timeout=WAIT)) == "OK"
    (folder / "model.safetensors").write_bytes(b"tampered")
    other = scheduler_factory([_echo_at(folder, "e2", files=locked)])
    with pytest.raises(ModelIntegrityError, match="sha256 differs"):
        other.run("e2", TextRequest(prompt="no"), timeout=WAIT)
