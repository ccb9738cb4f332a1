"""Trust: signed C2PA content credentials, invisible watermarks and licence records.

Credentials need the ``trust`` extra (``c2pa-python``, ``cryptography``), imported
lazily on first use; watermarks need only numpy.

Example:
    >>> from aigc_sdk.trust import sign_file, verify_file
    >>> verify_file(sign_file("out/card.png")).valid  # doctest: +SKIP
    True
"""

from __future__ import annotations

from aigc_sdk.trust.credentials import (
    Ingredient,
    IngredientCheck,
    SigningIdentity,
    Verification,
    build_manifest,
    sign_file,
    signing_identity,
    verify_file,
)
from aigc_sdk.trust.licenses import licence_warnings, restricts_commercial_use

__all__ = [
    "Ingredient",
    "IngredientCheck",
    "SigningIdentity",
    "Verification",
    "build_manifest",
    "licence_warnings",
    "restricts_commercial_use",
    "sign_file",
    "signing_identity",
    "verify_file",
]
