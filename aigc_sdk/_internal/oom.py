"""Recognising a device out-of-memory error, whichever library raised it."""

from __future__ import annotations

import sys


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says a device ran out of memory (torch's CUDA OOM, or a runtime error saying so).

    torch is looked up only if it is already imported: this never imports it.

    Example:
        >>> is_out_of_memory(RuntimeError("CUDA out of memory")), is_out_of_memory(KeyError())
        (True, False)
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
