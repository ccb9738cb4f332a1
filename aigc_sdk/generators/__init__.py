"""Generators: one backend per file, grouped by modality, all implementing :class:`Generator`.

Example:
    >>> from aigc_sdk.generators import BaseGenerator, Generator
    >>> issubclass(BaseGenerator, object)
    True
"""

from aigc_sdk.generators.base import BaseGenerator, Generator

__all__ = ["BaseGenerator", "Generator"]
