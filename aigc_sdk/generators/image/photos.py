"""Pick a photo from the user's folder for each script sentence.

Each photo is described by text: its file name (``harbour_bridge_at_night.jpg`` → "harbour bridge at
night"), a sidecar file (``<name>.txt`` beside it), an entry in ``captions.json`` (``{"file.jpg": "caption"}``)
in the folder, and the image's EXIF description. Sentences and descriptions are embedded with a sentence
embedding model, requested as :class:`~aigc_sdk.types.EmbedRequest` s through a models handle (a
:class:`~aigc_sdk.studio.Studio`, so the model is on the scheduler's books; the default embedder is the bundled
all-MiniLM-L6-v2) or by an embedding function of your own, and compared by cosine similarity; with a
:class:`ClipScorer`, sentences are compared with the images themselves. No photo is used twice until every photo
has been used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, MediaError, map_errors
from aigc_sdk.generators.base import DirectModels, Models

if TYPE_CHECKING:
    from aigc_sdk.generators.image.clip import ClipScorer

__all__ = ["PHOTO_SUFFIXES", "PhotoMatch", "PhotoMatcher"]

#: Image files the matcher considers.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
Embed = Callable[[Sequence[str]], npt.NDArray[Any]]
_CAMERA_PREFIX = re.compile(r"^(img|dsc|dscn|dcim|pxl|photo|image|pic)$", re.IGNORECASE)


@dataclass(frozen=True)
class PhotoMatch:
    """The photo chosen for one sentence.

    Attributes:
        sentence: The script sentence.
        path: The chosen photo.
        score: Cosine similarity between the sentence and the photo (its text, or the image with CLIP).
        description: The text the photo was matched by (empty with CLIP).

    Example:
        >>> PhotoMatch(sentence="Storm ahead.", path=Path("storm.jpg"), score=0.61, description="storm").path.name
        'storm.jpg'
    """

    sentence: str
    path: Path
    score: float
    description: str


def _name_words(path: Path) -> str:
    words = [w for w in re.split(r"[\s_\-.+,]+", path.stem) if w]
    kept = [w for w in words if not w.isdigit() and not _CAMERA_PREFIX.match(w)]
    return " ".join(kept)


class PhotoMatcher:
    """Matches script sentences to the photos in a folder, without reuse until the folder is exhausted.

    Args:
        folder: The folder with the photos (searched recursively).
        embed: Where sentence embeddings come from: a models handle (a Studio: the default
            text-embedding model runs on its scheduler) or a function (texts → one row per text).
            None: a :class:`~aigc_sdk.generators.base.DirectModels` of the matcher's own, which loads
            the default embedder outside any scheduler.
        clip: Match sentences against the images with this CLIP scorer instead of their descriptions.

    Raises:
        InvalidRequestError: The folder does not exist or holds no photos, or both ``embed`` and
            ``clip`` are given (CLIP would make ``embed`` unused).

    Example:
        >>> matcher = PhotoMatcher("my_photos", embed=studio)  # doctest: +SKIP
        >>> [m.path.name for m in matcher.match(["Storm clouds gather.", "The bridge opens."])]  # doctest: +SKIP
        ['storm_over_the_coast.jpg', 'harbour_bridge.jpg']
    """

    def __init__(
        self, folder: str | Path, *, embed: Embed | Models | None = None, clip: ClipScorer | None = None
    ) -> None:
        if embed is not None and clip is not None:
            raise InvalidRequestError(
                "give either embed or clip: with a CLIP scorer, photos are matched by their pixels and embed is unused",
                hint="drop embed=, or drop clip= to match by descriptions",
            )
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise InvalidRequestError(f"no photo folder at {self.folder}")
        self.photos = sorted(p for p in self.folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
        if not self.photos:
            raise InvalidRequestError(f"{self.folder} holds no photos", hint=f"add {', '.join(PHOTO_SUFFIXES)} files")
        self._embed = _embedding_function(embed)
        self._clip = clip
        self._captions = self._read_captions()
        self.descriptions = [self.describe(p) for p in self.photos]
        self._photo_vectors: npt.NDArray[np.float32] | None = None

    def describe(self, photo: Path) -> str:
        """The text a photo is matched by: file-name words, sidecar text, captions.json entry, EXIF description.

        Example:
            >>> matcher.describe(Path("my_photos/IMG_0042_harbour-bridge.jpg"))  # doctest: +SKIP
            'harbour bridge'
        """
        parts = [_name_words(photo)]
        for sidecar in (photo.with_suffix(".txt"), photo.with_name(photo.name + ".txt")):
            if sidecar.is_file():
                with map_errors(f"could not read {sidecar}", to=MediaError):
                    parts.append(sidecar.read_text(encoding="utf-8").strip())
                break
        key = str(photo.relative_to(self.folder)) if photo.is_relative_to(self.folder) else photo.name
        caption = self._captions.get(key) or self._captions.get(photo.name)
        if caption:
            parts.append(caption)
        parts.append(_exif_description(photo))
        text = ". ".join(p for p in parts if p)
        return text or photo.stem

    def match(self, sentences: Sequence[str]) -> list[PhotoMatch]:
        """One photo per sentence, best matches first within each pass over the folder.

        Sentences are taken in passes of as many sentences as there are photos; in each pass every
        photo is used at most once (the highest-scoring sentence–photo pairs are fixed first), so a
        photo comes back only after the whole folder has been shown.

        Raises:
            InvalidRequestError: No sentences, or a blank one.

        Example:
            >>> [m.path.name for m in matcher.match(["Shares rallied."])]  # doctest: +SKIP
            ['traders_on_the_floor.jpg']
        """
        items = [str(s).strip() for s in sentences]
        if not items or any(not s for s in items):
            raise InvalidRequestError("match needs at least one sentence, none blank")
        sentence_vectors = self._sentence_vectors(items)
        photo_vectors = self._photos()
        similarity = sentence_vectors @ photo_vectors.T
        n = len(self.photos)
        chosen: list[int] = [0] * len(items)
        for start in range(0, len(items), n):
            rows = list(range(start, min(start + n, len(items))))
            pairs = sorted(
                ((float(similarity[r, c]), r, c) for r in rows for c in range(n)), key=lambda t: (-t[0], t[1], t[2])
            )
            free_rows, free_cols = set(rows), set(range(n))
            for _, r, c in pairs:
                if r in free_rows and c in free_cols:
                    chosen[r] = c
                    free_rows.discard(r)
                    free_cols.discard(c)
        return [
            PhotoMatch(
                sentence=items[i],
                path=self.photos[c],
                score=float(similarity[i, c]),
                description="" if self._clip is not None else self.descriptions[c],
            )
            for i, c in enumerate(chosen)
        ]

    def _sentence_vectors(self, sentences: list[str]) -> npt.NDArray[np.float32]:
        if self._clip is not None:
            return self._clip.embed_texts(sentences)
        return _unit(np.asarray(self._embed(sentences), dtype=np.float32))

    def _photos(self) -> npt.NDArray[np.float32]:
        if self._photo_vectors is None:
            if self._clip is not None:
                self._photo_vectors = self._clip.embed_images(self.photos)
            else:
                self._photo_vectors = _unit(np.asarray(self._embed(self.descriptions), dtype=np.float32))
        return self._photo_vectors

    def _read_captions(self) -> dict[str, str]:
        path = self.folder / "captions.json"
        if not path.is_file():
            return {}
        with map_errors(f"could not read {path}", to=MediaError):
            data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise MediaError(f"{path} must map file names to captions")
        return {str(k): str(v) for k, v in data.items()}


def _embedding_function(embed: Embed | Models | None) -> Embed:
    if embed is not None and not isinstance(embed, Models):
        return embed
    models: Models = embed if embed is not None else DirectModels()

    def through_models(texts: Sequence[str]) -> npt.NDArray[Any]:
        from aigc_sdk.generators.text.embeddings import embed_with

        return embed_with(models, texts)

    return through_models


def _unit(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    if vectors.ndim != 2:
        raise InvalidRequestError(f"the embedding function returned shape {vectors.shape}, expected (texts, dim)")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def _exif_description(photo: Path) -> str:
    pil_image = require("PIL.Image", extra="image", feature="photo matching")
    with map_errors(f"could not read photo {photo}", to=MediaError), pil_image.open(photo) as image:
        value = image.getexif().get(270)  # ImageDescription
    return str(value).strip() if value else ""
