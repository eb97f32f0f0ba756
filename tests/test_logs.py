"""The structured logger: ECS base fields, streams, outputs, prompt capture."""

import io
import json
import os

import pytest

from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.logs import LogConfig, ModelInfo, StructuredLogger
from app_instrumentation.logs_fields import BASE_FIELDS, ECS_VERSION, Action, Stream
from app_instrumentation.logs_writer import StreamSink
from tests.test_logs_support import capture_logger, leaf


def _result(**kw):
    return InferenceResult(**{"model": "llama-3-8b", "backend": "vllm", "output_tokens": 20,
                              "duration_seconds": 1.5, "prompt_tokens": 7, **kw})


def test_every_line_has_the_ecs_base_fields():
    logger, sink = capture_logger(service_name="svc", service_version="1.2.3", environment="staging")
    logger.info("hello")
    logger.metric("queue_depth", 3, {"queue": "inference"})
    logger.audit(Action.MODEL_UNLOAD)
    logger.shutdown()
    assert len(sink.lines) == 3
    for stream, event in sink.lines:
        for field in BASE_FIELDS:
            assert leaf(event, field.path) is not None, field.path
        assert leaf(event, "event.dataset") == f"llm_router.{stream.value}"
        assert leaf(event, "ecs.version") == ECS_VERSION
        assert leaf(event, "service.version") == "1.2.3" and leaf(event, "service.environment") == "staging"
        assert leaf(event, "process.pid") == os.getpid()
        assert event["@timestamp"].endswith("Z")
        assert "trace" not in event, "no span is active: no trace.id"


def test_streams_and_levels():
    logger, sink = capture_logger(level="info")
    logger.debug("invisible")
    logger.warn("careful")
    try:
        raise ValueError("bad input")
    except ValueError as exc:
        logger.error("boom", exc)
    logger.access("GET", "/health", 200, 0.002, user_agent="curl/8")
    logger.shutdown()
    streams = [s for s, _ in sink.lines]
    assert streams == [Stream.APPLICATION, Stream.ERROR, Stream.ACCESS]
    warn, err, access = (e for _, e in sink.lines)
    assert leaf(warn, "log.level") == "warn"
    assert leaf(err, "error.type") == "ValueError" and "bad input" in leaf(err, "error.stack_trace")
    assert leaf(err, "error.code") == "validation_error"
    assert leaf(access, "http.response.status_code") == 200 and leaf(access, "event.duration") == 2_000_000


def test_caller_fields_cannot_override_base_fields():
    logger, sink = capture_logger()
    logger.info("x", {"event": {"dataset": "forged"}, "service": {"name": "forged"}, "labels": {"k": "v"},
                      "log": {"level": "error"}, "message": "forged"})
    logger.shutdown()
    event = sink.events()[0]
    assert leaf(event, "log.level") == "info" and event["message"] == "x"
    assert list(event)[:3] == ["@timestamp", "log", "message"], "ECS logging order: timestamp, level, message first"
    assert leaf(event, "event.dataset") == "llm_router.application"
    assert leaf(event, "service.name") == "llm-router"
    assert event["labels"] == {"k": "v"}


def test_stdout_is_the_default(capsys):
    logger = StructuredLogger(LogConfig())
    logger.info("to stdout")
    logger.shutdown()
    line = capsys.readouterr().out.strip()
    assert json.loads(line)["message"] == "to stdout"


def test_pretty_console_for_development():
    out = io.StringIO()
    logger = StructuredLogger(LogConfig(pretty=True), sink=StreamSink(out, pretty=True))
    logger.info("Model ready", {"labels": {"model": "m1"}})
    logger.shutdown()
    text = out.getvalue()
    assert "INFO" in text and "Model ready" in text and "labels.model=m1" in text
    assert not text.startswith("{")


def test_files_per_stream_with_rotation(tmp_path):
    logger = StructuredLogger(LogConfig(log_dir=str(tmp_path), max_bytes=2000, backups=2))
    for i in range(40):
        logger.info(f"line {i}")
    logger.access("GET", "/x", 200, 0.01)
    logger.shutdown()
    assert (tmp_path / "access.log").read_text().count("\n") == 1
    assert (tmp_path / "application.log.1").exists(), "rotated"
    assert not (tmp_path / "application.log.3").exists(), "only `backups` old files are kept"
    for path in tmp_path.glob("application.log*"):
        for line in path.read_text().splitlines():
            assert json.loads(line)["event"]["dataset"] == "llm_router.application"


def test_unwritable_log_dir_falls_back_to_stdout_with_one_warning(tmp_path, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    logger = StructuredLogger(LogConfig(log_dir=str(blocker / "logs")))
    logger.info("still logged")
    logger.info("again")
    logger.shutdown()
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    warnings = [e for e in lines if e["log"]["level"] == "warn"]
    assert len(warnings) == 1 and "not writable" in warnings[0]["message"]
    assert [e["message"] for e in lines if e["log"]["level"] == "info"] == ["still logged", "again"]


def test_prompt_capture_is_off_by_default():
    logger, sink = capture_logger()
    ctx = InferenceContext("llama-3-8b", "quick", "vllm", attributes={"prompt": "my medical history", "completion": "advice"})
    logger.on_start(ctx)
    logger.on_complete(ctx, _result())
    logger.shutdown()
    text = json.dumps([e for _, e in sink.lines])
    assert "medical" not in text and "advice" not in text
    assert leaf(sink.events()[0], "llm.inference.prompt_length") == len("my medical history")


def test_prompt_capture_when_enabled_is_truncated():
    logger, sink = capture_logger(capture_prompts=True, prompt_max_chars=10)
    ctx = InferenceContext("m", "quick", "vllm", attributes={"prompt": "x" * 50, "completion": "short"})
    logger.on_start(ctx)
    logger.on_complete(ctx, _result())
    logger.shutdown()
    start, _, complete = sink.events()[:3]
    assert leaf(start, "llm.inference.prompt").startswith("x" * 10 + "…[truncated 40 chars]")
    assert leaf(complete, "llm.inference.completion") == "short"


def test_seed_llm_events():
    logger, sink = capture_logger()
    ctx = InferenceContext("llama-3-8b", "quality", "vllm")
    logger.inference_start(ctx)
    logger.inference_complete(ctx, _result(finish_reason="length", cached=True))
    logger.model_load(ModelInfo("m-1", "llama-3-8b", "gguf", 4_000_000_000), 12.5)
    logger.model_unload(ModelInfo("m-1", "llama-3-8b", "gguf"))
    logger.shutdown()
    by_stream = {s: [leaf(e, "event.action") for e in sink.events(s)] for s in Stream}
    assert by_stream[Stream.APPLICATION] == ["inference_start", "inference_complete", "model_load", "model_unload"]
    assert by_stream[Stream.AUDIT] == ["inference_start", "inference_complete", "model_load", "model_unload"]
    assert by_stream[Stream.METRICS] == ["metric"] * 3
    complete = sink.events(Stream.APPLICATION)[1]
    assert leaf(complete, "gen_ai.response.finish_reasons") == ["length"]
    assert leaf(complete, "gen_ai.usage.input_tokens") == 7 and leaf(complete, "gen_ai.usage.output_tokens") == 20
    assert leaf(complete, "llm.inference.latency_ms") == 1500.0 and leaf(complete, "llm.inference.cached") is True
    metrics = {leaf(e, "llm.metric.name"): e for e in sink.events(Stream.METRICS)}
    assert metrics["inference_latency"]["labels"] == {"model": "llama-3-8b", "strategy": "quality"}
    assert leaf(metrics["model_load_duration"], "llm.metric.value") == 12500.0


def test_inference_error_goes_to_error_and_audit_streams():
    logger, sink = capture_logger()
    ctx = InferenceContext("llama-3-8b", "quick", "vllm")
    try:
        raise TimeoutError("backend vllm timed out after 30s")
    except TimeoutError as exc:
        logger.on_error(ctx, exc)
    logger.shutdown()
    (err,), (audit,) = sink.events(Stream.ERROR), sink.events(Stream.AUDIT)
    assert leaf(err, "event.action") == "inference_error" and leaf(err, "llm.inference.success") is False
    assert leaf(err, "error.code") == "backend_timeout" and leaf(err, "error.grouping_key")
    assert leaf(audit, "error.code") == "backend_timeout" and "stack_trace" not in audit.get("error", {})


def test_config_from_env():
    config = LogConfig.from_env({"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "pretty", "OTEL_SERVICE_NAME": "r",
                                 "DEPLOYMENT_ENVIRONMENT": "prod", "LOG_CAPTURE_PROMPTS": "true"})
    assert (config.level, config.pretty, config.service_name, config.environment, config.capture_prompts) == (
        "debug", True, "r", "prod", True)
    assert LogConfig.from_env({}).capture_prompts is False
    assert LogConfig.from_env({}).pretty is False, "auto: stdout is not a terminal under pytest"
    assert LogConfig.from_env({"LOG_FORMAT": "json"}).pretty is False
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        LogConfig.from_env({"LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match="log level"):
        LogConfig(level="verbose")
