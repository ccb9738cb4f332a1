"""aigc_sdk: generate text, images, speech, music and video, and compose them into pipelines.

``import aigc_sdk`` is cheap: public names are imported on first use, and no
heavy library (torch, transformers, diffusers, TTS, librosa, moviepy) is
imported until a generator needs it.

Example:
    >>> import aigc_sdk
    >>> req = aigc_sdk.SpeechRequest(prompt="Good evening.")
    >>> req.speed
    1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigc_sdk._internal.lazy import lazy_exports
from aigc_sdk._version import __version__
from aigc_sdk.errors import (
    AigcError,
    GenerationError,
    InvalidRequestError,
    MediaError,
    MissingDependencyError,
    ModelError,
    ModelIntegrityError,
    ModelLoadError,
    ModelNotAvailableError,
    OutOfDeviceMemoryError,
    PipelineCancelledError,
    PipelineError,
    RequestCancelledError,
    RequestTimeoutError,
    SchedulerBusyError,
    SchedulerClosedError,
    SchedulerError,
    UnknownModelError,
    UnsafeModelError,
)

if TYPE_CHECKING:
    from aigc_sdk.generators.base import BaseGenerator, Generator
    from aigc_sdk.media import Audio, Image, Video
    from aigc_sdk.provenance import Provenance
    from aigc_sdk.registry import HubSource, LocalSource, ModelRegistry, ModelSpec, PackageSource
    from aigc_sdk.runtime import GpuScheduler
    from aigc_sdk.studio import Studio, default_studio, embed, image, music, speech, text, transcribe, video
    from aigc_sdk.types import (
        AudioResult,
        EmbeddingResult,
        EmbedRequest,
        ImageRequest,
        ImageResult,
        MusicRequest,
        Segment,
        SpeechRequest,
        Task,
        TextRequest,
        TextResult,
        TranscribeRequest,
        TranscriptResult,
        VideoRequest,
        VideoResult,
        Word,
    )

# public name -> module that defines it (imported on first access, like diffusers)
_LAZY: dict[str, str] = {
    "BaseGenerator": "aigc_sdk.generators.base",
    "Generator": "aigc_sdk.generators.base",
    "Audio": "aigc_sdk.media",
    "Image": "aigc_sdk.media",
    "Video": "aigc_sdk.media",
    "Provenance": "aigc_sdk.provenance",
    "HubSource": "aigc_sdk.registry",
    "LocalSource": "aigc_sdk.registry",
    "ModelSpec": "aigc_sdk.registry",
    "PackageSource": "aigc_sdk.registry",
    "ModelRegistry": "aigc_sdk.registry",
    "GpuScheduler": "aigc_sdk.runtime",
    **{
        name: "aigc_sdk.studio"
        for name in ("Studio", "default_studio", "embed", "image", "music", "speech", "text", "transcribe", "video")
    },
    **{
        name: "aigc_sdk.types"
        for name in (
            "AudioResult",
            "EmbedRequest",
            "EmbeddingResult",
            "ImageRequest",
            "ImageResult",
            "MusicRequest",
            "Segment",
            "SpeechRequest",
            "Task",
            "TextRequest",
            "TextResult",
            "TranscribeRequest",
            "TranscriptResult",
            "VideoRequest",
            "VideoResult",
            "Word",
        )
    },
}

__all__ = [
    "AigcError",
    "Audio",
    "AudioResult",
    "BaseGenerator",
    "EmbedRequest",
    "EmbeddingResult",
    "GenerationError",
    "Generator",
    "GpuScheduler",
    "HubSource",
    "Image",
    "ImageRequest",
    "ImageResult",
    "InvalidRequestError",
    "LocalSource",
    "MediaError",
    "MissingDependencyError",
    "ModelError",
    "ModelIntegrityError",
    "ModelLoadError",
    "ModelNotAvailableError",
    "ModelRegistry",
    "ModelSpec",
    "MusicRequest",
    "OutOfDeviceMemoryError",
    "PackageSource",
    "PipelineCancelledError",
    "PipelineError",
    "Provenance",
    "RequestCancelledError",
    "RequestTimeoutError",
    "SchedulerBusyError",
    "SchedulerClosedError",
    "SchedulerError",
    "Segment",
    "SpeechRequest",
    "Studio",
    "Task",
    "TextRequest",
    "TextResult",
    "TranscribeRequest",
    "TranscriptResult",
    "UnknownModelError",
    "UnsafeModelError",
    "Video",
    "VideoRequest",
    "VideoResult",
    "Word",
    "__version__",
    "default_studio",
    "embed",
    "image",
    "music",
    "speech",
    "text",
    "transcribe",
    "video",
]


__getattr__ = lazy_exports(globals(), _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
