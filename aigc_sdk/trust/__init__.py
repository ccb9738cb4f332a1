"""Trust: signed C2PA content credentials, invisible watermarks and licence records.

Needs the ``trust`` extra (``c2pa-python``, ``invisible-watermark``, ``cryptography``),
imported lazily on first use.

Example:
    >>> from aigc_sdk.trust import sign_file, verify_file
    >>> verify_file(sign_file("out/card.png")).valid  # doctest: +SKIP
    True
"""

from __future__ import annotations

from aigc_sdk.trust.credentials import (
    SigningIdentity,
    Verification,
    build_manifest,
    sign_file,
    signing_identity,
    verify_file,
)
from aigc_sdk.trust.licenses import licence_warnings, restricts_commercial_use

__all__ = [
    "SigningIdentity",
    "Verification",
    "build_manifest",
    "licence_warnings",
    "restricts_commercial_use",
    "sign_file",
    "signing_identity",
    "verify_file",
]
