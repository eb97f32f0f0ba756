"""When each alert fires over a recorded timeline, as Prometheus itself decides it.

The timeline's series go to ``promtool test rules`` (Prometheus' own rule engine: recording
rules, chained rules, ``for`` and the evaluation interval exactly as a server applies them)
with one "expect nothing" check per alert per evaluation step. promtool then lists every
alert that was firing at a step; those lists are parsed back into first-fire times.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from llmmon.checkers import promtool_test_rules

#: One series' samples, one per scrape; None where the target was not scraped.
Samples = Sequence[float | None]

_BLOCK_RE = re.compile(r"alertname: (?P<alert>\w+), time: (?P<time>[0-9hms.]+),\s*exp:\[.*?\],\s*got:\[(?P<got>.*?)\n\s*\]",
                       re.DOTALL)
_LABELS_RE = re.compile(r"Labels:\{(?P<labels>[^\n]*)\}")
_LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_GO_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class EngineError(RuntimeError):
    """promtool could not evaluate the timeline (bad rules or input), with its own message."""


@dataclass(frozen=True)
class Timeline:
    """Series sampled every ``scrape_interval_s`` seconds from t = 0."""

    scrape_interval_s: int
    #: Series selector (``name{label="v"}``) -> samples.
    series: Mapping[str, Samples]

    @property
    def steps(self) -> int:
        return max((len(v) for v in self.series.values()), default=0)

    @property
    def duration_s(self) -> int:
        return max(self.steps - 1, 0) * self.scrape_interval_s


@dataclass(frozen=True)
class Firing:
    """An alert (one label set) firing at ``at`` seconds after the timeline's start."""

    alert: str
    labels: tuple[tuple[str, str], ...]
    at: float


def go_duration_seconds(text: str) -> float:
    """promtool prints eval times as Go durations (``1h2m30s``)."""
    parts = _GO_DURATION_RE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise EngineError(f"unexpected promtool time {text!r}")
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def _number(value: float) -> str:
    """The shortest text that reads back as exactly ``value``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _exact_step(start: float, step: float) -> bool:
    """promtool computes ``a+bxN`` as a + b*i in floats: only exact for whole numbers (or b = 0).

    Anything else could come out a hair below the previous sample, which Prometheus reads as a
    counter reset (a fake jump of the counter's whole value).
    """
    return step == 0 or (start.is_integer() and step.is_integer())


def encode(samples: Samples) -> str:
    """promtool's ``values`` notation: exact runs as ``a+bxN``, gaps as ``_xN``, other values verbatim.

    A series that stops (its target failed a scrape or left service discovery) gets a staleness
    marker first, as Prometheus writes one then: it vanishes at once instead of lingering for
    the 5-minute lookback.
    """
    out: list[str] = []
    i = 0
    while i < len(samples):
        if samples[i] is None:
            j = i
            while j + 1 < len(samples) and samples[j + 1] is None:
                j += 1
            gap = j - i + 1
            if i > 0:  # a series that was there goes stale; one not yet born is just absent
                out.append("stale")
                gap -= 1
            if gap:
                out.append("_" if gap == 1 else f"_x{gap}")
            i = j + 1
            continue
        start = float(samples[i])  # type: ignore[arg-type]
        j = i
        if i + 1 < len(samples) and samples[i + 1] is not None:
            step = float(samples[i + 1]) - start  # type: ignore[arg-type]
            if _exact_step(start, step):
                while (j + 1 < len(samples) and samples[j + 1] is not None
                       and float(samples[j + 1]) == start + step * (j + 1 - i)):  # type: ignore[arg-type]
                    j += 1
        if j == i:
            out.append(_number(start))
        else:
            step = float(samples[i + 1]) - start  # type: ignore[arg-type]
            out.append(f"{_number(start)}{'+' if step >= 0 else '-'}{_number(abs(step))}x{j - i}")
        i = j + 1
    return " ".join(out)


def group_order(rule_files: Sequence[Path]) -> list[str]:
    """The groups' evaluation order: groups that only record first, then the rest, in file order.

    promtool otherwise evaluates groups in Go's random map order, so an alert reading another
    group's recording sees it one step late on some runs only (measured: SLO alerts firing 15 s
    apart from one run to the next). Fixed, the recordings an alert reads are always current.
    """
    groups = [g for f in rule_files for g in (yaml.safe_load(Path(f).read_text()) or {}).get("groups", [])]
    return [g["name"] for g in sorted(groups, key=lambda g: any("alert" in r for r in g.get("rules", [])))]


def test_document(rule_files: Sequence[Path], timeline: Timeline, alerts: Iterable[str], eval_interval_s: int) -> dict:
    """A promtool test file: the timeline as input, "nothing fires" at every evaluation step."""
    times = range(0, timeline.duration_s + 1, eval_interval_s)
    checks = [{"eval_time": f"{t}s", "alertname": name, "exp_alerts": []} for name in sorted(alerts) for t in times]
    return {
        "rule_files": [str(p) for p in rule_files],
        "evaluation_interval": f"{eval_interval_s}s",
        "group_eval_order": group_order(rule_files),
        "tests": [{
            "interval": f"{timeline.scrape_interval_s}s",
            "input_series": [{"series": s, "values": encode(v)} for s, v in sorted(timeline.series.items())],
            "alert_rule_test": checks,
        }],
    }


def parse_failures(output: str) -> list[Firing]:
    """Every (alert, labels, time) promtool reported as firing where nothing was expected."""
    found = []
    for block in _BLOCK_RE.finditer(output):
        at = go_duration_seconds(block["time"])
        for labels in _LABELS_RE.finditer(block["got"]):
            pairs = tuple(sorted((k, bytes(v, "utf-8").decode("unicode_escape")) for k, v in _LABEL_RE.findall(labels["labels"])))
            found.append(Firing(block["alert"], pairs, at))
    return found


def evaluate(rule_files: Sequence[Path], timeline: Timeline, alerts: Iterable[str], eval_interval_s: int) -> list[Firing]:
    """Every alert firing at every evaluation step of the timeline."""
    alerts = list(alerts)
    with tempfile.TemporaryDirectory(prefix="llmmon-alert-quality-") as tmp:
        path = Path(tmp) / "timeline-test.yml"
        path.write_text(yaml.safe_dump(test_document(rule_files, timeline, alerts, eval_interval_s), sort_keys=False))
        result = promtool_test_rules([path])
    if result.ok:
        return []
    firings = parse_failures(result.output)
    if not firings:  # failed, yet nothing fired: promtool refused the input or the rules
        raise EngineError(f"promtool test rules failed:\n{result.output[-4000:]}")
    return firings
