"""Console entry point: read the environment, run until SIGTERM, exit 0."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

from gatherarr._app import App
from gatherarr._config import ConfigError, load_config
from gatherarr._logging import configure_logging


def main(env: Mapping[str, str] | None = None) -> int:
    """Run gatherarr; return 2 on invalid configuration, 0 after a clean shutdown."""
    try:
        config = load_config(os.environ if env is None else env)
    except ConfigError as exc:
        print(f"gatherarr: {exc}", file=sys.stderr)
        return 2
    configure_logging(level=config.log_level, secrets=config.secrets)
    return asyncio.run(App(config=config).run())
