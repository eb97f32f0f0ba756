"""HTTP metrics by route template; instrumentation failures never reach the request."""

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route

from app_instrumentation import catalog
from app_instrumentation.catalog import UNKNOWN_ROUTE
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.middleware import MetricsMiddleware
from app_instrumentation.routes import PATH_CACHE_SIZE, RouteTemplates, route_template


def value(c, name, **labels):
    return c.registry.get_sample_value(name, labels)


def requests_by_route(c):
    return {s.labels["route"]: s.value for m in c.registry.collect() if m.name == catalog.HTTP_REQUESTS.base_name
            for s in m.samples if s.name == catalog.HTTP_REQUESTS.name}


def get(app, *paths, method="GET"):
    async def run():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.request(method, p) for p in paths]

    return asyncio.run(run())


async def ok(request):
    return PlainTextResponse("ok")


async def boom(request):
    raise RuntimeError("handler bug")


async def stream(request):
    async def body():
        yield "data: 1\n\n"
        yield "data: 2\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


def starlette_app():
    return Starlette(routes=[
        Route("/api/models/{model}", ok),
        Route("/api/items/{item_id:int}", ok),
        Route("/boom", boom),
        Route("/stream", stream),
        Mount("/v1", routes=[Route("/chat/{session}", ok)]),
    ])


@pytest.mark.parametrize("path, template", [
    ("/api/models/llama-3-8b", "/api/models/{model}"),
    ("/api/items/42", "/api/items/{item_id:int}"),
    ("/api/items/not-a-number", UNKNOWN_ROUTE),
    ("/v1/chat/abc123", "/v1/chat/{session}"),
    ("/metrics", "/metrics"),
    ("/wp-admin/setup.php", UNKNOWN_ROUTE),
    ("/api/models/a/b", UNKNOWN_ROUTE),
])
def test_route_template_from_starlette_routes_and_explicit_list(path, template):
    templates = RouteTemplates(["/metrics"], starlette_app().routes)
    assert route_template(path, templates) == template
    assert route_template({"type": "http", "path": path}, templates) == template


def test_route_template_for_plain_asgi_with_explicit_templates():
    assert route_template("/users/7/orders/x9", ["/users/{uid}/orders/{oid}"]) == "/users/{uid}/orders/{oid}"
    assert route_template("/files/a/b/c.txt", ["/files/{rest:path}"]) == "/files/{rest:path}"
    with pytest.raises(ValueError, match="converter"):
        RouteTemplates(["/x/{y:nope}"])


def test_middleware_labels_requests_with_templates_never_raw_paths():
    c = MetricsCollector(process_metrics=False)
    inner = starlette_app()
    app = MetricsMiddleware(inner, c, RouteTemplates(routes=inner.routes))
    responses = get(app, "/api/models/a", "/api/models/b", "/nope/1", "/nope/2")
    assert [r.status_code for r in responses] == [200, 200, 404, 404]
    assert requests_by_route(c) == {"/api/models/{model}": 2, UNKNOWN_ROUTE: 2}
    assert value(c, catalog.HTTP_REQUEST_DURATION.count, method="GET", route="/api/models/{model}", status_code="200") == 2
    assert value(c, catalog.ACTIVE_CONNECTIONS.name, type="http", protocol="http/1.1") == 0
    assert value(c, catalog.CONNECTION_DURATION.count, type="http", protocol="http/1.1") == 4


def test_unusual_methods_fold_into_other():
    c = MetricsCollector(process_metrics=False)
    inner = starlette_app()
    get(MetricsMiddleware(inner, c, RouteTemplates(routes=inner.routes)), "/api/models/a", method="BREW")
    assert value(c, catalog.HTTP_REQUESTS.name, method="other", route="/api/models/{model}", status_code="405") == 1


def test_handler_exception_is_recorded_as_500_and_still_raised_to_the_server():
    c = MetricsCollector(process_metrics=False)
    inner = starlette_app()
    (response,) = get(MetricsMiddleware(inner, c, RouteTemplates(routes=inner.routes)), "/boom")
    assert response.status_code == 500
    assert value(c, catalog.HTTP_REQUESTS.name, method="GET", route="/boom", status_code="500") == 1


def test_streaming_response_is_tracked_as_a_stream_connection():
    c = MetricsCollector(process_metrics=False)
    inner = starlette_app()
    (response,) = get(MetricsMiddleware(inner, c, RouteTemplates(routes=inner.routes)), "/stream")
    assert response.text == "data: 1\n\ndata: 2\n\n"
    assert value(c, catalog.CONNECTION_DURATION.count, type="stream", protocol="http/1.1") == 1
    assert value(c, catalog.ACTIVE_CONNECTIONS.name, type="stream", protocol="http/1.1") == 0


def test_broken_instrumentation_does_not_reach_the_request(monkeypatch):
    c = MetricsCollector(process_metrics=False)

    def broken(*args):
        raise RuntimeError("metrics backend exploded")

    for spec in (catalog.HTTP_REQUESTS, catalog.ACTIVE_CONNECTIONS):
        monkeypatch.setattr(c.family(spec).metric, "labels", broken)
    templates = RouteTemplates(routes=starlette_app().routes)
    monkeypatch.setattr(templates, "match", broken)
    (response,) = get(MetricsMiddleware(starlette_app(), c, templates), "/api/models/a")
    assert response.status_code == 200 and response.text == "ok"
    for operation in ("http_request", "connection_open", "connection_close", "route_template"):
        assert value(c, catalog.INSTRUMENTATION_ERRORS.name, operation=operation) == 1, operation


def test_plain_asgi_app_failing_before_responding_is_recorded_as_500():
    """No response started: the server answers 500, so the metric says 500 too."""

    async def app(scope, receive, send):
        raise RuntimeError("crashed before the response")

    c = MetricsCollector(process_metrics=False)
    get(MetricsMiddleware(app, c, RouteTemplates(["/x"])), "/x")
    assert value(c, catalog.HTTP_REQUESTS.name, method="GET", route="/x", status_code="500") == 1


def test_failing_route_lookup_labels_the_request_unmatched_never_with_the_raw_path(monkeypatch):
    c = MetricsCollector(process_metrics=False)
    templates = RouteTemplates(routes=starlette_app().routes)

    def broken(path: str) -> str:
        raise RuntimeError("router internals changed")

    monkeypatch.setattr(templates, "match", broken)
    (response,) = get(MetricsMiddleware(starlette_app(), c, templates), "/api/models/secret-model-name")
    assert response.status_code == 200
    assert requests_by_route(c) == {UNKNOWN_ROUTE: 1}


def test_lifespan_and_other_non_http_scopes_are_not_counted_as_requests():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.complete"})

    async def startup():
        sent = []

        async def receive():
            return {"type": "lifespan.startup"}

        async def send(message):
            sent.append(message)

        await MetricsMiddleware(app, c, RouteTemplates())({"type": "lifespan"}, receive, send)
        return sent

    c = MetricsCollector(process_metrics=False)
    assert asyncio.run(startup()) == [{"type": "lifespan.startup.complete"}]
    assert requests_by_route(c) == {}
    assert value(c, catalog.CONNECTION_DURATION.count, type="http", protocol="http/1.1") is None


def test_route_memo_is_bounded_against_scanners():
    templates = RouteTemplates(["/api/models/{model}"])
    for i in range(PATH_CACHE_SIZE + 100):
        assert templates.match(f"/probe/{i}") == UNKNOWN_ROUTE
    assert templates.match.cache_info().currsize <= PATH_CACHE_SIZE
