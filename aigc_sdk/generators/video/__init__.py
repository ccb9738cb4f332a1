"""Video generators: slideshow rendering (one backend per file).

Example:
    >>> from aigc_sdk.registry import ModelRegistry
    >>> ModelRegistry().resolve("images-to-video").id
    'slideshow'
"""
