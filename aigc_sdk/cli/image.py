"""CLI commands for images: ``aigc image generate`` (diffusion, through the Studio), ``card`` and ``chart``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_sdk.cli._common import cli_errors, console, print_json
from aigc_sdk.errors import InvalidRequestError

app = typer.Typer(
    help="Generate images, news cards and charts.\n\nExample: aigc image card --title 'Markets up' -o card.png",
    no_args_is_help=True,
)

GENERATE_HELP = """Generate images from a prompt with a diffusion model (through the Studio), or img2img with --image.

Without --model, the default text-to-image model is used (sd-turbo, once downloaded).

Example: aigc image generate "a lighthouse at dusk" --steps 4 --seed 7 -o lighthouse.png

Example: aigc image generate "oil painting" --image photo.jpg --strength 0.6 --model my-sd -o painted.png"""

CARD_HELP = """Render a news card (no model needed): title, body, bullets, quote, number, lower-third or location.

Example: aigc image card --title "Markets close higher" --kicker Markets --aspect 9:16 -o card.png

Example: aigc image card --layout number --value 4,189.77 --delta 0.93 --label "Composite close" -o number.png

Example: aigc image card --geojson examples/data/usgs_significant_week.geojson -o quake.png"""

CHART_HELP = """Render a line, bar or delta chart from a CSV file (no model needed).

Example: aigc image chart examples/data/market_close.csv --x date --y close --title "Composite" -o close.png

Example: aigc image chart examples/data/market_close.csv --kind delta --x date --y change_pct --unit % -o delta.png"""


def _print_paths(paths: list[Path], as_json: bool, **extra: Any) -> None:
    if as_json:
        print_json({"files": [str(p) for p in paths], **extra})
    else:
        for path in paths:
            console.print(f"[green]saved[/] {path}", highlight=False)


def _theme(name: str, logo: Path | None, brand: str | None) -> Any:
    from aigc_sdk.generators.image.cards import THEMES

    if name not in THEMES:
        raise InvalidRequestError(f"unknown theme {name!r}", hint=f"use one of {', '.join(THEMES)}")
    update: dict[str, Any] = {}
    if logo is not None:
        update["logo"] = logo
    if brand is not None:
        update["brand"] = brand
    base = THEMES[name]
    return type(base)(**{**base.model_dump(), **update}) if update else base


def _size(aspect: str, width: int | None, height: int | None) -> tuple[int, int]:
    from aigc_sdk.generators.image.cards import aspect_size

    w, h = aspect_size(aspect)
    return (w if width is None else width, h if height is None else height)  # 0 is refused by the spec, not replaced


def generate(
    prompt: Annotated[str, typer.Argument(help="What to draw.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file (.png, .jpg, .webp).")] = Path("image.png"),
    model: Annotated[str | None, typer.Option("--model", "-m", help="Text-to-image model id.")] = None,
    negative: Annotated[str | None, typer.Option("--negative", help="What to avoid.")] = None,
    width: Annotated[int, typer.Option("--width", help="Pixels (multiple of 8).")] = 512,
    height: Annotated[int, typer.Option("--height", help="Pixels (multiple of 8).")] = 512,
    steps: Annotated[int | None, typer.Option("--steps", help="Denoising steps (default: the model's).")] = None,
    guidance: Annotated[float | None, typer.Option("--guidance", help="Classifier-free guidance scale.")] = None,
    sampler: Annotated[str | None, typer.Option("--sampler", help="euler, euler-a, dpm++, ddim, lcm, ...")] = None,
    num: Annotated[int, typer.Option("--num", "-n", help="Images to generate (seed, seed+1, ...).")] = 1,
    best_of: Annotated[int, typer.Option("--best-of", help="Candidates per image ranked by CLIP.")] = 1,
    image: Annotated[Path | None, typer.Option("--image", help="Init image for img2img.")] = None,
    strength: Annotated[float, typer.Option("--strength", help="img2img: how far to depart from --image.")] = 0.8,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (drawn when left out).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the saved files and provenance as JSON.")] = False,
) -> None:
    """Generate images through the Studio and save them with provenance."""
    from aigc_sdk.studio import Studio

    with cli_errors():
        fields: dict[str, Any] = {
            "negative_prompt": negative, "width": width, "height": height, "steps": steps, "guidance": guidance,
            "sampler": sampler, "num_outputs": num, "best_of": best_of, "seed": seed,
        }  # fmt: skip
        if image is not None:
            fields.update(image=image, strength=strength)
        with Studio() as studio:
            result = studio.image(prompt, model=model, **{k: v for k, v in fields.items() if v is not None})
        paths = result.save(output)
    _print_paths(paths, as_json, provenance=result.provenance.to_dict())


def card(
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file (.png, .jpg, .webp).")] = Path("card.png"),
    layout: Annotated[
        str, typer.Option("--layout", help="title, body, bullets, quote, number, lower-third or location.")
    ] = "title",
    aspect: Annotated[str, typer.Option("--aspect", help="16:9, 9:16, 1:1 or 4:5.")] = "16:9",
    width: Annotated[int | None, typer.Option("--width", help="Pixels (overrides --aspect).")] = None,
    height: Annotated[int | None, typer.Option("--height", help="Pixels (overrides --aspect).")] = None,
    kicker: Annotated[str | None, typer.Option("--kicker", help="Small label, e.g. MARKETS.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Headline.")] = None,
    subtitle: Annotated[str | None, typer.Option("--subtitle", help="Line under the title.")] = None,
    body: Annotated[str | None, typer.Option("--body", help="Paragraph (body, location layouts).")] = None,
    bullet: Annotated[list[str] | None, typer.Option("--bullet", help="A bullet (repeat for more).")] = None,
    quote: Annotated[str | None, typer.Option("--quote", help="Quote text.")] = None,
    attribution: Annotated[str | None, typer.Option("--attribution", help="Who said it.")] = None,
    value: Annotated[str | None, typer.Option("--value", help="The big number, formatted.")] = None,
    label: Annotated[str | None, typer.Option("--label", help="What the number is.")] = None,
    delta: Annotated[float | None, typer.Option("--delta", help="Change, shown with an arrow.")] = None,
    unit: Annotated[str, typer.Option("--unit", help="Unit of --delta.")] = "%",
    lat: Annotated[float | None, typer.Option("--lat", help="Latitude (location layout).")] = None,
    lon: Annotated[float | None, typer.Option("--lon", help="Longitude (location layout).")] = None,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="A location card from a GeoJSON file.")] = None,
    feature: Annotated[int, typer.Option("--feature", help="Which feature of --geojson (0 = first).")] = 0,
    source: Annotated[str | None, typer.Option("--source", help="Credit line.")] = None,
    theme: Annotated[str, typer.Option("--theme", help="newsroom, paper or night.")] = "newsroom",
    logo: Annotated[Path | None, typer.Option("--logo", help="Logo image, top right.")] = None,
    brand: Annotated[str | None, typer.Option("--brand", help="Brand text, top right.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the saved file and provenance as JSON.")] = False,
) -> None:
    """Render a card with CardRenderer and save it with provenance."""
    from aigc_sdk.generators.image.cards import CardRenderer, CardSpec
    from aigc_sdk.trust.publishing import publish

    with cli_errors():
        w, h = _size(aspect, width, height)
        fields: dict[str, Any] = {
            "width": w, "height": h, "kicker": kicker, "title": title, "subtitle": subtitle, "body": body,
            "quote": quote, "attribution": attribution, "value": value, "label": label, "delta": delta,
            "lat": lat, "lon": lon, "source": source, "theme": _theme(theme, logo, brand),
        }  # fmt: skip
        fields = {k: v for k, v in fields.items() if v is not None}
        if bullet:
            fields["bullets"] = tuple(bullet)
        if geojson is not None:
            try:
                features = json.loads(geojson.read_text(encoding="utf-8")).get("features", [])
            except (OSError, ValueError) as exc:
                raise InvalidRequestError(f"cannot read GeoJSON {geojson}: {exc}") from exc
            if not 0 <= feature < len(features):
                raise InvalidRequestError(
                    f"{geojson} has {len(features)} features; --feature {feature} is out of range"
                )
            spec = CardSpec.from_geojson(features[feature], **fields)
        else:
            spec = CardSpec(layout=layout, delta_unit=unit, **fields)
        image = CardRenderer().render(spec)
        path = publish(image, output)
    _print_paths([path], as_json, provenance=image.provenance.to_dict() if image.provenance else None)


def chart(
    table: Annotated[Path, typer.Argument(help="CSV file with a header row.")],
    x: Annotated[str, typer.Option("--x", help="Column on the x axis.")],
    y: Annotated[list[str], typer.Option("--y", help="Numeric column (repeat for more lines).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file (.png, .jpg, .webp).")] = Path("chart.png"),
    kind: Annotated[str, typer.Option("--kind", help="line, bar or delta.")] = "line",
    where: Annotated[list[str] | None, typer.Option("--where", help="Keep rows where COLUMN=VALUE.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Chart title.")] = None,
    subtitle: Annotated[str | None, typer.Option("--subtitle", help="Line under the title.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Credit line.")] = None,
    unit: Annotated[str, typer.Option("--unit", help="Suffix for values, e.g. %.")] = "",
    decimals: Annotated[int, typer.Option("--decimals", help="Decimals in value labels.")] = 2,
    aspect: Annotated[str, typer.Option("--aspect", help="16:9, 9:16, 1:1 or 4:5.")] = "16:9",
    theme: Annotated[str, typer.Option("--theme", help="newsroom, paper or night.")] = "newsroom",
    as_json: Annotated[bool, typer.Option("--json", help="Print the saved file and provenance as JSON.")] = False,
) -> None:
    """Render a chart with ChartRenderer and save it with provenance."""
    from aigc_sdk.generators.image.charts import ChartRenderer, ChartSpec
    from aigc_sdk.trust.publishing import publish

    with cli_errors():
        filters: dict[str, str] = {}
        for item in where or []:
            key, sep, val = item.partition("=")
            if not sep or not key:
                raise InvalidRequestError(f"--where takes COLUMN=VALUE, got {item!r}")
            filters[key] = val
        w, h = _size(aspect, None, None)
        spec = ChartSpec(
            kind=kind, x=x, y=tuple(y), where=filters, title=title, subtitle=subtitle, source=source, unit=unit,
            decimals=decimals, width=w, height=h, theme=_theme(theme, None, None),
        )  # fmt: skip
        image = ChartRenderer().render(spec, table)
        path = publish(image, output)
    _print_paths([path], as_json, provenance=image.provenance.to_dict() if image.provenance else None)


app.command(name="generate", help=GENERATE_HELP)(generate)
app.command(name="card", help=CARD_HELP)(card)
app.command(name="chart", help=CHART_HELP)(chart)


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root app (as the ``aigc image`` group).

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
    root.add_typer(app, name="image")
