"""Publishing: the one place where a media value becomes a published file.

:func:`publish` writes a value (:class:`~aigc_sdk.media.Image`, :class:`~aigc_sdk.media.Audio` or
:class:`~aigc_sdk.media.Video`) with its provenance tag, signs it with C2PA content credentials
(and the files that went in, as ingredients) when asked or by default, renames it into place,
then writes its ``.provenance.json`` sidecar. Results' ``save`` call it; media values never
sign themselves and never import this package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aigc_sdk._internal.files import atomic_path
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.media import Audio, Image, Video, write_sidecar
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust.credentials import MIME_TYPES, Ingredient, check_ingredients, sign_file, signs_by_default

__all__ = ["MediaValue", "publish", "will_sign"]

#: What :func:`publish` takes.
MediaValue = Image | Audio | Video


def will_sign(path: str | Path, provenance: Provenance | None, credentials: bool | None = None) -> bool:
    """Whether publishing ``path`` signs it, checked before anything is written.

    ``credentials=True`` signs or raises :class:`~aigc_sdk.errors.InvalidRequestError` (a format that
    carries no credentials, or no provenance to record); ``False`` never signs; None signs when it can:
    a PNG/JPEG/WAV/MP3/MP4 with provenance, the ``trust`` extra installed and ``AIGC_CREDENTIALS`` not off.

    Example:
        >>> prov = Provenance(model_id="m", task="text-to-image", backend="b")
        >>> will_sign("card.webp", prov), will_sign("card.png", None), will_sign("card.png", prov, False)
        (False, False, False)
        >>> will_sign("card.webp", prov, True)
        Traceback (most recent call last):
        ...
        aigc_sdk.errors.InvalidRequestError: content credentials cannot be embedded in '.webp' files ...
    """
    target = Path(path)
    signable = target.suffix.lower() in MIME_TYPES
    if credentials is None:
        return signable and provenance is not None and signs_by_default()
    if credentials and not signable:
        raise InvalidRequestError(
            f"content credentials cannot be embedded in {target.suffix!r} files",
            hint=f"use one of {', '.join(MIME_TYPES)}",
        )
    if credentials and provenance is None:
        raise InvalidRequestError(
            "content credentials need the result's provenance", hint="pass provenance= or a value that has one"
        )
    return credentials


def publish(
    value: MediaValue,
    path: str | Path,
    *,
    provenance: Provenance | None = None,
    credentials: bool | None = None,
    privacy: bool = False,
    ingredients: Sequence[Ingredient] = (),
    licences: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Save ``value`` to ``path`` with its provenance tag, signed content credentials and sidecar.

    The file is written under a temporary name, tagged and signed there, and renamed last, so
    it appears signed or not at all (whatever was at ``path`` before stays until then); the
    ``.provenance.json`` sidecar follows.

    Args:
        value: The image, audio or video to publish.
        path: Where; the suffix picks the format.
        provenance: How it was made; None: the value's own.
        credentials: Sign with C2PA content credentials: True signs or raises, False never, None
            (default) when the format carries them, there is provenance, the ``trust`` extra is
            installed and ``AIGC_CREDENTIALS`` is not off (see :func:`will_sign`).
        privacy: Replace the recorded request (prompts, text) by sha256 hashes in the tag, the
            sidecar and the credentials.
        ingredients: Files that went in, signed into the credentials as C2PA ingredients
            (a news clip's narration, music and visuals); see :class:`~aigc_sdk.trust.Ingredient`.
            An error with ``credentials=False``; left out when the default does not sign.
        licences: Licence records (``{"what", "id", "license"}``) of what went in, for the credentials.

    Returns:
        The path.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from aigc_sdk.media import sidecar_path
        >>> prov = Provenance(model_id="m", task="text-to-image", backend="b", request={"prompt": "a cat"})
        >>> card = Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8), prov)
        >>> png = publish(card, pathlib.Path(tempfile.mkdtemp()) / "cat.png", credentials=False, privacy=True)
        >>> Image.load(png).provenance.request["prompt"][:7], sidecar_path(png).exists()
        ('sha256:', True)
    """
    target = Path(path)
    made = provenance or value.provenance
    sign = will_sign(target, made, credentials)
    if ingredients and credentials is False:
        raise InvalidRequestError(
            "ingredients are recorded in content credentials, and credentials=False signs none",
            hint="leave ingredients out, or let the file be signed",
        )
    check_ingredients(ingredients)
    written = made.redacted() if privacy and made is not None else made
    with atomic_path(target) as tmp:
        value.save(tmp, provenance=written)
        if sign:
            sign_file(
                tmp, made, ingredients=ingredients, licences=licences, privacy=privacy, title=target.name
            )  # credentials redact ``made`` themselves
    write_sidecar(target, written)
    return target
