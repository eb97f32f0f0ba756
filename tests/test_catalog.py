"""The catalog is the single source of truth; its invariants are what everything else relies on."""

import pytest

from app_instrumentation import catalog
from app_instrumentation.catalog import Kind, MetricSpec


def test_seed_metrics_keep_their_names_labels_and_buckets():
    assert catalog.HTTP_REQUESTS.name == "llm_router_http_requests_total"
    assert catalog.HTTP_REQUESTS.labels == ("method", "route", "status_code")
    assert catalog.INFERENCE.labels == ("model", "strategy", "status", "cached")
    assert catalog.INFERENCE_DURATION.buckets == (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120)
    assert catalog.QUEUE_PROCESSING.buckets == (0.01, 0.1, 0.5, 1, 5, 10, 30)
    assert catalog.ERRORS.labels == ("type", "component", "severity")


def test_names_are_unique_and_prefixed():
    names = [m.name for m in catalog.METRICS]
    assert len(names) == len(set(names))
    assert all(n.startswith("llm_router_") for n in names)
    assert "llm_router_process_resident_memory_bytes" in catalog.BY_NAME


def test_histogram_sample_names():
    assert catalog.TIME_TO_FIRST_TOKEN.bucket == "llm_router_time_to_first_token_seconds_bucket"
    with pytest.raises(AttributeError):
        _ = catalog.HTTP_REQUESTS.bucket


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="x_total", kind=Kind.COUNTER, help="h"), "must start with"),
        (dict(name="llm_router_x", kind=Kind.COUNTER, help="h"), "end in _total"),
        (dict(name="llm_router_x_total", kind=Kind.GAUGE, help="h"), "end in _total"),
        (dict(name="llm_router_x", kind=Kind.HISTOGRAM, help="h"), "buckets"),
        (dict(name="llm_router_x", kind=Kind.HISTOGRAM, help="h", buckets=(2, 1)), "increasing"),
        (dict(name="llm_router_x", kind=Kind.GAUGE, help="h", enums={"a": ("b",)}), "undeclared"),
    ],
)
def test_bad_specs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MetricSpec(**kwargs)


def test_size_category_matches_seed():
    assert catalog.size_category(5e8) == "small"
    assert catalog.size_category(5e9) == "medium"
    assert catalog.size_category(2e10) == "large"
    assert catalog.size_category(1e11) == "xlarge"
