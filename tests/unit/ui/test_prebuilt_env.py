"""The image's prebuilt UI is served by Reflex's production backend, switched on by Reflex's
own environment variables: their names must be the ones this Reflex reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from comradarr_runtime._ui_prebuilt import REFLEX_RUN_ENV, prebuilt_ui_dir
from reflex_base.environment import environment

pytestmark = pytest.mark.unit


def test_reflex_reads_the_variables_we_set() -> None:
    names = {
        environment.REFLEX_ENV_MODE.name,
        environment.REFLEX_SKIP_COMPILE.name,
        environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.name,
    }
    # Telemetry is a config field (rx.Config reads REFLEX_<FIELD> from the environment).
    assert names | {"REFLEX_TELEMETRY_ENABLED"} == set(REFLEX_RUN_ENV)


def test_prebuilt_dir_needs_a_frontend_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMRADARR_UI_PREBUILT", raising=False)
    assert prebuilt_ui_dir() is None
    monkeypatch.setenv("COMRADARR_UI_PREBUILT", str(tmp_path))
    assert prebuilt_ui_dir() is None  # no .web/build: not a prebuilt UI
    (tmp_path / ".web" / "build").mkdir(parents=True)
    assert prebuilt_ui_dir() == tmp_path
