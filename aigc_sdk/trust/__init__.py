"""Trust: publishing (signed C2PA content credentials and provenance sidecars), watermarks and licence records.

:func:`publish` is the one path from a media value to a published file; results' ``save``
call it. Credentials need the ``trust`` extra (``c2pa-python``, ``cryptography``), imported
lazily on first use; watermarks need only numpy.

Layering: this package sits above :mod:`aigc_sdk.media` and :mod:`aigc_sdk.provenance` and below
:mod:`aigc_sdk.types`; media values never import it.

Example:
    >>> from aigc_sdk.trust import publish, verify_file
    >>> verify_file(publish(card, "out/card.png", credentials=True)).valid  # doctest: +SKIP
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigc_sdk._internal.lazy import lazy_exports

if TYPE_CHECKING:
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
    from aigc_sdk.trust.publishing import MediaValue, publish, will_sign

#: Where each public name lives: imported on first use, so the frame-marking worker
#: (``python -m aigc_sdk.trust._marking``) starts without the credentials and media modules.
_HOMES = {
    "Ingredient": ".credentials",
    "IngredientCheck": ".credentials",
    "SigningIdentity": ".credentials",
    "Verification": ".credentials",
    "build_manifest": ".credentials",
    "sign_file": ".credentials",
    "signing_identity": ".credentials",
    "verify_file": ".credentials",
    "licence_warnings": ".licenses",
    "restricts_commercial_use": ".licenses",
    "MediaValue": ".publishing",
    "publish": ".publishing",
    "will_sign": ".publishing",
}


__getattr__ = lazy_exports(globals(), _HOMES)


__all__ = [
    "Ingredient",
    "IngredientCheck",
    "MediaValue",
    "SigningIdentity",
    "Verification",
    "build_manifest",
    "licence_warnings",
    "publish",
    "restricts_commercial_use",
    "sign_file",
    "signing_identity",
    "verify_file",
    "will_sign",
]
