"""Line, bar and delta charts from tabular data, drawn with matplotlib (Agg) in a card :class:`Theme`.

Like cards, charts are renderers, not generators: a :class:`ChartSpec` plus rows (a CSV file or a
sequence of mappings) go in, an :class:`~aigc_sdk.media.Image` with provenance comes out
(``model_id="chart-renderer"``). The font is chosen by glyph coverage exactly as for cards, so Chinese
titles and labels render with Noto Sans CJK. Install with ``pip install "aigc-studio[image]"``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from aigc_sdk._internal.languages import TAG_PATTERN, primary_language
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.textlayout import FontFace, balanced_lines, shared_book
from aigc_sdk.errors import InvalidRequestError, MediaError, map_errors
from aigc_sdk.generators.image.cards import Theme
from aigc_sdk.media import Image
from aigc_sdk.provenance import Provenance, library_versions

__all__ = ["ChartRenderer", "ChartSpec", "load_table"]

Rows = Sequence[Mapping[str, Any]]
_FONT_LOCK = threading.Lock()
_REGISTERED: set[Path] = set()


def load_table(path: str | Path) -> list[dict[str, str]]:
    r"""Read a CSV file (header row first) into a list of row dicts.

    Raises:
        MediaError: The file cannot be read or has no header.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = p.write_text("date,close\n2026-11-24,4151.02\n")
        >>> load_table(p)
        [{'date': '2026-11-24', 'close': '4151.02'}]
    """
    source = Path(path)
    with map_errors(f"could not read table {source}", to=MediaError):
        text = source.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise MediaError(f"{source} has no header row")
    return [dict(row) for row in reader]


class ChartSpec(FrozenModel):
    """What a chart shows.

    ``line``: one line per ``y`` column over ``x``; ``bar``: bars of the ``y`` column;
    ``delta``: bars of the ``y`` column coloured by sign (rises/falls), labelled with ``unit``. Bars and deltas
    draw one column: several ``y`` columns are an error there.

    Example:
        >>> ChartSpec(kind="delta", x="date", y="change_pct", unit="%", title="Daily change").y
        ('change_pct',)
    """

    kind: Literal["line", "bar", "delta"] = "line"
    x: str = Field(min_length=1, description="Column on the x axis (categories or dates).")
    y: tuple[str, ...] = Field(min_length=1, max_length=5, description="Numeric column(s) to plot.")
    where: dict[str, str] = Field(default_factory=dict, description="Keep rows whose columns equal these values.")
    title: str | None = Field(default=None, max_length=200)
    subtitle: str | None = Field(default=None, max_length=300)
    source: str | None = Field(default=None, max_length=200, description="Credit line at the bottom.")
    caption_band: float = Field(
        default=0.0, ge=0.0, le=0.5,
        description="Share of the height at the bottom kept free: the axis and its labels stay above captions.",
    )  # fmt: skip
    unit: str = Field(default="", max_length=8, description="Suffix for values, e.g. '%'.")
    decimals: int = Field(default=2, ge=0, le=6)
    width: int = Field(default=1920, ge=160, le=7680)
    height: int = Field(default=1080, ge=160, le=7680)
    theme: Theme = Field(default_factory=Theme)
    language: str = Field(
        default="en", max_length=35, pattern=TAG_PATTERN,
        description="Language of the date labels: '2 Dec' in English, '12月2日' in Chinese.",
    )  # fmt: skip

    @field_validator("y", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_series_for_bars(self) -> Self:
        if self.kind != "line" and len(self.y) > 1:
            raise InvalidRequestError(
                f"a {self.kind!r} chart draws one column, got {len(self.y)}: {', '.join(self.y)}",
                hint="give one y column, or use kind='line' to draw several",
            )
        return self


def _label(value: str, language: str = "en") -> str:
    """A date on the x axis as a reader of ``language`` writes it short; any other value as it is.

    Example:
        >>> _label("2026-12-02"), _label("2026-12-02", "zh-CN"), _label("Q3")
        ('2 Dec', '12月2日', 'Q3')
    """
    try:
        day = _dt.date.fromisoformat(value.strip())
    except ValueError:
        return value
    if primary_language(language) == "zh":
        return f"{day.month}月{day.day}日"
    return f"{day.day} {day:%b}"


class ChartRenderer:
    """Draws :class:`ChartSpec` charts with matplotlib's Agg backend (thread-safe object API, no pyplot).

    Example:
        >>> rows = [{"day": "Mon", "n": 3}, {"day": "Tue", "n": 5}]
        >>> img = ChartRenderer().render(ChartSpec(kind="bar", x="day", y="n", width=320, height=180), rows)
        >>> img.size, img.provenance.model_id
        ((320, 180), 'chart-renderer')
    """

    model_id = "chart-renderer"

    def render(self, spec: ChartSpec, data: Rows | str | Path) -> Image:
        """Render ``spec`` from ``data`` (rows, or a CSV path) to an RGB image with provenance.

        Raises:
            InvalidRequestError: A column is missing, a value is not a number, or no rows are left.

        Example:
            >>> img = ChartRenderer().render(ChartSpec(x="date", y="close", title="收盘"),
            ...                              "examples/data/market_close.csv")  # doctest: +SKIP
        """
        rows: list[Mapping[str, Any]] = list(load_table(data) if isinstance(data, str | Path) else data)
        xs, series = _columns(spec, rows)
        theme = spec.theme
        texts = [spec.title or "", spec.subtitle or "", spec.source or "", *xs, *spec.y]
        face = _face_for(" ".join(texts), theme)
        figure = require("matplotlib.figure", extra="image", feature="charts")
        backend = require("matplotlib.backends.backend_agg", extra="image", feature="charts")
        patheffects = require("matplotlib.patheffects", extra="image", feature="charts")
        family = _register(face)
        dpi = 100.0
        fig = figure.Figure(figsize=(spec.width / dpi, spec.height / dpi), dpi=dpi, facecolor=theme.background)
        backend.FigureCanvasAgg(fig)
        u = min(spec.width, spec.height) / 100.0
        pt = 72.0 / dpi  # points per pixel
        m = theme.safe_margin

        def fx(px: float) -> float:
            return px / spec.width

        def fy(px: float) -> float:
            return px / spec.height

        top = 1 - m
        font = {"family": family}
        renderer = fig.canvas.get_renderer()
        if spec.title:
            title = fig.text(
                m, top, "", ha="left", va="top", color=theme.text, fontsize=5.2 * u * pt, fontweight="bold",
                linespacing=1.15, **font,
            )  # fmt: skip
            lines = balanced_lines(spec.title, (1 - 2 * m) * spec.width, _measure(title, renderer))
            title.set_text("\n".join(lines))  # a narrow (9:16) frame wraps a headline; matplotlib would not
            top -= fy(7.2 * u + (len(lines) - 1) * 5.2 * u * 1.15)
        if spec.subtitle:
            fig.text(m, top, spec.subtitle, ha="left", va="top", color=theme.muted, fontsize=3.0 * u * pt, **font)
            top -= fy(4.6 * u)
        bottom = m
        if spec.source:
            fig.text(m, m, spec.source, ha="left", va="bottom", color=theme.muted, fontsize=2.2 * u * pt, **font)
            bottom += fy(4.0 * u)
        bottom = max(bottom, spec.caption_band)  # the credit may lie under a caption, the axis labels not
        left, right = m + fx(9 * u), 1 - m - fx(2 * u)
        ax = fig.add_axes((left, bottom + fy(5.0 * u), right - left, top - bottom - fy(8.0 * u)))
        self._style(ax, theme, u * pt, family)
        positions = list(range(len(xs)))
        fmt = f"{{:,.{spec.decimals}f}}{spec.unit}"
        if spec.kind == "line":
            self._lines(ax, positions, series, fmt, theme, u, pt, family)
        else:
            self._bars(ax, positions, next(iter(series.values())), fmt, spec, u, pt, family)
        labels = [_label(x, spec.language) for x in xs]
        probe = fig.text(0, 0, "", fontsize=2.4 * u * pt, **font)  # the ticks' font (see _style)
        shown = _every_nth(labels, (right - left) * spec.width, 2.4 * u, _measure(probe, renderer))
        probe.remove()
        ax.set_xticks(positions[::-1][::shown][::-1], labels[::-1][::shown][::-1])  # the latest always labelled
        ticks = [float(t) for t in ax.get_yticks()]
        places = next((p for p in range(5) if all(abs(t * 10**p - round(t * 10**p)) < 1e-6 for t in ticks)), 4)
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.{places}f}{spec.unit}")
        if _is_variable_cjk(face):
            # matplotlib draws the variable CJK font's thin default instance: a stroke gives it its weight.
            for text in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "set_path_effects")):
                bold = text.get_fontweight() in ("bold", 700, "heavy")
                width = float(text.get_fontsize()) * (0.075 if bold else 0.045)
                text.set_path_effects([patheffects.withStroke(linewidth=width, foreground=text.get_color())])
        with map_errors("chart rendering failed", to=MediaError):
            fig.canvas.draw()
            rgba = fig.canvas.buffer_rgba()
            pil_image = require("PIL.Image", extra="image", feature="charts")
            pil = pil_image.frombuffer("RGBA", fig.canvas.get_width_height(), bytes(rgba), "raw", "RGBA", 0, 1)
        provenance = Provenance(
            model_id=self.model_id,
            task="render-chart",
            backend=f"{type(self).__module__}.{type(self).__qualname__}",
            request={**spec.model_dump(mode="json"), "rows": len(xs)},
            versions=library_versions("matplotlib", "Pillow", "fonttools"),
            extra={
                "kind": spec.kind,
                "fonts": [{"family": face.family, "file": face.info.path.name, "license": face.license}],
            },
        )
        return Image(pil.convert("RGB"), provenance)

    @staticmethod
    def _lines(
        ax: Any,
        positions: list[int],
        series: dict[str, list[float]],
        fmt: str,
        theme: Theme,
        u: float,
        pt: float,
        family: str,
    ) -> None:
        """One line per series, its last value labelled; a legend when there are several."""
        font = {"family": family}
        palette = [theme.accent, theme.text, theme.muted, theme.positive, theme.negative]
        for i, (name, values) in enumerate(series.items()):
            color = palette[i % len(palette)]
            ax.plot(
                positions,
                values,
                color=color,
                linewidth=0.55 * u * pt * 2,
                marker="o",
                markersize=1.3 * u * pt * 2,
                label=name,
                solid_capstyle="round",
            )
            ax.annotate(
                fmt.format(values[-1]),
                (positions[-1], values[-1]),
                xytext=(0, 1.6 * u * pt * 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                color=color,
                fontsize=2.6 * u * pt,
                fontweight="bold",
                **font,
            )
        if len(series) > 1:
            legend = ax.legend(frameon=False, loc="upper left", prop={"family": family, "size": 2.4 * u * pt})
            for text in legend.get_texts():
                text.set_color(theme.muted)
        low = min(min(v) for v in series.values())
        high = max(max(v) for v in series.values())
        pad = (high - low) * 0.25 or abs(high) * 0.05 or 1.0
        ax.set_ylim(low - pad, high + pad)

    @staticmethod
    def _bars(
        ax: Any, positions: list[int], values: list[float], fmt: str, spec: ChartSpec, u: float, pt: float, family: str
    ) -> None:
        """Bars labelled with their values; deltas coloured by sign about a zero line."""
        font = {"family": family}
        if spec.kind == "delta":
            colors = [
                spec.theme.positive if v > 0 else spec.theme.negative if v < 0 else spec.theme.muted for v in values
            ]
            labels = [("+" if v > 0 else "") + fmt.format(v) for v in values]
            ax.axhline(0, color=spec.theme.muted, linewidth=0.25 * u * pt * 2)
        else:
            colors = [spec.theme.accent] * len(values)
            labels = [fmt.format(v) for v in values]
        bars = ax.bar(positions, values, color=colors, width=0.62)
        ax.bar_label(
            bars,
            labels=labels,
            padding=0.8 * u * pt * 2,
            color=spec.theme.text,
            fontsize=2.6 * u * pt,
            fontweight="bold",
            **font,
        )
        low, high = min(0.0, min(values)), max(0.0, max(values))
        pad = (high - low) * 0.18 or 1.0
        ax.set_ylim(low - (pad if low < 0 else 0), high + (pad if high > 0 else 0))

    @staticmethod
    def _style(ax: Any, theme: Theme, scale: float, family: str) -> None:
        ax.set_facecolor(theme.background)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color(theme.muted)
        ax.spines["bottom"].set_linewidth(scale * 0.5)
        ax.tick_params(colors=theme.muted, labelsize=2.4 * scale, length=0, pad=scale * 2.4)
        for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
            label.set_fontfamily(family)
        ax.grid(axis="y", color=theme.muted, alpha=0.22, linewidth=scale * 0.4)
        ax.set_axisbelow(True)
        ax.xaxis.label.set_color(theme.muted)


def _columns(spec: ChartSpec, rows: list[Mapping[str, Any]]) -> tuple[list[str], dict[str, list[float]]]:
    if not rows:
        raise InvalidRequestError("the table has no rows")
    columns = set(rows[0])
    for name in (spec.x, *spec.y, *spec.where):
        if name not in columns:
            raise InvalidRequestError(f"no column {name!r} in the table", hint=f"columns: {', '.join(sorted(columns))}")
    kept = [r for r in rows if all(str(r.get(k)) == v for k, v in spec.where.items())]
    if not kept:
        raise InvalidRequestError(f"no rows match {spec.where}")
    xs = [str(r[spec.x]) for r in kept]
    series: dict[str, list[float]] = {}
    for name in spec.y:
        values = []
        for r in kept:
            try:
                values.append(float(str(r[name]).replace(",", "")))
            except ValueError:
                raise InvalidRequestError(f"column {name!r} has a value that is not a number: {r[name]!r}") from None
        series[name] = values
    return xs, series


def _measure(text: Any, renderer: Any) -> Callable[[str], float]:
    """Width in pixels of a string drawn as matplotlib ``text`` is (its font, size and weight)."""

    def width(value: str) -> float:
        text.set_text(value)
        return float(text.get_window_extent(renderer).width)

    return width


def _every_nth(labels: list[str], axis_px: float, gap_px: float, measure: Callable[[str], float]) -> int:
    """Label every n-th tick so that no two labels touch on an axis ``axis_px`` wide (dates on a 9:16 chart)."""
    widest = max((measure(label) for label in labels), default=0.0) + gap_px
    slot = axis_px / max(len(labels), 1)
    return max(1, math.ceil(widest / slot))


def _face_for(text: str, theme: Theme) -> FontFace:
    book = shared_book(theme.fonts)
    runs = book.runs(text, bold=False)
    faces = {face.info.path: face for _, face in runs}
    if len(faces) == 1:
        return runs[0][1]
    # Mixed coverage: the first preferred family covering the most characters wins (matplotlib uses one font).
    return max((face for _, face in runs), key=lambda f: sum(len(t) for t, g in runs if g == f))


def _is_variable_cjk(face: FontFace) -> bool:
    return face.info.path.suffix.lower() in (".ttc", ".otc") and "-VF" in face.info.path.name


def _register(face: FontFace) -> str:
    font_manager = require("matplotlib.font_manager", extra="image", feature="charts")
    manager = font_manager.fontManager
    with _FONT_LOCK:
        if face.info.path not in _REGISTERED:
            manager.addfont(str(face.info.path))
            _REGISTERED.add(face.info.path)
            if _is_variable_cjk(face):
                # matplotlib reads the variable font's default instance (weight 100) and cannot switch
                # instances: list it as regular and bold too (strokes give the weight, see render()).
                entries = [e for e in manager.ttflist if e.fname == str(face.info.path)]
                for entry in entries:
                    for weight in (400, 700):
                        manager.ttflist.append(dataclasses.replace(entry, weight=weight))
                manager._findfont_cached.cache_clear()
    return face.family
