"""API fuzzing: schemathesis makes requests from the app's own OpenAPI schema (ASGI, in-process); none gets a 5xx.

The app runs no job (``concurrency=0``): queued clips stay queued. Single generations run for real on one shared
Studio (its default voice the fast eSpeak one), with the sizes the schema allows (a speech prompt is at most 5,000
characters). schemathesis' coverage phase adds boundary cases to the ``max_examples`` random ones per operation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from aigc_sdk import Studio
from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
require_module("schemathesis", reason="needs the dev extra")
require_module("espeakng_loader", reason="needs the audio extra")

import schemathesis  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.python import asgi  # noqa: E402

from aigc_sdk.server import create_app  # noqa: E402


def _schema() -> dict[str, Any]:
    """The app's OpenAPI schema (it does not depend on the data folder)."""
    with tempfile.TemporaryDirectory(prefix="aigc-fuzz-schema-") as folder:
        app = create_app(folder, concurrency=0)
        try:
            return app.openapi()
        finally:
            app.state.store.close()


schema = schemathesis.openapi.from_dict(_schema())


def _without_lifespan(app: Any) -> Any:
    """The app as schemathesis sees it: one that refuses the lifespan scope at once, so it never starts or stops it.

    (schemathesis' pytest plugin stops the lifespans it started after each test; the app's must run once.)
    """

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("the fixture runs the lifespan")
        await app(scope, receive, send)

    return serve


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A requests session into the app, in-process, while the app runs (its lifespan held by a TestClient)."""
    with Studio(defaults={"text-to-speech": "espeak-en"}) as studio:  # the fastest real voice
        app = create_app(tmp_path_factory.mktemp("fuzz"), studio=studio, concurrency=0, max_queued=10_000)
        with TestClient(app), asgi.get_client(_without_lifespan(app)) as client:
            yield client


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_request_gets_a_server_error(case: Any, session: Any) -> None:
    case.call_and_validate(session=session, base_url=f"http://{asgi.HOST}", checks=[not_a_server_error])
