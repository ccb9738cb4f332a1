"""The model registry: specs of every model the SDK knows, where their weights live, and the one loader.

Example:
    >>> from aigc_sdk.registry import ModelRegistry
    >>> ModelRegistry().resolve("text-to-speech").id
    'en-joe'
"""

from aigc_sdk.registry.loader import FileCheck, LoadPolicy, import_backend, load
from aigc_sdk.registry.memory import estimate_memory
from aigc_sdk.registry.registry import ModelRegistry, load_catalog
from aigc_sdk.registry.spec import HubSource, LocalSource, ModelSpec, PackageSource, Source
from aigc_sdk.registry.weights import fetch, fetch_command, is_available_offline, resolve_weights

__all__ = [
    "FileCheck",
    "HubSource",
    "LoadPolicy",
    "LocalSource",
    "ModelRegistry",
    "ModelSpec",
    "PackageSource",
    "Source",
    "estimate_memory",
    "fetch",
    "fetch_command",
    "import_backend",
    "is_available_offline",
    "load",
    "load_catalog",
    "resolve_weights",
]
