"""Private helpers: optional imports, atomic files, hashing, ffmpeg, fonts, settings.

Nothing here is public API; names may change without notice.
"""
