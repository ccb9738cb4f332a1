"""Make torchaudio importable beside a CPU build of torch (used by `make`).

coqui-tts refuses to import unless torchaudio imports. PyPI's torchaudio wheels are
CUDA-linked: beside a CPU torch their compiled extension fails to load
(`libc10_cuda.so: cannot open shared object file`). torchaudio's Python part runs
without the extension when its library files are absent (the same state as a build
without the extension), and coqui's VITS/XTTS inference never needs it: the SDK reads
and writes audio with soundfile. So, only when the import fails for that reason, this
script renames the extension files to `*.so.cuda-disabled`. A CUDA torch with a
matching torchaudio imports fine and is left alone. Re-running is harmless.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

CUDA_LINK_ERRORS = ("libc10_cuda", "libcudart", "Could not load this library")


def _import_error(module: str) -> str | None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    return None if done.returncode == 0 else done.stderr.strip()


def main() -> int:
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or spec.origin is None:
        print("cpu_torchaudio: torchaudio is not installed; nothing to do")
        return 0
    error = _import_error("torchaudio")
    if error is None:
        print("cpu_torchaudio: torchaudio imports; nothing to do")
        return 0
    if not any(marker in error for marker in CUDA_LINK_ERRORS):
        print(f"cpu_torchaudio: torchaudio fails for another reason:\n{error}", file=sys.stderr)
        return 1
    libdir = Path(spec.origin).parent / "lib"
    for library in sorted(libdir.glob("*.so")):
        library.rename(library.with_name(library.name + ".cuda-disabled"))
        print(f"cpu_torchaudio: disabled CUDA-linked {library.name}")
    error = _import_error("torchaudio")
    if error is not None:
        print(f"cpu_torchaudio: torchaudio still fails:\n{error}", file=sys.stderr)
        return 1
    if importlib.util.find_spec("TTS") is not None and (error := _import_error("TTS")) is not None:
        print(f"cpu_torchaudio: coqui TTS still fails to import:\n{error}", file=sys.stderr)
        return 1
    print("cpu_torchaudio: torchaudio and coqui TTS import on the CPU torch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
