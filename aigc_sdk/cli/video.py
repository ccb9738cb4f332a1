"""CLI command ``aigc video``: a short clip from a prompt, or a still animated, with a video diffusion model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_sdk.cli._common import cli_errors, console, print_json

HELP = """Generate a short clip from a prompt (text-to-video), or animate a still with --image (image-to-video).

Runs through the Studio (the scheduler places the model and checks its memory). Without --model the default
text-to-video model is used (wan2.1-t2v-1.3b, once its folder is fetched: see docs/video-generation.md).

Example: aigc video "waves on a pier at dusk" --frames 33 --seed 7 -o pier.mp4

Example: aigc video "the tide comes in" --image pier.png --model wan2.2-ti2v-5b -o tide.mp4"""


def video(
    prompt: Annotated[str, typer.Argument(help="What happens in the clip.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="MP4 file.")] = Path("video.mp4"),
    image: Annotated[Path | None, typer.Option("--image", help="A still to animate (image-to-video).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Text-to-video model id.")] = None,
    frames: Annotated[int | None, typer.Option("--frames", help="Frames (the model's 4k+1 or 8k+1 counts).")] = None,
    width: Annotated[int | None, typer.Option("--width", help="Pixels (default: the model's).")] = None,
    height: Annotated[int | None, typer.Option("--height", help="Pixels (default: the model's).")] = None,
    fps: Annotated[int | None, typer.Option("--fps", help="Frame rate (default: the model's).")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Denoising steps (default: the model's).")] = None,
    guidance: Annotated[float | None, typer.Option("--guidance", help="Classifier-free guidance scale.")] = None,
    negative: Annotated[str | None, typer.Option("--negative", help="What to avoid.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (drawn when left out).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the saved file and provenance as JSON.")] = False,
) -> None:
    """Generate a clip through the Studio and publish it with provenance."""
    from aigc_sdk.studio import Studio
    from aigc_sdk.types import VideoGenerationRequest

    with cli_errors():
        fields: dict[str, Any] = {
            "image": image, "frames": frames, "width": width, "height": height, "fps": fps, "steps": steps,
            "guidance": guidance, "negative_prompt": negative, "seed": seed,
        }  # fmt: skip
        request = VideoGenerationRequest(prompt=prompt, **{k: v for k, v in fields.items() if v is not None})
        with Studio() as studio:
            result = studio.run(request, model=model)
        path = result.save(output)
    if as_json:
        print_json({"file": str(path), "provenance": result.provenance.to_dict()})
    else:
        console.print(f"[green]saved[/] {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app (``aigc video``).

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
    app.command(name="video", help=HELP)(video)
