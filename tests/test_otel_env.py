"""The OTEL_* variables come from the environment given to setup_tracing, not from os.environ
(the SDK's own reader), and a malformed one is an error naming it."""

import gzip

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import sampling

from app_instrumentation.otel_env import resource_attributes, sampler_from_env
from app_instrumentation.tracing import otlp_exporter_from_env, setup_tracing
from tests.test_logs_support import http_receiver

OTEL_PROCESS_VARIABLES = ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME",
                          "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION")


@pytest.fixture
def other_process_env(monkeypatch):
    """os.environ says something else than the mapping under test: the mapping must win."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-os-environ")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    for name in OTEL_PROCESS_VARIABLES[3:]:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, sampling.ParentBased(sampling.ALWAYS_ON)),  # the specification's default
    ({"OTEL_TRACES_SAMPLER": "always_off"}, sampling.ALWAYS_OFF),
    ({"OTEL_TRACES_SAMPLER": " TraceIdRatio ", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, sampling.TraceIdRatioBased(0.25)),
    ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
     sampling.ParentBased(sampling.TraceIdRatioBased(0.1))),
    ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}, sampling.ParentBased(sampling.TraceIdRatioBased(1.0))),
    ({"OTEL_TRACES_SAMPLER": "parentbased_always_off"}, sampling.ParentBased(sampling.ALWAYS_OFF)),
])
def test_sampler_named_by_the_variables(environ, expected):
    assert sampler_from_env(environ).get_description() == expected.get_description()


@pytest.mark.parametrize(("environ", "message"), [
    ({"OTEL_TRACES_SAMPLER": "ratio"}, "OTEL_TRACES_SAMPLER='ratio': expected one of always_on"),
    ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "10%"}, "OTEL_TRACES_SAMPLER_ARG='10%'"),
    ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "between 0 and 1"),
    ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "-0.1"}, "between 0 and 1"),
])
def test_a_malformed_sampler_is_an_error_not_every_request_traced(environ, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("?", r"\?")):
        sampler_from_env(environ)


def test_setup_tracing_samples_as_its_environment_says(other_process_env):
    provider = setup_tracing(set_global=False, environ={"OTEL_TRACES_SAMPLER": "always_off"})
    assert not provider.get_tracer("t").start_span("dropped").is_recording()
    provider = setup_tracing(set_global=False, environ={"OTEL_TRACES_SAMPLER": "always_on"})
    assert provider.get_tracer("t").start_span("kept").is_recording()


def test_resource_service_name_precedence(other_process_env):
    # OTEL_SERVICE_NAME > service.name in OTEL_RESOURCE_ATTRIBUTES > the caller's default.
    attributes = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attributes, team=llm%20platform"}
    assert resource_attributes(attributes, "llm-router") == {"service.name": "from-attributes", "team": "llm platform"}
    both = {**attributes, "OTEL_SERVICE_NAME": "from-variable"}
    assert resource_attributes(both, "llm-router")["service.name"] == "from-variable"
    assert resource_attributes({}, "llm-router") == {"service.name": "llm-router"}
    provider = setup_tracing("llm-router", "1.2.3", "staging", set_global=False, environ=attributes)
    resource = provider.resource.attributes
    assert (resource["service.name"], resource["team"]) == ("from-attributes", "llm platform")
    assert (resource["service.version"], resource["deployment.environment.name"]) == ("1.2.3", "staging")
    with pytest.raises(ValueError, match="OTEL_RESOURCE_ATTRIBUTES: 'team' is not a key=value pair"):
        resource_attributes({"OTEL_RESOURCE_ATTRIBUTES": "region=eu,team"}, "llm-router")


def test_exporter_settings_from_the_environment_given(other_process_env):
    with http_receiver() as receiver:
        environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"{receiver.url}/", "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=acme%20corp",
                   "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TIMEOUT": "5"}
        provider = setup_tracing(set_global=False, environ=environ)
        provider.get_tracer("t").start_span("exported").end()
        assert provider.force_flush(10_000)
        provider.shutdown()
        assert receiver.got_one.wait(10)
    (request,) = receiver.requests
    assert request.path == "/v1/traces"  # base endpoint + the signal path, not os.environ's URL
    assert request.headers["x-tenant"] == "acme corp" and request.headers["content-encoding"] == "gzip"
    body = ExportTraceServiceRequest.FromString(gzip.decompress(request.body))
    assert [s.name for rs in body.resource_spans for ss in rs.scope_spans for s in ss.spans] == ["exported"]


@pytest.mark.parametrize(("setting", "value"), [("TIMEOUT", "5s"), ("COMPRESSION", "brotli")])
def test_malformed_exporter_setting_is_an_error(setting, value):
    with pytest.raises(ValueError, match=f"OTEL_EXPORTER_OTLP_\\[TRACES_\\]{setting}='{value}'"):
        otlp_exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", f"OTEL_EXPORTER_OTLP_{setting}": value})



def test_logs_health_and_spans_name_the_service_alike(other_process_env):
    from app_instrumentation.logs import LogConfig
    from app_instrumentation.service import ServiceInfo

    environ = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=router-eu"}
    assert ServiceInfo.from_env(environ).name == "router-eu"
    assert LogConfig.from_env(environ).service_name == "router-eu"
