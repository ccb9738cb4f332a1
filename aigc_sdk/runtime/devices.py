"""Devices and their memory: names, detection, free memory and cache release.

torch is imported lazily, only to ask CUDA/MPS about memory or to empty their
caches, and detection asks it only where an accelerator can exist (a GPU driver library loads,
or an Apple Silicon Mac): on a machine without one, a pipeline of CPU models never pays torch's
import (a second of CPU and about 200 MB). Host memory is read from ``/proc/meminfo`` (or ``os.sysconf``).

Example:
    >>> from aigc_sdk.runtime.devices import normalize_device
    >>> normalize_device("CUDA"), normalize_device("cuda:1"), normalize_device("cpu")
    ('cuda:0', 'cuda:1', 'cpu')
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import os
import platform
import re
import sys
from pathlib import Path

from aigc_sdk.errors import InvalidRequestError

__all__ = ["default_budget", "detect_devices", "empty_cache", "memory_info", "normalize_device"]

_DEVICE = re.compile(r"^(cpu|mps|cuda:\d+)$")
_MEMINFO = Path("/proc/meminfo")


def normalize_device(name: str) -> str:
    """Validate a device name and return its canonical form (``cuda`` becomes ``cuda:0``).

    Raises:
        InvalidRequestError: The name is not ``cpu``, ``mps`` or ``cuda:N``.

    Example:
        >>> normalize_device(" Cuda ")
        'cuda:0'
        >>> try:
        ...     normalize_device("tpu")
        ... except ValueError as e:
        ...     "not a device" in str(e)
        True
    """
    canonical = name.strip().lower()
    if canonical == "cuda":
        canonical = "cuda:0"
    if not _DEVICE.match(canonical):
        raise InvalidRequestError(f"{name!r} is not a device; use 'cpu', 'mps' or 'cuda:N'")
    return canonical


def detect_devices() -> list[str]:
    """The accelerators torch can use, or ``["cpu"]`` when there are none (or torch is absent).

    Every CUDA device when CUDA is available, else ``mps`` when available, else
    ``cpu``. The CPU is not added next to accelerators: pass ``devices=[..., "cpu"]``
    to the scheduler to let models fall back to it.

    Example:
        >>> devices = detect_devices()
        >>> all(d == normalize_device(d) for d in devices) and len(devices) >= 1
        True
    """
    if importlib.util.find_spec("torch") is None:
        return ["cpu"]
    if "torch" not in sys.modules and not _accelerator_possible():
        return ["cpu"]
    import torch

    if torch.cuda.is_available():
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        return ["mps"]
    return ["cpu"]


def _accelerator_possible() -> bool:
    """Whether torch could see an accelerator here.

    CUDA needs the NVIDIA driver's ``libcuda`` (torch does not ship it), ROCm the amdgpu driver's
    ``/dev/kfd``, MPS an Apple Silicon Mac; on other systems torch is asked.
    """
    system = platform.system()
    if system == "Darwin":
        return platform.machine() == "arm64"
    if system == "Linux":
        return _loads("libcuda.so.1") or Path("/dev/kfd").exists()
    if system == "Windows":
        return _loads("nvcuda.dll") or _loads("amdhip64.dll")
    return True


def _loads(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def _host_memory() -> tuple[int, int]:
    """(available, total) bytes of host memory."""
    try:
        fields: dict[str, int] = {}
        for line in _MEMINFO.read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                fields[key] = int(parts[0]) * 1024
        if "MemTotal" in fields:
            total = fields["MemTotal"]
            return fields.get("MemAvailable", fields.get("MemFree", total // 2)), total
    except OSError:
        pass
    page = os.sysconf("SC_PAGE_SIZE")
    total = os.sysconf("SC_PHYS_PAGES") * page
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * page
    except (ValueError, OSError):  # macOS has no SC_AVPHYS_PAGES: assume half is free
        available = total // 2
    return available, total


def memory_info(device: str) -> tuple[int, int]:
    """``(free, total)`` bytes of ``device``'s memory right now.

    ``cpu`` reads host memory; ``cuda:N`` asks ``torch.cuda.mem_get_info``; ``mps``
    uses Metal's recommended working set (unified memory).

    Example:
        >>> free, total = memory_info("cpu")
        >>> 0 <= free <= total
        True
    """
    device = normalize_device(device)
    if device == "cpu":
        return _host_memory()
    import torch

    if device == "mps":
        total = int(torch.mps.recommended_max_memory())
        used = int(torch.mps.driver_allocated_memory())
        return max(0, total - used), total
    free, total = torch.cuda.mem_get_info(int(device.split(":")[1]))
    return int(free), int(total)


def default_budget(device: str, *, headroom: float = 0.1) -> int:
    """Bytes the scheduler may fill on ``device``: free memory minus ``headroom`` × total.

    Example:
        >>> default_budget("cpu", headroom=0.0) >= default_budget("cpu", headroom=0.5)
        True
    """
    if not 0.0 <= headroom < 1.0:
        raise InvalidRequestError(f"headroom must be in [0, 1), got {headroom}")
    free, total = memory_info(device)
    return max(0, free - int(total * headroom))


def empty_cache(device: str) -> None:
    """Return cached blocks of ``device`` to the driver; a no-op for ``cpu`` or when torch is not loaded.

    Example:
        >>> empty_cache("cpu")
    """
    if device == "cpu":
        return
    torch = sys.modules.get("torch")
    if torch is None:
        return
    gc.collect()
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and torch.backends.mps.is_available():
        torch.mps.empty_cache()
