"""Memory estimates for specs: given, or read from safetensors headers and file sizes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from aigc_sdk.errors import ModelError, ModelNotAvailableError
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.registry.weights import resolve_weights

__all__ = ["estimate_memory", "safetensors_bytes"]

#: Loaded models need more than their weights (activations, buffers, runtime); a flat margin.
RUNTIME_OVERHEAD = 1.2
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
_TARGET_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
_WEIGHT_SUFFIXES = (".safetensors", ".onnx", ".gguf", ".bin", ".pt", ".pth", ".ckpt", ".tflite")
_MAX_HEADER = 100 * 1024 * 1024


def safetensors_bytes(path: Path, *, dtype: str = "auto") -> int:
    """Bytes the tensors of a safetensors file take, read from its header only.

    With ``dtype`` other than ``auto``, floating-point tensors are counted at that width
    (what a model loaded in fp16 occupies).

    Raises:
        ModelError: The file is not a valid safetensors file.

    Example:
        >>> import json, struct, tempfile, pathlib
        >>> header = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}).encode()
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
        >>> _ = p.write_bytes(struct.pack("<Q", len(header)) + header + bytes(64))
        >>> safetensors_bytes(p), safetensors_bytes(p, dtype="float16")
        (64, 32)
    """
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ModelError(f"{path} is not a safetensors file (too short)")
        (size,) = struct.unpack("<Q", raw)
        if size > _MAX_HEADER:
            raise ModelError(f"{path} has an implausible safetensors header ({size} bytes)")
        try:
            header = json.loads(fh.read(size))
        except ValueError as exc:
            raise ModelError(f"{path} has a corrupt safetensors header") from exc
    target = _TARGET_BYTES.get(dtype)
    total = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        nbytes = int(end) - int(start)
        width = _DTYPE_BYTES.get(info["dtype"])
        if target and width and info["dtype"] in ("F64", "F32", "F16", "BF16"):
            nbytes = nbytes // width * target
        total += nbytes
    return total


def estimate_memory(spec: ModelSpec) -> int:
    """Bytes ``spec`` needs once loaded: ``memory_bytes`` when set, else weights × 1.2.

    Weights are measured from safetensors headers (honouring ``spec.dtype``) and other
    weight files' sizes; a spec whose weights are not on disk counts as 0 unless it
    states ``memory_bytes``.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> estimate_memory(ModelSpec(id="x", task="text-generation", backend="a.B",
        ...                           source=LocalSource(path="/none"), memory_bytes=10))
        10
    """
    if spec.memory_bytes is not None:
        return spec.memory_bytes
    try:
        root = resolve_weights(spec)
    except ModelNotAvailableError:
        return 0
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    weights = 0
    safetensors = [p for p in files if p.suffix == ".safetensors"]
    for path in safetensors:
        weights += safetensors_bytes(path, dtype=spec.dtype)
    if not safetensors:  # otherwise .bin twins of safetensors files would count twice
        weights += sum(p.stat().st_size for p in files if p.suffix in _WEIGHT_SUFFIXES)
    return int(weights * RUNTIME_OVERHEAD)
