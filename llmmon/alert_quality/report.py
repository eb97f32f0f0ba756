"""The scorecard as a terminal table (and the same table in Markdown for the README)."""

from __future__ import annotations

from llmmon.alert_quality.score import Scorecard


def duration(seconds: float | None) -> str:
    """``4m30s``-style; ``-`` for nothing."""
    if seconds is None:
        return "-"
    sign, total = ("-" if seconds < 0 else ""), int(round(abs(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs or not total else "")
    return sign + text


def _rows(card: Scorecard) -> tuple[list[list[str]], list[list[str]]]:
    scenarios = []
    for r in card.results:
        verdict = "ok" if r.ok else "FAIL"
        kind = "healthy" if r.scenario.healthy else ("incident, no page" if not r.scenario.pages else "incident")
        fired = ", ".join(f"{name} {duration(at)}" for name, at in sorted(r.fired.items(), key=lambda kv: kv[1])) or "-"
        notes = "; ".join(part for part in (
            f"missed {', '.join(r.missed)}" if r.missed else "",
            f"false page {', '.join(r.false_pages)}" if r.false_pages else "",
            f"unexpected {', '.join(r.unexpected)}" if r.unexpected and not r.false_pages else "",
        ) if part)
        scenarios.append([r.scenario.name, kind, verdict, fired, notes])
    alerts = []
    for s in card.alert_scores():
        if not s.detections and not s.false_firing_s:
            continue
        detected = [(name, ttd) for name, ttd in sorted(s.detections.items())]
        caught = ", ".join(f"{name} {duration(ttd)}" if ttd is not None else f"{name} MISSED" for name, ttd in detected)
        notify = ", ".join(duration(ttd + s.info.group_wait_s) for _, ttd in detected if ttd is not None) or "-"
        alerts.append([s.name, s.info.severity, s.info.receiver, caught or "-", notify, duration(s.false_firing_s or None)])
    return scenarios, alerts


SCENARIO_HEAD = ["scenario", "kind", "verdict", "fired (time after the incident began)", "notes"]
ALERT_HEAD = ["alert", "severity", "receiver", "detects (time to detect)", "notifies after", "false firing"]


def _text_table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def _markdown_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(out)


def text(card: Scorecard) -> str:
    scenarios, alerts = _rows(card)
    verdict = "every scenario passed" if card.ok else "FAILED: " + ", ".join(r.scenario.name for r in card.results if not r.ok)
    return (f"Alert quality for env {card.env!r}: {verdict}\n\n{_text_table(SCENARIO_HEAD, scenarios)}\n\n"
            f"{_text_table(ALERT_HEAD, alerts)}\n")


def markdown(card: Scorecard) -> str:
    scenarios, alerts = _rows(card)
    return f"{_markdown_table(SCENARIO_HEAD, scenarios)}\n\n{_markdown_table(ALERT_HEAD, alerts)}\n"
