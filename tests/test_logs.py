"""The structured logger: ECS base fields, streams, outputs, prompt capture."""

import io
import json
import os
from datetime import datetime

import pytest

from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.logs import LogConfig, ModelInfo, StructuredLogger
from app_instrumentation.logs_fields import BASE_FIELDS, ECS_VERSION, Action, Stream
from app_instrumentation.logs_writer import StreamSink, json_line
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
    assert list(event)[:4] == ["@timestamp", "log.level", "message", "ecs.version"], "ecs-logging key order"
    assert "level" not in event["log"], "log.level only as a top-level dotted key"
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
    warnings = [e for e in lines if e["log.level"] == "warn"]
    assert len(warnings) == 1 and "not writable" in warnings[0]["message"]
    assert [e["message"] for e in lines if e["log.level"] == "info"] == ["still logged", "again"]


def test_prompt_capture_is_off_by_default():
    logger, sink = capture_logger(level="debug")
    ctx = InferenceContext("llama-3-8b", "quick", "vllm", attributes={"prompt": "my medical history", "completion": "advice"})
    logger.on_start(ctx)
    logger.on_complete(ctx, _result())
    logger.shutdown()
    text = json.dumps([e for _, e in sink.lines])
    assert "medical" not in text and "advice" not in text
    assert [leaf(e, "llm_router.inference.prompt_length") for e in sink.events()] == [len("my medical history")] * 2


def test_prompt_capture_when_enabled_is_truncated():
    logger, sink = capture_logger(capture_prompts=True, prompt_max_chars=10)
    ctx = InferenceContext("m", "quick", "vllm", attributes={"prompt": "x" * 50, "completion": "short"})
    logger.on_start(ctx)
    logger.on_complete(ctx, _result())
    logger.shutdown()
    (complete,) = sink.events()
    assert leaf(complete, "llm_router.inference.prompt") == "x" * 10 + "…[truncated 40 chars]"
    assert leaf(complete, "llm_router.inference.completion") == "short"


def test_one_line_per_successful_inference_at_the_default_level():
    """Start is debug; the completion line carries model, provider, tokens, duration and outcome."""
    logger, sink = capture_logger()
    ctx = InferenceContext("llama-3-8b", "quality", "vllm", prompt_tokens=7, max_tokens=32,
                           attributes={"provider": "vllm", "server": ("vllm.svc", 8000)})
    logger.inference_start(ctx)
    logger.inference_complete(ctx, _result(finish_reason="length", cached=False, ttft_seconds=0.25, response_id="r-9"))
    logger.shutdown()
    (complete,) = sink.lines
    stream, line = complete
    assert stream is Stream.APPLICATION and leaf(line, "event.action") == "inference_complete"
    assert leaf(line, "gen_ai.request.model") == "llama-3-8b" and leaf(line, "gen_ai.response.model") == "llama-3-8b"
    assert leaf(line, "gen_ai.system") == "vllm" and leaf(line, "llm_router.inference.backend") == "vllm"
    assert leaf(line, "gen_ai.usage.input_tokens") == 7 and leaf(line, "gen_ai.usage.output_tokens") == 20
    assert leaf(line, "gen_ai.request.max_tokens") == 32 and leaf(line, "gen_ai.response.id") == "r-9"
    assert leaf(line, "gen_ai.response.finish_reasons") == ["length"]
    assert leaf(line, "llm_router.inference.latency_ms") == 1500.0 and leaf(line, "event.duration") == 1_500_000_000
    assert leaf(line, "llm_router.inference.time_to_first_token_ms") == 250.0
    assert leaf(line, "event.outcome") == "success" and leaf(line, "llm_router.inference.success") is True
    assert (leaf(line, "server.address"), leaf(line, "server.port")) == ("vllm.svc", 8000)


def test_seed_llm_events():
    logger, sink = capture_logger(level="debug")
    ctx = InferenceContext("llama-3-8b", "quality", "vllm")
    logger.inference_start(ctx)
    logger.inference_complete(ctx, _result(finish_reason="length", cached=True))
    logger.model_load(ModelInfo("m-1", "llama-3-8b", "gguf", 4_000_000_000), 12.5)
    logger.model_unload(ModelInfo("m-1", "llama-3-8b", "gguf"))
    logger.shutdown()
    by_stream = {s: [leaf(e, "event.action") for e in sink.events(s)] for s in Stream}
    assert by_stream[Stream.APPLICATION] == ["inference_start", "inference_complete", "model_load", "model_unload"]
    # Audit: model lifecycle only (an inference's audit line repeated the application line).
    assert by_stream[Stream.AUDIT] == ["model_load", "model_unload"]
    assert by_stream[Stream.METRICS] == [], "Prometheus has the numbers; no Metric: lines per event"
    complete = sink.events(Stream.APPLICATION)[1]
    assert leaf(complete, "llm_router.inference.cached") is True
    load = sink.events(Stream.AUDIT)[0]
    assert leaf(load, "llm_router.model.size_bytes") == 4_000_000_000
    assert leaf(load, "llm_router.model.load_duration_ms") == 12500.0


def test_integers_stay_integers():
    """A size from a float config value (5e9) is written as 5000000000, never 5000000000.0."""
    logger, sink = capture_logger()
    logger.model_load(ModelInfo("m", "m", "gguf", 5e9), 1.0)  # type: ignore[arg-type]
    logger.shutdown()
    assert '"size_bytes":5000000000,' in json_line(sink.events()[0])


def test_inference_error_goes_to_the_error_stream():
    logger, sink = capture_logger()
    ctx = InferenceContext("llama-3-8b", "quick", "vllm", attributes={"provider": "vllm"})
    try:
        raise TimeoutError("backend vllm timed out after 30s")
    except TimeoutError as exc:
        logger.on_error(ctx, exc)
    logger.shutdown()
    (err,) = sink.events()
    assert leaf(err, "event.dataset") == "llm_router.error"
    assert leaf(err, "event.action") == "inference_error" and leaf(err, "llm_router.inference.success") is False
    assert leaf(err, "error.code") == "backend_timeout" and leaf(err, "error.type") == "TimeoutError"
    assert len(leaf(err, "llm_router.error.grouping_key")) == 32 and "grouping_key" not in err["error"]
    assert leaf(err, "gen_ai.system") == "vllm" and leaf(err, "event.outcome") == "failure"


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


def test_each_stream_has_its_own_level():
    """LOG_LEVEL=warn quiets the application log, never the access or audit trail."""
    config = LogConfig.from_env({"LOG_LEVEL": "warn"})
    logger, sink = capture_logger(level=config.level, stream_levels=config.stream_levels)
    logger.info("chatter")
    logger.access("GET", "/x", 200, 0.01)
    logger.model_load(ModelInfo("m", "m"), 0.1)
    logger.warn("careful")
    logger.shutdown()
    assert [(s, leaf(e, "message")) for s, e in sink.lines] == [
        (Stream.ACCESS, "GET /x 200"), (Stream.AUDIT, "Audit: model_load"), (Stream.APPLICATION, "careful")]


def test_stream_levels_from_env_and_off():
    config = LogConfig.from_env({"LOG_LEVEL_ACCESS": "off", "LOG_LEVEL_AUDIT": "WARN", "LOG_LEVEL_METRICS": "error"})
    assert {s: config.level_of(s) for s in Stream} == {
        Stream.APPLICATION: "info", Stream.ACCESS: "off", Stream.AUDIT: "warn", Stream.ERROR: "info",
        Stream.METRICS: "error"}
    logger, sink = capture_logger(stream_levels=config.stream_levels)
    logger.access("GET", "/x", 200, 0.01)
    logger.model_load(ModelInfo("m", "m"), 0.1)
    logger.metric("queue_depth", 1)
    try:
        raise ValueError("still logged")
    except ValueError as exc:
        logger.error("boom", exc)
    logger.shutdown()
    assert [s for s, _ in sink.lines] == [Stream.APPLICATION, Stream.ERROR]
    with pytest.raises(ValueError, match="LOG_LEVEL_ACCESS"):
        LogConfig.from_env({"LOG_LEVEL_ACCESS": "loud"})
    with pytest.raises(ValueError, match="unknown streams"):
        LogConfig(stream_levels={"acess": "info"})
    with pytest.raises(ValueError, match="LOG_FLUSH_TIMEOUT"):
        LogConfig.from_env({"LOG_FLUSH_TIMEOUT": "soon"})
    assert LogConfig.from_env({"LOG_FLUSH_TIMEOUT": "2.5", "LOG_QUEUE_SIZE": "50"}).flush_timeout == 2.5


def test_labels_keys_are_sanitized_as_ecs_logging_asks():
    logger, sink = capture_logger()
    logger.info("x", {"labels": {"a.b": 1, "c*d": "v", "e\\f": True}})
    logger.shutdown()
    assert sink.events()[0]["labels"] == {"a_b": "1", "c_d": "v", "e_f": "True"}


def test_json_lines_are_the_same_with_and_without_orjson(monkeypatch):
    from app_instrumentation import logs_writer

    event = {"@timestamp": "2026-01-01T00:00:00.000Z", "log.level": "info", "message": "héllo \"x\"\n",
             "n": 5_000_000_000, "f": 1.5, "b": True, "none": None, "list": ["stop"], "nested": {"k": 1},
             "odd": datetime(2026, 1, 1)}
    with_orjson = logs_writer.json_bytes(event)
    monkeypatch.setattr(logs_writer, "orjson", None)
    without = logs_writer.json_bytes(event)
    assert json.loads(with_orjson) == json.loads(without)
    assert b'"n":5000000000,' in without and "héllo".encode() in without, "integers stay integers, UTF-8 as is"
    huge = {"n": 2**70}
    monkeypatch.undo()
    assert json.loads(logs_writer.json_bytes(huge)) == huge, "beyond orjson's 64 bits: json takes over"


def test_every_log_and_otel_variable_read_is_documented_in_the_readme():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    read = set()
    for package in ("app_instrumentation", "llmmon"):
        for path in (root / package).rglob("*.py"):
            read |= set(re.findall(r'"((?:LOG|OTEL)_[A-Z_]+)"', path.read_text()))
    assert {"LOG_LEVEL", "LOG_LEVEL_ACCESS", "OTEL_SDK_DISABLED"} <= read
    readme = (root / "README.md").read_text()
    assert sorted(v for v in read if f"`{v}`" not in readme) == []
