from __future__ import annotations

import pickle
import re

import pytest

from aigc_sdk import errors
from aigc_sdk.errors import (
    AigcError,
    GenerationError,
    InvalidRequestError,
    MediaError,
    MissingDependencyError,
    ModelError,
    SchedulerBusyError,
    UnknownModelError,
    map_errors,
)


def test_every_error_is_in_the_tree_drawn_in_the_docstring() -> None:
    doc = errors.__doc__ or ""
    classes = [getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)]
    assert len(classes) >= 15
    for cls in classes:
        assert issubclass(cls, AigcError)
        assert re.search(rf"\b{cls.__name__}\b", doc), f"{cls.__name__} missing from the tree"
        assert cls.__doc__


def test_builtin_bases() -> None:
    assert issubclass(InvalidRequestError, ValueError)
    assert issubclass(MissingDependencyError, ImportError)
    assert issubclass(UnknownModelError, KeyError)
    assert issubclass(UnknownModelError, ModelError)


def test_hint_and_retryable_defaults_and_overrides() -> None:
    busy = SchedulerBusyError("queue full")
    assert busy.retryable and busy.hint
    assert not GenerationError("x").retryable
    assert GenerationError("x", retryable=True, hint="h").retryable
    assert str(GenerationError("x", hint="do y")) == "x (hint: do y)"


def test_missing_dependency_names_the_extra() -> None:
    err = MissingDependencyError(package="piper", extra="voice", feature="Piper voices")
    assert 'pip install "aigc-studio[voice]"' in str(err)
    assert err.name == "piper"


def test_unknown_model_lists_known_ids_without_keyerror_quoting() -> None:
    err = UnknownModelError("x", known=["b", "a"])
    assert str(err).startswith("unknown model 'x'; known: a, b")
    with pytest.raises(KeyError):
        raise err


@pytest.mark.parametrize(
    "err",
    [
        InvalidRequestError("bad", hint="fix"),
        SchedulerBusyError("busy"),
        MissingDependencyError(package="p", extra="e"),
        UnknownModelError("m", known=["n"]),
    ],
)
def test_errors_survive_pickling(err: AigcError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert (back.message, back.hint, back.retryable) == (err.message, err.hint, err.retryable)
    assert str(back) == str(err)


def test_map_errors_chains_and_passes_sdk_errors_through() -> None:
    with pytest.raises(MediaError) as info, map_errors("reading", to=MediaError):
        raise OSError("disk")
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(InvalidRequestError), map_errors("x"):
        raise InvalidRequestError("kept")
