"""``python -m comradarr_arrsim ...``: same as ``comradarr arrsim ...``."""

import sys

from comradarr_arrsim._cli import main

raise SystemExit(main(sys.argv[1:]))
