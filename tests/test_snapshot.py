"""``llmmon snapshot`` against a real Prometheus serving seeded data for every panel query.

The Prometheus is the one of ``test_dashboard_prometheus`` (a TSDB built with promtool from
the metric catalog and the recording rules). One panel of the render is pointed at a series
that does not exist: it must be drawn as "No data", not left out. Sizes follow the layout
the README documents: 36 px per grid row, a 64 px header, an 8 px bottom margin.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from foundation.settings import load_settings
from llmmon.cli import main
from llmmon.localstack.ports import HOST, free_port
from llmmon.localstack.state import StackState
from llmmon.render import collect, write
from tests.test_dashboard_prometheus import prometheus  # noqa: F401 - the live fixture, reused

pytestmark = pytest.mark.live

ENV = "dev"
WIDTH = 1200
ROW_PX, HEADER_PX, MARGIN_PX, COLUMNS = 36, 64, 8, 24
ABSENT = 'llm_router_series_that_no_one_exports{env=~"$env"}'


def dashboards(root: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in root.rglob("*.json"):
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and "panels" in doc:
            found[doc["uid"]] = doc
    return found


def panel_boxes(dashboard: dict[str, Any], width: int) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(title, pixel box top/left/bottom/right) of each top-level panel, from its gridPos."""
    column = (width - 2 * MARGIN_PX) / COLUMNS
    out = []
    for p in dashboard["panels"]:
        g = p["gridPos"]
        top, left = HEADER_PX + g["y"] * ROW_PX, MARGIN_PX + g["x"] * column
        out.append((p["title"], (int(top) + 4, int(left) + 4, int(top + g["h"] * ROW_PX) - 4,
                                 int(left + g["w"] * column) - 4)))
    return out


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A render whose first dashboard's first time-series panel queries a series that is absent."""
    root = tmp_path_factory.mktemp("render") / ENV
    write(collect(load_settings(ENV)), root)
    for path in sorted(root.rglob("*.json")):
        doc = json.loads(path.read_text())
        panel = next((p for p in doc.get("panels", []) if p.get("type") == "timeseries"), None)
        if panel is not None:
            for target in panel["targets"]:
                target["expr"] = ABSENT
            path.write_text(json.dumps(doc, indent=2))
            return root, doc["uid"], panel["title"]
    raise AssertionError("no time-series panel in the render")


@pytest.fixture(scope="module")
def snapshots(prometheus, render, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    base, at = prometheus
    out = tmp_path_factory.mktemp("snapshots")
    code = main(["snapshot", "--prometheus", base, "--render", str(render[0]), "--out", str(out),
                 "--end", str(at), "--range", "10m", "--width", str(WIDTH)])
    assert code == 0
    return out


def test_one_png_per_dashboard_at_the_grid_size(render, snapshots: Path) -> None:
    expected = dashboards(render[0])
    assert sorted(p.stem for p in snapshots.glob("*.png")) == sorted(expected)
    for uid, dashboard in expected.items():
        rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
        with Image.open(snapshots / f"{uid}.png") as image:
            assert image.size == (WIDTH, HEADER_PX + rows * ROW_PX + MARGIN_PX), uid


def test_pngs_are_not_blank_and_every_panel_is_drawn(render, snapshots: Path) -> None:
    for uid, dashboard in dashboards(render[0]).items():
        with Image.open(snapshots / f"{uid}.png") as image:
            pixels = np.asarray(image.convert("RGB")).astype(int)
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100, f"{uid} looks blank"
        for title, (top, left, bottom, right) in panel_boxes(dashboard, WIDTH):
            region = pixels[top:bottom, left:right]
            assert region.std() > 5, f"{uid} / {title}: nothing drawn"


def test_a_panel_without_data_is_drawn_as_no_data(render, snapshots: Path) -> None:
    root, uid, title = render
    with Image.open(snapshots / f"{uid}.png") as image:
        states = dict(item.rsplit(": ", 1) for item in image.info["Description"].split("; "))
    assert states[title] == "no data"
    others = {t: s for t, s in states.items() if t != title}
    assert set(others.values()) <= {"data", "static"}, others


def test_workdir_of_a_local_stack_is_read_from_its_state(prometheus, tmp_path: Path) -> None:  # noqa: F811
    base, at = prometheus
    # This test process stands in for the llmmon up that wrote it (a state whose PIDs are gone is stale).
    StackState(env=ENV, profile="test", prometheus_url=base, alertmanager_url="", router_url="", webhook_url="",
               control_url="", notifications_file="", pids={"prometheus": os.getpid()}, up_pid=os.getpid(),
               ).write(tmp_path)
    out = tmp_path / "png"
    assert main(["snapshot", "--workdir", str(tmp_path), "--out", str(out), "--end", str(at), "--range", "10m",
                 "--width", "800"]) == 0
    rendered = [json.loads(c) for p, c in collect(load_settings(ENV)).items() if p.endswith(".json")]
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(d["uid"] for d in rendered if "panels" in d)


def test_no_stack_or_no_prometheus_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["snapshot", "--workdir", str(tmp_path), "--out", str(tmp_path / "png")]) == 2
    assert "no running stack" in capsys.readouterr().err
    url = f"http://{HOST}:{free_port()}"
    assert main(["snapshot", "--prometheus", url, "--out", str(tmp_path / "png")]) == 2
    assert f"no ready Prometheus at {url}" in capsys.readouterr().err
    assert not (tmp_path / "png").exists()


def test_diff_draws_changed_dashboards_before_and_after(prometheus, render, tmp_path: Path) -> None:  # noqa: F811
    base, at = prometheus
    old = render[0]
    new = tmp_path / "new"
    shutil.copytree(old, new)
    path = next(p for p in sorted(new.rglob("*.json")) if "panels" in json.loads(p.read_text()))
    doc = json.loads(path.read_text())
    doc["panels"].pop()
    path.write_text(json.dumps(doc))
    out = tmp_path / "png"
    assert main(["snapshot", "--prometheus", base, "--diff", str(old), str(new), "--out", str(out),
                 "--end", str(at), "--range", "10m", "--width", "600"]) == 0
    assert [p.name for p in out.glob("*.png")] == [f"{doc['uid']}.diff.png"]
    with Image.open(out / f"{doc['uid']}.diff.png") as image:
        assert image.size[0] == 2 * 600 + 12
