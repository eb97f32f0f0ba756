"""The contract between the logger and the log pipeline, checked on real log lines.

Every field the Logstash pipeline and the Kibana objects reference comes from the same
Python objects that generate them (never retyped here), and must be present in the lines
the logger writes, with the ECS type the index template maps it to.
"""


import pytest
from opentelemetry.sdk.trace import TracerProvider

from app_instrumentation import logs_fields as F
from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.logs import ModelInfo
from app_instrumentation.logs_fields import Action
from app_instrumentation.tracing import TracingObserver
from foundation.settings import load_settings
from logpipeline import kibana, logstash
from tests.test_ecs_conformance import check_ecs_line
from tests.test_logs_support import capture_logger, leaf


def _raise(exc):
    raise exc


@pytest.fixture(scope="module")
def lines():
    """One real line (at least) of every event type the logger writes, inside a span."""
    logger, sink = capture_logger(level="debug", capture_prompts=True)
    provider = TracerProvider()
    tracer = TracingObserver(provider)
    with provider.get_tracer("contract").start_as_current_span("request"):
        ok = InferenceContext("llama-3-8b", "quick", "vllm", prompt_tokens=5, attributes={"prompt": "p", "completion": "c"})
        for observer in (tracer, logger):
            observer.on_start(ok)
        result = InferenceResult("llama-3-8b", "vllm", 30, 12.0, prompt_tokens=5, finish_reason="stop")
        for observer in (tracer, logger):
            observer.on_complete(ok, result)
        bad = InferenceContext("mistral-7b", "cost", "openai")
        tracer.on_start(bad)
        try:
            _raise(TimeoutError("late"))
        except TimeoutError as exc:
            logger.on_error(bad, exc)
            logger.error("Generic failure", exc)
        logger.model_load(ModelInfo("m-1", "llama-3-8b", "gguf", 5_000_000_000), 3.0)
        logger.model_unload(ModelInfo("m-1", "llama-3-8b", "gguf"))
        logger.access("POST", "/api/generate", 200, 0.5, query="a=1", http_version="1.1", user_agent="ua",
                      client_address="10.0.0.1", request_id="r-1", request_bytes=10, response_bytes=99)
        for level in ("debug", "info", "warn"):
            getattr(logger, level)(f"{level} line")
        logger.metric("queue_depth", 3, {"queue": "inference"})
        logger.application_started()
        logger.shutting_down()
    provider.shutdown()
    logger.shutdown()
    return sink.events()


def test_every_event_type_is_exercised(lines):
    assert {leaf(e, "event.action") for e in lines} == {a.value for a in Action}
    assert {leaf(e, "event.dataset") for e in lines} == {s.dataset for s in F.Stream}


def test_every_field_the_pipeline_reads_is_in_real_lines(lines):
    read = logstash.pipeline(load_settings("dev")).fields_read()
    assert read, "the pipeline references fields"
    for field in sorted(read, key=lambda f: f.path):
        assert not field.pipeline, f"{field.path} is read before anything writes it"
        assert any(leaf(e, field.path) is not None for e in lines), f"no log line has {field.path}"


def test_fields_read_covers_conditions_copies_and_nested_blocks():
    """What the contract checks is complete: copy sources and nested conditions count as reads."""
    read = logstash.pipeline(load_settings("dev")).fields_read()
    expected = {c for c, _, _ in logstash.EXTRACTIONS} | {m for _, _, m in logstash.EXTRACTIONS if m is not None}
    assert expected | {F.INFERENCE_LATENCY_MS, F.SERVICE_ENVIRONMENT} <= read


def test_each_extraction_block_finds_its_fields(lines):
    for condition, _event_type, model_source in logstash.EXTRACTIONS:
        matching = [e for e in lines if leaf(e, condition.path) is not None]
        assert matching, f"no line triggers the {condition.path} block"
        for event in matching:
            if model_source is not None:
                assert leaf(event, model_source.path) is not None, (condition.path, leaf(event, "event.action"))


def test_latency_lines_get_a_performance_category(lines):
    latencies = [leaf(e, F.INFERENCE_LATENCY_MS.path) for e in lines if leaf(e, F.INFERENCE_LATENCY_MS.path) is not None]
    assert {F.performance_category(v) for v in latencies} >= {"slow"}, "the fixture has a slow (12 s) inference"
    conf = logstash.pipeline(load_settings("dev")).render()
    for name, above in F.PERFORMANCE_THRESHOLDS_MS:
        assert f"{F.INFERENCE_LATENCY_MS.ref} > {above}" in conf and f'"{name}"' in conf
    # Below every threshold the line still gets a category (the else branch).
    flat = " ".join(conf.split())
    assert f'}} else {{ mutate {{ replace => {{ "{F.PERFORMANCE_CATEGORY.ref}" => "{F.PERFORMANCE_DEFAULT}" }} }} }}' in flat


def test_every_field_kibana_references_exists(lines):
    written = logstash.pipeline(load_settings("dev")).fields_written()
    for field in sorted(kibana.fields_referenced(), key=lambda f: f.path):
        if field.pipeline:
            assert field in written, f"Kibana uses {field.path} but the pipeline never sets it"
        else:
            assert any(leaf(e, field.path) is not None for e in lines), f"no log line has {field.path}"
    for search in kibana.SEARCHES:
        for field, value in search.query:
            if field is F.PERFORMANCE_CATEGORY:
                assert value in {n for n, _ in F.PERFORMANCE_THRESHOLDS_MS}
            else:
                assert any(leaf(e, field.path) == value for e in lines), (search.id, field.path, value)


def test_every_field_is_declared_with_its_ecs_type(lines):
    for event in lines:
        check_ecs_line(event)


def test_trace_ids_on_every_line_inside_a_span(lines):
    for event in lines:
        assert len(leaf(event, "trace.id")) == 32 and len(leaf(event, "span.id")) == 16
