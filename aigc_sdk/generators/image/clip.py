"""CLIP text–image similarity (transformers): score, rerank and "best of N" selection.

A :class:`ClipScorer` is a scorer, not a generator (there is no image-scoring task in the request
contract): it loads a CLIP folder (``config.json`` + safetensors + tokenizer, and
``preprocessor_config.json`` when present) from a path or a
:class:`~aigc_sdk.registry.ModelSpec`'s source and embeds texts and images into the same space.
The diffusion generator
(:class:`~aigc_sdk.generators.image.diffusers_image.DiffusersImageGenerator`) uses it for
``ImageRequest.best_of`` (spec option ``clip_model``), and the photo matcher
(:class:`~aigc_sdk.generators.image.photos.PhotoMatcher`) for image matching.
Install with ``pip install "aigc-studio[image]"``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import GenerationError, InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.media import Image
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.registry.weights import resolve_weights

__all__ = ["ClipMatch", "ClipScorer"]

# OpenAI CLIP's preprocessing, used when the folder has no preprocessor_config.json.
_MEAN = (0.48145466, 0.4578275, 0.40821073)
_STD = (0.26862954, 0.26130258, 0.27577711)

ImageLike = Image | str | Path


@dataclass(frozen=True)
class ClipMatch:
    """One image's place in a reranking.

    Attributes:
        index: Position of the image in the input sequence.
        score: Cosine similarity between the prompt and the image, in ``[-1, 1]``.
        image: The image.

    Example:
        >>> import numpy as np
        >>> m = ClipMatch(index=2, score=0.31, image=Image.from_array(np.zeros((4, 4, 3), dtype=np.uint8)))
        >>> m.index, m.score
        (2, 0.31)
    """

    index: int
    score: float
    image: Image


class ClipScorer:
    """Embeds texts and images with a CLIP model and ranks images by similarity to a prompt.

    Args:
        model: A CLIP folder, or a spec whose source holds one (weights are never downloaded here).
        device: ``cpu``, ``cuda:N`` or ``mps``.

    Raises:
        ModelNotAvailableError: The folder (or the spec's weights) is not on this machine.
        ModelLoadError: The folder is not a loadable CLIP model.

    Example:
        >>> clip = ClipScorer("models/clip-vit-base-patch32")  # doctest: +SKIP
        >>> [m.index for m in clip.rerank("a red fox", ["fox.jpg", "sea.jpg"])]  # doctest: +SKIP
        [0, 1]
    """

    def __init__(self, model: str | Path | ModelSpec, *, device: str = "cpu") -> None:
        require("torch", extra="image", feature="CLIP scoring")
        transformers = require("transformers", extra="image", feature="CLIP scoring")
        if isinstance(model, ModelSpec):
            path = resolve_weights(model)
            self.model_id = model.id
        else:
            path = Path(model).expanduser()
            self.model_id = str(path)
            if not path.is_dir():
                from aigc_sdk.errors import ModelNotAvailableError

                raise ModelNotAvailableError(f"no CLIP folder at {path}", hint="copy a CLIP model folder there")
        self.path = path
        self.device = device
        self._lock = threading.Lock()
        with map_errors(f"could not load CLIP from {path}", to=ModelLoadError):
            self._model = transformers.CLIPModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model.eval().to(device)
        self._size, self._crop, self._mean, self._std = _preprocessing(path, self._model.config)
        self._max_tokens = int(self._model.config.text_config.max_position_embeddings)

    def to(self, device: str) -> ClipScorer:
        """Move the model to ``device``; returns ``self``.

        Example:
            >>> clip = clip.to("cuda:0")  # doctest: +SKIP
        """
        with map_errors(f"could not move CLIP to {device}", to=ModelLoadError):
            self._model.to(device)
        self.device = device
        return self

    def embed_texts(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit-length text embeddings, one row per text.

        Example:
            >>> clip.embed_texts(["a red fox", "a calm sea"]).shape  # doctest: +SKIP
            (2, 512)
        """
        items = [str(t) for t in texts]
        if not items or any(not t.strip() for t in items):
            raise InvalidRequestError("embed_texts needs at least one non-empty text")
        tokens = self._tokenizer(
            items, padding=True, truncation=True, max_length=self._max_tokens, return_tensors="pt"
        ).to(self.device)
        return self._encode("text", dict(tokens))

    def embed_images(self, images: Sequence[ImageLike]) -> npt.NDArray[np.float32]:
        """Unit-length image embeddings, one row per image (``Image`` values or file paths).

        Example:
            >>> clip.embed_images(["fox.jpg"]).shape  # doctest: +SKIP
            (1, 512)
        """
        if not images:
            raise InvalidRequestError("embed_images needs at least one image")
        torch = require("torch", extra="image", feature="CLIP scoring")
        pixels = np.stack([self._pixels(_as_image(i)) for i in images])
        return self._encode("image", {"pixel_values": torch.from_numpy(pixels).to(self.device)})

    def score(self, prompt: str, images: Sequence[ImageLike]) -> npt.NDArray[np.float32]:
        """Cosine similarity of ``prompt`` to each image, in input order.

        Example:
            >>> clip.score("a red fox", ["fox.jpg", "sea.jpg"]).round(2)  # doctest: +SKIP
            array([0.31, 0.12], dtype=float32)
        """
        text = self.embed_texts([prompt])
        scores: npt.NDArray[np.float32] = (self.embed_images(images) @ text[0]).astype(np.float32)
        return scores

    def rerank(self, prompt: str, images: Sequence[ImageLike]) -> list[ClipMatch]:
        """Images ordered from best to worst match for ``prompt``, with their scores.

        Ties keep input order.

        Example:
            >>> best = clip.rerank("a red fox", candidates)[0]  # doctest: +SKIP
            >>> best.index, round(best.score, 2)  # doctest: +SKIP
            (3, 0.33)
        """
        values = [_as_image(i) for i in images]
        scores = self.score(prompt, values)
        order = sorted(range(len(values)), key=lambda i: (-float(scores[i]), i))
        return [ClipMatch(index=i, score=float(scores[i]), image=values[i]) for i in order]

    def close(self) -> None:
        """Drop the model.

        Example:
            >>> clip.close()  # doctest: +SKIP
        """
        self._model = None

    def _encode(self, kind: str, inputs: dict[str, Any]) -> npt.NDArray[np.float32]:
        """The only place the model runs."""
        torch = sys.modules["torch"]
        if self._model is None:
            raise GenerationError(f"CLIP {self.model_id} is closed")
        with self._lock, torch.inference_mode(), map_errors(f"CLIP {kind} encoding failed"):
            if kind == "text":
                features = self._model.get_text_features(**inputs)
            else:
                features = self._model.get_image_features(**inputs)
            features = getattr(features, "pooler_output", features)
            features = torch.nn.functional.normalize(features.float(), dim=-1)
            return np.asarray(features.cpu().numpy(), dtype=np.float32)

    def _pixels(self, image: Image) -> npt.NDArray[np.float32]:
        pil_image = require("PIL.Image", extra="image", feature="images")
        pil = image.pil.convert("RGB")
        w, h = pil.size
        scale = self._size / min(w, h)
        pil = pil.resize((max(1, round(w * scale)), max(1, round(h * scale))), pil_image.Resampling.BICUBIC)
        cw, ch = self._crop
        left, top = (pil.width - cw) // 2, (pil.height - ch) // 2
        pil = pil.crop((left, top, left + cw, top + ch))
        offset = np.asarray(self._mean, dtype=np.float32) * 255.0
        factor = 1.0 / (np.asarray(self._std, dtype=np.float32) * 255.0)
        arr = (np.asarray(pil, dtype=np.float32) - offset) * factor
        return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)


def _as_image(value: ImageLike) -> Image:
    return value if isinstance(value, Image) else Image.load(value)


def _preprocessing(path: Path, config: Any) -> tuple[int, tuple[int, int], tuple[float, ...], tuple[float, ...]]:
    side = int(config.vision_config.image_size)
    size, crop = side, (side, side)
    mean: tuple[float, ...] = _MEAN
    std: tuple[float, ...] = _STD
    file = path / "preprocessor_config.json"
    if file.is_file():
        with map_errors(f"unreadable {file}", to=ModelLoadError):
            data = json.loads(file.read_text(encoding="utf-8"))
        raw_size = data.get("size", size)
        size = int(raw_size.get("shortest_edge", side) if isinstance(raw_size, dict) else raw_size)
        raw_crop = data.get("crop_size", side)
        crop = (
            (int(raw_crop.get("width", side)), int(raw_crop.get("height", side)))
            if isinstance(raw_crop, dict)
            else (int(raw_crop), int(raw_crop))
        )
        mean = tuple(float(v) for v in data.get("image_mean", mean))
        std = tuple(float(v) for v in data.get("image_std", std))
    return size, crop, mean, std
