"""C2PA content credentials: sign generated files with a manifest and verify them.

A manifest says the file was made by a generative model (the ``c2pa.created``
action with IPTC digital source type ``trainedAlgorithmicMedia``), carries the
file's :class:`~aigc_sdk.provenance.Provenance` (model, revision, seed, request)
and, for pipeline outputs, the record of what went into it (the provenance's
``extra["ingredients"]``) and its licences. Files that went in (:class:`Ingredient`)
become C2PA ingredients, each with its own signed manifest, so readers can follow
and check the chain.

The signing key and certificate chain come from ``AIGC_C2PA_CERT`` and
``AIGC_C2PA_KEY``; without them a development CA and an ES256 signer are made on
first use under ``<AIGC_CACHE_DIR>/c2pa/development``. Files signed with it validate, but
readers report the signer as untrusted.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_sdk._internal.files import atomic_dir, atomic_path
from aigc_sdk._internal.optional import is_available, require
from aigc_sdk._internal.settings import Settings
from aigc_sdk._version import __version__
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.media import read_sidecar
from aigc_sdk.provenance import Provenance, redact
from aigc_sdk.trust.licenses import data_licences, font_licences, licence_warnings

__all__ = [
    "CERT_ENV",
    "KEY_ENV",
    "MIME_TYPES",
    "Ingredient",
    "IngredientCheck",
    "SigningIdentity",
    "Verification",
    "build_manifest",
    "check_ingredients",
    "sign_file",
    "signing_identity",
    "signs_by_default",
    "uses_own_certificate",
    "verify_file",
]

#: Environment variable naming the PEM certificate chain (signer first, then intermediates).
CERT_ENV = "AIGC_C2PA_CERT"
#: Environment variable naming the PEM PKCS#8 private key of the signer.
KEY_ENV = "AIGC_C2PA_KEY"
#: Environment variable with the signing algorithm (default ``es256``).
ALG_ENV = "AIGC_C2PA_ALG"
#: Signing algorithms C2PA accepts.
ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
#: File suffixes that can carry credentials, with their MIME type.
MIME_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
}
#: Formats a file that went in can have (C2PA reads these as ingredients).
INGREDIENT_TYPES = {
    **MIME_TYPES,
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mov": "video/quicktime",
}
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
PROVENANCE_LABEL = "org.aigc-sdk.provenance"
INGREDIENTS_LABEL = "org.aigc-sdk.ingredients"
LICENSES_LABEL = "org.aigc-sdk.licenses"
_DEV_ORG = "aigc_sdk development key (UNTRUSTED)"
_UNTRUSTED = "signingCredential.untrusted"


@dataclass(frozen=True)
class SigningIdentity:
    """A certificate chain and private key (PEM) to sign with.

    Example:
        >>> SigningIdentity(b"chain", b"key", development=True).algorithm
        'es256'
    """

    certificate_chain: bytes
    private_key: bytes
    development: bool = False
    algorithm: str = "es256"


@dataclass(frozen=True)
class Ingredient:
    """A file that went into a signed output, recorded as a C2PA ``componentOf`` ingredient.

    When the file carries no credentials of its own and ``provenance`` is given, it is
    signed in memory first (the file on disk is left alone), so the output's manifest
    embeds the ingredient's own signed manifest: its model, seed and a hash of its bytes.

    Example:
        >>> Ingredient(Path("narration.wav"), "narration").role
        'narration'
    """

    path: Path
    role: str
    provenance: Provenance | None = None


@dataclass(frozen=True)
class IngredientCheck:
    """One C2PA ingredient of a verified file.

    Example:
        >>> IngredientCheck(title="narration.wav", role="narration", format="audio/wav", signed=True).valid
        True
    """

    title: str
    role: str | None
    format: str | None
    signed: bool
    failures: tuple[str, ...] = ()
    model_id: str | None = None

    @property
    def valid(self) -> bool:
        """Whether the ingredient's own manifest (if any) checked out inside the output's.

        Example:
            >>> IngredientCheck(title="a.png", role=None, format=None, signed=True, failures=("x",)).valid
            False
        """
        return not self.failures


@dataclass(frozen=True)
class Verification:
    """What :func:`verify_file` found.

    ``ingredients`` are the file's C2PA ingredients (the files that went in, each checked);
    ``made_of`` is a pipeline output's record of what went into it (the ``org.aigc-sdk.ingredients``
    assertion: provenance of the script, narration, music, visuals and the licence list).

    Example:
        >>> Verification(path=Path("x.png"), state="missing").valid
        False
    """

    path: Path
    state: str
    failures: tuple[str, ...] = ()
    untrusted: bool = False
    signer: str | None = None
    issuer: str | None = None
    generator: str | None = None
    digital_source_type: str | None = None
    provenance: dict[str, Any] | None = None
    made_of: dict[str, Any] | None = None
    licenses: dict[str, Any] | None = None
    ingredients: tuple[IngredientCheck, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Whether a manifest is present and every hash and signature checks out.

        Example:
            >>> Verification(path=Path("x.png"), state="Valid", untrusted=True).valid
            True
        """
        return self.state in ("Valid", "Trusted")


def _mime(path: Path, types: Mapping[str, str] = MIME_TYPES) -> str:
    mime = types.get(path.suffix.lower())
    if mime is None:
        what = "attach content credentials to" if types is MIME_TYPES else "record as an ingredient"
        raise InvalidRequestError(
            f"cannot {what} {path.suffix or 'a file without suffix'!r}", hint=f"use one of {', '.join(sorted(types))}"
        )
    return mime


_DEV_LOCK = threading.Lock()


def _dev_identity(folder: Path) -> SigningIdentity:
    """The development identity under ``folder``, made once: its files appear together or not at all.

    Saves sign from several threads and processes at once; the CA, chain and key are written
    into a fresh folder that is renamed into place, and whoever loses the race reads the winner's.
    """
    with _DEV_LOCK:
        if not (folder / "dev-signer.key").is_file():
            with atomic_dir(folder) as staging:
                _write_dev_identity(staging)
    chain, key = (folder / "dev-signer-chain.pem").read_bytes(), (folder / "dev-signer.key").read_bytes()
    return SigningIdentity(chain, key, development=True)


def _write_dev_identity(folder: Path) -> None:
    require("cryptography", extra="trust", feature="development signing keys")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, _DEV_ORG)]
        )

    def usage(*, sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=not sign, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=sign, crl_sign=sign, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    now = _dt.datetime.now(_dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("aigc_sdk development CA (untrusted)")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(name("aigc_sdk development signer (untrusted)"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=3649))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain = signer.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (folder / "dev-ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "dev-signer-chain.pem").write_bytes(chain)
    key_path = folder / "dev-signer.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(private)


def signs_by_default(settings: Settings | None = None) -> bool:
    """Whether saves and pipelines sign unasked: the ``trust`` extra is in and ``AIGC_CREDENTIALS`` is not off.

    Example:
        >>> signs_by_default() in (True, False)
        True
    """
    return (settings or Settings.from_env()).credentials and is_available("c2pa")


def uses_own_certificate() -> bool:
    """Whether ``AIGC_C2PA_CERT`` and ``AIGC_C2PA_KEY`` name the signer (else the development key signs).

    Example:
        >>> uses_own_certificate() in (True, False)
        True
    """
    return bool(os.environ.get(CERT_ENV) and os.environ.get(KEY_ENV))


def signing_identity(settings: Settings | None = None) -> SigningIdentity:
    """The identity to sign with: ``AIGC_C2PA_CERT``/``AIGC_C2PA_KEY``, else the local development one.

    The development CA, chain and key are generated once under
    ``<cache_dir>/c2pa/development`` and reused; they are labelled untrusted.

    Example:
        >>> import dataclasses, tempfile, pathlib
        >>> s = dataclasses.replace(Settings.from_env(), cache_dir=pathlib.Path(tempfile.mkdtemp()))
        >>> signing_identity(s).development  # doctest: +SKIP
        True
    """
    cert, key = os.environ.get(CERT_ENV), os.environ.get(KEY_ENV)
    if cert or key:
        if not (cert and key):
            raise InvalidRequestError(f"set both {CERT_ENV} and {KEY_ENV}, or neither")
        paths = Path(cert).expanduser(), Path(key).expanduser()
        for p in paths:
            if not p.is_file():
                raise InvalidRequestError(f"signing file {p} does not exist")
        algorithm = os.environ.get(ALG_ENV, "es256").lower()
        if algorithm not in ALGORITHMS:
            raise InvalidRequestError(
                f"{ALG_ENV}={algorithm!r} is not a C2PA signing algorithm", hint=", ".join(ALGORITHMS)
            )
        return SigningIdentity(paths[0].read_bytes(), paths[1].read_bytes(), algorithm=algorithm)
    settings = settings or Settings.from_env()
    return _dev_identity(settings.cache_dir / "c2pa" / "development")


def _licence_list(provenance: dict[str, Any], licences: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = [{"what": provenance.get("task"), "id": provenance.get("model_id"), "license": provenance.get("license")}]
    items += font_licences(provenance) + data_licences(provenance)
    items += [dict(item) for item in licences]
    seen: dict[tuple[Any, Any], dict[str, Any]] = {}
    for item in items:
        seen.setdefault((item.get("what"), item.get("id")), item)
    return list(seen.values())


def build_manifest(
    path: str | Path,
    provenance: Provenance,
    *,
    ingredients: Sequence[Ingredient] = (),
    licences: Sequence[Mapping[str, Any]] = (),
    privacy: bool = False,
    development: bool = False,
    title: str | None = None,
) -> dict[str, Any]:
    """The C2PA manifest definition :func:`sign_file` signs.

    Args:
        path: The file (its name becomes the title; its suffix the format).
        provenance: How the file was made. A pipeline output lists what went into it (e.g. a news
            clip's script, narration, music and visuals) under ``extra["ingredients"]``; that record is
            also written, with ``licences``, as an ``org.aigc-sdk.ingredients`` assertion.
        ingredients: Files that went in; a ``c2pa.placed`` action names them (:func:`sign_file` adds them).
        licences: Licence records (``{"what", "id", "license"}``) of what went in, besides the file's own
            model and fonts.
        privacy: Record the sha256 of prompts and other request text (and file names, not paths).
        development: Mark the manifest as signed with the untrusted development key.
        title: The manifest's title; None: the file's name.

    Example:
        >>> p = Provenance(model_id="en-joe", task="text-to-speech", backend="b", request={"text": "hi"})
        >>> m = build_manifest("a.wav", p, privacy=True)
        >>> m["assertions"][0]["data"]["actions"][0]["action"]
        'c2pa.created'
        >>> m["assertions"][1]["data"]["request"]["text"][:7]
        'sha256:'
    """
    target = Path(path)
    record = redact(provenance.to_dict()) if privacy else provenance.to_dict()
    made_of = dict(record.get("extra", {}).get("ingredients") or {})
    if licences:
        made_of["licenses"] = [dict(item) for item in licences]
    if privacy:
        made_of = redact(made_of)
    licence_list = _licence_list(record, made_of.get("licenses", []))
    action = {
        "action": "c2pa.created",
        "digitalSourceType": COMPOSITE if made_of or ingredients else TRAINED,
        "softwareAgent": {"name": "aigc_sdk", "version": __version__},
        "parameters": {"model": provenance.model_id, "task": provenance.task},
    }
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": [action]}},
        {"label": PROVENANCE_LABEL, "data": record},
        {
            "label": LICENSES_LABEL,
            "data": {
                "licenses": licence_list,
                "warnings": licence_warnings(licence_list),
                "development_signer": development,
                "privacy": privacy,
            },
        },
    ]
    if ingredients:
        labels = [_part_label(i) for i in range(len(ingredients))]
        assertions[0]["data"]["actions"].append({"action": "c2pa.placed", "parameters": {"ingredientIds": labels}})
    if made_of:
        assertions.append({"label": INGREDIENTS_LABEL, "data": made_of})
    return {
        "claim_generator_info": [{"name": "aigc_sdk", "version": __version__}],
        "title": title or target.name,
        "format": _mime(target, INGREDIENT_TYPES),
        "assertions": assertions,
    }


def sign_file(
    path: str | Path,
    provenance: Provenance | None = None,
    *,
    ingredients: Sequence[Ingredient] = (),
    licences: Sequence[Mapping[str, Any]] = (),
    privacy: bool = False,
    identity: SigningIdentity | None = None,
    title: str | None = None,
) -> Path:
    """Embed signed C2PA content credentials in a PNG/JPEG, WAV/MP3 or MP4 file, in place (atomically).

    Args:
        path: The file to sign.
        provenance: How it was made; None: read from the file's ``.provenance.json`` sidecar.
        ingredients: Files that went in, added as C2PA ingredients (see :class:`Ingredient`).
        licences: Licence records of what went in (see :func:`build_manifest`).
        privacy: Record sha256 hashes of prompts and request text instead of the text.
        identity: Key and certificate; None: :func:`signing_identity`.
        title: The manifest's title; None: the file's name (set it when signing a temporary file).

    Returns:
        The path.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from aigc_sdk.media import Image
        >>> prov = Provenance(model_id="m", task="text-to-image", backend="b", request={"prompt": "a cat"})
        >>> png = Image.from_array(np.zeros((8, 8, 3), dtype=np.uint8), prov).save(
        ...     pathlib.Path(tempfile.mkdtemp()) / "cat.png")
        >>> verify_file(sign_file(png, prov, privacy=True)).valid
        True
    """
    c2pa = require("c2pa", extra="trust", feature="content credentials")
    target = Path(path)
    mime = _mime(target)
    if not target.is_file():
        raise InvalidRequestError(f"no file at {target}")
    if provenance is None:
        provenance = read_sidecar(target)
        if provenance is None:
            raise InvalidRequestError(f"{target} has no provenance sidecar; pass provenance=")
    check_ingredients(ingredients)
    identity = identity or signing_identity()
    manifest = build_manifest(
        target,
        provenance,
        ingredients=ingredients,
        licences=licences,
        privacy=privacy,
        development=identity.development,
        title=title,
    )
    try:
        info = c2pa.C2paSignerInfo(identity.algorithm, identity.certificate_chain, identity.private_key, None)
        with (
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(manifest) as builder,
            atomic_path(target) as tmp,
            target.open("rb") as src,
            tmp.open("w+b") as dst,
        ):
            for index, part in enumerate(ingredients):
                definition = {"title": part.path.name, "relationship": "componentOf", "label": _part_label(index),
                              "description": part.role}  # fmt: skip
                data = _ingredient_bytes(c2pa, signer, part, privacy=privacy, development=identity.development)
                builder.add_ingredient(definition, _mime(part.path, INGREDIENT_TYPES), io.BytesIO(data))
            builder.sign(signer, mime, src, dst)
    except c2pa.C2paError as exc:
        raise MediaError(f"could not sign {target}: {exc}", hint="check AIGC_C2PA_CERT/AIGC_C2PA_KEY") from exc
    return target


def check_ingredients(ingredients: Sequence[Ingredient]) -> None:
    """Raise :class:`~aigc_sdk.errors.InvalidRequestError` unless every ingredient is a readable file C2PA takes.

    Example:
        >>> check_ingredients([Ingredient(Path("notes.txt"), "notes")])
        Traceback (most recent call last):
        ...
        aigc_sdk.errors.InvalidRequestError: cannot record as an ingredient '.txt' ...
    """
    for part in ingredients:
        _mime(part.path, INGREDIENT_TYPES)
        if not part.path.is_file():
            raise InvalidRequestError(f"ingredient {part.role!r}: no file at {part.path}")


def _part_label(index: int) -> str:
    return f"aigc-ingredient-{index}"


def _ingredient_bytes(c2pa: Any, signer: Any, part: Ingredient, *, privacy: bool, development: bool) -> bytes:
    """The ingredient's bytes, signed in memory with its own manifest when it has provenance and no credentials."""
    data = part.path.read_bytes()
    if part.provenance is None or _has_credentials(c2pa, part.path):
        return data
    manifest = build_manifest(part.path, part.provenance, privacy=privacy, development=development)
    signed = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, _mime(part.path, INGREDIENT_TYPES), io.BytesIO(data), signed)
    return signed.getvalue()


def _has_credentials(c2pa: Any, path: Path) -> bool:
    try:
        reader = c2pa.Reader.try_create(str(path))
    except c2pa.C2paError:
        return False  # damaged credentials: the ingredient goes in as it is, and verification shows it
    if reader is None:
        return False
    reader.close()
    return True


def verify_file(path: str | Path) -> Verification:
    """Read and validate a file's C2PA credentials.

    ``state`` is ``"Trusted"`` or ``"Valid"`` when every hash and signature checks out,
    ``"Invalid"`` when the file or manifest was altered, and ``"missing"`` when the file
    has no credentials. ``untrusted`` is True when the signer is not on a trust list
    (e.g. the development key).

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.media import Audio
        >>> wav = Audio([0.0] * 800, 8000).save(pathlib.Path(tempfile.mkdtemp()) / "a.wav")
        >>> verify_file(wav).state
        'missing'
    """
    c2pa = require("c2pa", extra="trust", feature="content credentials")
    source = Path(path)
    _mime(source)
    if not source.is_file():
        raise InvalidRequestError(f"no file at {source}")
    try:
        reader = c2pa.Reader.try_create(str(source))
    except c2pa.C2paError as exc:
        return Verification(path=source, state="Invalid", failures=(str(exc),))
    if reader is None:
        return Verification(path=source, state="missing")
    with reader:
        state = str(reader.get_validation_state() or "Invalid")
        results = reader.get_validation_results() or {}
        active = reader.get_active_manifest() or {}
        store = json.loads(reader.json())
    failures = tuple(str(item.get("code")) for item in (results.get("activeManifest") or {}).get("failure", []) or [])
    assertions = {a.get("label"): a.get("data") for a in active.get("assertions", []) or []}
    actions = (assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}).get("actions", [])
    created: dict[str, Any] = next((a for a in actions if a.get("action") == "c2pa.created"), {})
    signature = active.get("signature_info") or {}
    generators = active.get("claim_generator_info") or [{}]
    return Verification(
        path=source,
        state=state,
        failures=tuple(f for f in failures if f != _UNTRUSTED),
        untrusted=_UNTRUSTED in failures or _DEV_ORG in str(signature.get("issuer", "")),
        signer=signature.get("common_name"),
        issuer=signature.get("issuer"),
        generator=" ".join(str(generators[0].get(k, "")) for k in ("name", "version")).strip() or None,
        digital_source_type=created.get("digitalSourceType"),
        provenance=assertions.get(PROVENANCE_LABEL),
        made_of=assertions.get(INGREDIENTS_LABEL),
        licenses=assertions.get(LICENSES_LABEL),
        ingredients=_ingredient_checks(active, results, store.get("manifests") or {}),
        extra={"label": active.get("label"), "title": active.get("title")},
    )


def _ingredient_checks(
    active: dict[str, Any], results: dict[str, Any], manifests: dict[str, Any]
) -> tuple[IngredientCheck, ...]:
    """The active manifest's C2PA ingredients, with each one's validation and model."""
    deltas: dict[str, tuple[str, ...]] = {}
    for delta in results.get("ingredientDeltas", []) or []:
        uri = str(delta.get("ingredientAssertionURI", "")).rsplit("/", 1)[-1]
        failures = (delta.get("validationDeltas") or {}).get("failure", []) or []
        deltas[uri] = tuple(str(item.get("code")) for item in failures if item.get("code") != _UNTRUSTED)
    checks = []
    for item in active.get("ingredients", []) or []:
        own = manifests.get(str(item.get("active_manifest")), {}) if item.get("active_manifest") else {}
        record = {a.get("label"): a.get("data") for a in own.get("assertions", []) or []}.get(PROVENANCE_LABEL) or {}
        checks.append(
            IngredientCheck(
                title=str(item.get("title", "")),
                role=item.get("description"),
                format=item.get("format"),
                signed=bool(own),
                failures=deltas.get(str(item.get("label")), ()),
                model_id=record.get("model_id"),
            )
        )
    return tuple(checks)
