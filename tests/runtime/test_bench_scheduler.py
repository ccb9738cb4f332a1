"""``benchmarks/bench_scheduler.py`` in a reduced form: every shape kind, tiny, on the CPU (so it cannot rot).

The full shapes (GPT-2 medium, SD-1.5, whisper-base, musicgen-small) run on a GPU in ``make gpu-check``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import math

import pytest

from tests.runtime.helpers import BENCHMARKS
from tests.support import require_module

require_module("transformers", reason="needs the text extra")

import bench_scheduler  # noqa: E402  (benchmarks/ is on sys.path through tests.runtime.helpers)

ARGS = [
    "--shapes",
    "tiny",
    "--requests",
    "4",
    "--repeats",
    "1",
    "--new-tokens",
    "4",
    "--steps",
    "1",
    "--seconds",
    "0.5",
]
RATES = ("sequential_rps", "batched_rps", "scheduler_rps", "scheduler_vs_batched", "scheduler_vs_sequential")


@pytest.fixture(scope="module")
def printed() -> list[tuple[str, str]]:
    assert (BENCHMARKS / "bench_scheduler.py").is_file()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert bench_scheduler.main(ARGS) == 0
    return [
        (key, value.strip())
        for key, sep, value in (line.partition(": ") for line in out.getvalue().splitlines())
        if sep and not key.startswith("[")
    ]


def _ran(lines: dict[str, str]) -> list[str]:
    kinds = [k for k in bench_scheduler.KINDS if f"{k}_skipped" not in lines]
    if importlib.util.find_spec("diffusers") is None:  # a CI without the image extra skips only the diffusion shape
        assert lines["sd15_skipped"] == "diffusers not installed" and "sd15" not in kinds
    return kinds


def test_every_shape_prints_sane_ratios(printed: list[tuple[str, str]]) -> None:
    lines = dict(printed)
    assert lines["shapes"] == "tiny" and lines["device"] == "cpu"
    kinds = _ran(lines)
    assert {"lm", "whisper", "musicgen"} <= set(kinds)
    for kind in kinds:
        assert lines[f"{kind}_requests"] == "4" and lines[f"{kind}_dtype"] == "float32"
        for rate in RATES:
            value = float(lines[f"{kind}_{rate}"])
            assert math.isfinite(value) and value > 0, (kind, rate, value)
        # 4 requests, once hand-over + 1 timed round: every request answered, in batches of at most 4
        sizes = ast.literal_eval(lines[f"{kind}_scheduler_batch_sizes"])
        assert sum(size * count for size, count in sizes.items()) == 1 + 4 and max(sizes) <= 4
        # every shape seeds per request, so on the CPU (fp32) all three paths give the same results
        assert lines[f"{kind}_results_match_batched"] == "true", kind
        assert lines[f"{kind}_results_match_sequential"] == "true", kind


def test_the_language_model_keeps_its_unprefixed_lines_last(printed: list[tuple[str, str]]) -> None:
    lines = dict(printed)
    assert [key for key, _ in printed[-2:]] == ["scheduler_vs_batched", "scheduler_vs_sequential"]
    for key in ("requests", "new_tokens", "repeats", "results_match_batched", *RATES):
        assert lines[key] == lines[f"lm_{key}"], key
    assert lines["new_tokens"] == "4" and lines["whisper_new_tokens"] == "4" and lines["musicgen_seconds"] == "0.5"


def test_only_picks_shapes_and_rejects_unknown_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_scheduler.main([*ARGS, "--only", "whisper"]) == 0
    keys = [line.partition(":")[0] for line in capsys.readouterr().out.splitlines()]
    assert "whisper_scheduler_vs_batched" in keys
    assert not any(k.startswith(("lm_", "sd15_", "musicgen_")) for k in keys) and "scheduler_vs_batched" not in keys
    with pytest.raises(SystemExit) as info:
        bench_scheduler.main(["--only", "lm,gpt5"])
    assert info.value.code == 2
    assert "--only takes some of lm,sd15,whisper,musicgen" in capsys.readouterr().err
