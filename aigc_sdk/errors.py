"""The aigc_sdk error tree.

Every error the SDK raises on purpose is an :class:`AigcError`. Each carries a
``hint`` (what to do about it) and a ``retryable`` flag (whether the same call
may succeed later without changes). Misuse errors also subclass the builtin
they resemble, so ``except ValueError`` / ``except ImportError`` /
``except KeyError`` keep working::

    AigcError
    ├── InvalidRequestError (+ ValueError)       bad input, rejected at the edge
    ├── MissingDependencyError (+ ImportError)   an optional extra is not installed
    ├── ModelError
    │   ├── UnknownModelError (+ KeyError)       no such model id in the registry
    │   ├── ModelNotAvailableError               weights not on disk, download not allowed
    │   ├── ModelIntegrityError                  a file's hash differs from the lock
    │   ├── UnsafeModelError                     pickle / remote code refused by policy
    │   └── ModelLoadError                       the backend failed to load the weights
    ├── SchedulerError
    │   ├── SchedulerBusyError                   queue full: back-pressure (retryable)
    │   ├── SchedulerClosedError                 the scheduler was shut down
    │   ├── RequestTimeoutError                  the request waited too long (retryable)
    │   ├── RequestCancelledError                the request was cancelled
    │   └── OutOfDeviceMemoryError               did not fit even alone (retryable)
    ├── GenerationError                          the backend failed while generating
    ├── MediaError                               reading, writing or encoding media failed
    └── PipelineError                            a pipeline step failed
        └── PipelineCancelledError               the run was cancelled (finished stages stay cached)

Example:
    >>> from aigc_sdk.errors import InvalidRequestError
    >>> err = InvalidRequestError("width must be a multiple of 8", hint="use 512")
    >>> isinstance(err, ValueError), err.retryable
    (True, False)
    >>> print(err)
    width must be a multiple of 8 (hint: use 512)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

__all__ = [
    "AigcError",
    "GenerationError",
    "InvalidRequestError",
    "MediaError",
    "MissingDependencyError",
    "ModelError",
    "ModelIntegrityError",
    "ModelLoadError",
    "ModelNotAvailableError",
    "OutOfDeviceMemoryError",
    "PipelineCancelledError",
    "PipelineError",
    "RequestCancelledError",
    "RequestTimeoutError",
    "SchedulerBusyError",
    "SchedulerClosedError",
    "SchedulerError",
    "UnknownModelError",
    "UnsafeModelError",
    "map_errors",
]


class AigcError(Exception):
    """Base of every error the SDK raises on purpose.

    Args:
        message: What went wrong, in one sentence.
        hint: What the caller can do about it.
        retryable: Whether the same call may succeed later unchanged.

    Example:
        >>> try:
        ...     raise AigcError("boom", hint="try again", retryable=True)
        ... except AigcError as e:
        ...     (e.message, e.hint, e.retryable)
        ('boom', 'try again', True)
    """

    default_hint: str | None = None
    default_retryable: bool = False

    def __init__(self, message: str, *, hint: str | None = None, retryable: bool | None = None) -> None:
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.retryable = self.default_retryable if retryable is None else retryable
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keep hint/retryable across pickling (process pools, Ray).
        return (_rebuild, (type(self), self.message, self.hint, self.retryable, self.__dict__))


def _rebuild(
    cls: type[AigcError], message: str, hint: str | None, retryable: bool, state: dict[str, object]
) -> AigcError:
    err = cls.__new__(cls)
    AigcError.__init__(err, message, hint=hint, retryable=retryable)
    err.__dict__.update(state)
    return err


class InvalidRequestError(AigcError, ValueError):
    """The request or an argument is invalid; nothing was generated.

    Example:
        >>> from aigc_sdk.types import TextRequest
        >>> try:
        ...     TextRequest(prompt="")
        ... except InvalidRequestError as e:
        ...     "prompt" in str(e)
        True
    """

    default_hint = "fix the argument named in the message; see the request model's field docs"


class MissingDependencyError(AigcError, ImportError):
    """An optional dependency is missing; the message names the extra to install.

    Args:
        package: The importable module that is missing.
        extra: The aigc-studio extra that brings it.
        feature: What needed it.

    Example:
        >>> e = MissingDependencyError(package="piper", extra="voice", feature="the Piper voice")
        >>> e.install_command
        'pip install "aigc-studio[voice]"'
    """

    def __init__(self, *, package: str, extra: str, feature: str | None = None) -> None:
        self.package = package
        self.extra = extra
        self.install_command = f'pip install "aigc-studio[{extra}]"'
        what = f" (needed for {feature})" if feature else ""
        super().__init__(f"the optional package '{package}' is not installed{what}", hint=self.install_command)
        self.name = package


class ModelError(AigcError):
    """Base of errors about finding, checking or loading a model.

    Example:
        >>> issubclass(UnknownModelError, ModelError)
        True
    """


class UnknownModelError(ModelError, KeyError):
    """No model with that id (or no default for that task) is registered.

    Args:
        model_id: The id that was asked for.
        known: The ids that are registered, listed in the message.

    Example:
        >>> e = UnknownModelError("nope", known=["en-joe", "whisper-tiny-en"])
        >>> str(e)
        "unknown model 'nope'; known: en-joe, whisper-tiny-en (hint: run `aigc models list` to see every model)"
    """

    default_hint = "run `aigc models list` to see every model"

    def __init__(self, model_id: str, *, known: Iterable[str] = (), hint: str | None = None) -> None:
        self.model_id = model_id
        self.known = sorted(known)
        listing = ", ".join(self.known) if self.known else "none registered"
        super().__init__(f"unknown model {model_id!r}; known: {listing}", hint=hint)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return AigcError.__str__(self)


class ModelNotAvailableError(ModelError):
    """The model's weights are not on this machine and downloading is not allowed.

    The hint holds the exact command that fetches them.

    Example:
        >>> e = ModelNotAvailableError("sd-turbo is not cached", hint="huggingface-cli download stabilityai/sd-turbo")
        >>> e.hint.startswith("huggingface-cli")
        True
    """


class ModelIntegrityError(ModelError):
    """A model file's sha256 differs from the hash recorded in its spec.

    Example:
        >>> ModelIntegrityError("model.onnx: sha256 mismatch").retryable
        False
    """

    default_hint = "re-download the file, or update the spec's hash if the change is intended"


class UnsafeModelError(ModelError):
    """Loading was refused by policy (pickle weights, remote code, unsafe path).

    Example:
        >>> UnsafeModelError("pytorch_model.bin is a pickle").hint
        'use safetensors/ONNX/GGUF weights, or set allow_pickle=True on a spec you trust'
    """

    default_hint = "use safetensors/ONNX/GGUF weights, or set allow_pickle=True on a spec you trust"


class ModelLoadError(ModelError):
    """The backend failed to load the model; other models keep serving.

    Example:
        >>> ModelLoadError("config.json is missing").retryable
        False
    """


class SchedulerError(AigcError):
    """Base of errors raised by the scheduler about a request's life.

    Example:
        >>> issubclass(SchedulerBusyError, SchedulerError)
        True
    """


class SchedulerBusyError(SchedulerError):
    """The model's queue is full (back-pressure); retry later.

    Example:
        >>> SchedulerBusyError("queue for en-joe is full").retryable
        True
    """

    default_hint = "retry after a short wait, or raise the queue size"
    default_retryable = True


class SchedulerClosedError(SchedulerError):
    """The scheduler was shut down; no new work is accepted.

    Example:
        >>> SchedulerClosedError("scheduler is closed").retryable
        False
    """


class RequestTimeoutError(SchedulerError, TimeoutError):
    """The request did not finish within its timeout.

    Example:
        >>> isinstance(RequestTimeoutError("waited 30 s"), TimeoutError)
        True
    """

    default_retryable = True


class RequestCancelledError(SchedulerError):
    """The request was cancelled before it finished.

    Example:
        >>> RequestCancelledError("cancelled by caller").retryable
        False
    """


class OutOfDeviceMemoryError(SchedulerError, MemoryError):
    """The request did not fit on its device even when run alone.

    Example:
        >>> OutOfDeviceMemoryError("1024x1024 on cuda:0").retryable
        True
    """

    default_hint = "lower the size / batch, free the device, or enable CPU offload"
    default_retryable = True


class GenerationError(AigcError):
    """The backend failed while generating; the cause is chained.

    Example:
        >>> GenerationError("ONNX session failed").retryable
        False
    """


class MediaError(AigcError):
    """Reading, writing, probing or encoding a media file failed.

    Example:
        >>> MediaError("not a WAV file").hint is None
        True
    """


class PipelineError(AigcError):
    """A pipeline step failed; the step name is in the message.

    Example:
        >>> PipelineError("step 'narration' failed").retryable
        False
    """


class PipelineCancelledError(PipelineError):
    """The pipeline run was cancelled; finished stages stay cached, so a rerun resumes.

    Example:
        >>> issubclass(PipelineCancelledError, PipelineError)
        True
    """

    default_hint = "run it again to resume from the last finished stage"
    default_retryable = True


@contextlib.contextmanager
def map_errors(message: str, *, to: type[AigcError] = GenerationError) -> Iterator[None]:
    """Re-raise third-party exceptions inside the block as an SDK error.

    SDK errors pass through unchanged; anything else becomes ``to(message)``
    with the original chained as ``__cause__`` (never swallowed).

    Example:
        >>> try:
        ...     with map_errors("decoding failed", to=MediaError):
        ...         raise OSError("bad header")
        ... except MediaError as e:
        ...     (str(e), type(e.__cause__).__name__)
        ('decoding failed: bad header', 'OSError')
    """
    try:
        yield
    except AigcError:
        raise
    except Exception as exc:
        raise to(f"{message}: {exc}") from exc
