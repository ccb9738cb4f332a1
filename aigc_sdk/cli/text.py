"""CLI commands for text generation (registered on the root `aigc` app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_sdk.cli._common import cli_errors, print_json, read_text, write_text
from aigc_sdk.errors import InvalidRequestError

HELP = """Write text: continue a prompt with a language model, a news story from data with a template,
or a narration script from an article.

Example: aigc text "The council voted" --max-new-tokens 40 --seed 1

Example: aigc text --template usgs-earthquakes --data feed.geojson --language zh

Example: aigc text -t market-close -d ^GSPC.csv --name "S&P 500"

Example: aigc text -t market-close -d kurse.csv --map Zeit=date --map Schluss=close --name DAX

Example: aigc text --article article.md --seconds 45"""


def text(
    prompt: Annotated[str | None, typer.Argument(help="Prompt for the language model.")] = None,
    template: Annotated[
        str | None, typer.Option("--template", "-t", help="Built-in template name or a template file.")
    ] = None,
    data: Annotated[Path | None, typer.Option("--data", "-d", help="JSON / GeoJSON / CSV data for --template.")] = None,
    field_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a data column to a template field, COLUMN=FIELD (repeatable)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The story's subject (an index, a place) for --template.")
    ] = None,
    article: Annotated[
        Path | None, typer.Option("--article", "-a", help="Article (Markdown or text) to cut into a script.")
    ] = None,
    seconds: Annotated[float, typer.Option("--seconds", help="Target narration length for --article.")] = 60.0,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model id (default: the task's).")] = None,
    language: Annotated[str | None, typer.Option("--language", "-l", help="Output language: en or zh.")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="IANA zone for times in templates, e.g. Asia/Taipei.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="System message (chat models).")] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Most tokens to generate.")] = 128,
    temperature: Annotated[float, typer.Option("--temperature", help="0 is greedy.")] = 0.8,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling mass.")] = 0.95,
    top_k: Annotated[int, typer.Option("--top-k", help="Keep the k most likely tokens (0: off).")] = 0,
    repetition_penalty: Annotated[float, typer.Option("--repetition-penalty", help="Above 1 avoids repeats.")] = 1.1,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="Stop string (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded in provenance).")] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print the completion as it is generated.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the text to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result with provenance as JSON.")] = False,
) -> None:
    """Generate text through the Studio (prompt, template + data, or article)."""
    from aigc_sdk.studio import Studio
    from aigc_sdk.types import ScriptRequest, TemplateRequest, TextRequest

    with cli_errors():
        modes = [
            name for name, given in (("prompt", prompt), ("--template", template), ("--article", article)) if given
        ]
        if len(modes) != 1:
            raise InvalidRequestError(
                "give exactly one of: a prompt, --template (with --data), or --article",
                hint='aigc text "Once upon a time" | aigc text -t market-close -d closes.csv | aigc text -a story.md',
            )
        if template is None and (field_map or name):
            raise InvalidRequestError("--map and --name are for --template data", hint="leave them out")
        with Studio() as studio:
            result: Any
            if template is not None:
                if data is None:
                    raise InvalidRequestError("--template needs --data")
                request: Any = TemplateRequest(
                    template=template,
                    data=data,
                    language=language or "en",
                    timezone=timezone,
                    field_map=field_map,
                    name=name,
                    seed=seed,
                )
                result = studio.run(request, model=model)
                body = result.text
            elif article is not None:
                request = ScriptRequest(
                    prompt=read_text(article, "article "), target_seconds=seconds, language=language, seed=seed
                )
                result = studio.run(request, model=model)
                body = result.text
            else:
                request = TextRequest(
                    prompt=prompt or "",
                    system=system,
                    max_new_tokens=max_new_tokens,
                    temperature=temperature,
                    top_p=top_p,
                    top_k=top_k,
                    repetition_penalty=repetition_penalty,
                    stop=tuple(stop or ()),
                    language=language,
                    seed=seed,
                )
                result, body = _complete(studio, request, model, stream=stream and not as_json)
        if output is not None:
            write_text(output, body + "\n")
    if as_json and result is not None:
        print_json({**result.model_dump(mode="json"), "text": body})
    elif result is not None:
        sys.stdout.write(body + "\n")


def _complete(studio: Any, request: Any, model: str | None, *, stream: bool) -> tuple[Any, str]:
    """Run a prompt: the result and its text, or (streamed to stdout as it comes) no result and the text."""
    if not stream:
        result = studio.text(request, model=model)
        return result, result.text
    chunks = []
    with studio.generator("text-generation", model) as lm:
        for chunk in lm.stream(request):
            chunks.append(chunk)
            sys.stdout.write(chunk)
            sys.stdout.flush()
    sys.stdout.write("\n")
    return None, "".join(chunks)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app.

    Example:
        >>> import typer
        >>> register(typer.Typer())
    """
    app.command(name="text", help=HELP)(text)
