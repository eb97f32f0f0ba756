"""``llmmon render``: one owner per path, nothing written outside the output dir, only owned folders pruned."""

from pathlib import Path

import pytest

from foundation.artifacts import Provider
from foundation.settings import load_settings
from llmmon.render import RenderError, collect, write


def _provider(name: str, files: dict[str, str]) -> tuple[str, Provider]:
    return name, lambda settings: dict(files)


def test_two_providers_claiming_one_path_is_an_error() -> None:
    """A second renderer must never silently overwrite another's file."""
    a = _provider("fake_render_a", {"prometheus/prometheus.yml": "a"})
    b = _provider("fake_render_b", {"prometheus/prometheus.yml": "b"})
    with pytest.raises(RenderError, match="produced by both fake_render_a and fake_render_b"):
        collect(load_settings("dev"), (a, b))


@pytest.mark.parametrize("path", ["../escape.yml", "grafana/../../escape.yml", "/etc/escape.yml"])
def test_paths_outside_the_output_dir_are_refused(path: str) -> None:
    bad = _provider("fake_render_bad", {path: "x"})
    with pytest.raises(RenderError, match="outside the output dir"):
        collect(load_settings("dev"), (bad,))


def test_rerender_prunes_only_folders_it_owns(tmp_path: Path) -> None:
    """Stale rendered files go; the local stack's state and data next to them stay."""
    write({"kubernetes/00-old.yaml": "old", "grafana/a.json": "{}"}, tmp_path)
    (tmp_path / "state.json").write_text("{}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "wal").write_text("x")
    write({"grafana/a.json": "{}"}, tmp_path)
    assert not (tmp_path / "kubernetes" / "00-old.yaml").exists()
    assert (tmp_path / "state.json").exists() and (tmp_path / "data" / "wal").exists()
