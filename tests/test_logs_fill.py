"""The compiled layout fillers write exactly what the reference loop writes: same keys, same
nesting, same order, same redaction, for every built-in layout."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app_instrumentation import logs
from app_instrumentation.logs_fill import compiled, fill

LAYOUTS = {
    name: getattr(logs, name)
    for name in ("HEAD", "TAIL", "INFERENCE", "OUTCOME", "COMPLETION", "ERROR", "ACCESS", "MODEL", "METRIC", "BASE",
                 "_COMPLETE_LAYOUT", "_ERROR_LAYOUT", "_ERROR_OUTCOME_LAYOUT")
}
SECRET_URL = "https://user:hunter2@example.com/v1?api_key=sk-live-123"
VALUES = st.one_of(
    st.none(), st.text(max_size=20), st.just(SECRET_URL), st.just("Authorization: Bearer abc.def"),
    st.integers(), st.booleans(), st.lists(st.one_of(st.just(SECRET_URL), st.text(max_size=5)), max_size=3),
)
#: Objects a caller's own fields may already have put in the event (filled around them).
EXISTING = st.sampled_from([{}, {"http": {"request": {"x": 1}}}, {"llm_router": {"custom": True}, "event": {}}])


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("redact", [True, False])
@given(data=st.data())
def test_compiled_filler_matches_the_reference(name, redact, data):
    layout = LAYOUTS[name]
    values = tuple(data.draw(VALUES) for _ in layout)
    existing = data.draw(EXISTING)
    expected, actual = json.loads(json.dumps(existing)), json.loads(json.dumps(existing))
    fill(expected, layout, values, redact)
    compiled(layout, redact)(actual, values)
    assert json.dumps(actual) == json.dumps(expected)  # key order included


def test_redaction_is_applied_only_to_scrubbed_fields():
    field = logs.F.URL_QUERY
    assert field.scrub
    event: dict = {}
    compiled((field, logs.F.HTTP_REQUEST_ID))(event, (SECRET_URL, SECRET_URL))
    assert "hunter2" not in json.dumps(event["url"]) and "sk-live-123" not in json.dumps(event["url"])
    assert event["http"]["request"]["id"] == SECRET_URL, "an id the package made itself is not scrubbed"
