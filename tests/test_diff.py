"""``llmmon diff``: a copy of a real render, edited the way a change would edit it, is reported
precisely; identical and merely reformatted renders report nothing.

The edits are found generically in today's render (the first alert with a numeric threshold,
the first panel of a dashboard, the first container of a workload), so the tests follow the
artifacts as other changes reshape them.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from foundation.settings import load_settings
from llmmon.cli import main
from llmmon.diff import diff_trees
from llmmon.diff.model import ALERTMANAGER, ALERTS, DASHBOARDS, KUBERNETES, LOGPIPELINE, Change, Detail
from llmmon.render import collect, write

ENV = "prod"
SIMPLE_THRESHOLD = re.compile(r"^(?P<lhs>.+) > (?P<value>\d+(?:\.\d+)?)$", re.S)
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / ENV
    write(collect(load_settings(ENV)), out)
    return out


@pytest.fixture
def copy(render: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(render, target)
    return target


def changes(old: Path, new: Path) -> list[Change]:
    return list(diff_trees(ENV, old, new).changes)


# --- editing a render the way a change would -------------------------------------------

def yaml_files(root: Path) -> Iterator[Path]:
    yield from sorted([*root.rglob("*.yml"), *root.rglob("*.yaml")])


def edit_yaml(root: Path, edit: Callable[[Any], bool]) -> int:
    """Apply ``edit`` to every YAML document (it returns True when it changed one); count them."""
    edited = 0
    for path in yaml_files(root):
        docs = list(yaml.safe_load_all(path.read_text()))
        hits = [edit(doc) for doc in docs]
        if any(hits):
            path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
            edited += sum(hits)
    return edited


def rule_groups(doc: Any) -> list[dict[str, Any]]:
    """Rule groups of a rule file or of a PrometheusRule object."""
    if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
        return doc["spec"]["groups"]
    return doc.get("groups", []) if isinstance(doc, dict) and "apiVersion" not in doc else []


def alerts(doc: Any) -> Iterator[dict[str, Any]]:
    for group in rule_groups(doc):
        yield from (r for r in group["rules"] if "alert" in r)


def first_threshold_alert(root: Path) -> tuple[str, str]:
    for path in yaml_files(root / "prometheus" / "rules"):
        for doc in yaml.safe_load_all(path.read_text()):
            for rule in alerts(doc):
                match = SIMPLE_THRESHOLD.match(rule["expr"].strip())
                if match:
                    return rule["alert"], match["value"]
    raise AssertionError("no alert of the form '<expr> > <number>' in the render")


def set_threshold(name: str, value: str) -> Callable[[Any], bool]:
    def edit(doc: Any) -> bool:
        hit = False
        for rule in alerts(doc):
            if rule["alert"] == name:
                rule["expr"] = SIMPLE_THRESHOLD.sub(rf"\g<lhs> > {value}", rule["expr"].strip())
                hit = True
        return hit
    return edit


def dashboard_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if "panels" in json.loads(p.read_text()))


# --- nothing changed --------------------------------------------------------------------

def test_identical_renders_report_nothing_and_exit_0(render: Path, copy: Path, capsys) -> None:
    assert changes(render, copy) == []
    assert main(["diff", str(render), str(copy)]) == 0
    assert "no change" in capsys.readouterr().out


def reformat(root: Path) -> None:
    """Same meaning, other bytes: YAML re-dumped in flow style with keys reversed, JSON compact,
    PromQL parenthesised, Logstash without comments or indentation."""
    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    for path in yaml_files(root):
        docs = list(yaml.safe_load_all(path.read_text()))
        for doc in docs:
            for group in rule_groups(doc):
                for rule in group["rules"]:
                    rule["expr"] = f"(\n  {rule['expr']}\n)"
        path.write_text(yaml.safe_dump_all([reverse(d) for d in docs], default_flow_style=True, sort_keys=False,
                                           width=4096))
    for path in root.rglob("*.json"):
        path.write_text(json.dumps(reverse(json.loads(path.read_text())), separators=(",", ":")))
    for path in root.rglob("*.ndjson"):
        objs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        path.write_text("\n\n".join(json.dumps(reverse(o), indent=1) .replace("\n", " ") for o in objs) + "\n")
    for path in root.rglob("*.conf"):
        lines = (line.strip() for line in path.read_text().splitlines() if not line.strip().startswith("#"))
        path.write_text("\n".join(line for line in lines if line) + "\n")


def test_reformatted_render_reports_nothing(render: Path, copy: Path) -> None:
    reformat(copy)
    assert (copy / "alertmanager" / "alertmanager.yml").read_text() != (
        render / "alertmanager" / "alertmanager.yml").read_text()
    assert changes(render, copy) == []


# --- one change, reported precisely -----------------------------------------------------

def test_changed_threshold_is_reported_as_a_threshold(render: Path, copy: Path, capsys) -> None:
    name, value = first_threshold_alert(render)
    new_value = f"{float(value) * 2:g}"
    assert edit_yaml(copy, set_threshold(name, new_value)) >= 1
    found = changes(render, copy)
    assert [(c.section, c.action, c.subject) for c in found] == [(ALERTS, "changed", name)]
    assert found[0].details == (Detail("threshold", f"> {value}", f"> {new_value}"),)
    assert "only in" not in found[0].note  # the rule files and the PrometheusRule agree
    assert main(["diff", str(render), str(copy), "--format", "markdown"]) == 1
    assert f"- threshold: `> {value}` → `> {new_value}`" in capsys.readouterr().out


def test_a_threshold_changed_in_one_copy_only_says_where(render: Path, copy: Path) -> None:
    name, value = first_threshold_alert(render)
    for path in yaml_files(copy / "prometheus" / "rules"):
        docs = list(yaml.safe_load_all(path.read_text()))
        if any(set_threshold(name, "12345")(d) for d in docs):
            path.write_text(yaml.safe_dump_all(docs))
    [change] = changes(render, copy)
    assert change.subject == name and "only in rule files" in change.note


def test_removed_panel_is_reported_by_dashboard_and_title(render: Path, copy: Path) -> None:
    path = dashboard_files(copy)[0]
    dashboard = json.loads(path.read_text())
    removed = dashboard["panels"].pop(0)
    path.write_text(json.dumps(dashboard, indent=2))
    found = changes(render, copy)
    assert [(c.section, c.action) for c in found] == [(DASHBOARDS, "removed")]
    assert found[0].subject == f"{dashboard['title']} ({dashboard['uid']}) › panel \"{removed['title']}\""
    assert found[0].note == removed["type"]


def test_changed_panel_threshold_and_unit(render: Path, copy: Path) -> None:
    path = dashboard_files(copy)[0]
    dashboard = json.loads(path.read_text())
    panel = next(p for p in dashboard["panels"] if p.get("fieldConfig", {}).get("defaults", {}).get("thresholds"))
    defaults = panel["fieldConfig"]["defaults"]
    defaults["thresholds"]["steps"] = [{"color": "green", "value": None}, {"color": "red", "value": 42}]
    defaults["unit"] = "unit-from-the-test"
    path.write_text(json.dumps(dashboard))
    [change] = changes(render, copy)
    assert change.subject.endswith(f"panel \"{panel['title']}\"")
    assert Detail("thresholds", None, "green, red from 42") == Detail("thresholds", None,
                                                                       dict((d.field, d.new) for d in change.details)
                                                                       ["thresholds"])
    assert ("unit", "unit-from-the-test") in {(d.field, d.new) for d in change.details}


def test_changed_image_is_reported_per_container(render: Path, copy: Path) -> None:
    target: dict[str, str] = {}

    def edit(doc: Any) -> bool:
        if target or not isinstance(doc, dict) or doc.get("kind") not in WORKLOADS:
            return False
        container = doc["spec"]["template"]["spec"]["containers"][0]
        target.update(kind=doc["kind"], name=f"{doc['metadata']['namespace']}/{doc['metadata']['name']}",
                      container=container["name"], old=container["image"])
        container["image"] = "registry.test/changed:1.2.3"
        return True

    assert edit_yaml(copy / "kubernetes", edit) == 1
    [change] = changes(render, copy)
    assert (change.section, change.action, change.subject) == (
        KUBERNETES, "changed", f"{target['kind']} {target['name']}")
    assert change.details == (Detail(f"container {target['container']} image", target["old"],
                                     "registry.test/changed:1.2.3"),)


def test_changed_route_timing(render: Path, copy: Path) -> None:
    def edit(doc: Any) -> bool:
        if not (isinstance(doc, dict) and "route" in doc and "receivers" in doc):
            return False
        doc["route"]["routes"][-1]["repeat_interval"] = "17m"
        return True

    assert edit_yaml(copy / "alertmanager", edit) == 1
    [change] = changes(render, copy)
    assert change.section == ALERTMANAGER and change.subject.startswith("route {")
    assert [(d.field, d.new) for d in change.details] == [("repeat_interval", "17m")]


def test_changed_logstash_setting_names_its_block(render: Path, copy: Path) -> None:
    [path] = list(copy.rglob("*.conf"))
    text = path.read_text()
    edited = re.sub(r'(\w+) => "([^"$]+)"', r'\1 => "\2-edited"', text, count=1)
    assert edited != text
    setting, value = re.search(r'(\w+) => "([^"$]+)-edited"', edited).groups()
    path.write_text(edited)
    [change] = changes(render, copy)
    assert change.section == LOGPIPELINE
    [detail] = change.details
    assert detail.field.endswith(f": {setting}") and (detail.old, detail.new) == (value, f"{value}-edited")


# --- routing, by amtool -----------------------------------------------------------------

ROUTING = """
route:
  receiver: default
  routes:
  - receiver: pager
    matchers: ['severity="critical"', 'env="prod"']
    continue: true
  - receiver: chat
    matchers: ['severity=~"critical|warning"']
receivers: [{name: default}, {name: pager}, {name: chat}]
"""


def routing_render(root: Path, env: str, alerts_: dict[str, str]) -> Path:
    """A render with an Alertmanager config, external labels and one alert per (name, severity)."""
    (root / "alertmanager").mkdir(parents=True)
    (root / "prometheus" / "rules").mkdir(parents=True)
    (root / "alertmanager" / "alertmanager.yml").write_text(ROUTING)
    (root / "prometheus" / "prometheus.yml").write_text(
        yaml.safe_dump({"global": {"external_labels": {"env": env}}, "scrape_configs": []}))
    rules = [{"alert": name, "expr": "up == 0", "labels": {"severity": sev} if sev else {}}
             for name, sev in alerts_.items()]
    (root / "prometheus" / "rules" / "a.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
    return root


def test_receivers_follow_alertmanager_routing_with_external_labels(tmp_path: Path) -> None:
    """First matching route wins, ``continue`` adds the next, ``env`` comes from external_labels."""
    old = routing_render(tmp_path / "old", "prod", {"Crit": "critical", "Warn": "warning"})
    new = routing_render(tmp_path / "new", "staging", {"Crit": "critical", "Warn": "warning", "Plain": "",
                                                        "Crit2": "critical"})
    found = {c.subject: c for c in changes(old, new)}
    assert found["Crit"].details == (Detail("receiver", "pager,chat", "chat"),)
    assert found["Plain"].action == "added" and found["Plain"].note == "→ default"
    assert found["Crit2"].note == "critical → chat"
    assert "Warn" not in found  # still warning → chat


def test_without_amtool_receivers_are_a_note_not_a_failure(tmp_path: Path, monkeypatch) -> None:
    old = routing_render(tmp_path / "old", "prod", {"Crit": "critical"})
    new = routing_render(tmp_path / "new", "prod", {"Crit": "warning"})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = diff_trees(ENV, old, new)
    assert [c.subject for c in result.changes] == ["Crit"]
    assert any("amtool" in n and "prometheus-alertmanager" in n for n in result.notes)


# --- errors -----------------------------------------------------------------------------

def test_errors_exit_2(render: Path, copy: Path, tmp_path: Path, capsys) -> None:
    assert main(["diff", str(render), str(tmp_path / "missing")]) == 2
    (copy / "alertmanager" / "alertmanager.yml").write_text("route: [unclosed\n")
    assert main(["diff", str(render), str(copy)]) == 2
    assert "alertmanager/alertmanager.yml" in capsys.readouterr().err
    assert main(["diff", str(render)]) == 2
