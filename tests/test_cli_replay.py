"""`warroom replay` and `warroom postmortem --pictures` from a shell, as a user runs them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from cli_helpers import run_warroom
from markdown_it import MarkdownIt

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "schema1-session.toml"


def session(tmp_path: Path) -> Path:
    path = tmp_path / FIXTURE.name
    shutil.copy(FIXTURE, path)
    return path


def test_replay_help_has_an_example_and_the_keys(tmp_path: Path) -> None:
    out = run_warroom("replay", "--help", home=tmp_path)
    assert out.returncode == 0
    assert "example:" in out.stdout and "warroom replay" in out.stdout
    assert "space play/pause" in out.stdout


def test_replay_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    missing = run_warroom("replay", str(tmp_path / "nope.toml"), home=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("warroom: error: no such session file")
    assert len(missing.stderr.strip().splitlines()) == 1
    path = session(tmp_path)
    before = path.read_bytes()
    slow = run_warroom("replay", str(path), "--speed", "0", home=tmp_path)
    assert slow.returncode == 2 and "--speed" in slow.stderr
    when = run_warroom("replay", str(path), "--at", "25:99", home=tmp_path)
    assert when.returncode == 1 and when.stderr.startswith("warroom: error:")
    assert path.read_bytes() == before


def test_postmortem_pictures_are_svg_linked_from_metrics_with_a_mermaid_chart(
    tmp_path: Path,
) -> None:
    path = session(tmp_path)
    before = path.read_bytes()
    out = tmp_path / "draft.md"
    done = run_warroom("postmortem", str(path), "-o", str(out), "--pictures", home=tmp_path)
    assert done.returncode == 0, done.stderr
    pictures = sorted(tmp_path.glob("draft.peak-*.svg"))
    assert [p.name for p in pictures] == ["draft.peak-latency.svg", "draft.peak-saturation.svg"]
    for picture in pictures:
        root = ET.parse(picture).getroot()
        assert root.tag.endswith("svg")
        assert "Connections" in "".join(root.itertext())
    tokens = MarkdownIt("commonmark").parse(out.read_text())
    fences = [t for t in tokens if t.type == "fence"]
    assert fences and all(t.info == "mermaid" for t in fences)
    assert fences[0].content.startswith("xychart-beta")
    metrics = out.read_text().split("## Metrics", 1)[1]
    assert "(draft.peak-saturation.svg)" in metrics and "(draft.peak-latency.svg)" in metrics
    assert path.read_bytes() == before


def test_pictures_need_an_output_file(tmp_path: Path) -> None:
    done = run_warroom("postmortem", str(session(tmp_path)), "--pictures", home=tmp_path)
    assert done.returncode == 2 and "-o" in done.stderr


def test_postmortem_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    # `warroom postmortem X | head -1`: the reader has left; no error line, exit 0. The read
    # end is closed before warroom writes, so the write fails for sure (no buffer race).
    import os

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "warroom", "postmortem", str(session(tmp_path))],
            stdout=write, stderr=subprocess.PIPE, timeout=30,
        )  # fmt: skip
    finally:
        os.close(write)
    assert done.stderr == b""
    assert done.returncode == 0
