"""``llmmon render``: one owner per path, nothing written outside the output dir, only what it wrote pruned."""

import json
from pathlib import Path

import pytest

from foundation.artifacts import Provider
from foundation.settings import load_settings
from llmmon.render import MANIFEST, RenderError, check_target, collect, read_manifest, write


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


def test_a_render_never_deletes_files_it_did_not_write(tmp_path: Path) -> None:
    """Issue 14: a user's own files inside the rendered folders survive every re-render."""
    mine = {"prometheus/team-rules/my-rules.yml": "groups: []\n", "grafana/NOTES.md": "notes\n",
            "kubernetes/extra.yaml": "kind: ConfigMap\n"}
    for rel, text in mine.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    write({"kubernetes/00-old.yaml": "old", "grafana/a.json": "{}", "logstash/p/old.conf": "x"}, tmp_path)
    write({"grafana/a.json": "{}"}, tmp_path)
    assert {rel: (tmp_path / rel).read_text() for rel in mine} == mine
    assert not (tmp_path / "kubernetes" / "00-old.yaml").exists()
    assert not (tmp_path / "logstash").exists()  # emptied by the prune: the render had created it
    assert read_manifest(tmp_path) == {"grafana/a.json"}


def test_a_tampered_manifest_cannot_delete_outside_the_render(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (tmp_path / "precious.txt").write_text("keep")
    write({"grafana/a.json": "{}"}, out)
    (out / MANIFEST).write_text(json.dumps({"files": ["../precious.txt", str(tmp_path / "precious.txt"),
                                                     "grafana/a.json"]}))
    write({}, out)
    assert (tmp_path / "precious.txt").read_text() == "keep"
    assert not (out / "grafana" / "a.json").exists()


@pytest.mark.parametrize("target, words", [
    ("/", "the filesystem root"),
    ("~", "your home folder"),
    ("~/..", "your home folder or one that holds it"),
])
def test_dangerous_targets_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, words: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home" / "me"))
    (tmp_path / "home" / "me").mkdir(parents=True)
    with pytest.raises(RenderError, match=words):
        check_target(Path(target).expanduser())
    check_target(Path("~/render").expanduser())  # a folder of its own is fine


def test_a_file_is_not_an_output_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(RenderError, match="is a file, not a folder"):
        write({"grafana/a.json": "{}"}, tmp_path / "f")
    assert (tmp_path / "f").read_text() == "x"
