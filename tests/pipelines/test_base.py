from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aigc_sdk.errors import InvalidRequestError, PipelineCancelledError, PipelineError
from aigc_sdk.pipelines import Pipeline, PipelineEvent, Step, StepContext


class Text(BaseModel):
    text: str


class FileOut(BaseModel):
    path: Path
    size: int


def _upper(ctx: StepContext, inputs: dict[str, Any]) -> Text:
    return Text(text=inputs["text"].upper())


def _write(ctx: StepContext, inputs: dict[str, Any]) -> FileOut:
    path = ctx.workdir / "out.txt"
    path.write_text(inputs["upper"].text)
    return FileOut(path=path, size=path.stat().st_size)


def _pipeline(tmp_path: Path, **kw: Any) -> Pipeline:
    return Pipeline(
        "t",
        [
            Step("upper", _upper, Text, params=("text",)),
            Step("write", _write, FileOut, needs=("upper",)),
        ],
        cache_dir=tmp_path,
        **kw,
    )


def test_runs_in_dependency_order_and_moves_artifacts_to_the_stage_folder(tmp_path: Path) -> None:
    events: list[PipelineEvent] = []
    run = _pipeline(tmp_path, on_event=events.append).run({"text": "hello"})
    out = run.outputs["write"]
    assert isinstance(out, FileOut)
    assert out.path.read_text() == "HELLO"
    assert out.path.parent.name == run.keys["write"]  # final folder, not the partial one
    assert [e.status for e in events if e.step == "write"] == ["started", "done"]
    assert not list(tmp_path.rglob("*.partial"))


def test_second_run_reuses_every_stage_and_params_change_the_key(tmp_path: Path) -> None:
    pipe = _pipeline(tmp_path)
    first = pipe.run({"text": "hello"})
    second = pipe.run({"text": "hello"})
    assert second.reused == ["upper", "write"]
    assert second.outputs == first.outputs
    third = pipe.run({"text": "other"})
    assert third.reused == []
    assert third.keys["upper"] != first.keys["upper"]


def test_a_failed_stage_leaves_nothing_and_a_rerun_resumes(tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(ctx: StepContext, inputs: dict[str, Any]) -> FileOut:
        calls["n"] += 1
        (ctx.workdir / "half.txt").write_text("partial")
        if calls["n"] == 1:
            raise OSError("disk full")
        return _write(ctx, inputs)

    pipe = Pipeline(
        "t",
        [Step("upper", _upper, Text, params=("text",)), Step("write", flaky, FileOut, needs=("upper",))],
        cache_dir=tmp_path,
    )
    with pytest.raises(PipelineError, match="step 'write' failed: disk full") as info:
        pipe.run({"text": "x"})
    assert isinstance(info.value.__cause__, OSError)
    assert not list(tmp_path.rglob("half.txt"))
    again = pipe.run({"text": "x"})
    assert again.reused == ["upper"]
    assert again.outputs["write"].path.read_text() == "X"  # type: ignore[attr-defined]


def test_independent_steps_run_concurrently_and_map_keeps_order(tmp_path: Path) -> None:
    barrier = threading.Barrier(2, timeout=10)

    def meet(ctx: StepContext, inputs: dict[str, Any]) -> Text:
        barrier.wait()  # both must be running at the same time
        return Text(text=ctx.step)

    def fan(ctx: StepContext, inputs: dict[str, Any]) -> Text:
        return Text(text="".join(ctx.map(lambda s: s * 2, ["a", "b", "c"])))

    pipe = Pipeline(
        "c",
        [Step("a", meet, Text), Step("b", meet, Text), Step("fan", fan, Text, needs=("a", "b"))],
        cache_dir=tmp_path,
        max_workers=2,
    )
    assert pipe.run({}).outputs["fan"].text == "aabbcc"  # type: ignore[attr-defined]


def test_cancellation_keeps_finished_stages(tmp_path: Path) -> None:
    cancel = threading.Event()

    def slow(ctx: StepContext, inputs: dict[str, Any]) -> Text:
        cancel.set()
        ctx.progress(0.5)  # a cancellation point
        return Text(text="never")

    pipe = Pipeline(
        "k",
        [Step("upper", _upper, Text, params=("text",)), Step("slow", slow, Text, needs=("upper",))],
        cache_dir=tmp_path,
    )
    with pytest.raises(PipelineCancelledError):
        pipe.run({"text": "x"}, cancel=cancel)
    assert pipe.run({"text": "x"}, cancel=threading.Event()).reused == ["upper"]


def test_bad_definitions_and_missing_params(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="duplicate"):
        Pipeline("d", [Step("a", _upper, Text), Step("a", _upper, Text)], cache_dir=tmp_path)
    with pytest.raises(InvalidRequestError, match="unknown steps"):
        Pipeline("d", [Step("a", _upper, Text, needs=("zz",))], cache_dir=tmp_path)
    with pytest.raises(InvalidRequestError, match="cycle"):
        Pipeline(
            "d", [Step("a", _upper, Text, needs=("b",)), Step("b", _upper, Text, needs=("a",))], cache_dir=tmp_path
        )
    with pytest.raises(InvalidRequestError, match="missing parameters: text"):
        _pipeline(tmp_path).run({})
    wrong = Pipeline("w", [Step("a", lambda ctx, i: FileOut(path=Path("x"), size=1), Text)], cache_dir=tmp_path)  # type: ignore[arg-type,return-value]
    with pytest.raises(PipelineError, match="returned FileOut, not Text"):
        wrong.run({})


KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pydantic import BaseModel
    from aigc_sdk.pipelines import Pipeline, Step

    class T(BaseModel):
        text: str

    def first(ctx, inputs):
        Path(sys.argv[2]).write_text("first ran\\n") if not Path(sys.argv[2]).exists() else None
        return T(text="done")

    def second(ctx, inputs):
        if sys.argv[3] == "hang":
            print("in second", flush=True)
            time.sleep(60)
        return T(text=inputs["first"].text + "+second")

    run = Pipeline("killed", [Step("first", first, T), Step("second", second, T, needs=("first",))],
                   cache_dir=Path(sys.argv[1])).run({})
    print(run.reused, run.outputs["second"].text)
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
