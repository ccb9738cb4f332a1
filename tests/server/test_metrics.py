"""`GET /metrics`: jobs, queue depth and stage durations from the store; the shared Studio's scheduler counters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aigc_sdk import Studio
from aigc_sdk.types import TemplateRequest
from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
require_module("prometheus_client", reason="needs the server extra")

from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from aigc_sdk.server import StageProgress, create_app  # noqa: E402

MARKET = Path(__file__).resolve().parents[2] / "examples" / "data" / "market_close.csv"


@pytest.fixture(scope="module")
def studio() -> Iterator[Studio]:
    with Studio() as shared:  # one real request: the template writer loads once, one batch of one
        shared.run(TemplateRequest(template="market-close", data=MARKET))
        yield shared


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_read_the_store_and_the_scheduler(studio: Studio, tmp_path: Path) -> None:
    app = create_app(tmp_path, studio=studio, concurrency=0, api_keys=("k",))
    with TestClient(app, headers={"X-API-Key": "k"}) as client:
        store = app.state.store
        for _ in range(3):
            client.post("/v1/clips", json={"article": "A park opened in the city centre."})
        running = store.claim_next()
        for step, seconds in (("script", 0.4), ("narration", 3.0), ("render", 45.0)):
            store.record(running.id, step, StageProgress(status="done", fraction=1.0, seconds=seconds))
        store.record(running.id, "visuals", StageProgress(status="started"))
        response = client.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        assert client.get("/metrics", headers={"X-API-Key": ""}).status_code == 401  # same auth as the API
    samples = _samples(response.text)
    assert samples["aigc_queue_depth", ()] == 2
    assert samples["aigc_jobs", (("state", "queued"),)] == 2 and samples["aigc_jobs", (("state", "running"),)] == 1
    assert samples["aigc_jobs", (("state", "approved"),)] == 0
    # stage durations: a histogram per step, of finished stages only
    assert samples["aigc_stage_duration_seconds_count", (("step", "render"),)] == 1
    assert samples["aigc_stage_duration_seconds_sum", (("step", "narration"),)] == 3.0
    assert samples["aigc_stage_duration_seconds_bucket", (("le", "0.5"), ("step", "script"))] == 1
    assert samples["aigc_stage_duration_seconds_bucket", (("le", "30.0"), ("step", "render"))] == 0
    assert ("aigc_stage_duration_seconds_count", (("step", "visuals"),)) not in samples
    # the scheduler of the shared Studio: one load, one batch of one request
    assert samples["aigc_model_loads_total", ()] == 1 and samples["aigc_model_evictions_total", ()] == 0
    assert samples["aigc_scheduler_batch_size_count", ()] == 1
    assert samples["aigc_scheduler_batch_size_bucket", (("le", "1.0"),)] == 1
    assert samples["aigc_scheduler_requests_total", (("outcome", "completed"),)] == 1
    assert samples["aigc_models_loaded", ()] == 1


def test_metrics_before_any_studio_and_per_app_registries(tmp_path: Path) -> None:
    first, second = create_app(tmp_path / "a", concurrency=0), create_app(tmp_path / "b", concurrency=0)
    with TestClient(first) as one, TestClient(second) as two:
        one.post("/v1/clips", json={"article": "A park opened."})
        a, b = _samples(one.get("/metrics").text), _samples(two.get("/metrics").text)
        assert first.state.runner.started_studio is None  # a scrape makes no Studio
    assert a["aigc_queue_depth", ()] == 1 and b["aigc_queue_depth", ()] == 0
    assert a["aigc_model_loads_total", ()] == 0 and a["aigc_scheduler_batch_size_count", ()] == 0
