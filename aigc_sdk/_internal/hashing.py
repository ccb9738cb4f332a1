"""Content hashes for files and JSON-able values."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"
        >>> _ = p.write_bytes(b"abc")
        >>> sha256_file(p)[:12]
        'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_json(value: Any) -> str:
    """Hex sha256 of a JSON-able value in canonical form (sorted keys, no spaces).

    Example:
        >>> sha256_json({"b": 1, "a": 2}) == sha256_json({"a": 2, "b": 1})
        True
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
